// Calendar arithmetic in UTC, T-SQL style: DATEADD, DATEDIFF, DATEPART and DATENAME.
import { durationOf, unitMs, type DatePart, type EpochMs } from './time.js';

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
      const size = unitMs(part);
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

