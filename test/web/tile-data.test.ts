// From rows to what a tile draws: tenants, fields, and the card, line, bar/pie, table, funnel and
// heatmap transforms, with rows of several tenants combined.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  cardData, combineOf, fieldsOf, forTenant, funnelData, heatmapGrid, lineSeries, noNumbersProblem, resolveField,
  resolveTileFields, tableData, toNumber, topCategories,
} from '../../web/src/lib/tile-data.js';
import { parseTile, type OutputRow, type TileSpec } from '../../web/src/lib/wire.js';

// Heatmap columns are local times: fixed here so the expected labels hold on any machine.
process.env.TZ = 'UTC';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1, 12, 0);
let nextId = 1;
const row = (minute: number, fields: Record<string, unknown>, tenant = 'brand-a'): OutputRow =>
  ({ id: nextId++, job: 'j', tenant, timestampMs: T0 + minute * MIN, row: fields });
const tile = (t: Record<string, unknown>): TileSpec => parseTile({ title: 't', output: 'Out', ...t }, 0);

describe('tenants', () => {
  const rows = [row(0, { n: 1 }, 'brand-a'), row(0, { n: 2 }, 'brand-b')];
  test('All tenants is every row; one tenant only its own', () => {
    assert.equal(forTenant(rows, null).length, 2);
    assert.deepEqual(forTenant(rows, 'brand-b').map((r) => r.row.n), [2]);
  });

  test('counts add up across tenants; ratios and durations are averaged', () => {
    assert.equal(combineOf('count'), 'sum');
    assert.equal(combineOf('currency'), 'sum');
    assert.equal(combineOf('percent'), 'mean');
    assert.equal(combineOf('duration'), 'mean');
  });
});

describe('fields', () => {
  const rows = [row(0, { sku: 'a', n: 1 }), row(1, { sku: 'b', n: 2, extra: true })];

  test('the fields of the rows, and a tile\'s field found regardless of case', () => {
    assert.deepEqual(fieldsOf(rows), ['sku', 'n', 'extra']);
    assert.equal(resolveField('SKU', ['sku', 'n']), 'sku');
    assert.equal(resolveField('n', ['N', 'n']), 'n');
    assert.equal(resolveField('views', ['sku', 'n']), null);
  });

  test('a tile whose fields are not in the rows says which, and what the rows have', () => {
    const bar = tile({ type: 'bar', output: 'TopViewed', value: 'views', key: 'sku' });
    assert.deepEqual(resolveTileFields(bar, ['sku', 'n']), { problem: 'field `views` is not in the rows of TopViewed; their fields are: sku, n' });
    const funnel = tile({ type: 'funnel', output: 'Funnel', steps: ['viewed', 'tried', 'bought'] });
    assert.deepEqual(resolveTileFields(funnel, ['viewed']), { problem: 'fields `tried`, `bought` are not in the rows of Funnel; their fields are: viewed' });
  });

  test('found fields are given as the rows spell them', () => {
    const heat = tile({ type: 'heatmap', value: 'Visitors', y: 'store' });
    assert.deepEqual(resolveTileFields(heat, ['store', 'visitors']), { fields: { value: 'visitors', key: null, y: 'store', steps: [], columns: [] } });
  });

  test('a value field that holds no numbers is named with an example', () => {
    assert.equal(noNumbersProblem([row(0, { n: 'many' })], 'n', 'Out'), 'field `n` of Out holds no numbers (it holds "many")');
    assert.equal(noNumbersProblem([row(0, { n: null })], 'n', 'Out'), 'field `n` of Out holds no numbers (it is empty in every row)');
    assert.equal(noNumbersProblem([row(0, { n: 'x' }), row(1, { n: '3' })], 'n', 'Out'), null);
    assert.equal(toNumber('12.5'), 12.5);
    assert.equal(toNumber(''), null);
    assert.equal(toNumber(true), null);
  });
});

describe('card', () => {
  test('the newest timestamp\'s value, summed over its rows, and the one before', () => {
    const rows = [row(0, { n: 10 }, 'a'), row(0, { n: 5 }, 'b'), row(1, { n: 12 }, 'a'), row(1, { n: 8 }, 'b')];
    assert.deepEqual(cardData(rows, 'n', 'sum'), { value: 20, previous: 15, timestampMs: T0 + MIN, previousMs: T0 });
  });

  test('averaged for a ratio; rows without a number ignored; nothing before the first row', () => {
    const rows = [row(0, { r: 0.2 }, 'a'), row(0, { r: 0.4 }, 'b'), row(1, { r: null })];
    assert.deepEqual(cardData(rows, 'r', 'mean'), { value: 0.30000000000000004, previous: null, timestampMs: T0, previousMs: null });
    assert.deepEqual(cardData([], 'r', 'sum'), { value: null, previous: null, timestampMs: null, previousMs: null });
  });
});

describe('line', () => {
  const rows = [
    row(0, { ch: 'web', n: 3 }, 'a'), row(0, { ch: 'web', n: 1 }, 'b'), row(0, { ch: 'ios', n: 2 }),
    row(1, { ch: 'web', n: 4 }), row(1, { ch: 'ios', n: 5 }), row(-30, { ch: 'web', n: 100 }),
  ];

  test('one line per key, tenants summed per timestamp, rows before the range left out', () => {
    const { series, omitted } = lineSeries(rows, 'n', 'ch', 'sum', T0);
    assert.equal(omitted, 0);
    assert.deepEqual(series, [
      { name: 'ios', points: [[T0, 2], [T0 + MIN, 5]] },
      { name: 'web', points: [[T0, 4], [T0 + MIN, 4]] },
    ]);
  });

  test('one line named after the value when there is no key', () => {
    assert.deepEqual(lineSeries(rows, 'n', null, 'sum', T0).series, [{ name: 'n', points: [[T0, 6], [T0 + MIN, 9]] }]);
  });

  test('at most so many lines, the largest, the rest counted', () => {
    const many = Array.from({ length: 30 }, (_, k) => row(0, { k: `s${k}`, n: k }));
    const { series, omitted } = lineSeries(many, 'n', 'k', 'sum', T0, 20);
    assert.equal(series.length, 20);
    assert.equal(omitted, 10);
    assert.ok(series.every((s) => Number(s.name.slice(1)) >= 10));
  });
});

describe('bar and pie', () => {
  test('the newest timestamp by category, combined across tenants, largest first, the rest summed', () => {
    const rows = [
      row(0, { sku: 'old', n: 99 }),
      row(1, { sku: 'a', n: 5 }, 'x'), row(1, { sku: 'a', n: 4 }, 'y'), row(1, { sku: 'b', n: 7 }), row(1, { sku: 'c', n: 1 }), row(1, { sku: 'd', n: 2 }),
    ];
    assert.deepEqual(topCategories(rows, 'n', 'sku', 'sum', 2), {
      items: [{ name: 'a', value: 9 }, { name: 'b', value: 7 }],
      rest: { count: 2, value: 3 },
      timestampMs: T0 + MIN,
    });
  });

  test('a missing key is its own category; no rows, no categories', () => {
    assert.deepEqual(topCategories([row(0, { n: 1 })], 'n', 'sku', 'sum', 5).items, [{ name: '(none)', value: 1 }]);
    assert.deepEqual(topCategories([], 'n', 'sku', 'sum', 5), { items: [], rest: null, timestampMs: null });
  });
});

describe('table', () => {
  test('the newest rows, the columns in order, largest first by the first numeric column, at most top', () => {
    const rows = [
      row(0, { sku: 'z', n: 100 }),
      row(1, { sku: '1001', name: 'Tee', n: 3, rev: 30 }), row(1, { sku: '1002', name: 'Jeans', n: 9, rev: 700 }), row(1, { sku: '1003', name: 'Cap', n: 5, rev: 50 }),
    ];
    const t = tableData(rows, ['name', 'sku', 'n', 'rev'], ['Name', 'sku', 'n', 'rev'], 2);
    assert.deepEqual(t.numeric, [false, false, true, true]);
    assert.deepEqual(t.rows.map((r) => r.cells), [['Jeans', '1002', 9, 700], ['Cap', '1003', 5, 50]]);
    assert.equal(t.total, 3);
    assert.equal(t.showTenant, false);
  });

  test('sorted by the tile\'s value when it names one', () => {
    const rows = [row(0, { name: 'a', tried: 9, notBought: 1 }), row(0, { name: 'b', tried: 2, notBought: 2 })];
    assert.deepEqual(tableData(rows, ['name', 'tried', 'notBought'], ['name', 'tried', 'notBought'], 10, 'notBought').rows.map((r) => r.cells[0]), ['b', 'a']);
  });

  test('a table\'s value must be in the rows too', () => {
    const t = tile({ type: 'table', output: 'T', columns: ['name'], value: 'missing' });
    assert.deepEqual(resolveTileFields(t, ['name']), { problem: 'field `missing` is not in the rows of T; their fields are: name' });
  });

  test('rows of several tenants are shown with their tenant, not added up', () => {
    const t = tableData([row(0, { k: 'a', n: 1 }, 'x'), row(0, { k: 'a', n: 2 }, 'y')], ['k', 'n'], ['k', 'n'], 10);
    assert.equal(t.showTenant, true);
    assert.deepEqual(t.rows.map((r) => [r.tenant, ...r.cells]), [['y', 'a', 2], ['x', 'a', 1]]);
  });
});

describe('funnel', () => {
  test('the newest row\'s steps with their labels, and the conversion from first to last', () => {
    const rows = [row(0, { v: 1, t: 1, b: 1 }), row(1, { v: 200, t: 80, b: 30 }, 'x'), row(1, { v: 100, t: 20, b: 15 }, 'y')];
    assert.deepEqual(funnelData(rows, ['v', 't', 'b'], ['Viewed', 'Tried on', 'Bought'], 'sum'), {
      steps: [{ name: 'Viewed', value: 300 }, { name: 'Tried on', value: 100 }, { name: 'Bought', value: 45 }],
      conversion: 0.15,
      timestampMs: T0 + MIN,
    });
  });

  test('named by the fields without labels; no conversion from an empty first step', () => {
    const f = funnelData([row(0, { v: 0, b: 0 })], ['v', 'b'], null, 'sum');
    assert.deepEqual(f.steps.map((s) => s.name), ['v', 'b']);
    assert.equal(f.conversion, null);
  });
});

describe('heatmap', () => {
  test('a column per timestamp (HH:MM), a row per y value, tenants summed per cell', () => {
    const rows = [
      row(0, { store: 'Lyon', n: 4 }, 'a'), row(0, { store: 'Lyon', n: 1 }, 'b'), row(0, { store: 'Berlin', n: 2 }),
      row(60, { store: 'Berlin', n: 7 }), row(-600, { store: 'Oslo', n: 1 }),
    ];
    const g = heatmapGrid(rows, 'n', 'store', 'sum', T0);
    assert.deepEqual(g.x, ['12:00', '13:00']);
    assert.deepEqual(g.y, ['Berlin', 'Lyon']);
    assert.deepEqual(g.cells, [[0, 1, 5], [0, 0, 2], [1, 0, 7]]);
    assert.deepEqual([g.min, g.max], [2, 7]);
  });

  test('columns spanning days carry the day; y values sort as numbers where they are', () => {
    const rows = [row(0, { s: 'store 10', n: 1 }), row(24 * 60, { s: 'store 9', n: 1 })];
    const g = heatmapGrid(rows, 'n', 's', 'sum', 0);
    // The day is in the runtime locale's order (01/02 or 02/01): only its presence is pinned.
    assert.equal(g.x.length, 2);
    for (const label of g.x) assert.match(label, /^\S*0[12]\S* 12:00$/);
    assert.notEqual(g.x[0], g.x[1]);
    assert.deepEqual(g.y, ['store 9', 'store 10']);
  });

  test('windows ending within one minute carry their seconds', () => {
    const rows = [row(0, { s: 'a', n: 1 }), row(1 / 6, { s: 'a', n: 2 }), row(2 / 6, { s: 'a', n: 3 })];
    assert.deepEqual(heatmapGrid(rows, 'n', 's', 'sum', 0).x, ['12:00:00', '12:00:10', '12:00:20']);
  });

  test('no rows, an empty grid', () => {
    assert.deepEqual(heatmapGrid([], 'n', 's', 'sum', 0), { x: [], xMs: [], y: [], cells: [], min: 0, max: 0 });
  });
});
