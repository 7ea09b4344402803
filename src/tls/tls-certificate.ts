// The certificate of the TLS listeners (HTTPS, MQTTS): the configured PEM files, or a self-signed
// one generated into `<data>/tls/` for the hub's host name, `localhost` and `127.0.0.1`, so the
// official SDKs can be pointed at the gateway with nothing but NODE_EXTRA_CA_CERTS. A generated
// certificate is reused on restart and replaced when the host name changed or it nears its end.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { generate } from 'selfsigned';

/** What a TLS listener is given, and where it came from. */
export interface TlsCredentials {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly certFile: string;
  readonly keyFile: string;
  /** True for the self-signed certificate in `<data>/tls/`. */
  readonly generated: boolean;
  readonly validTo: Date;
  /** Modification times of the files when read, so a renewed configured certificate is noticed. */
  readonly certModifiedMs: number;
  readonly keyModifiedMs: number;
}

export interface CertificateSource {
  readonly dataDir: string;
  readonly hostName: string;
  /** `http.tlsCert` and `http.tlsKey`; null: generate. */
  readonly configured: { readonly cert: string; readonly key: string } | null;
}

/** How long a generated certificate is valid, and how long before its end it is replaced. */
export const GENERATED_VALIDITY_DAYS = 365;
export const RENEW_BEFORE_DAYS = 30;
const DAY_MS = 86_400_000;

/** TLS 1.2 and later only, on every TLS listener. */
export const MIN_TLS_VERSION = 'TLSv1.2';

export function generatedCertificateFiles(dataDir: string): { readonly cert: string; readonly key: string } {
  const dir = join(dataDir, 'tls');
  return { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
}

/** The names a generated certificate covers: the host name, `localhost`, `127.0.0.1` and `::1`. */
export function certificateNames(hostName: string): { readonly dns: readonly string[]; readonly ips: readonly string[] } {
  const dns = new Set(['localhost']);
  const ips = new Set(['127.0.0.1', '::1']);
  const name = hostName.replace(/:\d+$/, '');
  if (isIP(name)) ips.add(name);
  else dns.add(name.toLowerCase());
  return { dns: [...dns], ips: [...ips] };
}

/** Why a generated certificate must be replaced, or undefined when it still serves. */
export function replacementReason(cert: X509Certificate, hostName: string, nowMs: number): string | undefined {
  const { dns, ips } = certificateNames(hostName);
  const missing = [...dns.filter((n) => cert.checkHost(n, { wildcards: false }) === undefined), ...ips.filter((ip) => cert.checkIP(ip) === undefined)];
  if (missing.length > 0) return `it does not cover ${missing.join(', ')}`;
  const validTo = new Date(cert.validTo).getTime();
  if (validTo - RENEW_BEFORE_DAYS * DAY_MS <= nowMs) return validTo <= nowMs ? 'it expired' : `it expires on ${new Date(validTo).toISOString()}`;
  return undefined;
}

function read(certFile: string, keyFile: string, generated: boolean): TlsCredentials {
  const cert = readFileSync(certFile);
  const key = readFileSync(keyFile);
  return {
    cert, key, certFile, keyFile, generated,
    validTo: new Date(new X509Certificate(cert).validTo),
    certModifiedMs: statSync(certFile).mtimeMs,
    keyModifiedMs: statSync(keyFile).mtimeMs,
  };
}

/** Checks that the files are a certificate and its key, with a message naming the settings. */
function readConfigured(files: { readonly cert: string; readonly key: string }): TlsCredentials {
  try {
    const credentials = read(files.cert, files.key, false);
    if (!new X509Certificate(credentials.cert).checkPrivateKey(createPrivateKey(credentials.key))) throw new Error('the key does not belong to the certificate');
    return credentials;
  } catch (cause) {
    throw new Error(`cannot use the TLS certificate ${files.cert} with the key ${files.key} (http.tlsCert, http.tlsKey): ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** Writes `text` to `file` through a temporary file, so a crash never leaves half a PEM. */
function writeAtomically(file: string, text: string, mode: number): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, text, { mode });
  chmodSync(temp, mode);
  renameSync(temp, file);
}

async function generateInto(files: { readonly cert: string; readonly key: string }, hostName: string, nowMs: number): Promise<void> {
  const { dns, ips } = certificateNames(hostName);
  const pems = await generate([{ name: 'commonName', value: dns.find((n) => n !== 'localhost') ?? ips.find((ip) => ip !== '127.0.0.1' && ip !== '::1') ?? 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    // An hour back, for clients whose clock is a little behind the server's.
    notBeforeDate: new Date(nowMs - 3_600_000),
    notAfterDate: new Date(nowMs + GENERATED_VALIDITY_DAYS * DAY_MS),
    extensions: [
      // Its own issuer: trusted as it is through NODE_EXTRA_CA_CERTS or mosquitto_pub --cafile.
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [...dns.map((value) => ({ type: 2 as const, value })), ...ips.map((ip) => ({ type: 7 as const, ip }))] },
    ],
  });
  mkdirSync(join(files.cert, '..'), { recursive: true });
  // The key first: a certificate is only ever next to its own key.
  writeAtomically(files.key, pems.private, 0o600);
  writeAtomically(files.cert, pems.cert, 0o644);
}

export interface LoadedCertificate {
  readonly credentials: TlsCredentials;
  /** `configured`, `reused` (the generated one, still good) or `generated` (with why in `reason`). */
  readonly action: 'configured' | 'reused' | 'generated';
  readonly reason?: string;
}

/** The certificate the TLS listeners use: the configured files, or the generated one (made or replaced as needed). */
export async function loadCertificate(source: CertificateSource, nowMs = Date.now()): Promise<LoadedCertificate> {
  if (source.configured) return { credentials: readConfigured(source.configured), action: 'configured' };
  const files = generatedCertificateFiles(source.dataDir);
  let reason = 'there was none';
  if (existsSync(files.cert) && existsSync(files.key)) {
    try {
      const existing = read(files.cert, files.key, true);
      reason = replacementReason(new X509Certificate(existing.cert), source.hostName, nowMs) ?? '';
      if (!reason) return { credentials: existing, action: 'reused' };
    } catch (err) {
      reason = `it could not be read (${err instanceof Error ? err.message : String(err)})`;
    }
  }
  await generateInto(files, source.hostName, nowMs);
  return { credentials: read(files.cert, files.key, true), action: 'generated', reason };
}

/**
 * A newer certificate when there is one: configured files that changed on disk (a renewal by
 * certbot or an operator), or a generated certificate that nears its end. Undefined otherwise.
 */
export async function renewedCertificate(current: TlsCredentials, source: CertificateSource, nowMs = Date.now()): Promise<LoadedCertificate | undefined> {
  if (!current.generated) {
    const changed = statSync(current.certFile).mtimeMs !== current.certModifiedMs || statSync(current.keyFile).mtimeMs !== current.keyModifiedMs;
    return changed ? { credentials: readConfigured({ cert: current.certFile, key: current.keyFile }), action: 'configured' } : undefined;
  }
  const reason = replacementReason(new X509Certificate(current.cert), source.hostName, nowMs);
  if (!reason) return undefined;
  await generateInto(generatedCertificateFiles(source.dataDir), source.hostName, nowMs);
  return { credentials: read(current.certFile, current.keyFile, true), action: 'generated', reason };
}

/** What `https.createServer`, `tls.createServer` and `setSecureContext` take for these credentials: TLS 1.2 and later only. */
export function secureContextOptions(credentials: TlsCredentials): { readonly cert: Buffer; readonly key: Buffer; readonly minVersion: typeof MIN_TLS_VERSION } {
  return { cert: credentials.cert, key: credentials.key, minVersion: MIN_TLS_VERSION };
}
