import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dt, rowsOf, t } from './run-query.js';

const window = (select: string, having = '') =>
  `SELECT ${select} FROM input TIMESTAMP BY time GROUP BY TumblingWindow(second, 10) ${having}`;

const readings = [
  { time: t(1), id: 'a', v: 4, k: 'x' },
  { time: t(2), id: 'b', v: null, k: 'y' },
  { time: t(3), id: 'c', v: 1, k: 'x' },
  { time: t(4), id: 'd', v: 3, k: 'z' },
  { time: t(5), id: 'e', v: 2 },
];

describe('aggregates', () => {
  test('COUNT(*) counts events, COUNT(x) non-NULL values, COUNT(DISTINCT x) distinct ones', () => {
    assert.deepEqual(rowsOf(window('COUNT(*) AS events, COUNT(v) AS values, COUNT(DISTINCT k) AS keys'), readings), [{ events: 5, values: 4, keys: 3 }]);
  });

  test('SUM, AVG, MIN, MAX ignore NULLs; SUM of only NULLs is NULL', () => {
    assert.deepEqual(rowsOf(window('SUM(v) AS s, AVG(v) AS a, MIN(v) AS lo, MAX(v) AS hi, SUM(missing) AS none'), readings), [{ s: 10, a: 2.5, lo: 1, hi: 4, none: null }]);
  });

  test('MIN and MAX of datetimes; inside an aggregate System.Timestamp() is each event\'s time', () => {
    assert.deepEqual(rowsOf(window('MIN(CAST(time AS datetime)) AS first, MAX(System.Timestamp()) AS last, System.Timestamp() AS e'), readings), [{ first: dt(1), last: dt(5), e: dt(10) }]);
  });

  test('STDEV, STDEVP, VAR, VARP', () => {
    const [row] = rowsOf(window('STDEV(v) AS s, STDEVP(v) AS sp, VAR(v) AS va, VARP(v) AS vp'), readings);
    assert.ok(Math.abs((row!.s as number) - 1.2909944) < 1e-6);
    assert.ok(Math.abs((row!.sp as number) - 1.1180340) < 1e-6);
    assert.ok(Math.abs((row!.va as number) - 5 / 3) < 1e-9);
    assert.equal(row!.vp, 1.25);
  });

  test('TopOne() OVER (ORDER BY …) returns the top event as a record', () => {
    assert.deepEqual(rowsOf(window('TopOne() OVER (ORDER BY v DESC) AS best'), readings), [{ best: readings[0] }]);
    assert.deepEqual(rowsOf(window('TopOne(id) OVER (ORDER BY time DESC) AS latest'), readings), [{ latest: 'e' }]);
  });

  test('Collect and CollectTop', () => {
    assert.deepEqual(rowsOf(window('Collect(id) AS ids'), readings), [{ ids: ['a', 'b', 'c', 'd', 'e'] }]);
    assert.deepEqual(rowsOf(window('CollectTop(2, id) OVER (ORDER BY v DESC) AS top'), readings), [{ top: [{ rank: 1, value: 'a' }, { rank: 2, value: 'd' }] }]);
  });

  test('PERCENTILE_CONT interpolates; PERCENTILE_DISC returns an input value', () => {
    assert.deepEqual(
      rowsOf(window('PERCENTILE_CONT(0.5) OVER (ORDER BY v) AS median, PERCENTILE_DISC(0.5) OVER (ORDER BY v) AS discrete, PERCENTILE_CONT(0.9) OVER (ORDER BY v) AS p90'), readings),
      [{ median: 2.5, discrete: 2, p90: 3.7 }],
    );
  });

  test('HAVING filters groups and may use SELECT aliases', () => {
    const q = `SELECT k, COUNT(*) AS [Count] FROM input TIMESTAMP BY time GROUP BY k, TumblingWindow(second, 10) HAVING [Count] >= 2`;
    assert.deepEqual(rowsOf(q, readings), [{ k: 'x', Count: 2 }]);
    assert.deepEqual(rowsOf(window('COUNT(*) AS n', 'HAVING SUM(v) > 100'), readings), []);
  });

  test('NULL group keys form one group; alias = expression is an alias', () => {
    const q = `SELECT k, Users = COUNT(*) FROM input TIMESTAMP BY time GROUP BY k, TumblingWindow(second, 10)`;
    assert.deepEqual(rowsOf(q, [...readings, { time: t(6), v: 1 }]), [
      { k: 'x', Users: 2 }, { k: 'y', Users: 1 }, { k: 'z', Users: 1 }, { k: null, Users: 2 },
    ]);
  });
});
