// The rows a page holds per output: each once, in timestamp order, pruned to the range, each
// tenant's newest timestamps kept, and never more than the cap — the oldest timestamps going whole.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_ROWS_PER_OUTPUT, OutputRows, withoutPartialOldest } from '../../web/src/lib/output-rows.js';
import type { OutputRow } from '../../web/src/lib/wire.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1, 12, 0);
let nextId = 1;
const row = (minute: number, fields: Record<string, unknown> = {}, tenant = 'brand-a', id = nextId++): OutputRow =>
  ({ id, job: 'j', tenant, timestampMs: T0 + minute * MIN, row: fields });
const minutes = (rows: readonly OutputRow[]) => rows.map((r) => (r.timestampMs - T0) / MIN);

describe('merge', () => {
  test('keeps each row once, by id', () => {
    const store = new OutputRows();
    const a = row(0), b = row(1);
    assert.equal(store.merge([a, b]), 2);
    assert.equal(store.merge([b, a, row(2)]), 1);
    assert.equal(store.size, 3);
  });

  test('puts late rows (a tenant behind the others, a reload) in timestamp order', () => {
    const store = new OutputRows();
    store.merge([row(5), row(6)]);
    store.merge([row(3, {}, 'brand-b')]);
    store.merge([row(8), row(7)]);
    assert.deepEqual(minutes(store.all), [3, 5, 6, 7, 8]);
  });
});

describe('prune', () => {
  const policy = { rangeMs: 10 * MIN, latestPerTenant: 2, maxRows: MAX_ROWS_PER_OUTPUT };

  test('drops rows older than the range', () => {
    const store = new OutputRows();
    store.merge([0, 1, 2, 5, 9, 12, 15].map((m) => row(m)));
    assert.equal(store.prune(policy, T0 + 15 * MIN), 3);
    assert.deepEqual(minutes(store.all), [5, 9, 12, 15]);
  });

  test('keeps each tenant\'s two newest timestamps however old (a card compares them)', () => {
    const store = new OutputRows();
    store.merge([row(0, {}, 'quiet'), row(1, {}, 'quiet'), row(2, {}, 'quiet'), row(40, {}, 'busy'), row(41, {}, 'busy')]);
    store.prune(policy, T0 + 45 * MIN);
    assert.deepEqual(store.all.map((r) => [r.tenant, (r.timestampMs - T0) / MIN]), [['quiet', 1], ['quiet', 2], ['busy', 40], ['busy', 41]]);
  });

  test('without a range (no line or heatmap reads the output) only the newest timestamps stay, all their rows', () => {
    const store = new OutputRows();
    for (let m = 0; m < 5; m++) store.merge([row(m, { k: 'a' }), row(m, { k: 'b' })]);
    store.prune({ rangeMs: null, latestPerTenant: 2, maxRows: 100 }, T0);
    assert.deepEqual(minutes(store.all), [3, 3, 4, 4]);
  });

  test('caps the rows, dropping the oldest timestamps whole', () => {
    const store = new OutputRows();
    for (let m = 0; m < 10; m++) store.merge([row(m), row(m), row(m)]);
    store.prune({ rangeMs: 60 * MIN, latestPerTenant: 2, maxRows: 10 }, T0 + 10 * MIN);
    // 30 rows, 10 allowed: minute 6 would be cut in the middle, so it goes too.
    assert.deepEqual(minutes(store.all), [7, 7, 7, 8, 8, 8, 9, 9, 9]);
    assert.equal(store.capped, true);
    store.prune({ rangeMs: 60 * MIN, latestPerTenant: 2, maxRows: 10 }, T0 + 10 * MIN);
    assert.equal(store.capped, false);
  });

  test('a single timestamp larger than the cap keeps its newest rows', () => {
    const store = new OutputRows();
    store.merge(Array.from({ length: 12 }, () => row(0)));
    store.prune({ rangeMs: null, latestPerTenant: 2, maxRows: 5 }, T0);
    assert.equal(store.size, 5);
  });

  test('stays bounded under an hour of traffic', () => {
    const store = new OutputRows();
    const keep = { rangeMs: 15 * MIN, latestPerTenant: 2, maxRows: 1_000 };
    for (let s = 0; s < 3_600; s++) {
      store.merge(Array.from({ length: 5 }, (_, k) => row(s / 60, { k }, k % 2 ? 'brand-a' : 'brand-b')));
      store.prune(keep, T0 + (s / 60) * MIN);
      assert.ok(store.size <= 1_000);
    }
    assert.ok(store.all[0]!.timestampMs >= T0 + 45 * MIN - MIN);
  });

  test('a pruned row merged again (a reload) is new again, and pruned again', () => {
    const store = new OutputRows();
    const old = row(0);
    store.merge([old, row(20), row(21)]);
    store.prune(policy, T0 + 21 * MIN);
    assert.equal(store.merge([old]), 1);
    store.prune(policy, T0 + 21 * MIN);
    assert.deepEqual(minutes(store.all), [20, 21]);
  });
});

test('the version rises with every change, and only then', () => {
  const store = new OutputRows();
  const v0 = store.version;
  const a = row(0);
  store.merge([a]);
  const v1 = store.version;
  assert.ok(v1 > v0);
  store.merge([a]);
  store.prune({ rangeMs: null, latestPerTenant: 2, maxRows: 10 }, T0);
  assert.equal(store.version, v1);
  store.merge([row(1), row(2)]);
  store.prune({ rangeMs: null, latestPerTenant: 2, maxRows: 10 }, T0);
  assert.equal(store.version, v1 + 2);
});

test('rows a job recomputes are dropped whole, and come back when loaded again', () => {
  const store = new OutputRows();
  const mine = [row(0, { n: 1 }), row(1, { n: 2 })];
  const theirs = { ...row(1, { n: 3 }), job: 'other' };
  store.merge([...mine, theirs]);
  const v = store.version;
  assert.equal(store.drop((r) => r.job === 'j' && r.timestampMs >= T0 + MIN), 1);
  assert.deepEqual(store.all.map((r) => r.row.n), [1, 3]);
  assert.ok(store.version > v);
  assert.equal(store.drop(() => false), 0);
  assert.equal(store.merge(mine), 1, 'a dropped row loaded again is new again');
});

test('tenants are listed sorted', () => {
  const store = new OutputRows();
  store.merge([row(0, {}, 'brand-b'), row(0, {}, 'brand-a'), row(1, {}, 'brand-b')]);
  assert.deepEqual(store.tenants(), ['brand-a', 'brand-b']);
});

describe('a full load\'s oldest timestamp may be cut', () => {
  test('its rows are left out when the answer holds `limit` rows', () => {
    const rows = [row(0), row(1), row(1), row(2)];
    assert.deepEqual(minutes(withoutPartialOldest(rows, 4)), [1, 1, 2]);
  });

  test('kept when the answer is not full, or is all one timestamp', () => {
    const rows = [row(0), row(1)];
    assert.equal(withoutPartialOldest(rows, 3), rows);
    const one = [row(4), row(4)];
    assert.equal(withoutPartialOldest(one, 2), one);
  });
});
