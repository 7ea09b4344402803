// Query parameters of the feed routes: each with its allowed range, and a 400 that states it.
import { OmniError } from '../core/errors.js';

export const LIMITS = {
  max: { min: 1, max: 5_000, default: 100 },
  waitMs: { min: 0, max: 30_000, default: 0 },
  leaseMs: { min: 1_000, max: 300_000, default: 30_000 },
  heartbeatMs: { min: 1_000, max: 60_000, default: 15_000 },
  /** Bytes of messages per page (or per batch of events): a page stops at the message that reaches it. */
  maxBytes: { min: 1_024, max: 16_777_216, default: 4_194_304 },
} as const;

const READER = /^[A-Za-z0-9._:@-]{1,128}$/;
const GROUP = /^(\$Default|[A-Za-z0-9][A-Za-z0-9._-]{0,49})$/;

/** `system_properties=true|false`: whether messages carry IoT Hub's systemProperties (default false). */
export function systemPropertiesParam(query: URLSearchParams): boolean {
  const raw = query.get('system_properties');
  if (raw === null || raw === '' || raw === 'false' || raw === '0') return false;
  if (raw === 'true' || raw === '1') return true;
  throw new OmniError('invalid_argument', `system_properties must be true or false; got ${JSON.stringify(raw)}`);
}

/** `reader=`: absent means the group's one anonymous reader (''). */
export function readerParam(query: URLSearchParams): string {
  const raw = query.get('reader');
  return raw === null || raw === '' ? '' : readerName(raw);
}

export function readerName(raw: string): string {
  if (!READER.test(raw)) throw new OmniError('invalid_argument', `reader must be 1 to 128 characters of letters, digits and . _ : @ -; got ${JSON.stringify(raw)}`);
  return raw;
}

/** Event Hubs' rule for consumer group names, plus `$Default`. */
export function checkGroupName(name: string): string {
  if (!GROUP.test(name)) {
    throw new OmniError('invalid_argument', `Consumer group names are 1 to 50 letters, digits, '.', '_' or '-', starting with a letter or digit; got ${JSON.stringify(name)}`);
  }
  return name;
}

export function isGroupName(name: string): boolean {
  return GROUP.test(name);
}
