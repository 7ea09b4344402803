// Query parameters every feature parses alike: integers in a range, ISO times. A bad one is a
// 400 that states what was expected.
import { OmniError } from '../core/errors.js';

/** Earliest and latest times `from_time` and `startFrom` accept. */
const TIME_RANGE = { min: Date.UTC(1970, 0, 1), max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) } as const;

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

export function intParam(query: URLSearchParams, name: string, range: { readonly min: number; readonly max: number; readonly default: number }): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return range.default;
  const n = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= range.min && n <= range.max)) {
    throw new OmniError('invalid_argument', `${name} must be an integer from ${range.min} to ${range.max}; got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** An ISO 8601 time with a zone (`Z` or `±hh:mm`), between 1970 and 9999. */
export function parseTime(raw: string, name: string): Date {
  const t = ISO_TIME.test(raw) ? Date.parse(raw) : NaN;
  if (!(t >= TIME_RANGE.min && t <= TIME_RANGE.max)) {
    throw new OmniError('invalid_argument', `${name} must be an ISO 8601 time with a zone from ${new Date(TIME_RANGE.min).toISOString()} to ${new Date(TIME_RANGE.max).toISOString()}; got ${JSON.stringify(raw)}`);
  }
  return new Date(t);
}

