import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dt, rowsOf, runQuery, t } from './run-query.js';

const events = (seconds: number[], extra: (i: number) => Record<string, unknown> = () => ({})) =>
  seconds.map((s, i) => ({ time: t(s), ...extra(i) }));

describe('tumbling window', () => {
  test('windows are (start, end], stamped with their end, empty windows emit nothing', () => {
    const rows = rowsOf(
      `SELECT System.Timestamp() AS WindowEnd, COUNT(*) AS Count FROM input TIMESTAMP BY time GROUP BY TumblingWindow(second, 10)`,
      events([1, 5, 10, 11, 25]),
    );
    assert.deepEqual(rows, [
      { WindowEnd: dt(10), Count: 3 }, // the event at exactly 10 s belongs to the window ending at 10 s
      { WindowEnd: dt(20), Count: 1 },
      { WindowEnd: dt(30), Count: 1 }, // (20, 30] — the empty window (30, 40] and others never appear
    ]);
  });

  test('one row per group per window, groups in order of first appearance', () => {
    const rows = rowsOf(
      `SELECT TollId, COUNT(*) AS Count, System.Timestamp() AS WindowEnd FROM input TIMESTAMP BY time GROUP BY TollId, Tumbling(second, 10)`,
      events([1, 2, 3, 12], (i) => ({ TollId: [2, 1, 2, 1][i] })),
    );
    assert.deepEqual(rows, [
      { TollId: 2, Count: 2, WindowEnd: dt(10) },
      { TollId: 1, Count: 1, WindowEnd: dt(10) },
      { TollId: 1, Count: 1, WindowEnd: dt(20) },
    ]);
  });

  test('Offset(millisecond, -1) makes windows include their start and exclude their end', () => {
    const rows = rowsOf(
      `SELECT System.Timestamp() AS WindowEnd, COUNT(*) AS Count FROM input TIMESTAMP BY time
       GROUP BY TumblingWindow(Duration(second, 10), Offset(millisecond, -1))`,
      events([0, 9, 10]),
    );
    assert.deepEqual(rows, [
      { WindowEnd: '2023-01-01T00:00:09.9990000Z', Count: 2 },
      { WindowEnd: '2023-01-01T00:00:19.9990000Z', Count: 1 },
    ]);
  });

  test('property: matches a brute-force count over random events', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 20; round++) {
      const size = 1 + Math.floor(random() * 20);
      const seconds = Array.from({ length: 60 }, () => Math.floor(random() * 200)).sort((a, b) => a - b);
      const keys = seconds.map(() => Math.floor(random() * 3));
      const rows = rowsOf(
        `SELECT k, COUNT(*) AS n, System.Timestamp() AS e FROM input TIMESTAMP BY time GROUP BY k, TumblingWindow(second, ${size})`,
        events(seconds, (i) => ({ k: keys[i] })),
      );
      const expected = new Map<string, number>();
      // Windows are aligned on the Unix epoch (sizes that do not divide a day are aligned there too).
      const base = Date.UTC(2023, 0, 1) / 1000;
      seconds.forEach((s, i) => {
        const end = Math.ceil((base + s) / size) * size - base;
        const key = `${end}|${keys[i]}`;
        expected.set(key, (expected.get(key) ?? 0) + 1);
      });
      const actual = new Map(rows.map((r) => [`${(Date.parse(r.e as string) - Date.UTC(2023, 0, 1)) / 1000}|${r.k}`, r.n]));
      assert.deepEqual(actual, expected, `window size ${size}`);
      const ends = rows.map((r) => r.e as string);
      assert.deepEqual(ends, [...ends].sort(), 'rows are emitted in window order');
    }
  });
});

describe('hopping window', () => {
  test('emits at every hop whose window holds an event, partial first and last windows included', () => {
    const rows = rowsOf(
      `SELECT System.Timestamp() AS WindowEnd, COUNT(*) AS Count, SUM(v) AS Total FROM input TIMESTAMP BY time
       GROUP BY HoppingWindow(second, 10, 5)`,
      events([1, 6, 12], (i) => ({ v: [1, 10, 100][i] })),
    );
    assert.deepEqual(rows, [
      { WindowEnd: dt(5), Count: 1, Total: 1 },     // (-5, 5]: only the first event
      { WindowEnd: dt(10), Count: 2, Total: 11 },   // (0, 10]
      { WindowEnd: dt(15), Count: 2, Total: 110 },  // (5, 15]
      { WindowEnd: dt(20), Count: 1, Total: 100 },  // (10, 20]: only the last event
    ]);
  });

  test('Duration/Hop spelling with different units', () => {
    const rows = rowsOf(
      `SELECT System.Timestamp() AS e, COUNT(*) AS n FROM input TIMESTAMP BY time GROUP BY HoppingWindow(Duration(minute, 1), Hop(second, 30))`,
      events([10, 40]),
    );
    assert.deepEqual(rows, [{ e: dt(30), n: 1 }, { e: dt(60), n: 2 }, { e: dt(90), n: 1 }]);
  });

  test('property: hop = size gives exactly the tumbling result', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 10; round++) {
      const size = 1 + Math.floor(random() * 15);
      const input = events(Array.from({ length: 50 }, () => Math.floor(random() * 120)).sort((a, b) => a - b), () => ({ k: Math.floor(random() * 4), v: Math.floor(random() * 100) }));
      const body = `SELECT k, COUNT(*) AS n, SUM(v) AS s, MAX(v) AS m, System.Timestamp() AS e FROM input TIMESTAMP BY time GROUP BY k,`;
      assert.deepEqual(rowsOf(`${body} HoppingWindow(second, ${size}, ${size})`, input), rowsOf(`${body} TumblingWindow(second, ${size})`, input));
    }
  });
});

describe('sliding window', () => {
  test('emits when an event enters and when one leaves, never for an empty window', () => {
    const rows = rowsOf(
      `SELECT System.Timestamp() AS WindowEnd, COUNT(*) AS Count, SUM(v) AS Total FROM input TIMESTAMP BY time GROUP BY SlidingWindow(second, 5)`,
      events([1, 4, 8], (i) => ({ v: [1, 10, 100][i] })),
    );
    assert.deepEqual(rows, [
      { WindowEnd: dt(1), Count: 1, Total: 1 },     // 1 enters
      { WindowEnd: dt(4), Count: 2, Total: 11 },    // 4 enters
      { WindowEnd: dt(6), Count: 1, Total: 10 },    // 1 leaves: (1, 6] holds only 4
      { WindowEnd: dt(8), Count: 2, Total: 110 },   // 8 enters
      { WindowEnd: dt(9), Count: 1, Total: 100 },   // 4 leaves
      // 8 leaves at 13: the window (8, 13] is empty, nothing is emitted
    ]);
  });

  test('HAVING applies to each candidate window (alert when 3 readings within 10 s)', () => {
    const rows = rowsOf(
      `SELECT System.Timestamp() AS e, DeviceId, COUNT(*) AS n FROM input TIMESTAMP BY time
       GROUP BY DeviceId, SlidingWindow(second, 10) HAVING COUNT(*) >= 3`,
      events([1, 2, 3, 20, 21, 40], () => ({ DeviceId: 'a' })),
    );
    assert.deepEqual(rows, [{ e: dt(3), DeviceId: 'a', n: 3 }]);
  });
});

test('sliding window property: every emitted row counts the events in (end − size, end]; ends are event times and event times + size', () => {
  let seed = 11;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let round = 0; round < 10; round++) {
    const size = 1 + Math.floor(random() * 10);
    const seconds = Array.from({ length: 30 }, () => Math.floor(random() * 100)).sort((a, b) => a - b);
    const rows = rowsOf(`SELECT COUNT(*) AS n, System.Timestamp() AS e FROM input TIMESTAMP BY time GROUP BY SlidingWindow(second, ${size})`, events(seconds));
    const candidates = [...new Set(seconds.flatMap((s) => [s, s + size]))].sort((a, b) => a - b);
    const expected = candidates
      .map((end) => ({ n: seconds.filter((s) => s > end - size && s <= end).length, e: dt(end) }))
      .filter((r) => r.n > 0);
    assert.deepEqual(rows, expected, `size ${size}`);
  }
});

describe('session window', () => {
  test('closes at last event + timeout; maximum duration is checked on the fixed grid', () => {
    // Timeout 5 s, maximum 20 s. Events at 1 and 3; then every 2 s from 10 to 44.
    const seconds = [1, 3, ...Array.from({ length: 18 }, (_, i) => 10 + 2 * i)];
    const rows = rowsOf(
      `SELECT System.Timestamp() AS WindowEnd, MIN(time) AS First, COUNT(*) AS Count FROM input TIMESTAMP BY time
       GROUP BY SessionWindow(second, 5, 20)`,
      events(seconds),
    );
    assert.deepEqual(rows, [
      { WindowEnd: dt(8), First: t(1), Count: 2 },   // gap 3 → 10 exceeds the timeout: closes at 3 + 5
      // Started at 10; at the grid point 20 it had lasted 10 s, at 40 it had lasted 30 s ≥ 20: closed at 40.
      { WindowEnd: dt(40), First: t(10), Count: 16 },
      // Activity went on: the next session opens at 40 and ends 5 s after its last event.
      { WindowEnd: dt(49), First: t(42), Count: 2 },
    ]);
  });

  test('documented example: per-user sessions with OVER (PARTITION BY) and CREATE TABLE', () => {
    const rows = rowsOf(
      `CREATE TABLE localinput(time DATETIME, user_id BIGINT, url NVARCHAR(MAX))
       SELECT
           user_id,
           MIN(time) AS window_start,
           System.Timestamp() AS window_end,
           DATEDIFF(s, MIN(time), System.Timestamp()) AS duration_in_seconds
       FROM localinput TIMESTAMP BY time
       GROUP BY user_id, SessionWindow(minute, 2, 60) OVER (PARTITION BY user_id)`,
      [
        ['localinput', { time: '2017-01-26T00:00:00.0000000z', user_id: 0, url: 'www.example.com/a.html' }],
        ['localinput', { time: '2017-01-26T00:00:20.0000000z', user_id: 0, url: 'www.example.com/b.html' }],
        ['localinput', { time: '2017-01-26T00:00:55.0000000z', user_id: 1, url: 'www.example.com/c.html' }],
      ],
    );
    assert.deepEqual(rows, [
      { user_id: 0, window_start: '2017-01-26T00:00:00.0000000Z', window_end: '2017-01-26T00:02:20.0000000Z', duration_in_seconds: 140 },
      { user_id: 1, window_start: '2017-01-26T00:00:55.0000000Z', window_end: '2017-01-26T00:02:55.0000000Z', duration_in_seconds: 120 },
    ]);
  });

  test('without PARTITION BY all groups share one session', () => {
    const rows = rowsOf(
      `SELECT k, COUNT(*) AS n, System.Timestamp() AS e FROM input TIMESTAMP BY time GROUP BY k, SessionWindow(second, 5, 60)`,
      events([1, 2, 4], (i) => ({ k: ['a', 'b', 'a'][i] })),
    );
    assert.deepEqual(rows, [{ k: 'a', n: 2, e: dt(9) }, { k: 'b', n: 1, e: dt(9) }]);
  });
});

describe('snapshot window', () => {
  test('GROUP BY System.Timestamp() groups the rows of one window end (top count per window)', () => {
    const rows = runQuery(
      `WITH Counts AS (
         SELECT Topic, COUNT(*) AS n FROM input TIMESTAMP BY time GROUP BY Topic, TumblingWindow(second, 10)
       )
       SELECT System.Timestamp() AS e, MAX(n) AS Top, COUNT(*) AS Topics INTO best FROM Counts GROUP BY System.Timestamp()`,
      events([1, 2, 3, 11, 12], (i) => ({ Topic: ['x', 'y', 'x', 'y', 'z'][i] })),
    ).rows;
    assert.deepEqual(rows, [
      { output: 'best', row: { e: dt(10), Top: 2, Topics: 2 } },
      { output: 'best', row: { e: dt(20), Top: 1, Topics: 2 } },
    ]);
  });

  test('de-duplication idiom: identical events with identical timestamps collapse', () => {
    const rows = rowsOf(
      `SELECT DeviceId, Value, COUNT(*) AS copies FROM input TIMESTAMP BY time GROUP BY DeviceId, Value, System.Timestamp()`,
      events([1, 1, 1, 2], (i) => ({ DeviceId: 'd', Value: [5, 5, 6, 5][i] })),
    );
    assert.deepEqual(rows, [
      { DeviceId: 'd', Value: 5, copies: 2 },
      { DeviceId: 'd', Value: 6, copies: 1 },
      { DeviceId: 'd', Value: 5, copies: 1 },
    ]);
  });
});

test('System.Timestamp() beside a real window in GROUP BY changes nothing', () => {
  const input = events([1, 2, 12], (i) => ({ Topic: ['a', 'a', 'b'][i] }));
  const q = (extra: string) => `SELECT Topic, COUNT(*) AS n, System.Timestamp() AS e FROM input TIMESTAMP BY time GROUP BY Topic${extra}, TumblingWindow(second, 10)`;
  assert.deepEqual(rowsOf(q(', System.Timestamp()'), input), rowsOf(q(''), input));
  assert.deepEqual(rowsOf(q(''), input), [{ Topic: 'a', n: 2, e: dt(10) }, { Topic: 'b', n: 1, e: dt(20) }]);
});
