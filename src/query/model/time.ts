// Time units, durations and calendar arithmetic in UTC. Time is always data here (event time,
// arrival time, watermark); nothing in the engine reads a clock.

/** Milliseconds since the Unix epoch. */
export type EpochMs = number;
/** A span of time in milliseconds. */
export type DurationMs = number;

/** Window and LIMIT DURATION units. */
export type TimeUnit = 'day' | 'hour' | 'minute' | 'second' | 'millisecond' | 'microsecond';

/** DATEADD / DATEDIFF / DATEPART parts: the time units plus the calendar ones. */
export type DatePart = TimeUnit | 'year' | 'quarter' | 'month' | 'dayofyear' | 'week' | 'weekday';

const datePartNames: Record<string, DatePart> = {
  year: 'year', yy: 'year', yyyy: 'year',
  quarter: 'quarter', qq: 'quarter', q: 'quarter',
  month: 'month', mm: 'month', m: 'month',
  dayofyear: 'dayofyear', dy: 'dayofyear', y: 'dayofyear',
  day: 'day', dd: 'day', d: 'day',
  week: 'week', wk: 'week', ww: 'week',
  weekday: 'weekday', dw: 'weekday', w: 'weekday',
  hour: 'hour', hh: 'hour',
  minute: 'minute', mi: 'minute', n: 'minute',
  second: 'second', ss: 'second', s: 'second',
  millisecond: 'millisecond', ms: 'millisecond',
  microsecond: 'microsecond', mcs: 'microsecond',
};

const unitMs: Record<TimeUnit, number> = {
  day: 86_400_000, hour: 3_600_000, minute: 60_000, second: 1000, millisecond: 1, microsecond: 0.001,
};

export function datePartOf(name: string): DatePart | undefined {
  const lower = name.toLowerCase();
  // The percentile pages write `hours`; plurals of the time units are accepted for that reason.
  return datePartNames[lower] ?? (lower.endsWith('s') ? timeUnitOf(lower.slice(0, -1)) : undefined);
}

export function timeUnitOf(name: string): TimeUnit | undefined {
  const part = datePartNames[name.toLowerCase()] ?? datePartNames[name.toLowerCase().replace(/s$/, '')];
  return part !== undefined && part in unitMs ? (part as TimeUnit) : undefined;
}

export function durationOf(unit: TimeUnit, amount: number): DurationMs {
  return unit === 'microsecond' ? Math.trunc(amount / 1000) : amount * unitMs[unit];
}

/** The first multiple of `size` (shifted by `offset`) at or after `t`: the end of t's window. */
export function alignUp(t: EpochMs, size: DurationMs, offset: DurationMs): EpochMs {
  return Math.ceil((t - offset) / size) * size + offset;
}

// ---------------------------------------------------------------------------------------------
// Calendar arithmetic, T-SQL style.

export function dateAdd(part: DatePart, amount: number, t: EpochMs): EpochMs {
  const n = Math.trunc(amount);
  switch (part) {
    case 'year': return addMonths(t, 12 * n);
    case 'quarter': return addMonths(t, 3 * n);
    case 'month': return addMonths(t, n);
    case 'dayofyear': case 'day': case 'weekday': return t + n * 86_400_000;
    case 'week': return t + n * 7 * 86_400_000;
    case 'hour': case 'minute': case 'second': case 'millisecond': case 'microsecond':
      return t + durationOf(part, n);
  }
}

function addMonths(t: EpochMs, months: number): EpochMs {
  const d = new Date(t);
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  // T-SQL clamps to the last day of the target month (Jan 31 + 1 month = Feb 28/29).
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return d.getTime();
}

/** The number of `part` boundaries crossed going from `a` to `b` (signed), as T-SQL counts them. */
export function dateDiff(part: DatePart, a: EpochMs, b: EpochMs): number {
  switch (part) {
    case 'year': return new Date(b).getUTCFullYear() - new Date(a).getUTCFullYear();
    case 'quarter': return quarterIndex(b) - quarterIndex(a);
    case 'month': return monthIndex(b) - monthIndex(a);
    case 'dayofyear': case 'day': case 'weekday': return Math.floor(b / 86_400_000) - Math.floor(a / 86_400_000);
    // Weeks start on Sunday; 1970-01-04 was a Sunday.
    case 'week': return Math.floor((b - 3 * 86_400_000) / (7 * 86_400_000)) - Math.floor((a - 3 * 86_400_000) / (7 * 86_400_000));
    case 'hour': case 'minute': case 'second': case 'millisecond': {
      const size = unitMs[part];
      return Math.floor(b / size) - Math.floor(a / size);
    }
    case 'microsecond': return (b - a) * 1000;
  }
}

function monthIndex(t: EpochMs): number {
  const d = new Date(t);
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
}

function quarterIndex(t: EpochMs): number {
  return Math.floor(monthIndex(t) / 3);
}

export function datePart(part: DatePart, t: EpochMs): number {
  const d = new Date(t);
  switch (part) {
    case 'year': return d.getUTCFullYear();
    case 'quarter': return Math.floor(d.getUTCMonth() / 3) + 1;
    case 'month': return d.getUTCMonth() + 1;
    case 'dayofyear': return Math.floor((t - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1;
    case 'day': return d.getUTCDate();
    case 'week': {
      const jan1 = Date.UTC(d.getUTCFullYear(), 0, 1);
      return Math.floor((Math.floor((t - jan1) / 86_400_000) + new Date(jan1).getUTCDay()) / 7) + 1;
    }
    case 'weekday': return d.getUTCDay() + 1;
    case 'hour': return d.getUTCHours();
    case 'minute': return d.getUTCMinutes();
    case 'second': return d.getUTCSeconds();
    case 'millisecond': return d.getUTCMilliseconds();
    case 'microsecond': return d.getUTCMilliseconds() * 1000;
  }
}

const monthNames = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const dayNames = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

export function dateName(part: DatePart, t: EpochMs): string {
  const d = new Date(t);
  if (part === 'month') return monthNames[d.getUTCMonth()] ?? '';
  if (part === 'weekday') return dayNames[d.getUTCDay()] ?? '';
  return String(datePart(part, t));
}

/**
 * A duration flag as `15s`, `500ms`, `2m`, `1h`, `1d`, plain seconds, or `hh:mm:ss[.fff]`
 * (the portal's notation). `-1` means "wait indefinitely" for the late-arrival tolerance.
 */
export function parseDuration(text: string): DurationMs | undefined {
  const t = text.trim();
  if (t === '-1') return -1;
  const clock = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?$/.exec(t);
  if (clock) {
    const [, days = '0', h, m, s, frac = '0'] = clock;
    return ((Number(days) * 24 + Number(h)) * 60 + Number(m)) * 60_000 + Number(s) * 1000 + Number(frac.padEnd(3, '0'));
  }
  const unit = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(t);
  if (!unit) return undefined;
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit[2] ?? 's'] ?? 1000;
  return Math.round(Number(unit[1]) * factor);
}
