// The settings of dashboards: named pages of tiles, each tile bound to an output (docs/dashboards.md).
import { boolean, choice, integer, list, records, section, sequence, text } from './schema.js';

export const TILE_TYPES = ['card', 'line', 'bar', 'table', 'funnel', 'pie', 'heatmap'] as const;
export type TileType = (typeof TILE_TYPES)[number];

/** How a tile writes its numbers. */
export const NUMBER_FORMATS = ['count', 'number', 'currency', 'percent', 'duration'] as const;

/** What a tile needs besides its output, by type. */
const NEEDS: Readonly<Record<TileType, readonly ('value' | 'key' | 'steps' | 'columns' | 'y')[]>> = {
  card: ['value'],
  line: ['value'],
  bar: ['value', 'key'],
  pie: ['value', 'key'],
  table: ['columns'],
  funnel: ['steps'],
  heatmap: ['value', 'y'],
};

const TILE = section({
  type: choice({ doc: 'how the rows are drawn', values: TILE_TYPES }),
  title: text({ doc: 'the tile\'s heading' }),
  output: text({ doc: 'the output whose rows the tile shows (a configured output)', placeholder: 'OUTPUT' }),
  value: text({ doc: 'the field holding the number (card, line, bar, pie, heatmap)', default: null, placeholder: 'FIELD' }),
  key: text({ doc: 'line: one line per value of this field; bar, pie: the category', default: null, placeholder: 'FIELD' }),
  y: text({ doc: 'heatmap: the field for rows (a store, say); columns are the rows\' times', default: null, placeholder: 'FIELD' }),
  steps: list({ doc: 'funnel: the fields of one row holding each step\'s count, in order', default: null }),
  columns: list({ doc: 'table: the fields shown, in order', default: null }),
  labels: list({ doc: 'funnel: a name per step (default: the field names)', default: null }),
  format: choice({ doc: 'how numbers are written', values: NUMBER_FORMATS, default: 'count' }),
  currency: text({ doc: 'currency: the ISO 4217 code', default: 'EUR', valid: (c) => /^[A-Z]{3}$/.test(c), expected: 'a three-letter currency code such as EUR' }),
  top: integer({ doc: 'bar, pie, table: how many rows at most, largest first', min: 1, max: 1_000, default: 10 }),
  width: integer({ doc: 'columns of the page\'s grid the tile spans', min: 1, max: 4, default: 1 }),
}, {
  check: (t) => {
    for (const field of NEEDS[t.type]) {
      if (t[field] === null) return { setting: field, problem: `a ${t.type} tile needs ${field}` } as const;
    }
    if (t.labels !== null && t.steps !== null && t.labels.length !== t.steps.length) return { setting: 'labels', problem: 'give one label per step' } as const;
    return undefined;
  },
});

export const DASHBOARD_SETTINGS = records(section({
  title: text({ doc: 'the page\'s heading' }),
  description: text({ doc: 'a line under the heading', default: null }),
  tiles: sequence(TILE, { doc: 'the tiles, in reading order' }),
  recommendations: boolean({ doc: 'under the tiles, "shoppers who tried this also bought" for the most popular items (needs `recommendations.enabled`)', default: false }),
}), { doc: 'live dashboards, by the name in /dashboards/<name>' });
