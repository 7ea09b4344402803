// A property continuous jobs rely on for exactly-once output across crashes: the rows a runner
// emits depend only on the events pushed and their arrival times, never on where `advanceTo`
// falls (with a time no later than the next event's arrival) nor on a checkpoint taken and
// restored in between. A job names each row by (output, timestamp, n), n its place among that
// output's rows with the same System.Timestamp(), so rows sharing a timestamp must also come in
// the same order.
//
// For each query and ordering policy, random event sequences are run once with pushes alone,
// then several times with advanceTo calls and checkpoint → new runner → restore (through JSON)
// at random points. On a difference the case is shrunk to a minimal one and printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileQuery, toJson, type CompiledQuery, type EventOrderingPolicy, type QueryCheckpoint, type Row } from '../../src/query/index.js';

interface QueryCase {
  readonly name: string;
  readonly text: string;
  /** The stream inputs events are pushed to, chosen at random per event. */
  readonly inputs: readonly string[];
}

const queries: readonly QueryCase[] = [
  {
    name: 'tumbling window',
    text: `SELECT k, COUNT(*) AS n, SUM(v) AS total, System.Timestamp() AS e INTO out
           FROM input TIMESTAMP BY time GROUP BY k, TumblingWindow(second, 5)`,
    inputs: ['input'],
  },
  {
    name: 'hopping window (Collect is order-sensitive)',
    text: `SELECT k, COUNT(*) AS n, Collect(v) AS vs INTO out FROM input TIMESTAMP BY time GROUP BY k, HoppingWindow(second, 10, 4)`,
    inputs: ['input'],
  },
  {
    name: 'sliding window',
    text: `SELECT k, COUNT(*) AS n, Collect(v) AS vs INTO out FROM input TIMESTAMP BY time GROUP BY k, SlidingWindow(second, 4)`,
    inputs: ['input'],
  },
  {
    name: 'session window per key',
    text: `SELECT k, COUNT(*) AS n, MIN(time) AS first, Collect(v) AS vs INTO out FROM input TIMESTAMP BY time
           GROUP BY k, SessionWindow(second, 3, 12) OVER (PARTITION BY k)`,
    inputs: ['input'],
  },
  {
    name: 'session window shared by the groups',
    text: `SELECT k, COUNT(*) AS n, Collect(v) AS vs INTO out FROM input TIMESTAMP BY time GROUP BY k, SessionWindow(second, 2, 10)`,
    inputs: ['input'],
  },
  {
    name: 'snapshot window over a step of tumbling windows',
    text: `WITH PerKey AS (SELECT k, COUNT(*) AS n FROM input TIMESTAMP BY time GROUP BY k, TumblingWindow(second, 5))
           SELECT Collect(k) AS ks, SUM(n) AS n, System.Timestamp() AS e INTO out FROM PerKey GROUP BY System.Timestamp()`,
    inputs: ['input'],
  },
  {
    name: 'snapshot window on events',
    text: `SELECT k, COUNT(*) AS n, Collect(v) AS vs INTO out FROM input TIMESTAMP BY time GROUP BY k, System.Timestamp()`,
    inputs: ['input'],
  },
  {
    name: 'reference JOIN (several matches, LEFT)',
    text: `SELECT e.k, e.v, p.name INTO matched FROM input e TIMESTAMP BY time JOIN products p ON e.k = p.k
           SELECT e.k, e.v, p.name INTO everything FROM input e TIMESTAMP BY time LEFT JOIN products p ON e.k = p.k AND e.v > 4`,
    inputs: ['input'],
  },
  {
    name: 'stream JOIN with DATEDIFF (inner and LEFT, two inputs)',
    text: `SELECT a.k, a.v AS av, b.v AS bv INTO pairs FROM Entry a TIMESTAMP BY time
           JOIN Exit b TIMESTAMP BY time ON a.k = b.k AND DATEDIFF(second, a, b) BETWEEN 0 AND 5
           SELECT a.k, a.v INTO missing FROM Entry a TIMESTAMP BY time
           LEFT JOIN Exit b TIMESTAMP BY time ON a.k = b.k AND DATEDIFF(second, a, b) BETWEEN 0 AND 5
           WHERE b.k IS NULL`,
    inputs: ['Entry', 'Exit'],
  },
  {
    name: 'a stream JOIN of steps, grouped in a window',
    text: `WITH Entries AS (SELECT k, v FROM Entry TIMESTAMP BY time), Exits AS (SELECT k, v FROM Exit TIMESTAMP BY time)
           SELECT a.k, COUNT(*) AS n, Collect(b.v) AS bvs INTO out FROM Entries a
           LEFT JOIN Exits b ON a.k = b.k AND DATEDIFF(second, a, b) BETWEEN 0 AND 3
           GROUP BY a.k, TumblingWindow(second, 5)`,
    inputs: ['Entry', 'Exit'],
  },
  {
    name: 'stream self-JOIN with a negative bound',
    text: `SELECT a.k, a.v AS av, b.v AS bv INTO pairs FROM input a TIMESTAMP BY time
           JOIN input b TIMESTAMP BY time ON a.k = b.k AND DATEDIFF(second, a, b) BETWEEN -2 AND 3`,
    inputs: ['input'],
  },
  {
    name: 'LAG, ISFIRST, LAST and an aggregate OVER a time range',
    text: `SELECT k, v, LAG(v) OVER (PARTITION BY k LIMIT DURATION(second, 10)) AS prev,
                  ISFIRST(second, 5) OVER (PARTITION BY k) AS first,
                  LAST(v) OVER (LIMIT DURATION(second, 5) WHEN v > 3) AS lastBig,
                  SUM(v) OVER (PARTITION BY k LIMIT DURATION(second, 6)) AS recent
           INTO out FROM input TIMESTAMP BY time`,
    inputs: ['input'],
  },
  {
    name: 'TIMESTAMP BY … OVER: a window, the events and LAG per key',
    text: `SELECT k, COUNT(*) AS n, Collect(v) AS vs INTO windows FROM input TIMESTAMP BY time OVER k GROUP BY k, TumblingWindow(second, 5)
           SELECT k, v INTO events FROM input TIMESTAMP BY time OVER k
           SELECT k, v, LAG(v) OVER (PARTITION BY k LIMIT DURATION(second, 10)) AS prev,
                  LAG(v) OVER (PARTITION BY k LIMIT DURATION(second, 3)) AS recent INTO lags FROM input TIMESTAMP BY time OVER k`,
    inputs: ['input'],
  },
  {
    name: 'TIMESTAMP BY … OVER: sessions and sliding windows',
    text: `SELECT k, COUNT(*) AS n INTO sessions FROM input TIMESTAMP BY time OVER k GROUP BY k, SessionWindow(second, 3, 12) OVER (PARTITION BY k)
           SELECT k, Collect(v) AS vs INTO slides FROM input TIMESTAMP BY time OVER k GROUP BY k, SlidingWindow(second, 4)`,
    inputs: ['input'],
  },
  {
    name: 'TIMESTAMP BY … OVER: windows of every key read in one sequence by a step',
    text: `WITH PerKey AS (SELECT k, COUNT(*) AS n, MAX(time) AS latest FROM input TIMESTAMP BY time OVER k GROUP BY k, TumblingWindow(second, 5))
           SELECT k, n, LAG(k) OVER (LIMIT DURATION(second, 10)) AS prev INTO lags FROM PerKey
           SELECT k, n, System.Timestamp() AS ts INTO restamped FROM PerKey TIMESTAMP BY latest`,
    inputs: ['input'],
  },
  {
    name: 'TIMESTAMP BY … OVER: sessions and sliding windows of every key read in one sequence by a step',
    text: `WITH Sessions AS (SELECT k, COUNT(*) AS n FROM input TIMESTAMP BY time OVER k GROUP BY k, SessionWindow(second, 3, 12) OVER (PARTITION BY k)),
                Slides AS (SELECT k, COUNT(*) AS n FROM input TIMESTAMP BY time OVER k GROUP BY k, SlidingWindow(second, 4))
           SELECT k, n, LAG(k) OVER (LIMIT DURATION(second, 30)) AS prev INTO sessions FROM Sessions
           SELECT k, n, LAG(k) OVER (LIMIT DURATION(second, 30)) AS prev INTO slides FROM Slides`,
    inputs: ['input'],
  },
  {
    name: 'TIMESTAMP BY … OVER: a stream JOIN',
    text: `SELECT a.k, a.v AS av, b.v AS bv INTO pairs FROM Entry a TIMESTAMP BY time OVER k
           LEFT JOIN Exit b TIMESTAMP BY time OVER k ON a.k = b.k AND DATEDIFF(second, a, b) BETWEEN 0 AND 4`,
    inputs: ['Entry', 'Exit'],
  },
  {
    name: 'several statements into one output',
    text: `SELECT k, COUNT(*) AS v, 'window' AS kind INTO out FROM input TIMESTAMP BY time GROUP BY k, TumblingWindow(second, 5)
           SELECT k, v, 'event' AS kind INTO out FROM input TIMESTAMP BY time
           SELECT k, COUNT(*) AS v, 'slide' AS kind INTO out FROM input TIMESTAMP BY time GROUP BY k, SlidingWindow(second, 3)`,
    inputs: ['input'],
  },
  {
    name: 'a WITH step read by a filter and a window',
    text: `WITH Big AS (SELECT k, v FROM input TIMESTAMP BY time WHERE v > 2)
           SELECT k, v INTO big FROM Big
           SELECT k, COUNT(*) AS n, Collect(v) AS vs INTO perKey FROM Big GROUP BY k, TumblingWindow(second, 5)`,
    inputs: ['input'],
  },
  {
    name: 'a WITH step stamped anew with TIMESTAMP BY',
    text: `WITH Raw AS (SELECT k, v, time FROM input)
           SELECT k, v, System.Timestamp() AS ts INTO restamped FROM Raw TIMESTAMP BY time
           SELECT COUNT(*) AS n, Collect(v) AS vs INTO counts FROM Raw TIMESTAMP BY time GROUP BY TumblingWindow(second, 5)`,
    inputs: ['input'],
  },
  {
    name: 'CROSS APPLY, alone and grouped',
    text: `SELECT e.k, t.ArrayIndex AS i, t.ArrayValue AS tag INTO tags FROM input e TIMESTAMP BY time CROSS APPLY GetArrayElements(e.tags) AS t
           SELECT t.ArrayValue AS tag, COUNT(*) AS n INTO perTag FROM input e TIMESTAMP BY time CROSS APPLY GetArrayElements(e.tags) AS t
           GROUP BY t.ArrayValue, TumblingWindow(second, 5)`,
    inputs: ['input'],
  },
  {
    name: 'SELECT without a window, with TIMESTAMP BY',
    text: `SELECT k, v, System.Timestamp() AS ts INTO out FROM input TIMESTAMP BY time WHERE v <> 5`,
    inputs: ['input'],
  },
  {
    name: 'without TIMESTAMP BY (arrival time): the events and a window',
    text: `SELECT k, v INTO events FROM input
           SELECT k, COUNT(*) AS n, Collect(v) AS vs INTO windows FROM input GROUP BY k, TumblingWindow(second, 5)`,
    inputs: ['input'],
  },
  {
    name: 'MATCH_RECOGNIZE: a greedy pattern per key, overlapping matches, and its matches in a window',
    text: `SELECT * INTO matches FROM input TIMESTAMP BY time MATCH_RECOGNIZE (
             LIMIT DURATION (second, 8) PARTITION BY k
             MEASURES First(A.v) AS a, Count(B.v) AS bs, Last(C.v) AS c, Collect(v) AS vs
             AFTER MATCH SKIP TO NEXT ROW
             PATTERN (A B* C?) DEFINE A AS A.v < 4, B AS B.v >= 4 AND B.v < 8, C AS C.v >= 8) AS M
           SELECT COUNT(*) AS n, SUM(bs) AS bs, System.Timestamp() AS e INTO windows FROM input TIMESTAMP BY time MATCH_RECOGNIZE (
             LIMIT DURATION (second, 5) PARTITION BY k MEASURES Count(B.v) AS bs
             PATTERN (A+? B{1,2}) DEFINE A AS A.v < 5, B AS B.v >= First(A.v)) AS M
           GROUP BY TumblingWindow(second, 5)`,
    inputs: ['input'],
  },
  {
    name: 'MATCH_RECOGNIZE over TIMESTAMP BY … OVER',
    text: `SELECT * INTO matches FROM input TIMESTAMP BY time OVER k MATCH_RECOGNIZE (
             LIMIT DURATION (second, 10) PARTITION BY k MEASURES Count(*) AS n, Sum(A.v) AS total
             PATTERN ((A | B)+ C) DEFINE A AS A.v < 3, B AS B.v BETWEEN 3 AND 6, C AS C.v > 6) AS M`,
    inputs: ['input'],
  },
  {
    name: 'UNION of two inputs',
    text: `SELECT k, v, 'entry' AS side INTO out FROM Entry TIMESTAMP BY time WHERE v < 5
           UNION SELECT k, v, 'exit' AS side FROM Exit TIMESTAMP BY time WHERE v > 3`,
    inputs: ['Entry', 'Exit'],
  },
];

const products: Row[] = [{ k: 'a', name: 'a1' }, { k: 'a', name: 'a2' }, { k: 'b', name: 'b1' }];

/** Every combination of the tolerances and actions worth telling apart. */
const policies: readonly EventOrderingPolicy[] = [0, 5_000, -1].flatMap((late) =>
  [0, 3_000].flatMap((outOfOrder) => (['adjust', 'drop'] as const).map((action) => ({
    lateArrivalToleranceMs: late, outOfOrderToleranceMs: outOfOrder, outOfOrderAction: action,
  }))));

/** More with DETERMINISM_SEQUENCES=n, for a longer search than CI's. */
const SEQUENCES_PER_POLICY = Number(process.env.DETERMINISM_SEQUENCES ?? 3);
const VARIANTS_PER_SEQUENCE = 3;
const EVENTS_PER_SEQUENCE = 36;
const T0 = Date.UTC(2023, 0, 1);

type Step =
  | { readonly kind: 'push'; readonly input: string; readonly event: Record<string, unknown>; readonly json: string; readonly arrival: number }
  | { readonly kind: 'advance'; readonly to: number }
  | { readonly kind: 'checkpoint' };

type Push = Extract<Step, { kind: 'push' }>;

interface Emitted {
  readonly output: string;
  readonly ts: number;
  readonly row: string;
}

/** mulberry32: a small seeded generator, so a failure can be replayed from its seed. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}

const between = (random: () => number, low: number, high: number): number => low + Math.floor(random() * (high - low + 1));
const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

/**
 * Events with non-decreasing arrival times (often equal) and event times around them: mostly a
 * little early or late, some late beyond the tolerances, a few far ahead of their arrival. Some
 * sequences have one key, or whole seconds only, for more events sharing a group or a time.
 */
function eventsFor(random: () => number, inputs: readonly string[]): Push[] {
  const keys = pick(random, [['a'], ['a', 'b'], ['a', 'b', 'c'], ['a', 'b', 'c']]);
  const grain = pick(random, [500, 1_000]);
  // Half the sequences have a device whose clock is off by a minute (TIMESTAMP BY … OVER's case).
  const skewed = random() < 0.5 ? pick(random, keys) : null;
  const skew = pick(random, [-60_000, 60_000]);
  const pushes: Push[] = [];
  let arrival = T0 + 60_000;
  for (let i = 0; i < EVENTS_PER_SEQUENCE; i++) {
    arrival += random() < 0.08 ? between(random, 6, 12) * 1_000 : pick(random, [0, 0, grain, 1_000, 1_000, 2_000]);
    const r = random();
    let offset: number;
    if (r < 0.55) offset = -between(random, 0, 2_000 / grain) * grain;
    else if (r < 0.7) offset = between(random, 1, 3_000 / grain) * grain;
    else if (r < 0.9) offset = -between(random, 5, 20) * 1_000;
    else if (r < 0.97) offset = between(random, 4, 15) * 1_000;
    else offset = pick(random, [90_000, 400_000]);
    const tags = Array.from({ length: between(random, 0, 2) }, () => pick(random, ['x', 'y', 'z']));
    const k = pick(random, keys);
    const event = { time: new Date(arrival + offset + (k === skewed ? skew : 0)).toISOString(), k, v: between(random, 0, 9), tags };
    pushes.push({ kind: 'push', input: pick(random, inputs), event, json: JSON.stringify(event), arrival });
  }
  return pushes;
}

/**
 * The pushes with advanceTo calls (each no later than the next arrival, some before the last
 * one) and checkpoints inserted at random points. Many advances put the watermark (arrival time
 * − late tolerance) exactly on a nearby event's time or a window end: ties are where the order
 * of rows can change.
 */
function variantOf(random: () => number, pushes: readonly Push[], policy: EventOrderingPolicy): Step[] {
  const steps: Step[] = [];
  const shift = Math.max(policy.lateArrivalToleranceMs, 0);
  let last = pushes[0]!.arrival - 10_000;
  for (let i = 0; i <= pushes.length; i++) {
    const next = i < pushes.length ? pushes[i]!.arrival : last + 30_000;
    while (random() < 0.4) {
      if (random() < 0.1) steps.push({ kind: 'checkpoint' });
      const r = random();
      let to = last + Math.floor(random() * (next - last + 1));
      if (r < 0.15) to = last - between(random, 0, 20) * 500;
      else if (r < 0.3) to = last;
      else if (r < 0.45) to = next;
      else if (r < 0.8) {
        const targets: number[] = [];
        for (let j = Math.max(0, i - 6); j < Math.min(pushes.length, i + 3); j++) targets.push(Date.parse(pushes[j]!.event.time as string) + shift, pushes[j]!.arrival);
        for (let end = Math.ceil((last - shift) / 1_000) * 1_000; end + shift <= next; end += 1_000) targets.push(end + shift);
        const reachable = targets.filter((x) => x >= last && x <= next);
        if (reachable.length > 0) to = pick(random, reachable);
      }
      steps.push({ kind: 'advance', to });
    }
    if (random() < 0.06) steps.push({ kind: 'checkpoint' });
    if (i < pushes.length) {
      steps.push(pushes[i]!);
      last = pushes[i]!.arrival;
    }
  }
  return steps;
}

/** Whether every advanceTo is no later than the arrival of the next push (after one is shrunk away). */
function valid(steps: readonly Step[]): boolean {
  let bound = Infinity;
  for (let i = steps.length - 1; i >= 0; i--) {
    const s = steps[i]!;
    if (s.kind === 'push') bound = s.arrival;
    else if (s.kind === 'advance' && s.to > bound) return false;
  }
  return true;
}

function run(compiled: CompiledQuery, policy: EventOrderingPolicy, steps: readonly Step[]): Emitted[] {
  const rows: Emitted[] = [];
  const create = () => compiled.createRunner({
    references: { products },
    policy,
    onRow: (output, row, ts) => rows.push({ output, ts, row: JSON.stringify(toJson(row)) }),
  });
  let runner = create();
  for (const s of steps) {
    switch (s.kind) {
      case 'push':
        // A copy per push: what one run does to an event must not show in another.
        runner.push(s.input, JSON.parse(s.json) as Row, s.arrival);
        break;
      case 'advance':
        runner.advanceTo(s.to);
        break;
      case 'checkpoint': {
        // As after a crash: the old runner is gone, a new one continues from the saved state.
        const saved = JSON.parse(JSON.stringify(runner.snapshot())) as QueryCheckpoint;
        runner = create();
        runner.restore(saved);
        break;
      }
    }
  }
  runner.end();
  return rows;
}

/** Rows of each output with the same timestamp, in emission order. */
function byTimestamp(rows: readonly Emitted[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const r of rows) {
    const key = `${r.output} @ ${formatTime(r.ts)}`;
    const list = groups.get(key);
    if (list) list.push(r.row);
    else groups.set(key, [r.row]);
  }
  return groups;
}

/** The first way the variant's rows differ from the reference's, or null. */
function difference(reference: readonly Emitted[], variant: readonly Emitted[]): string | null {
  const outputs = new Set([...reference, ...variant].map((r) => r.output));
  for (const output of [...outputs].sort()) {
    const a = reference.filter((r) => r.output === output).map((r) => `${formatTime(r.ts)} ${r.row}`).sort();
    const b = variant.filter((r) => r.output === output).map((r) => `${formatTime(r.ts)} ${r.row}`).sort();
    const missing = a.filter((x) => !b.includes(x));
    const extra = b.filter((x) => !a.includes(x));
    if (missing.length > 0 || extra.length > 0 || a.length !== b.length) {
      return `output ${output}: not the same rows\n  only in the reference: ${missing.join('\n    ') || '-'}\n  only in the variant: ${extra.join('\n    ') || '-'}` +
        (missing.length === 0 && extra.length === 0 ? '\n  (the same rows, different multiplicities)' : '');
    }
  }
  const a = byTimestamp(reference), b = byTimestamp(variant);
  for (const [key, rows] of a) {
    const other = b.get(key)!;
    if (rows.join('\n') !== other.join('\n')) {
      return `output ${key}: the same rows in another order\n  reference:\n    ${rows.join('\n    ')}\n  variant:\n    ${other.join('\n    ')}`;
    }
  }
  return null;
}

function differs(compiled: CompiledQuery, policy: EventOrderingPolicy, steps: readonly Step[]): string | null {
  return difference(run(compiled, policy, steps.filter((s) => s.kind === 'push')), run(compiled, policy, steps));
}

/** Removes steps one at a time while the difference remains, down to a case where none can go. */
function shrink(compiled: CompiledQuery, policy: EventOrderingPolicy, steps: readonly Step[]): Step[] {
  let current = [...steps];
  for (let progress = true; progress;) {
    progress = false;
    for (let i = current.length - 1; i >= 0; i--) {
      const candidate = current.filter((_, j) => j !== i);
      if (valid(candidate) && differs(compiled, policy, candidate) !== null) {
        current = candidate;
        progress = true;
      }
    }
  }
  return current;
}

const formatTime = (ms: number): string => (Number.isFinite(ms) ? `T0+${(ms - T0) / 1000}s` : String(ms));

function describeSteps(steps: readonly Step[]): string {
  return steps.map((s) => {
    switch (s.kind) {
      case 'push': return `push ${s.input} ${JSON.stringify({ ...s.event, time: formatTime(Date.parse(s.event.time as string)) })} arriving ${formatTime(s.arrival)}`;
      case 'advance': return `advanceTo ${formatTime(s.to)}`;
      case 'checkpoint': return 'checkpoint → new runner → restore';
    }
  }).join('\n    ');
}

for (const [q, query] of queries.entries()) {
  test(`rows do not depend on advanceTo or checkpoints: ${query.name}`, () => {
    const compiled = compileQuery(query.text, { references: ['products'] });
    let rowsSeen = 0;
    for (const [p, policy] of policies.entries()) {
      for (let n = 0; n < SEQUENCES_PER_POLICY; n++) {
        const seed = (q * 1_000 + p * 10 + n) * 7_919 + 1;
        const random = generator(seed);
        const pushes = eventsFor(random, query.inputs);
        const reference = run(compiled, policy, pushes);
        rowsSeen += reference.length;
        for (let v = 0; v < VARIANTS_PER_SEQUENCE; v++) {
          const steps = variantOf(random, pushes, policy);
          const found = difference(reference, run(compiled, policy, steps));
          if (found === null) continue;
          const minimal = shrink(compiled, policy, steps);
          assert.fail(
            `seed ${seed} (variant ${v}), query "${query.name}":\n  ${query.text.replace(/\n\s*/g, '\n  ')}\n` +
            `policy ${JSON.stringify(policy)}\nminimal case (T0 = ${new Date(T0).toISOString()}):\n    ${describeSteps(minimal)}\n` +
            `${differs(compiled, policy, minimal)}`,
          );
        }
      }
    }
    assert.ok(rowsSeen > 0, 'the sequences give rows');
  });
}

test('advanceTo earlier than the latest arrival is ignored: nothing is emitted, nothing changes', () => {
  const compiled = compileQuery(`
    SELECT k, COUNT(*) AS n INTO stamped FROM input TIMESTAMP BY time GROUP BY k, TumblingWindow(second, 5)
    SELECT k, COUNT(*) AS n INTO arrived FROM input GROUP BY k, TumblingWindow(second, 5)`);
  const pushes = eventsFor(generator(42), ['input']);
  for (const policy of policies) {
    const reference = run(compiled, policy, pushes);
    const rows: Emitted[] = [];
    const runner = compiled.createRunner({ policy, onRow: (output, row, ts) => rows.push({ output, ts, row: JSON.stringify(toJson(row)) }) });
    for (const [i, p] of pushes.entries()) {
      runner.push(p.input, JSON.parse(p.json) as Row, p.arrival);
      const before = rows.length;
      for (const stale of [p.arrival, p.arrival - 1, p.arrival - 60_000, pushes[Math.max(0, i - 3)]!.arrival, -Infinity, NaN]) runner.advanceTo(stale);
      assert.equal(rows.length, before, `advanceTo at or before ${formatTime(p.arrival)} emitted rows`);
    }
    runner.end();
    assert.deepEqual(rows, reference);
  }
});
