// Values as the query sees them. Stream Analytics types values, not columns: one field may hold
// a bigint in one event and a string in the next, so every operation inspects its operands.
//
//   bigint, float  → JS number (bigint is kept to the safe-integer range; see docs)
//   nvarchar(max)  → string
//   bit            → boolean (compatibility level 1.2: JSON true/false stay booleans)
//   datetime       → DateTime (UTC, millisecond precision)
//   record         → plain object;  array → JS array;  NULL → null

export class DateTime {
  constructor(readonly ms: number) {}
}

export type Value = null | number | string | boolean | DateTime | Value[] | Row;

/** A record: an event, a reference row, an output row or a nested JSON object. */
export interface Row {
  [field: string]: Value;
}

export type TypeName = 'bigint' | 'float' | 'nvarchar(max)' | 'datetime' | 'bit' | 'record' | 'array';

export function isRecord(v: Value | undefined): v is Row {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof DateTime);
}

export function typeOf(v: Value): TypeName | null {
  if (v === null) return null;
  switch (typeof v) {
    case 'number': return Number.isInteger(v) ? 'bigint' : 'float';
    case 'string': return 'nvarchar(max)';
    case 'boolean': return 'bit';
    default: return v instanceof DateTime ? 'datetime' : Array.isArray(v) ? 'array' : 'record';
  }
}

/**
 * A field of a record, found case-insensitively as Stream Analytics resolves identifiers. The
 * exact spelling is tried first because queries usually spell fields as the payload does.
 */
export function getField(rec: Value | undefined, name: string, lower: string): Value {
  if (rec === null || typeof rec !== 'object' || rec instanceof DateTime) return null;
  if (Array.isArray(rec)) {
    const i = Number(name);
    return Number.isInteger(i) && i >= 0 && i < rec.length ? (rec[i] ?? null) : null;
  }
  const v = (rec as Record<string, unknown>)[name];
  // Primitives cannot come from Object.prototype; objects are checked to be the record's own.
  if (v !== undefined && ((typeof v !== 'object' && typeof v !== 'function') || Object.hasOwn(rec, name))) return v as Value;
  for (const k in rec) if (k.toLowerCase() === lower && Object.hasOwn(rec, k)) return rec[k] ?? null;
  return null;
}

/**
 * An event's metadata, beside its fields: a record under this key of the event's row, read by
 * GetMetadataPropertyValue and invisible to `SELECT *` and every field lookup (a symbol is no
 * field). A live job puts the tenant, the IoT Hub fields and the application properties there.
 */
export const EVENT_METADATA: unique symbol = Symbol('omnistream.eventMetadata');

/** The metadata record of an event's row, or null. */
export function metadataOf(rec: Value | undefined): Row | null {
  if (rec === null || rec === undefined || typeof rec !== 'object' || Array.isArray(rec) || rec instanceof DateTime) return null;
  return ((rec as { [EVENT_METADATA]?: Row })[EVENT_METADATA]) ?? null;
}

/** A fresh, empty record (a plain object: V8 keeps those fast, unlike prototype-less ones). */
export function newRow(): Row {
  return {};
}

/** Sets a field of a record; `__proto__` becomes an ordinary field instead of the prototype. */
export function setField(row: Row, name: string, value: Value): void {
  if (name === '__proto__') Object.defineProperty(row, name, { value, enumerable: true, writable: true, configurable: true });
  else row[name] = value;
}

/** Datetimes as ISO 8601 UTC with Stream Analytics' seven fractional digits. */
export function formatDateTime(d: DateTime): string {
  if (!Number.isFinite(d.ms)) return String(d.ms);
  const iso = new Date(d.ms).toISOString(); // yyyy-mm-ddThh:mm:ss.fffZ
  return `${iso.slice(0, -1)}0000Z`;
}

/** A value as plain JSON: datetimes as ISO strings, non-finite floats as NULL. */
export function toJson(v: Value): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (v instanceof DateTime) return formatDateTime(v);
  if (Array.isArray(v)) return v.map(toJson);
  const out: Record<string, unknown> = {};
  for (const k in v) Object.defineProperty(out, k, { value: toJson(v[k] ?? null), enumerable: true, writable: true });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Comparison. NULL compares as unknown (every comparison with NULL is false), numbers and bits
// compare numerically, datetimes with datetimes or ISO strings, strings ordinally.

/** Epoch milliseconds of a datetime or ISO text, without allocating a DateTime. */
export function toEpochMs(v: Value): number | null {
  if (typeof v === 'string') return parseDateTime(v);
  return v instanceof DateTime ? v.ms : null;
}

export function toDateTime(v: Value): DateTime | null {
  if (v instanceof DateTime) return v;
  if (typeof v === 'string') {
    const ms = parseDateTime(v);
    return ms === null ? null : new DateTime(ms);
  }
  return null;
}

const isoPattern = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/** ISO 8601 text to epoch milliseconds; a time without a zone is UTC, as everywhere in the engine. */
export function parseDateTime(text: string): number | null {
  return parseCanonicalDateTime(text) ?? parseAnyDateTime(text);
}

/**
 * The common case, `yyyy-mm-ddThh:mm:ss[.f…]Z` as JSON serialisers write it, without a regular
 * expression or a Date: event timestamps are parsed once per event on the hot path.
 */
function parseCanonicalDateTime(s: string): number | null {
  // Events often share their timestamp text with the event before: the same text (equal, not
  // necessarily the same string) gives the remembered time, without parsing it again.
  if (s === lastText) return lastTime;
  const time = parseCanonicalText(s);
  if (time !== null) {
    lastText = s;
    lastTime = time;
  }
  return time;
}

/** The last text parseCanonicalDateTime parsed, and its time. */
let lastText = '';
let lastTime = 0;

function parseCanonicalText(s: string): number | null {
  const n = s.length;
  if (n < 20 || s.charCodeAt(10) !== 84 /* T */ || (s.charCodeAt(n - 1) | 32) !== 122 /* z */ || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return null;
  const y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2), h = digits(s, 11, 2), mi = digits(s, 14, 2), sec = digits(s, 17, 2);
  if (y < 1000 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59) return null;
  let ms = 0;
  if (n === 24 && s.charCodeAt(19) === 46 /* . */) {
    // Milliseconds, as Date.prototype.toISOString writes them.
    ms = digits(s, 20, 3);
    if (ms < 0) return null;
  } else if (n > 20) {
    if (s.charCodeAt(19) !== 46 /* . */) return null;
    let scale = 100;
    for (let i = 20; i < n - 1; i++) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) return null;
      ms += c * scale;
      scale /= 10;
    }
    ms = Math.floor(ms + 1e-9);
  }
  // Consecutive timestamps are mostly on the same day: the day's start is remembered.
  const day = (y * 16 + mo) * 32 + d;
  if (day !== lastDay) {
    if (d > daysInMonth(y, mo)) return null;
    lastDayStart = daysFromCivil(y, mo, d) * 86_400_000;
    lastDay = day;
  }
  return lastDayStart + h * 3_600_000 + mi * 60_000 + sec * 1000 + ms;
}

/** The last day parsed by parseCanonicalDateTime, as (y·16 + month)·32 + day, and its start. */
let lastDay = -1;
let lastDayStart = 0;

function digits(s: string, from: number, count: number): number {
  let v = 0;
  for (let i = from; i < from + count; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

function daysInMonth(y: number, m: number): number {
  return m === 2 ? (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28) : m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

function parseAnyDateTime(text: string): number | null {
  const m = isoPattern.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const ms = Number((frac + '000').slice(0, 3));
  let t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  if (Number(y) < 100) t = new Date(t).setUTCFullYear(Number(y));
  if (zone && zone.toUpperCase() !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    t -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  if (Number.isNaN(t) || new Date(t).getUTCDate() !== Number(d) && !zone) return null;
  return t;
}

/** -1, 0, 1, or null when the values cannot be compared (NULL, or unrelated types). */
export function compareValues(a: Value, b: Value): number | null {
  if (a === null || b === null) return null;
  if (typeof a === 'number' || typeof a === 'boolean') {
    if (typeof b === 'number' || typeof b === 'boolean') {
      const x = +a, y = +b;
      return x < y ? -1 : x > y ? 1 : x === y ? 0 : null;
    }
    return null;
  }
  if (typeof a === 'string') {
    if (typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
    if (b instanceof DateTime) return compareDateTimes(toDateTime(a), b);
    return null;
  }
  if (a instanceof DateTime) return compareDateTimes(a, toDateTime(b));
  return null;
}

function compareDateTimes(a: DateTime | null, b: DateTime | null): number | null {
  if (a === null || b === null) return null;
  return a.ms < b.ms ? -1 : a.ms > b.ms ? 1 : 0;
}

/** A value as a Map key (GROUP BY, DISTINCT, JOIN lookups, partitions): see keyOf. */
export type Key = string | number | boolean | null;

/** Equality for keys (GROUP BY, DISTINCT, JOIN lookups): type-sensitive, NULL equals NULL. */
export function keyOf(v: Value): Key {
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'string') return v.length > 0 && v.charCodeAt(0) === 0 ? `\u0000s${v}` : v;
  if (v instanceof DateTime) return `\u0000d${v.ms}`;
  return `\u0000j${JSON.stringify(toJson(v))}`;
}

/** A composite key for several values; one value keeps its primitive key (no string building). */
export function compositeKeyOf(values: readonly Value[]): Key {
  if (values.length === 1) return keyOf(values[0] ?? null);
  let out = '';
  for (const v of values) {
    const k = keyOf(v);
    out += `${typeof k === 'string' ? 's' : typeof k === 'number' ? 'n' : typeof k === 'boolean' ? 'b' : 'z'}${String(k).length}:${String(k)}`;
  }
  return out;
}

/** SQL truth: only TRUE (or a non-zero bit/number) passes WHERE, HAVING and ON. */
export function isTrue(v: Value): boolean {
  return v === true || (typeof v === 'number' && v !== 0);
}
