// The engine's fast paths against straightforward references: session windows (state extended in
// place, close-time order kept without a heap entry per event, entries of finished partitions
// reused and swept), the fixed-window run cache, frames reused when nothing keeps them, SUM that
// moves from integers to fractions, and the day cache of timestamp parsing.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { compileQuery, parseDateTime, toJson, type QueryCheckpoint, type Row } from '../../src/query/index.js';
import { runQuery } from './run-query.js';

interface Click { time: string; shopper: string; price: number }

function clicks(count: number, shoppers: number, seed: number, maxStepMs: number): Click[] {
  let s = seed;
  const random = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const out: Click[] = [];
  let t = Date.UTC(2024, 0, 1);
  for (let i = 0; i < count; i++) {
    t += Math.floor(random() * maxStepMs); // many events share a millisecond
    out.push({ time: new Date(t).toISOString(), shopper: `s${Math.floor(random() * shoppers)}`, price: Math.floor(random() * 1000) / 8 });
  }
  return out;
}

/**
 * Sessions computed the plain way: each partition's session closes when its next event comes
 * after last + timeout, or at the first grid point (a multiple of max) where it has lasted at
 * least max; activity continuing past a grid cut starts the next session at the grid point.
 * Rows come out in (close time, order of session start).
 */
function referenceSessions(events: readonly Click[], timeout: number, max: number): Record<string, unknown>[] {
  interface S { id: number; shopper: string; last: number; maxEnd: number; closeAt: number; clicks: number; spent: number }
  const open = new Map<string, S>();
  const cut = new Map<string, { at: number; last: number }>();
  const done: S[] = [];
  let id = 0;
  for (const e of events) {
    const ts = Date.parse(e.time);
    let s = open.get(e.shopper);
    if (s && ts > s.closeAt) {
      done.push(s);
      if (s.closeAt === s.maxEnd) cut.set(e.shopper, { at: s.maxEnd, last: s.last });
      s = undefined;
    }
    if (!s) {
      const c = cut.get(e.shopper);
      cut.delete(e.shopper);
      const first = c && ts - c.last <= timeout && ts > c.at ? c.at : ts;
      const maxEnd = Math.ceil((first + max) / max) * max;
      s = { id: id++, shopper: e.shopper, last: ts, maxEnd, closeAt: Math.min(ts + timeout, maxEnd), clicks: 0, spent: 0 };
      open.set(e.shopper, s);
    } else if (ts > s.last) {
      s.last = ts;
      s.closeAt = Math.min(ts + timeout, s.maxEnd);
    }
    s.clicks++;
    s.spent += e.price;
  }
  done.push(...open.values());
  done.sort((a, b) => a.closeAt - b.closeAt || a.id - b.id);
  return done.map((s) => ({ shopper: s.shopper, clicks: s.clicks, spent: s.spent, closed: new Date(s.closeAt).toISOString().replace('Z', '0000Z') }));
}

const sessionQuery = (timeoutS: number, maxS: number) => `
  SELECT shopper, COUNT(*) AS clicks, SUM(price) AS spent, System.Timestamp() AS closed
  FROM input TIMESTAMP BY time
  GROUP BY shopper, SessionWindow(second, ${timeoutS}, ${maxS}) OVER (PARTITION BY shopper)`;

function run(text: string, events: readonly Click[], snapshotAt?: number): Record<string, unknown>[] {
  const compiled = compileQuery(text);
  const rows: Record<string, unknown>[] = [];
  const onRow = (_o: string, row: Row) => rows.push(toJson(row) as Record<string, unknown>);
  let runner = compiled.createRunner({ onRow });
  events.forEach((e, i) => {
    if (i === snapshotAt) {
      const saved = JSON.parse(JSON.stringify(runner.snapshot())) as QueryCheckpoint;
      runner = compiled.createRunner({ onRow });
      runner.restore(saved);
    }
    runner.push('input', e as unknown as Row);
  });
  runner.end();
  return rows;
}

describe('session windows against a plain reference', () => {
  test('random clicks: same sessions, same (close time, start) order, ties included', () => {
    for (const [seed, shoppers, step, timeout, max] of [[1, 7, 400, 2, 10], [2, 40, 60, 1, 4], [3, 3, 900, 3, 5], [4, 200, 5, 1, 2]] as const) {
      const events = clicks(3000, shoppers, seed, step);
      assert.deepEqual(run(sessionQuery(timeout, max), events), referenceSessions(events, timeout * 1000, max * 1000), `seed ${seed}`);
    }
  });

  test('a checkpoint taken anywhere, capped and cut sessions included, resumes exactly', () => {
    const events = clicks(1500, 12, 9, 300);
    const expected = referenceSessions(events, 2000, 6000);
    for (const at of [1, 250, 777, 1499]) assert.deepEqual(run(sessionQuery(2, 6), events, at), expected, `snapshot at ${at}`);
  });

  test('thousands of finished partitions: their entries are swept, later sessions still right', () => {
    // 3,000 shoppers click once each, far apart enough to finish; then the first ones come back.
    const base = Date.UTC(2024, 0, 1);
    const events: Click[] = [];
    for (let i = 0; i < 3000; i++) events.push({ time: new Date(base + i * 50).toISOString(), shopper: `p${i}`, price: 1.5 });
    for (let i = 0; i < 50; i++) events.push({ time: new Date(base + 200_000 + i * 10).toISOString(), shopper: `p${i}`, price: 0.25 });
    const expected = referenceSessions(events, 1000, 60_000);
    assert.deepEqual(run(sessionQuery(1, 60), events), expected);
    assert.deepEqual(run(sessionQuery(1, 60), events, 3020), expected);
  });

  test('a sweep of finished partitions keeps the one whose session was cut at the grid point', () => {
    // c's session, from 60 s, is cut at the grid point 120 s; 1,100 one-click shoppers finish just
    // after it, which sweeps their entries; c goes on at 120.5 s, so its next session starts at
    // 120 s and is cut again at 180 s.
    const base = Date.UTC(2024, 0, 1);
    const at = (ms: number) => new Date(base + ms).toISOString();
    const events: Click[] = [];
    for (let ms = 60_000; ms <= 119_600; ms += 400) events.push({ time: at(ms), shopper: 'c', price: 1 });
    for (let i = 0; i < 1100; i++) events.push({ time: at(119_000 + Math.floor(i * 0.27)), shopper: `p${i}`, price: 0.5 });
    events.push({ time: at(120_400), shopper: 'w', price: 2 });
    for (let ms = 120_500; ms <= 181_000; ms += 400) events.push({ time: at(ms), shopper: 'c', price: 1 });
    events.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
    const expected = referenceSessions(events, 1000, 60_000);
    assert.deepEqual(expected.filter((r) => r.shopper === 'c').map((r) => r.closed), [
      '2024-01-01T00:02:00.0000000Z', '2024-01-01T00:03:00.0000000Z', '2024-01-01T00:03:01.9000000Z',
    ]);
    assert.deepEqual(run(sessionQuery(1, 60), events), expected);
  });

  test('GROUP BY beyond the partition keeps one group per key within each session', () => {
    const rows = runQuery(
      `SELECT shopper, kind, COUNT(*) AS n, System.Timestamp() AS closed FROM input TIMESTAMP BY time
       GROUP BY shopper, kind, SessionWindow(second, 5, 60) OVER (PARTITION BY shopper)`,
      [
        { time: '2024-01-01T00:00:01Z', shopper: 'a', kind: 'x' },
        { time: '2024-01-01T00:00:02Z', shopper: 'b', kind: 'x' },
        { time: '2024-01-01T00:00:03Z', shopper: 'a', kind: 'y' },
        { time: '2024-01-01T00:00:04Z', shopper: 'a', kind: 'x' },
        { time: '2024-01-01T00:00:20Z', shopper: 'a', kind: 'x' },
      ],
    ).rows.map((r) => r.row);
    assert.deepEqual(rows, [
      { shopper: 'b', kind: 'x', n: 1, closed: '2024-01-01T00:00:07.0000000Z' },
      { shopper: 'a', kind: 'x', n: 2, closed: '2024-01-01T00:00:09.0000000Z' },
      { shopper: 'a', kind: 'y', n: 1, closed: '2024-01-01T00:00:09.0000000Z' },
      { shopper: 'a', kind: 'x', n: 1, closed: '2024-01-01T00:00:25.0000000Z' },
    ]);
  });
});

describe('fixed windows: the run of windows shared by consecutive events', () => {
  const brute = (events: readonly Click[], size: number, hop: number) => {
    const ends = new Map<number, number>();
    for (const e of events) {
      const ts = Date.parse(e.time);
      for (let end = Math.ceil(ts / hop) * hop; end < ts + size; end += hop) ends.set(end, (ends.get(end) ?? 0) + 1);
    }
    return [...ends].sort((a, b) => a[0] - b[0]).map(([end, n]) => ({ n, e: new Date(end).toISOString().replace('Z', '0000Z') }));
  };
  for (const [size, hop] of [[10, 10], [60, 10], [15, 10], [7, 3]] as const) {
    test(`hopping ${size} s / ${hop} s matches a brute-force count`, () => {
      const events = clicks(2000, 5, 5, 40);
      const rows = runQuery(
        `SELECT COUNT(*) AS n, System.Timestamp() AS e FROM input TIMESTAMP BY time GROUP BY HoppingWindow(second, ${size}, ${hop})`,
        events as unknown as Record<string, unknown>[],
      ).rows.map((r) => r.row);
      assert.deepEqual(rows, brute(events, size * 1000, hop * 1000));
    });
  }
});

describe('reused frames', () => {
  test('a reference join feeding a window with LAG keeps each event its own (analytic results kept per group)', () => {
    const rows = runQuery(
      `SELECT c.sku, p.name, LAG(c.sku) OVER (LIMIT DURATION(minute, 1)) AS prev, COUNT(*) AS n
       FROM input c TIMESTAMP BY time JOIN products p ON c.sku = p.sku
       GROUP BY c.sku, p.name, TumblingWindow(second, 10)`,
      [
        { time: '2024-01-01T00:00:01Z', sku: 'a' },
        { time: '2024-01-01T00:00:02Z', sku: 'b' },
        { time: '2024-01-01T00:00:03Z', sku: 'a' },
        { time: '2024-01-01T00:00:04Z', sku: 'zz' },
      ].map((e) => ['input', e] as const),
      { references: { products: [{ sku: 'a', name: 'A' }, { sku: 'b', name: 'B' }] } },
    ).rows.map((r) => r.row);
    assert.deepEqual(rows, [
      { sku: 'a', name: 'A', prev: null, n: 2 },
      { sku: 'b', name: 'B', prev: 'a', n: 1 },
    ]);
  });

  test('rows of a step read by two statements, and a sliding window, see every event intact', () => {
    const events = clicks(300, 4, 11, 700);
    const result = runQuery(
      `WITH Priced AS (SELECT shopper, price FROM input TIMESTAMP BY time WHERE price > 10)
       SELECT shopper, COUNT(*) AS n INTO slide FROM Priced GROUP BY shopper, SlidingWindow(second, 2)
       SELECT COUNT(*) AS n, SUM(price) AS total INTO totals FROM Priced GROUP BY TumblingWindow(minute, 10)`,
      events as unknown as Record<string, unknown>[],
    );
    const kept = events.filter((e) => e.price > 10);
    const total = result.rows.filter((r) => r.output === 'totals').reduce((a, r) => a + (r.row.n as number), 0);
    assert.equal(total, kept.length);
    const sum = result.rows.filter((r) => r.output === 'totals').reduce((a, r) => a + (r.row.total as number), 0);
    assert.ok(Math.abs(sum - kept.reduce((a, e) => a + e.price, 0)) < 1e-6);
    assert.ok(result.rows.some((r) => r.output === 'slide'));
  });
});

describe('SUM and timestamps', () => {
  test('SUM: integers, then fractions, big integers and NULLs; NULL when nothing was summed', () => {
    const rows = runQuery(
      `SELECT k, SUM(v) AS s, COUNT(v) AS n FROM input TIMESTAMP BY time GROUP BY k, TumblingWindow(minute, 1)`,
      [
        { time: '2024-01-01T00:00:01Z', k: 'a', v: 1 },
        { time: '2024-01-01T00:00:02Z', k: 'a', v: 2.5 },
        { time: '2024-01-01T00:00:03Z', k: 'a', v: null },
        { time: '2024-01-01T00:00:04Z', k: 'a', v: 3 },
        { time: '2024-01-01T00:00:05Z', k: 'b', v: 2 ** 31 },
        { time: '2024-01-01T00:00:06Z', k: 'b', v: 2 ** 31 },
        { time: '2024-01-01T00:00:07Z', k: 'c', v: null },
        { time: '2024-01-01T00:00:08Z', k: 'd', v: true },
      ],
    ).rows.map((r) => r.row);
    assert.deepEqual(rows, [
      { k: 'a', s: 6.5, n: 3 },
      { k: 'b', s: 2 ** 32, n: 2 },
      { k: 'c', s: null, n: 0 },
      { k: 'd', s: 1, n: 1 },
    ]);
  });

  test('timestamps across days, months and years parse as Date.parse does (the day of the last one is remembered)', () => {
    const base = Date.UTC(2023, 11, 27, 22);
    for (let h = 0; h < 24 * 70; h += 7) {
      const iso = new Date(base + h * 3_600_000 + h * 37).toISOString();
      assert.equal(parseDateTime(iso), Date.parse(iso), iso);
    }
    // Alternating days, so that the remembered day is replaced each time.
    for (const iso of ['2024-02-29T10:00:00.000Z', '2024-02-28T23:59:59.999Z', '2024-02-29T00:00:00.001Z', '2024-03-01T00:00:00.000Z', '1999-12-31T23:59:59.500Z']) {
      assert.equal(parseDateTime(iso), Date.parse(iso), iso);
    }
    assert.equal(parseDateTime('2024-02-28T10:00:00.1Z'), Date.UTC(2024, 1, 28, 10, 0, 0, 100));
    assert.equal(parseDateTime('2024-02-28T10:00:00.9999999Z'), Date.UTC(2024, 1, 28, 10, 0, 0, 999));
    assert.equal(parseDateTime('2024-02-28T10:00:00.12xZ'), null);
    assert.equal(parseDateTime('2024-02-28T10:00:00.12x4Z'), null);
  });
});
