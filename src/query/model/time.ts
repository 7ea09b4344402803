// Time units and durations. Time is always data here (event time, arrival time, watermark);
// nothing in the engine reads a clock.
import { durationSuffixMs } from '../../core/duration.js';

/** Milliseconds since the Unix epoch. */
export type EpochMs = number;
/** A span of time in milliseconds. */
export type DurationMs = number;

/**
 * Every unit the language knows, each with every spelling it accepts: the name, the
 * abbreviations of the Stream Analytics and T-SQL references, and for the units of fixed length
 * (those with `ms`) the plural, which the reference's own examples write (`SlidingWindow(hours, 1)`).
 * The parser, the semantic checks and the runtime all read units through this table, and error
 * messages list units from it. In T-SQL's order, which messages keep.
 */
const units = {
  year: { spellings: ['year', 'yy', 'yyyy'] },
  quarter: { spellings: ['quarter', 'qq', 'q'] },
  month: { spellings: ['month', 'mm', 'm'] },
  dayofyear: { spellings: ['dayofyear', 'dy', 'y'] },
  day: { spellings: ['day', 'days', 'dd', 'd'], ms: 86_400_000 },
  week: { spellings: ['week', 'wk', 'ww'] },
  weekday: { spellings: ['weekday', 'dw', 'w'] },
  hour: { spellings: ['hour', 'hours', 'hh'], ms: 3_600_000 },
  minute: { spellings: ['minute', 'minutes', 'mi', 'n'], ms: 60_000 },
  second: { spellings: ['second', 'seconds', 'ss', 's'], ms: 1000 },
  millisecond: { spellings: ['millisecond', 'milliseconds', 'ms'], ms: 1 },
  microsecond: { spellings: ['microsecond', 'microseconds', 'mcs'], ms: 0.001 },
} as const satisfies Record<string, { readonly spellings: readonly string[]; readonly ms?: number }>;

/** DATEADD / DATEDIFF / DATEPART / DATENAME parts: every unit. */
export type DatePart = keyof typeof units;

/** Window, LIMIT DURATION, ISFIRST and stream-join units: the units of fixed length. */
export type TimeUnit = { [P in DatePart]: (typeof units)[P] extends { readonly ms: number } ? P : never }[DatePart];

const datePartBySpelling = new Map<string, DatePart>(
  (Object.keys(units) as DatePart[]).flatMap((part) => units[part].spellings.map((s) => [s, part] as const)),
);

export function isTimeUnit(part: DatePart): part is TimeUnit {
  return 'ms' in units[part];
}

const datePartList: readonly DatePart[] = Object.keys(units) as DatePart[];
const timeUnitList: readonly TimeUnit[] = datePartList.filter(isTimeUnit);

/** The part a word names, in any of its spellings and any case. */
export function datePartOf(name: string): DatePart | undefined {
  return datePartBySpelling.get(name.toLowerCase());
}

export function timeUnitOf(name: string): TimeUnit | undefined {
  const part = datePartOf(name);
  return part !== undefined && isTimeUnit(part) ? part : undefined;
}

/** The time units, for messages: `day, hour, …` (joined by `final` before the last one when given). */
export function timeUnitNames(final = ','): string {
  return listed(timeUnitList, final);
}

/** The date parts, for messages. */
export function datePartNames(): string {
  return listed(datePartList, ',');
}

function listed(names: readonly string[], final: string): string {
  return `${names.slice(0, -1).join(', ')}${final} ${names[names.length - 1]}`;
}

/** The exact length of one unit; a microsecond is a thousandth of a millisecond. */
export function unitMs(unit: TimeUnit): number {
  return units[unit].ms;
}

/** `amount` units as whole milliseconds, the engine's resolution: microseconds are truncated. */
export function durationOf(unit: TimeUnit, amount: number): DurationMs {
  return unit === 'microsecond' ? Math.trunc(amount / 1000) : amount * units[unit].ms;
}

/** The first multiple of `size` (shifted by `offset`) at or after `t`: the end of t's window. */
export function alignUp(t: EpochMs, size: DurationMs, offset: DurationMs): EpochMs {
  return Math.ceil((t - offset) / size) * size + offset;
}

/**
 * A duration flag as `15s`, `500ms`, `2m`, `1h`, `1d` (the notation of config durations), plain
 * seconds, or `hh:mm:ss[.fff]` (the portal's notation). `-1` means "wait indefinitely" for the
 * late-arrival tolerance.
 */
export function parseDuration(text: string): DurationMs | undefined {
  const t = text.trim();
  if (t === '-1') return -1;
  const clock = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?$/.exec(t);
  if (clock) {
    const [, days = '0', h, m, s, frac = '0'] = clock;
    return ((Number(days) * 24 + Number(h)) * 60 + Number(m)) * 60_000 + Number(s) * 1000 + Number(frac.padEnd(3, '0'));
  }
  const amount = /^(\d+(?:\.\d+)?)([a-z]*)$/.exec(t);
  if (!amount) return undefined;
  const [, n, suffix = ''] = amount;
  const factor = suffix === '' ? 1000 : Object.hasOwn(durationSuffixMs, suffix) ? durationSuffixMs[suffix] : undefined;
  return factor === undefined ? undefined : Math.round(Number(n) * factor);
}
