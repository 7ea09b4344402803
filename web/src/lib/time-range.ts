// The history a dashboard shows: line and heatmap tiles load rows stamped at or after
// `now - range` (sent as `since`), and older rows are dropped as time passes. Pure.

export interface TimeRange {
  readonly id: string;
  readonly label: string;
  readonly ms: number;
}

export const TIME_RANGES: readonly TimeRange[] = [
  { id: '15m', label: 'Last 15 minutes', ms: 15 * 60_000 },
  { id: '1h', label: 'Last hour', ms: 60 * 60_000 },
  { id: '1d', label: 'Last day', ms: 24 * 60 * 60_000 },
];

export const DEFAULT_TIME_RANGE: TimeRange = TIME_RANGES[1]!;

/** The range of an id (from the page's `?range=`), the default for anything else. */
export function timeRangeOf(id: string | null): TimeRange {
  return TIME_RANGES.find((r) => r.id === id) ?? DEFAULT_TIME_RANGE;
}
