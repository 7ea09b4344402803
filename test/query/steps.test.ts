import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dt, runQuery, t } from './run-query.js';

describe('WITH steps and outputs', () => {
  test('steps feed each other and several SELECT … INTO write several outputs, in emission order', () => {
    const { rows } = runQuery(
      `WITH Fast AS (
         SELECT DeviceId, speed, time FROM input TIMESTAMP BY time WHERE speed > 100
       ),
       PerMinute AS (
         SELECT DeviceId, COUNT(*) AS n FROM Fast GROUP BY DeviceId, TumblingWindow(minute, 1)
       )
       SELECT DeviceId, speed INTO alerts FROM Fast
       SELECT DeviceId, n, System.Timestamp() AS e INTO summary FROM PerMinute;`,
      [
        { DeviceId: 'a', speed: 120, time: t(10) },
        { DeviceId: 'b', speed: 90, time: t(20) },
        { DeviceId: 'a', speed: 130, time: t(30) },
        { DeviceId: 'a', speed: 50, time: t(70) },
      ],
    );
    assert.deepEqual(rows, [
      { output: 'alerts', row: { DeviceId: 'a', speed: 120 } },
      { output: 'alerts', row: { DeviceId: 'a', speed: 130 } },
      { output: 'summary', row: { DeviceId: 'a', n: 2, e: dt(60) } },
    ]);
  });

  test('a statement without INTO writes to the output named output', () => {
    assert.deepEqual(runQuery(`SELECT 1 AS one FROM input`, [{}]).rows, [{ output: 'output', row: { one: 1 } }]);
  });

  test('UNION merges statements in time order', () => {
    const { rows } = runQuery(
      `SELECT id, 'a' AS src FROM A TIMESTAMP BY time UNION SELECT id, 'b' AS src FROM B TIMESTAMP BY time`,
      [['A', { id: 1, time: t(1) }], ['A', { id: 3, time: t(3) }], ['B', { id: 2, time: t(2) }], ['B', { id: 4, time: t(4) }]],
    );
    assert.deepEqual(rows.map((r) => r.row.id), [1, 2, 3, 4]);
  });

  test('a step joined back to its stream: each event with its window total', () => {
    const { rows } = runQuery(
      `WITH Totals AS (SELECT COUNT(*) AS n FROM input TIMESTAMP BY time GROUP BY TumblingWindow(second, 10))
       SELECT e.id, x.n FROM input e TIMESTAMP BY time
       JOIN Totals x ON DATEDIFF(second, e, x) BETWEEN 0 AND 10`,
      [{ id: 1, time: t(1) }, { id: 2, time: t(9) }, { id: 3, time: t(15) }],
    );
    assert.deepEqual(rows.map((r) => r.row), [{ id: 1, n: 2 }, { id: 2, n: 2 }, { id: 3, n: 1 }]);
  });
});

describe('HAVING without GROUP BY', () => {
  test('filters like WHERE, together with WHERE, and may name SELECT aliases', () => {
    const { rows } = runQuery(`SELECT id, v * 2 AS doubled FROM input WHERE id > 1 HAVING doubled > 10`, [{ id: 1, v: 9 }, { id: 2, v: 3 }, { id: 3, v: 6 }]);
    assert.deepEqual(rows.map((r) => r.row), [{ id: 3, doubled: 12 }]);
  });
});

describe('TIMESTAMP BY on a step', () => {
  test('re-stamps the rows of a step (the UNION pattern of the documentation)', () => {
    const { rows } = runQuery(
      `WITH Both AS (
         SELECT id, ts FROM A
         UNION
         SELECT id, ts FROM B
       )
       SELECT COUNT(*) AS n, System.Timestamp() AS e FROM Both TIMESTAMP BY ts GROUP BY TumblingWindow(second, 10)`,
      [['A', { id: 1, ts: t(1) }, t(1)], ['B', { id: 2, ts: t(2) }, t(2)], ['A', { id: 3, ts: t(15) }, t(15)], ['B', { id: 4, ts: t(16) }, t(16)]],
    );
    assert.deepEqual(rows.map((r) => r.row), [{ n: 2, e: dt(10) }, { n: 2, e: dt(20) }]);
  });
});
