// The configured dashboards, each tile checked against the configured outputs at start: a tile
// reading an output nobody configured keeps its place on the page and says what is wrong there
// (and the log says it at start), rather than leaving a blank.
import { nearestName, type Config } from '../config/index.js';
import type { Logger } from '../telemetry/logger.js';

type DashboardConfig = Config['dashboards'][string];
export type TileConfig = DashboardConfig['tiles'][number];

export interface Tile extends TileConfig {
  /** What keeps the tile from showing rows, or null. */
  readonly problem: string | null;
}

export interface Dashboard {
  readonly name: string;
  readonly title: string;
  readonly description: string | null;
  readonly tiles: readonly Tile[];
  /** Show the recommender's "tried this, also bought" under the tiles. */
  readonly recommendations: boolean;
}

export class Dashboards {
  private readonly byName = new Map<string, Dashboard>();

  /** `outputs` gives the configured output of a name (case-insensitive), as configured. */
  constructor(config: Config['dashboards'], outputs: { names(): string[]; find(name: string): string | undefined }, logger: Logger) {
    for (const [name, d] of Object.entries(config)) {
      const tiles = d.tiles.map((t, i): Tile => {
        const output = outputs.find(t.output);
        if (output !== undefined) return { ...t, output, problem: null };
        const near = nearestName(t.output, outputs.names());
        const problem = `This tile reads the output '${t.output}', which is not configured${near ? `; did you mean '${near}'?` : ''}`;
        logger.warn('dashboard tile reads an unknown output', { dashboard: name, tile: i, title: t.title, output: t.output, suggestion: near ?? null });
        return { ...t, problem };
      });
      this.byName.set(name, { name, title: d.title, description: d.description, tiles, recommendations: d.recommendations });
    }
  }

  list(): Dashboard[] {
    return [...this.byName.values()];
  }

  get(name: string): Dashboard | undefined {
    return this.byName.get(name);
  }
}
