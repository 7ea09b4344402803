// What a tile draws inside its frame: one body per tile type. Each drawing is also summed up as a
// small object (the tile's `data-summary`, see tile-view.ts), made from the data drawn.
import type { FormatSpec } from '../../lib/number-format.js';
import type { Combine, TileFields } from '../../lib/tile-data.js';
import type { TimeRange } from '../../lib/time-range.js';
import type { OutputRow, TileSpec } from '../../lib/wire.js';
import type { Theme } from '../theme.js';

export interface TileContext {
  readonly spec: TileSpec;
  readonly format: FormatSpec;
  readonly combine: Combine;
  readonly range: TimeRange;
  /** Rows stamped before this are outside the range. */
  readonly sinceMs: number;
  readonly nowMs: number;
  readonly theme: Theme;
}

/** A name and its value, as a summary lists categories, steps, lines and heatmap rows. */
export type Named = readonly [name: string, value: number | null];

/**
 * What a tile shows, in numbers rather than pixels (`at`: the newest timestamp drawn, ISO):
 * a card its value; bars, pie and a table their top categories (a table its rows, as shown);
 * a funnel its steps; a line each line's newest value; a heatmap each row's value in the newest column.
 */
export type TileSummary =
  | { readonly value: number; readonly at: string }
  | { readonly top: readonly Named[]; readonly at: string }
  | { readonly columns: readonly string[]; readonly rows: readonly (readonly unknown[])[]; readonly at: string }
  | { readonly steps: readonly Named[]; readonly at: string }
  | { readonly series: readonly Named[]; readonly at: string }
  | { readonly rows: readonly Named[]; readonly at: string };

export interface TileBody {
  readonly el: HTMLElement;
  /** Draws the rows (the tenant's, holding the tile's fields) and sums up what it drew; returns a sentence instead when there is nothing to draw. */
  draw(rows: readonly OutputRow[], fields: TileFields, ctx: TileContext): TileSummary | string;
  dispose(): void;
}

/** A timestamp as summaries write it. */
export const iso = (ms: number): string => new Date(ms).toISOString();
