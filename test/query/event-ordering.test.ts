import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileQuery, toJson, type Row } from '../../src/query/index.js';
import { at, dt, runQuery, t } from './run-query.js';

const stamp = `SELECT System.Timestamp() AS ts, time, id FROM input TIMESTAMP BY time`;

describe('late arrival', () => {
  test('adjust: an event arriving later than the tolerance is stamped arrival − tolerance; the payload keeps its time', () => {
    // The documented example: 12:00:00 arriving at 12:01:00 with a 15 s tolerance becomes 12:00:45.
    const { rows } = runQuery(stamp, [['input', { time: '2023-01-01T12:00:00Z', id: 1 }, '2023-01-01T12:01:00Z']], {
      policy: { lateArrivalToleranceMs: 15_000 },
    });
    assert.deepEqual(rows.map((r) => r.row), [{ ts: '2023-01-01T12:00:45.0000000Z', time: '2023-01-01T12:00:00Z', id: 1 }]);
  });

  test('drop: the late event is dropped and reported', () => {
    const { rows, diagnostics } = runQuery(stamp, [
      ['input', { time: '2023-01-01T12:00:00Z', id: 1 }, '2023-01-01T12:01:00Z'],
      ['input', { time: '2023-01-01T12:00:58Z', id: 2 }, '2023-01-01T12:01:00Z'],
    ], { policy: { lateArrivalToleranceMs: 15_000, outOfOrderAction: 'drop' } });
    assert.deepEqual(rows.map((r) => r.row.id), [2]);
    assert.deepEqual(diagnostics.map((d) => d.code), ['LATE_EVENT_DROPPED']);
  });

  test('events more than 5 minutes ahead of their arrival are dropped', () => {
    const { rows, diagnostics } = runQuery(stamp, [['input', { time: '2023-01-01T12:10:00Z', id: 1 }, '2023-01-01T12:00:00Z']]);
    assert.deepEqual(rows, []);
    assert.deepEqual(diagnostics.map((d) => d.code), ['EARLY_EVENT_DROPPED']);
  });
});

describe('out of order', () => {
  const input = [
    ['input', { time: t(10), id: 1 }, t(10)],
    ['input', { time: t(8), id: 2 }, t(11)],
    ['input', { time: t(12), id: 3 }, t(12)],
  ] as const;

  test('tolerance 0, adjust: an event behind the watermark is stamped with the watermark', () => {
    const { rows } = runQuery(stamp, input);
    assert.deepEqual(rows.map((r) => [r.row.id, r.row.ts]), [[1, dt(10)], [2, dt(10)], [3, dt(12)]]);
  });

  test('tolerance 0, drop: it is dropped', () => {
    const { rows, diagnostics } = runQuery(stamp, input, { policy: { outOfOrderAction: 'drop' } });
    assert.deepEqual(rows.map((r) => r.row.id), [1, 3]);
    assert.deepEqual(diagnostics.map((d) => d.code), ['OUT_OF_ORDER_EVENT_DROPPED']);
  });

  test('within the tolerance events are reordered by event time, not adjusted', () => {
    const { rows } = runQuery(stamp, input, { policy: { outOfOrderToleranceMs: 5_000 } });
    assert.deepEqual(rows.map((r) => [r.row.id, r.row.ts]), [[2, dt(8)], [1, dt(10)], [3, dt(12)]]);
  });

  test('a window includes a reordered event that an adjusting policy would move', () => {
    const q = `SELECT System.Timestamp() AS e, COUNT(*) AS n FROM input TIMESTAMP BY time GROUP BY TumblingWindow(second, 10)`;
    const late = [['input', { time: t(11) }, t(11)], ['input', { time: t(9) }, t(12)]] as const;
    assert.deepEqual(runQuery(q, late).rows.map((r) => r.row), [{ e: dt(20), n: 2 }]);
    assert.deepEqual(runQuery(q, late, { policy: { outOfOrderToleranceMs: 5_000 } }).rows.map((r) => r.row), [{ e: dt(10), n: 1 }, { e: dt(20), n: 1 }]);
  });
});

describe('watermark', () => {
  test('a window is emitted once the watermark passes its end, not before', () => {
    const rows: unknown[] = [];
    const runner = compileQuery(`SELECT System.Timestamp() AS e, COUNT(*) AS n FROM input TIMESTAMP BY time GROUP BY TumblingWindow(second, 10)`)
      .createRunner({ onRow: (_o, row) => rows.push(toJson(row)) });
    runner.push('input', { time: t(5) } as Row, at(t(5)));
    runner.push('input', { time: t(10) } as Row, at(t(10)));
    assert.deepEqual(rows, [], 'an event at exactly the end does not close the window: another could share its time');
    runner.push('input', { time: t(11) } as Row, at(t(11)));
    assert.deepEqual(rows, [{ e: dt(10), n: 2 }]);
  });

  test('an idle input advances on arrival time − late tolerance, so windows still close', () => {
    const rows: unknown[] = [];
    const runner = compileQuery(`SELECT System.Timestamp() AS e, COUNT(*) AS n FROM input TIMESTAMP BY time GROUP BY TumblingWindow(second, 10)`)
      .createRunner({ onRow: (_o, row) => rows.push(toJson(row)) });
    runner.push('input', { time: t(5) } as Row, at(t(5)));
    runner.advanceTo(at(t(15)));
    assert.deepEqual(rows, [], 'watermark 15 − 5 = 10 has not passed the end yet');
    runner.advanceTo(at(t(15.5)));
    assert.deepEqual(rows, [{ e: dt(10), n: 1 }]);
  });

  test('without TIMESTAMP BY events are stamped with their arrival time', () => {
    const { rows } = runQuery(`SELECT System.Timestamp() AS ts, id FROM input`, [['input', { id: 1 }, t(3)], ['input', { id: 2 }, t(4)]]);
    assert.deepEqual(rows.map((r) => r.row), [{ ts: dt(3), id: 1 }, { ts: dt(4), id: 2 }]);
  });
});

describe('TIMESTAMP BY … OVER', () => {
  // Device b's clock is an hour behind device a's; both arrive at the same moment.
  const skewed = [
    ['input', { time: '2023-01-01T10:00:10Z', device: 'a' }, '2023-01-01T10:00:30Z'],
    ['input', { time: '2023-01-01T09:00:10Z', device: 'b' }, '2023-01-01T10:00:30Z'],
    ['input', { time: '2023-01-01T09:00:11Z', device: 'b' }, '2023-01-01T10:00:31Z'],
  ] as const;
  const policy = { lateArrivalToleranceMs: 2 * 3_600_000 };

  test('with one clock, the slow device is adjusted to the watermark', () => {
    const { rows } = runQuery(`SELECT System.Timestamp() AS ts, device FROM input TIMESTAMP BY time`, skewed, { policy });
    assert.deepEqual(rows.map((r) => r.row.ts), ['2023-01-01T10:00:10.0000000Z', '2023-01-01T10:00:10.0000000Z', '2023-01-01T10:00:10.0000000Z']);
  });

  test('each key has its own clock: nothing is adjusted and windows close per device', () => {
    const { rows } = runQuery(
      `SELECT device, COUNT(*) AS n, System.Timestamp() AS e FROM input TIMESTAMP BY time OVER device
       GROUP BY device, TumblingWindow(minute, 1)`,
      skewed, { policy },
    );
    // Both close at the end of input, which closes every device's windows at once: in time order.
    assert.deepEqual(rows.map((r) => r.row), [
      { device: 'b', n: 2, e: '2023-01-01T09:01:00.0000000Z' },
      { device: 'a', n: 1, e: '2023-01-01T10:01:00.0000000Z' },
    ]);
  });

  test('a device\'s own clock closes its windows first; arrival time closes every device\'s at once, in time order', () => {
    const rows: unknown[] = [];
    const runner = compileQuery(`SELECT device, COUNT(*) AS n, System.Timestamp() AS e FROM input TIMESTAMP BY time OVER device
       GROUP BY device, TumblingWindow(second, 10)`).createRunner({ policy: { lateArrivalToleranceMs: 60_000 }, onRow: (_o, row) => rows.push(toJson(row)) });
    runner.push('input', { time: t(25), device: 'a' } as Row, at(t(26)));
    runner.push('input', { time: t(5), device: 'b' } as Row, at(t(26)));
    runner.push('input', { time: t(15), device: 'b' } as Row, at(t(27)));
    runner.push('input', { time: t(31), device: 'a' } as Row, at(t(31)));
    assert.deepEqual(rows, [{ device: 'b', n: 1, e: dt(10) }, { device: 'a', n: 1, e: dt(30) }], 'each on its own clock');
    runner.push('input', { time: t(45), device: 'c' } as Row, at(t(101)));
    assert.deepEqual(rows.slice(2), [{ device: 'b', n: 1, e: dt(20) }, { device: 'a', n: 1, e: dt(40) }], 'arrival time 101 − 60 = 41 moves every device');
  });
});
