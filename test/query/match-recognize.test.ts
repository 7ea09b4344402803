// MATCH_RECOGNIZE through the engine's public API, against results worked out by hand.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { compileQuery, QueryError, toJson, type QueryCheckpoint, type Row } from '../../src/query/index.js';
import { at, dt, rowsOf, runQuery, t } from './run-query.js';

/** The retail funnel: viewed, then tried on, then bought, within 30 minutes per shopper and product. */
const funnel = `
SELECT * INTO funnel FROM clicks TIMESTAMP BY time
MATCH_RECOGNIZE (
  LIMIT DURATION (minute, 30)
  PARTITION BY shopper, product
  MEASURES
    First(Viewed.time) AS viewedAt,
    First(TriedOn.time) AS triedOnAt,
    Last(Bought.time) AS boughtAt,
    Count(Viewed.time) AS views,
    Last(Bought.price) AS price
  AFTER MATCH SKIP PAST LAST ROW
  PATTERN (Viewed+ TriedOn+ Bought)
  DEFINE
    Viewed AS Viewed.kind = 'view',
    TriedOn AS TriedOn.kind = 'tryon',
    Bought AS Bought.kind = 'purchase'
) AS Funnel`;

const ev = (s: number, shopper: string, product: string, kind: string, price = 0): Record<string, unknown> => ({ time: t(s), shopper, product, kind, price });
const click = (s: number, shopper: string, product: string, kind: string, price = 0) => ['clicks', ev(s, shopper, product, kind, price)] as const;

describe('MATCH_RECOGNIZE: the retail funnel', () => {
  test('viewed → tried on → bought within 30 minutes, per shopper and product', () => {
    const rows = rowsOf(funnel, [
      click(0, 'ann', 'boots', 'view'),
      click(10, 'bob', 'boots', 'view'),
      click(60, 'ann', 'boots', 'view'),
      click(120, 'ann', 'scarf', 'view'), // another product: its own partition
      click(300, 'ann', 'boots', 'tryon'),
      click(400, 'bob', 'boots', 'purchase'), // bob never tried them on: no match
      click(900, 'ann', 'boots', 'purchase', 120),
      click(1000, 'ann', 'scarf', 'tryon'),
      click(1000 + 31 * 60, 'ann', 'scarf', 'purchase', 30), // 31 minutes after the view: too late
    ]);
    assert.deepEqual(rows, [
      { shopper: 'ann', product: 'boots', viewedAt: t(0), triedOnAt: t(300), boughtAt: t(900), views: 2, price: 120 },
    ]);
  });

  test('through `omnistream query run` on a JSON lines file, with events out of order within the tolerance', () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'query', 'run', ...args], { cwd: root, encoding: 'utf8' });
    const r = cli('test/query/fixtures/funnel.saql', '--input', 'clicks=test/query/fixtures/funnel.jsonl', '--out-of-order-tolerance', '00:01:00');
    assert.equal(r.status, 0, r.stderr);
    // Bob bought 34 minutes after his view: no match. Cat's funnel took two minutes.
    assert.deepEqual(r.stdout.trim().split('\n').map((l) => JSON.parse(l)), [
      { output: 'funnel', row: { shopper: 'ann', product: 'boots', viewedAt: t(36000), triedOnAt: t(36300), boughtAt: t(36900), views: 2, price: 110 } },
      { output: 'funnel', row: { shopper: 'cat', product: 'hat', viewedAt: t(39000), triedOnAt: t(39060), boughtAt: t(39120), views: 1, price: 18 } },
    ]);
    const bad = cli('test/query/fixtures/funnel-undefined.saql', '--input', 'clicks=test/query/fixtures/funnel.jsonl');
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr, 'test/query/fixtures/funnel-undefined.saql:3:27: error UNDEFINED_PATTERN_VARIABLE: pattern variable Bought is not defined; add Bought AS <condition> to DEFINE\n');
  });

  test('a match is stamped with its last event time', () => {
    const out: number[] = [];
    const runner = compileQuery(`SELECT System.Timestamp() AS ts, * FROM clicks TIMESTAMP BY time
      MATCH_RECOGNIZE (LIMIT DURATION (minute, 30) PARTITION BY shopper MEASURES Count(*) AS n
        PATTERN (A B) DEFINE A AS A.kind = 'view', B AS B.kind = 'purchase') AS M`)
      .createRunner({ onRow: (_o, _r, ts) => out.push(ts) });
    runner.push('clicks', ev(5, 'ann', 'x', 'view') as Row);
    runner.push('clicks', ev(65, 'ann', 'x', 'purchase') as Row);
    runner.end();
    assert.deepEqual(out, [at(t(65))]);
  });
});

/**
 * Runs `pattern` over events whose kinds are the letters of `letters` (one second apart) and
 * returns each match as [index of its first event, number of events].
 */
function spans(pattern: string, letters: string, skip = '', limit = '(hour, 1)'): [number, number][] {
  const define = ['A', 'B', 'C'].filter((v) => pattern.includes(v)).map((v) => `${v} AS ${v}.k = '${v.toLowerCase()}'`).join(', ');
  return rowsOf(`SELECT * FROM input TIMESTAMP BY time MATCH_RECOGNIZE (
      LIMIT DURATION ${limit} MEASURES First(i) AS first, Count(*) AS n ${skip}
      PATTERN (${pattern}) DEFINE ${define}) AS M`,
  [...letters].map((k, i) => ({ time: t(i), k, i }))).map((r) => [r.first as number, r.n as number]);
}

describe('MATCH_RECOGNIZE: PATTERN', () => {
  test('greedy quantifiers take as many events as they can', () => {
    assert.deepEqual(spans('A+ B', 'xaaab'), [[1, 4]]);
    assert.deepEqual(spans('A* B', 'bxaab'), [[0, 1], [2, 3]]);
    assert.deepEqual(spans('A B? C', 'abcxac'), [[0, 3], [4, 2]]);
    assert.deepEqual(spans('A+', 'aaxa'), [[0, 2], [3, 1]]);
  });

  test('reluctant quantifiers take as few as they can', () => {
    assert.deepEqual(spans('A+?', 'aaa'), [[0, 1], [1, 1], [2, 1]]);
    assert.deepEqual(spans('A B*? C', 'abbc'), [[0, 4]]);
    assert.deepEqual(spans('A B?? ', 'ab'), [[0, 1]]);
    assert.deepEqual(spans('A{2,3}?', 'aaaaa'), [[0, 2], [2, 2]]);
  });

  test('counted repetitions {n}, {n,}, {,m}, {n,m}', () => {
    assert.deepEqual(spans('A{2}', 'aaaaa'), [[0, 2], [2, 2]]);
    assert.deepEqual(spans('A{3,}', 'aaxaaaaxaaa'), [[3, 4], [8, 3]]);
    assert.deepEqual(spans('B A{,2}', 'baaab'), [[0, 3], [4, 1]]);
    assert.deepEqual(spans('A{2,3}', 'aaaaaaa'), [[0, 3], [3, 3]]);
  });

  test('grouping and alternation; the left alternative is preferred', () => {
    assert.deepEqual(spans('(A B)+ C', 'ababcabc'), [[0, 5], [5, 3]]);
    assert.deepEqual(spans('A (B | C)+', 'abcbx'), [[0, 4]]);
    // Both alternatives match "a": the left one wins, so B never gets its chance.
    assert.deepEqual(spans('(A | A B)', 'ab'), [[0, 1]]);
    assert.deepEqual(spans('(A B | A)', 'ab'), [[0, 2]]);
  });

  test('AFTER MATCH SKIP TO NEXT ROW finds overlapping matches; PAST LAST ROW does not', () => {
    assert.deepEqual(spans('A+ B', 'aaab', 'AFTER MATCH SKIP TO NEXT ROW'), [[0, 4], [1, 3], [2, 2]]);
    assert.deepEqual(spans('A+ B', 'aaab', 'AFTER MATCH SKIP PAST LAST ROW'), [[0, 4]]);
    assert.deepEqual(spans('A+ B', 'aaab'), [[0, 4]]);
  });

  test('LIMIT DURATION bounds a match from its first event', () => {
    // Events one second apart: a 2-second limit lets a match span 3 events, no more.
    assert.deepEqual(spans('A+ B', 'aaaab', '', '(second, 2)'), [[2, 3]]);
    assert.deepEqual(spans('A+', 'aaaaa', '', '(second, 2)'), [[0, 3], [3, 2]]);
  });

  test('DEFINE may read earlier events of the match', () => {
    const run = (define: string, events: { k: string; v: number }[]) => rowsOf(`SELECT * FROM input TIMESTAMP BY time MATCH_RECOGNIZE (
        LIMIT DURATION (hour, 1) MEASURES First(A.v) AS low, Last(B.v) AS high, Count(B.v) AS steps
        PATTERN (A B+) DEFINE ${define}) AS M`, events.map((e, i) => ({ ...e, time: t(i) })));
    const values = [{ k: 'a', v: 5 }, { k: 'x', v: 6 }, { k: 'a', v: 1 }, { k: 'x', v: 2 }, { k: 'x', v: 3 }, { k: 'x', v: 0 }];
    const expected = [{ low: 5, high: 6, steps: 1 }, { low: 1, high: 3, steps: 2 }];
    // Above the A that opened the match: through a navigation, and through A's column directly.
    assert.deepEqual(run("A AS A.k = 'a', B AS B.v > First(A.v)", values), expected);
    assert.deepEqual(run("A AS A.k = 'a', B AS B.v > A.v", values), expected);
    // A running aggregate includes the event under test: Bs while their total stays within 5.
    const totals = [{ k: 'a', v: 0 }, { k: 'b', v: 1 }, { k: 'b', v: 2 }, { k: 'b', v: 3 }];
    assert.deepEqual(run("A AS A.k = 'a', B AS Sum(B.v) <= 5", totals), [{ low: 0, high: 2, steps: 2 }]);
  });
});

describe('MATCH_RECOGNIZE: MEASURES', () => {
  test('First, Last and aggregates over one variable or the whole match; bare columns read the last event', () => {
    const rows = rowsOf(`SELECT * FROM input TIMESTAMP BY time MATCH_RECOGNIZE (
        LIMIT DURATION (hour, 1)
        MEASURES First(A.v) AS firstA, Last(A.v) AS lastA, Sum(A.v) AS sumA, Avg(A.v) AS avgA, Min(v) AS minAll,
          Max(v) AS maxAll, Count(*) AS n, Count(B.v) AS nB, Last(B.v) - First(A.v) AS rise, v AS lastV,
          B.v * 10 AS lastB10, First(time) AS startedAt, Collect(A.v) AS aValues
        PATTERN (A+ B) DEFINE A AS A.k = 'a', B AS B.k = 'b') AS M`,
    [{ k: 'a', v: 2 }, { k: 'a', v: 4 }, { k: 'a', v: 9 }, { k: 'b', v: 7 }].map((e, i) => ({ ...e, time: t(i) })));
    assert.deepEqual(rows, [{
      firstA: 2, lastA: 9, sumA: 15, avgA: 5, minAll: 2, maxAll: 9, n: 4, nB: 1, rise: 5, lastV: 7, lastB10: 70, startedAt: t(0), aValues: [2, 4, 9],
    }]);
  });

  test('the rest of the statement reads the matches: WHERE, a SELECT list, GROUP BY a window', () => {
    const matchesOf = `FROM input TIMESTAMP BY time MATCH_RECOGNIZE (
        LIMIT DURATION (minute, 5) PARTITION BY shopper MEASURES Count(A.v) AS views, Last(B.v) AS spent
        PATTERN (A+ B) DEFINE A AS A.k = 'a', B AS B.k = 'b') AS M`;
    const events = [
      { shopper: 's1', k: 'a', v: 0, time: t(0) }, { shopper: 's2', k: 'a', v: 0, time: t(1) },
      { shopper: 's1', k: 'b', v: 30, time: t(2) }, { shopper: 's2', k: 'a', v: 0, time: t(3) },
      { shopper: 's2', k: 'b', v: 50, time: t(70) },
    ];
    assert.deepEqual(rowsOf(`SELECT M.shopper, spent / views AS perView ${matchesOf} WHERE M.spent > 40`, events), [{ shopper: 's2', perView: 25 }]);
    assert.deepEqual(rowsOf(`SELECT COUNT(*) AS purchases, SUM(spent) AS revenue, System.Timestamp() AS minuteEnd ${matchesOf}
      GROUP BY TumblingWindow(minute, 1)`, events), [
      { purchases: 1, revenue: 30, minuteEnd: dt(60) }, { purchases: 1, revenue: 50, minuteEnd: dt(120) },
    ]);
  });
});

test('MATCH_RECOGNIZE: a match row joins reference data (the catalogue), NULL partition values form their own partition', () => {
  const { rows } = runQuery(`SELECT F.shopper, c.name, F.views INTO out FROM clicks TIMESTAMP BY time
      MATCH_RECOGNIZE (LIMIT DURATION (minute, 30) PARTITION BY shopper, product
        MEASURES Count(V.kind) AS views PATTERN (V+ B) DEFINE V AS V.kind = 'view', B AS B.kind = 'purchase') AS F
      JOIN catalogue c ON F.product = c.sku`, [
    ['clicks', ev(0, 'ann', 'boots', 'view')], ['clicks', { ...ev(1, 'x', 'boots', 'view'), shopper: null }],
    ['clicks', ev(2, 'ann', 'boots', 'view')], ['clicks', ev(3, 'ann', 'boots', 'purchase')],
    ['clicks', { ...ev(4, 'x', 'boots', 'purchase'), shopper: null }], ['clicks', ev(5, 'ann', 'hat', 'view')], ['clicks', ev(6, 'ann', 'hat', 'purchase')],
  ], { references: { catalogue: [{ sku: 'boots', name: 'Boots' }] } });
  assert.deepEqual(rows.map((r) => r.row), [{ shopper: 'ann', name: 'Boots', views: 2 }, { shopper: null, name: 'Boots', views: 1 }]);
});

describe('MATCH_RECOGNIZE: bounded work', () => {
  test('an attempt keeps its 1,000 most preferred paths when DEFINE reads the match so far, and says so', () => {
    // Every event is both A and B: the paths double with each event; the most preferred (all A) is kept.
    const events = [...'aaaaaaaaaaaa', 'c'].map((k, i) => ({ time: t(i), k }));
    const { rows, diagnostics } = runQuery(`SELECT * FROM input TIMESTAMP BY time MATCH_RECOGNIZE (
        LIMIT DURATION (hour, 1) MEASURES Count(A.k) AS nA, Count(B.k) AS nB
        AFTER MATCH SKIP PAST LAST ROW
        PATTERN ((A | B)+ C) DEFINE A AS A.k = 'a' AND Count(*) > 0, B AS B.k = 'a', C AS C.k = 'c') AS M`, events);
    assert.deepEqual(rows.map((r) => r.row), [{ nA: 12, nB: 0 }]);
    assert.ok(diagnostics.some((d) => d.code === 'PATTERN_PATHS_DROPPED'), JSON.stringify(diagnostics));
  });

  test('ONE ROW PER MATCH may be written', () => {
    assert.deepEqual(rowsOf(`SELECT * FROM input TIMESTAMP BY time MATCH_RECOGNIZE (LIMIT DURATION (hour, 1)
        MEASURES Count(*) AS n ONE ROW PER MATCH PATTERN (A B) DEFINE A AS A.k = 'a', B AS B.k = 'b') AS M`,
    [{ time: t(0), k: 'a' }, { time: t(1), k: 'b' }]), [{ n: 2 }]);
  });
});

describe('MATCH_RECOGNIZE: JavaScript functions', () => {
  test('udf.NAME in DEFINE and MEASURES', () => {
    const rows: unknown[] = [];
    const functions = { udf: { isDiscount: { call: ([p]: readonly unknown[]) => typeof p === 'number' && p < 50 }, cents: { call: ([p]: readonly unknown[]) => (p as number) * 100 } } };
    const runner = compileQuery(`SELECT * FROM input TIMESTAMP BY time MATCH_RECOGNIZE (
        LIMIT DURATION (hour, 1) MEASURES udf.cents(Last(Cheap.price)) AS lastCents, Count(*) AS n
        PATTERN (Regular Cheap+) DEFINE Regular AS NOT udf.isDiscount(Regular.price), Cheap AS udf.isDiscount(Cheap.price)) AS M`, { functions })
      .createRunner({ onRow: (_o, row) => rows.push(toJson(row)) });
    [80, 40, 30, 90, 45].forEach((price, i) => runner.push('input', { time: t(i), price } as Row));
    runner.end();
    assert.deepEqual(rows, [{ lastCents: 3000, n: 3 }, { lastCents: 4500, n: 2 }]);
  });
});

describe('MATCH_RECOGNIZE: streaming', () => {
  const query = `SELECT * INTO runs FROM clicks TIMESTAMP BY time
    MATCH_RECOGNIZE (
      LIMIT DURATION (second, 40)
      PARTITION BY shopper
      MEASURES First(V.price) AS firstPrice, Count(V.price) AS views, Sum(V.price) AS total, Last(P.time) AS paidAt
      AFTER MATCH SKIP TO NEXT ROW
      PATTERN (V{2,} T* P)
      DEFINE V AS V.kind = 'view', T AS T.kind = 'tryon' AND T.price >= First(V.price), P AS P.kind = 'purchase'
    ) AS R`;

  function events(): [Row, number][] {
    let seed = 11;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const out: [Row, number][] = [];
    let s = 0;
    for (let i = 0; i < 400; i++) {
      s += Math.floor(random() * 4);
      const r = random();
      const kind = r < 0.6 ? 'view' : r < 0.8 ? 'tryon' : 'purchase';
      out.push([{ time: t(s - Math.floor(random() * 3)), shopper: `s${Math.floor(random() * 4)}`, kind, price: Math.floor(random() * 50) } as Row, at(t(s))]);
    }
    return out;
  }

  test('a checkpoint taken in the middle of matches resumes exactly, at any point', () => {
    const compiled = compileQuery(query);
    const all = events();
    const policy = { outOfOrderToleranceMs: 3_000 };
    const straight: unknown[] = [];
    const a = compiled.createRunner({ policy, onRow: (_o, row, ts) => straight.push([ts, toJson(row)]) });
    let midMatch = 0;
    for (const [i, [e, arrival]] of all.entries()) {
      a.push('clicks', e, arrival);
      // The cuts below fall where attempts are open (a partition's state is saved).
      if ([57, 201, 333].includes(i)) midMatch += JSON.stringify(a.snapshot()).includes('"view"') ? 1 : 0;
    }
    a.end();
    assert.ok(straight.length > 10, `${straight.length} matches`);
    assert.equal(midMatch, 3);
    for (const cut of [1, 58, 202, 334, 399]) {
      const resumed: unknown[] = [];
      const first = compiled.createRunner({ policy, onRow: (_o, row, ts) => resumed.push([ts, toJson(row)]) });
      for (const [e, arrival] of all.slice(0, cut)) first.push('clicks', e, arrival);
      const saved = JSON.parse(JSON.stringify(first.snapshot())) as QueryCheckpoint;
      const second = compiled.createRunner({ policy, onRow: (_o, row, ts) => resumed.push([ts, toJson(row)]) });
      second.restore(saved);
      for (const [e, arrival] of all.slice(cut)) second.push('clicks', e, arrival);
      second.end();
      assert.deepEqual(resumed, straight, `cut at ${cut}`);
    }
  });

  test('rows leave in time order across partitions; a greedy match waits until LIMIT DURATION has passed', () => {
    const rows: [number, unknown][] = [];
    const runner = compileQuery(`SELECT * FROM clicks TIMESTAMP BY time MATCH_RECOGNIZE (
        LIMIT DURATION (second, 30) PARTITION BY shopper MEASURES Count(*) AS n PATTERN (A+) DEFINE A AS A.kind = 'view') AS M`)
      .createRunner({ onRow: (_o, row, ts) => rows.push([ts, toJson(row)]) });
    runner.push('clicks', { time: t(0), shopper: 'a', kind: 'view' } as Row);
    runner.push('clicks', { time: t(5), shopper: 'b', kind: 'view' } as Row);
    runner.push('clicks', { time: t(6), shopper: 'b', kind: 'buy' } as Row); // b's run is over at 5
    // a's run so far (one view at 0) could end there: b's row, though final, waits behind it.
    assert.deepEqual(rows, []);
    runner.push('clicks', { time: t(10), shopper: 'a', kind: 'view' } as Row);
    // a's run now ends at 10 at the earliest: b's row goes; a's run could still grow until 0 + 30 s.
    assert.deepEqual(rows, [[at(t(5)), { shopper: 'b', n: 1 }]]);
    runner.push('clicks', { time: t(30), shopper: 'c', kind: 'buy' } as Row);
    assert.equal(rows.length, 1);
    runner.push('clicks', { time: t(31), shopper: 'c', kind: 'buy' } as Row);
    assert.deepEqual(rows, [[at(t(5)), { shopper: 'b', n: 1 }], [at(t(10)), { shopper: 'a', n: 2 }]]);
    runner.end();
  });

  test('with TIMESTAMP BY … OVER each substream matches on its own clock', () => {
    const rows = rowsOf(`SELECT * FROM input TIMESTAMP BY time OVER shopper MATCH_RECOGNIZE (
        LIMIT DURATION (minute, 1) PARTITION BY shopper MEASURES Count(*) AS n PATTERN (A B) DEFINE A AS A.k = 'a', B AS B.k = 'b') AS M`,
    [{ shopper: 'x', k: 'a', time: t(600) }, { shopper: 'y', k: 'a', time: t(0) }, { shopper: 'y', k: 'b', time: t(10) }, { shopper: 'x', k: 'b', time: t(601) }]);
    assert.deepEqual(rows.sort((a, b) => String(a.shopper).localeCompare(String(b.shopper))), [{ shopper: 'x', n: 2 }, { shopper: 'y', n: 2 }]);
  });
});

describe('MATCH_RECOGNIZE: errors with their positions', () => {
  const fails = (text: string, code: string, line: number, column: number, message?: RegExp) => {
    assert.throws(() => compileQuery(text), (e: unknown) => {
      assert.ok(e instanceof QueryError, String(e));
      assert.equal(e.code, code, e.message);
      assert.deepEqual(e.position, { line, column }, e.message);
      if (message) assert.match(e.message, message);
      return true;
    });
  };
  const base = (pattern: string, define = "A AS A.k = 'a'", extra = '') => `SELECT * FROM input TIMESTAMP BY time
MATCH_RECOGNIZE (LIMIT DURATION (minute, 1) ${extra}
  PATTERN (${pattern})
  DEFINE ${define}) AS M`;

  test('a pattern variable used but never defined', () => {
    fails(base('A B+'), 'UNDEFINED_PATTERN_VARIABLE', 3, 14, /pattern variable B is not defined/);
  });
  test('a variable defined or measured that PATTERN does not use', () => {
    fails(base('A', "A AS A.k = 'a', C AS C.k = 'c'"), 'UNDEFINED_PATTERN_VARIABLE', 4, 26, /C, which PATTERN does not use/);
    fails(base('A', "A AS A.k = 'a'", 'MEASURES Last(Lexus.plate) AS plate'), 'UNDEFINED_PATTERN_VARIABLE', 2, 59, /Lexus is not a pattern variable/);
  });
  test('unsupported clauses and options', () => {
    fails(base('A', "A AS A.k = 'a'", 'ALL ROWS PER MATCH'), 'UNSUPPORTED', 2, 45);
    fails(base('A', "A AS A.k = 'a'", 'AFTER MATCH SKIP TO LAST A'), 'UNSUPPORTED', 2, 62);
    fails(base('A', "A AS A.k = 'a'", 'ORDER BY time'), 'UNSUPPORTED', 2, 45);
    fails(base('A', "A AS A.k = 'a'", 'MEASURES Lag(A.v) AS p'), 'UNSUPPORTED', 2, 54);
    fails(base('. A'), 'UNSUPPORTED', 3, 12);
  });
  test('a bad quantifier, and LIMIT DURATION missing', () => {
    fails(base('A{3,2}'), 'INVALID_ARGUMENT', 3, 13);
    fails(base('A{0}'), 'INVALID_ARGUMENT', 3, 13);
    fails('SELECT * FROM input MATCH_RECOGNIZE (PATTERN (A) DEFINE A AS A.k = 1) AS M', 'MISSING_LIMIT_DURATION', 1, 21);
    fails(base('A +? ?'), 'SYNTAX_ERROR', 3, 17);
  });
  test('the statement reads the match columns only', () => {
    fails(`SELECT M.k ${base('A').slice('SELECT *'.length)}`, 'UNKNOWN_COLUMN', 1, 10);
  });
});
