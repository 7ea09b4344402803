import { OmniError } from './errors.js';

/** Milliseconds per suffix of the duration notation; the query engine's flags (`query run`) share it. */
export const durationSuffixMs: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration given as milliseconds (a number) or text such as `250ms`, `15s`, `5m`, `24h`, `7d`.
 * Config files and flags both use it, so one spelling works everywhere.
 */
export function parseDurationMs(value: unknown, what: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(value);
    if (m) return Math.round(Number(m[1]) * durationSuffixMs[m[2] ?? 'ms']!);
  }
  throw new OmniError('invalid_argument', `${what}: expected a duration such as 500ms, 15s, 5m, 24h or 7d, got ${JSON.stringify(value)}`);
}
