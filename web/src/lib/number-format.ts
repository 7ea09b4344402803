// How tiles write numbers: the five formats of a tile's `format`, in the browser's locale (tests
// pass one), for values, axis labels and the card's change. Pure.
import type { NumberFormat } from './wire.js';

export interface FormatSpec {
  readonly format: NumberFormat;
  /** ISO 4217 code, for `currency`. */
  readonly currency: string;
}

/** What is written where there is no number. */
export const NO_VALUE = '—';

// Intl formatters are costly to build and few distinct ones are needed: kept by their options.
const formatters = new Map<string, Intl.NumberFormat>();

function numberFormat(locale: string | undefined, options: Intl.NumberFormatOptions): Intl.NumberFormat {
  const id = `${locale ?? ''}|${JSON.stringify(options)}`;
  let f = formatters.get(id);
  if (!f) {
    try {
      f = new Intl.NumberFormat(locale, options);
    } catch {
      // A currency code the browser does not know: the number, then the code, rather than nothing.
      f = new Intl.NumberFormat(locale, { maximumFractionDigits: 2 });
    }
    formatters.set(id, f);
  }
  return f;
}

/** Seconds as `1h 02m`, `2m 05s`, `45s` (`<1s` for a fraction of one). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return NO_VALUE;
  const sign = seconds < 0 ? '-' : '';
  const abs = Math.abs(seconds);
  if (abs > 0 && abs < 0.5) return `${sign}<1s`;
  const total = Math.round(abs);
  if (total < 60) return `${sign}${total}s`;
  if (total < 3600) return `${sign}${Math.floor(total / 60)}m ${String(total % 60).padStart(2, '0')}s`;
  const minutes = Math.round(total / 60);
  return `${sign}${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

function optionsFor(spec: FormatSpec, compact: boolean): Intl.NumberFormatOptions {
  const notation: Intl.NumberFormatOptions = compact ? { notation: 'compact', maximumFractionDigits: 1 } : {};
  switch (spec.format) {
    case 'count': return { maximumFractionDigits: 0, ...notation };
    case 'number': return { maximumFractionDigits: 2, ...notation };
    case 'currency': return { style: 'currency', currency: spec.currency, ...(compact ? notation : {}) };
    case 'percent': return { style: 'percent', maximumFractionDigits: 1 };
    case 'duration': return {};
  }
}

/** A value as a tile shows it (`count` rounds to a whole number). */
export function formatValue(value: number | null | undefined, spec: FormatSpec, locale?: string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return NO_VALUE;
  if (spec.format === 'duration') return formatDuration(value);
  return numberFormat(locale, optionsFor(spec, false)).format(value);
}

/** A value on a chart's axis: compact (`12K`, `€1.2M`) where the format allows. */
export function formatAxisValue(value: number, spec: FormatSpec, locale?: string): string {
  if (!Number.isFinite(value)) return '';
  if (spec.format === 'duration') return formatDuration(value);
  return numberFormat(locale, optionsFor(spec, true)).format(value);
}

/** The change of a card against the previous timestamp's value. */
export type Change =
  | { readonly kind: 'none' }
  | { readonly kind: 'new' }
  | { readonly kind: 'relative'; readonly ratio: number }
  | { readonly kind: 'points'; readonly points: number };

/**
 * The change from `previous` to `current`. Relative (a percentage of the previous value), except for
 * a `percent` card: a ratio's change is written in percentage points (40% → 50% is +10 pp, not +25%).
 */
export function changeOf(current: number | null, previous: number | null, format: NumberFormat): Change {
  if (current === null || previous === null) return { kind: 'none' };
  if (format === 'percent') return { kind: 'points', points: (current - previous) * 100 };
  if (previous === 0) return current === 0 ? { kind: 'relative', ratio: 0 } : { kind: 'new' };
  return { kind: 'relative', ratio: (current - previous) / Math.abs(previous) };
}

export interface ChangeText {
  readonly direction: 'up' | 'down' | 'flat' | 'none';
  readonly text: string;
}

/** A change as the card writes it: `▲ 12.5%`, `▼ 3 pp`, `— 0%`, or `new` when the previous was 0. */
export function formatChange(change: Change, locale?: string): ChangeText {
  switch (change.kind) {
    case 'none': return { direction: 'none', text: '' };
    case 'new': return { direction: 'up', text: '▲ new' };
    case 'relative': {
      const text = numberFormat(locale, { style: 'percent', maximumFractionDigits: 1 }).format(Math.abs(change.ratio));
      return arrow(Math.round(change.ratio * 1000) / 1000, text);
    }
    case 'points': {
      const text = `${numberFormat(locale, { maximumFractionDigits: 1 }).format(Math.abs(change.points))} pp`;
      return arrow(Math.round(change.points * 10) / 10, text);
    }
  }
}

/** `delta` is rounded as the text is: a change written as 0 is no change (`▲ 0%` would claim a direction). */
function arrow(delta: number, text: string): ChangeText {
  if (delta === 0) return { direction: 'flat', text: `— ${text}` };
  return delta > 0 ? { direction: 'up', text: `▲ ${text}` } : { direction: 'down', text: `▼ ${text}` };
}
