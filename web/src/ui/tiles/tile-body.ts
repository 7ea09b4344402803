// What a tile draws inside its frame: one body per tile type.
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

export interface TileBody {
  readonly el: HTMLElement;
  /** Draws the rows (the tenant's, holding the tile's fields); returns a sentence instead when there is nothing to draw. */
  draw(rows: readonly OutputRow[], fields: TileFields, ctx: TileContext): string | null;
  dispose(): void;
}
