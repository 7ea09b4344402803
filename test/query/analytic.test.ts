import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rowsOf, runQuery, t } from './run-query.js';

const cars = (list: [number, string][]) => list.map(([s, Make]) => ({ time: t(s), Make }));

describe('LAG', () => {
  test('detects a change of value; LIMIT DURATION forgets older events', () => {
    const rows = rowsOf(
      `SELECT Make, time FROM input TIMESTAMP BY time WHERE LAG(Make, 1) OVER (LIMIT DURATION(minute, 1)) <> Make`,
      cars([[1, 'Honda'], [2, 'Honda'], [3, 'Toyota'], [4, 'Toyota'], [70, 'Honda']]),
    );
    // At 70 s the previous event (4 s) is more than a minute back: LAG is NULL and NULL <> x is not true.
    assert.deepEqual(rows, [{ Make: 'Toyota', time: t(3) }]);
  });

  test('is evaluated before WHERE: it sees the events WHERE discards', () => {
    const rows = rowsOf(
      `SELECT time, LAG(Make) OVER (LIMIT DURATION(minute, 1)) AS previous FROM input TIMESTAMP BY time WHERE Make = 'Honda'`,
      cars([[1, 'Honda'], [2, 'Toyota'], [3, 'Honda']]),
    );
    assert.deepEqual(rows, [{ time: t(1), previous: null }, { time: t(3), previous: 'Toyota' }]);
  });

  test('PARTITION BY, offset, default and WHEN (the condition is on the earlier events)', () => {
    const rows = rowsOf(
      `SELECT id, LAG(v, 2, -1) OVER (PARTITION BY k LIMIT DURATION(hour, 1)) AS two_back,
              LAG(v) OVER (PARTITION BY k LIMIT DURATION(hour, 1) WHEN v > 10) AS last_big
       FROM input TIMESTAMP BY time`,
      [
        { time: t(1), id: 1, k: 'a', v: 5 },
        { time: t(2), id: 2, k: 'b', v: 50 },
        { time: t(3), id: 3, k: 'a', v: 20 },
        { time: t(4), id: 4, k: 'a', v: 7 },
        { time: t(5), id: 5, k: 'a', v: 8 },
      ],
    );
    assert.deepEqual(rows, [
      { id: 1, two_back: -1, last_big: null },
      { id: 2, two_back: -1, last_big: null },
      { id: 3, two_back: -1, last_big: null },
      { id: 4, two_back: 5, last_big: 20 },
      { id: 5, two_back: 20, last_big: 20 },
    ]);
  });
});

describe('LAST', () => {
  test('most recent value satisfying WHEN, the current event included', () => {
    const rows = rowsOf(
      `SELECT id, LAST(reading) OVER (PARTITION BY sensorId LIMIT DURATION(hour, 1) WHEN reading IS NOT NULL) AS lastKnown
       FROM input TIMESTAMP BY time`,
      [
        { time: t(1), id: 1, sensorId: 's', reading: 10 },
        { time: t(2), id: 2, sensorId: 's', reading: null },
        { time: t(3), id: 3, sensorId: 's' },
        { time: t(4), id: 4, sensorId: 's', reading: 12 },
      ],
    );
    assert.deepEqual(rows, [{ id: 1, lastKnown: 10 }, { id: 2, lastKnown: 10 }, { id: 3, lastKnown: 10 }, { id: 4, lastKnown: 12 }]);
  });

  test('duration between a start and an end event (query-patterns idiom)', () => {
    const rows = rowsOf(
      `SELECT [user], feature, DATEDIFF(second, LAST(time) OVER (PARTITION BY [user], feature LIMIT DURATION(hour, 1) WHEN Event = 'start'), time) AS duration
       FROM input TIMESTAMP BY time WHERE Event = 'end'`,
      [
        { time: t(0), user: 'u', feature: 'f', Event: 'start' },
        { time: t(30), user: 'u', feature: 'f', Event: 'end' },
      ],
    );
    assert.deepEqual(rows, [{ user: 'u', feature: 'f', duration: 30 }]);
  });
});

describe('ISFIRST', () => {
  test('1 for the first event of each aligned interval (per partition), else 0', () => {
    const rows = rowsOf(
      `SELECT id, ISFIRST(minute, 10) OVER (PARTITION BY k) AS first FROM input TIMESTAMP BY time`,
      [
        { time: t(60), id: 1, k: 'a' },
        { time: t(300), id: 2, k: 'a' },
        { time: t(320), id: 3, k: 'b' },
        { time: t(660), id: 4, k: 'a' },
        { time: t(700), id: 5, k: 'a' },
      ],
    );
    assert.deepEqual(rows.map((r) => r.first), [1, 0, 1, 1, 0]);
  });

  test('an event failing WHEN gets 0 and does not count', () => {
    const rows = rowsOf(
      `SELECT id, ISFIRST(second, 10) OVER (WHEN v > 0) AS first FROM input TIMESTAMP BY time`,
      [{ time: t(1), id: 1, v: 0 }, { time: t(2), id: 2, v: 1 }, { time: t(3), id: 3, v: 1 }],
    );
    assert.deepEqual(rows.map((r) => r.first), [0, 1, 0]);
  });
});

describe('aggregates OVER a time range', () => {
  test('SUM and COUNT over the last 10 seconds of the partition, one row per event', () => {
    const rows = rowsOf(
      `SELECT id, SUM(v) OVER (PARTITION BY k LIMIT DURATION(second, 10)) AS recent, COUNT(*) OVER (LIMIT DURATION(second, 10)) AS events
       FROM input TIMESTAMP BY time`,
      [
        { time: t(1), id: 1, k: 'a', v: 1 },
        { time: t(5), id: 2, k: 'a', v: 2 },
        { time: t(8), id: 3, k: 'b', v: 4 },
        { time: t(14), id: 4, k: 'a', v: 8 },
      ],
    );
    assert.deepEqual(rows, [
      { id: 1, recent: 1, events: 1 },
      { id: 2, recent: 3, events: 2 },
      { id: 3, recent: 4, events: 3 },
      { id: 4, recent: 10, events: 3 },
    ]);
  });
});

describe('analytic functions in GROUP BY', () => {
  test('a LAG value can be a grouping key (count by previous make)', () => {
    const rows = rowsOf(
      `SELECT LAG(Make) OVER (LIMIT DURATION(minute, 1)) AS previous, COUNT(*) AS n FROM input TIMESTAMP BY time
       GROUP BY LAG(Make) OVER (LIMIT DURATION(minute, 1)), TumblingWindow(minute, 1)`,
      cars([[1, 'Honda'], [2, 'Toyota'], [3, 'Honda'], [4, 'Toyota']]),
    );
    assert.deepEqual(rows, [{ previous: null, n: 1 }, { previous: 'Honda', n: 2 }, { previous: 'Toyota', n: 1 }]);
  });
});

test('analytic functions see events that a reference JOIN drops', () => {
  const { rows } = runQuery(
    `SELECT c.id, p.name, LAG(c.id) OVER (LIMIT DURATION(minute, 1)) AS previous
     FROM input c TIMESTAMP BY time JOIN products p ON c.sku = p.sku`,
    [{ time: t(1), id: 1, sku: 'x' }, { time: t(2), id: 2, sku: 'unknown' }, { time: t(3), id: 3, sku: 'x' }],
    { references: { products: [{ sku: 'x', name: 'tea' }] } },
  );
  assert.deepEqual(rows.map((r) => r.row), [{ id: 1, name: 'tea', previous: null }, { id: 3, name: 'tea', previous: 2 }]);
});
