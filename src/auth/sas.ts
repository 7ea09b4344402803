// Shared access signatures exactly as IoT Hub defines them (ARCHITECTURE §4).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { OmniError } from '../core/errors.js';

/** IoT Hub tolerates five minutes of clock skew past a token's expiry. */
export const CLOCK_SKEW_SECONDS = 300;

export interface SasToken {
  /** `sr` exactly as received: the signature covers this text, escape case and all. */
  readonly rawResource: string;
  /** `sr` percent-decoded, for scope checks. */
  readonly resource: string;
  /** The signature, decoded to its base64 text. */
  readonly signature: string;
  /** `se` exactly as received (it is signed as text). */
  readonly rawExpiry: string;
  /** Expiry in seconds since the epoch. */
  readonly expiry: number;
  /** Shared access policy name; absent for a device's own key. */
  readonly keyName: string | undefined;
}

const PREFIX = 'SharedAccessSignature';

/** Parses `SharedAccessSignature sr=…&sig=…&se=…[&skn=…]` with fields in any order. */
export function parseSasToken(text: string | undefined): SasToken {
  if (!text) throw new OmniError('unauthorized', 'Authorization header missing');
  const space = text.indexOf(' ');
  if (space < 0 || text.slice(0, space) !== PREFIX) {
    throw new OmniError('unauthorized', 'Malformed SAS token: expected "SharedAccessSignature sr=…&sig=…&se=…"');
  }
  const fields = new Map<string, string>();
  for (const pair of text.slice(space + 1).trim().split('&')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new OmniError('unauthorized', 'Malformed SAS token: every field must be name=value');
    const name = pair.slice(0, eq).toLowerCase();
    if (fields.has(name)) throw new OmniError('unauthorized', `Malformed SAS token: field ${name} appears twice`);
    fields.set(name, pair.slice(eq + 1));
  }
  const rawResource = fields.get('sr');
  const rawSig = fields.get('sig');
  const rawExpiry = fields.get('se');
  if (!rawResource || !rawSig || !rawExpiry) throw new OmniError('unauthorized', 'Malformed SAS token: sr, sig and se are required');
  if (!/^\d{1,12}$/.test(rawExpiry)) throw new OmniError('unauthorized', 'Malformed SAS token: se must be seconds since the epoch');
  const rawKeyName = fields.get('skn');
  try {
    return {
      rawResource,
      resource: decodeURIComponent(rawResource),
      // Some clients forget to encode '+' in the signature; a literal '+' can only mean itself.
      signature: decodeURIComponent(rawSig),
      rawExpiry,
      expiry: Number(rawExpiry),
      keyName: rawKeyName === undefined ? undefined : decodeURIComponent(rawKeyName),
    };
  } catch (cause) {
    throw new OmniError('unauthorized', 'Malformed SAS token: bad percent-encoding', { cause });
  }
}

function hmac(keyBase64: string, text: string): Buffer {
  return createHmac('sha256', Buffer.from(keyBase64, 'base64')).update(text).digest();
}

/** True when the token was signed with one of the keys (primary, then secondary), in constant time. */
export function signatureMatches(token: SasToken, keys: readonly string[]): boolean {
  const given = Buffer.from(token.signature, 'base64');
  // Node's base64 decoder skips characters outside the alphabet and stops at padding, so many
  // texts decode to the same bytes; only the canonical text of the bytes counts as that signature.
  if (given.toString('base64') !== token.signature) return false;
  let matched = false;
  for (const key of keys) {
    if (!key) continue;
    const expected = hmac(key, `${token.rawResource}\n${token.rawExpiry}`);
    // Compare every key, so timing says nothing about which one matched.
    if (given.length === expected.length && timingSafeEqual(given, expected)) matched = true;
  }
  return matched;
}

export function isExpired(token: SasToken, nowMs: number): boolean {
  return token.expiry + CLOCK_SKEW_SECONDS < nowMs / 1000;
}

/**
 * Segment-wise prefix match: `a/b` covers `a/b/c` but not `a/bc`. The host segment compares
 * case-insensitively (DNS); device ids are case-sensitive.
 */
export function scopeCovers(scope: string, target: string): boolean {
  const want = scope.replace(/\/+$/, '').split('/');
  const have = target.split('/');
  if (want.length > have.length) return false;
  for (let i = 0; i < want.length; i++) {
    const a = want[i]!;
    const b = have[i]!;
    if (i === 0 ? a.toLowerCase() !== b.toLowerCase() : a !== b) return false;
  }
  return true;
}

/** Percent-encodes like the official SDKs (`encodeURIComponent` plus `!'()*`). */
export function encodeUriComponentStrict(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export interface SignOptions {
  /** Unencoded resource URI, e.g. `myhub/devices/dev1`. */
  readonly resource: string;
  readonly key: string;
  /** Expiry in seconds since the epoch. */
  readonly expiry: number;
  readonly keyName?: string | undefined;
}

export function signSasToken({ resource, key, expiry, keyName }: SignOptions): string {
  const sr = encodeUriComponentStrict(resource);
  const sig = encodeUriComponentStrict(hmac(key, `${sr}\n${expiry}`).toString('base64'));
  return `${PREFIX} sr=${sr}&sig=${sig}&se=${expiry}${keyName ? `&skn=${encodeUriComponentStrict(keyName)}` : ''}`;
}

/** A fresh 256-bit key, base64, as IoT Hub generates them. */
export function generateKey(): string {
  return randomBytes(32).toString('base64');
}

export function deviceResource(hostName: string, deviceId: string): string {
  return `${hostName}/devices/${deviceId}`;
}
