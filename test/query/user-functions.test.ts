// JavaScript UDFs and UDAs through the engine's index, loaded by the sandbox as a job or
// `query run` loads them: values against hand-computed ones, the type mapping both ways, failures
// and endless loops as event diagnostics, isolation from the process, every window kind, and a
// checkpoint taken in the middle of a window.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compileQuery, toJson, type EventDiagnostic, type QueryCheckpoint, type Row, type UserFunctions,
} from '../../src/query/index.js';
import { FunctionFileError, loadUserFunctions, type FunctionFile } from '../../src/scripting/load-functions.js';

const udf = (name: string, source: string): FunctionFile => ({ name, kind: 'udf', file: `${name}.js`, source });
const uda = (name: string, source: string): FunctionFile => ({ name, kind: 'uda', file: `${name}.js`, source });

const sumUda = (deaccumulate: boolean) => `// A sum, as the reference's template writes one.
function main() {
  this.init = function () { this.state = 0; };
  this.accumulate = function (value, timestamp) { this.state += value; };
  ${deaccumulate ? 'this.deaccumulate = function (value, timestamp) { this.state -= value; };' : ''}
  this.computeResult = function () { return this.state; };
}`;

/** Also counts its calls, so a test can tell recomputation from deaccumulation. */
const countingSum = `function main() {
  this.init = function () { this.sum = 0; this.calls = 0; };
  this.accumulate = function (v) { this.sum += v; this.calls++; };
  this.deaccumulate = function (v) { this.sum -= v; this.calls++; };
  this.computeResult = function () { return { sum: this.sum, calls: this.calls }; };
}`;

interface Run {
  rows: { output: string; row: Record<string, unknown> }[];
  diagnostics: EventDiagnostic[];
}

function run(query: string, functions: UserFunctions, events: readonly [string, Record<string, unknown>][], references: Record<string, Row[]> = {}): Run {
  const out: Run = { rows: [], diagnostics: [] };
  const runner = compileQuery(query, { functions, references: Object.keys(references) }).createRunner({
    references,
    onRow: (output, row) => out.rows.push({ output, row: toJson(row) as Record<string, unknown> }),
    onDiagnostic: (d) => out.diagnostics.push(d),
  });
  for (const [input, e] of events) runner.push(input, e as Row);
  runner.end();
  return out;
}

const t = (s: number) => `2024-03-01T10:00:${String(s).padStart(2, '0')}Z`;

describe('JavaScript UDFs', () => {
  const functions = loadUserFunctions([
    udf('hex2Int', '// Hex text to an integer.\nfunction hex2Int(hexValue) {\n  return parseInt(hexValue, 16);\n}\n'),
    udf('describe', `function describe(rec, list, when, n) {
      return {
        keys: Object.keys(rec).sort().join(','), nested: rec.basket.items[1], listLength: list.length,
        isDate: when instanceof Date, later: new Date(when.getTime() + 1500), kind: typeof n, half: n / 2,
        missing: undefined, nothing: null,
      };
    }`),
    udf('giveFunction', 'function f() { return function () {}; }'),
    udf('giveUndefined', 'function f() { return undefined; }'),
    udf('boom', 'function boom(x) {\n  if (x > 1) throw new Error("too big: " + x);\n  return x;\n}'),
    udf('spin', 'function spin(x) { if (x === 2) { while (true) {} } return x; }'),
    udf('fib', 'function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }'),
    udf('probe', `function probe(rec) {
      const out = [typeof require, typeof process, typeof setTimeout, typeof fetch, typeof Promise, typeof globalThis.Buffer];
      try { out.push(String(Function('return 1')())); } catch (e) { out.push(e.name); }
      try { out.push(String(rec.constructor.constructor('return typeof process')())); } catch (e) { out.push(e.name); }
      return out.join(' ');
    }`),
  ], { timeLimitMs: 50 });

  test('called as udf.NAME in any case, anywhere a scalar stands: SELECT, WHERE', () => {
    const r = run('SELECT id, UDF.HEX2INT(hex) AS n INTO out FROM input WHERE udf.hex2int(hex) > 16', functions, [
      ['input', { id: 1, hex: '0a' }], ['input', { id: 2, hex: 'ff' }], ['input', { id: 3, hex: '11' }],
    ]);
    assert.deepEqual(r.rows.map((x) => x.row), [{ id: 2, n: 255 }, { id: 3, n: 17 }]);
    assert.deepEqual(r.diagnostics, []);
  });

  test('in TIMESTAMP BY, a GROUP BY key, an aggregate\'s argument and HAVING', () => {
    const fns = loadUserFunctions([
      udf('at', 'function at(s) { return new Date(Date.UTC(2024, 2, 1, 10, 0, s)); }'),
      udf('parity', 'function parity(n) { return n % 2 === 0 ? "even" : "odd"; }'),
      udf('hex2Int', 'function h(x) { return parseInt(x, 16); }'),
    ]);
    const r = run(`SELECT udf.parity(udf.hex2Int(hex)) AS p, SUM(udf.hex2Int(hex)) AS total, System.Timestamp() AS w
      INTO out FROM input TIMESTAMP BY udf.at(s)
      GROUP BY udf.parity(udf.hex2Int(hex)), TumblingWindow(second, 10) HAVING SUM(udf.hex2Int(hex)) > 20`, fns,
    [['input', { s: 1, hex: '0a' }], ['input', { s: 2, hex: '0f' }], ['input', { s: 3, hex: '10' }], ['input', { s: 12, hex: 'ff' }]]);
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.rows.map((x) => x.row), [
      { p: 'even', total: 10 + 16, w: '2024-03-01T10:00:10.0000000Z' },
      { p: 'odd', total: 255, w: '2024-03-01T10:00:20.0000000Z' },
    ]);
  });

  test('the type mapping: records, arrays, datetime ↔ Date, bigint and float, undefined and null', () => {
    const r = run("SELECT udf.describe(input, basket.items, CAST(at AS datetime), qty) AS d INTO out FROM input", functions, [
      ['input', { at: '2024-03-01T10:00:00Z', qty: 3, basket: { items: ['shirt', 'scarf', 'socks'] } }],
    ]);
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.rows[0]!.row.d, {
      keys: 'at,basket,qty', nested: 'scarf', listLength: 3, isDate: true, later: '2024-03-01T10:00:01.5000000Z',
      kind: 'number', half: 1.5, missing: null, nothing: null,
    });
  });

  test('undefined is NULL; a function returned is a diagnostic and NULL', () => {
    const r = run('SELECT udf.giveUndefined() AS u, udf.giveFunction() AS f INTO out FROM input', functions, [['input', { id: 1 }]]);
    assert.deepEqual(r.rows.map((x) => x.row), [{ u: null, f: null }]);
    assert.equal(r.diagnostics.length, 1);
    assert.equal(r.diagnostics[0]!.code, 'USER_FUNCTION_FAILED');
    assert.match(r.diagnostics[0]!.message, /udf\.giveFunction: returned a function/);
  });

  test('a function that throws: NULL and a diagnostic with the query position and the file line, and the query goes on', () => {
    const r = run('SELECT id,\n  udf.boom(id) AS b INTO out FROM input', functions, [['input', { id: 1 }], ['input', { id: 2 }], ['input', { id: 1 }]]);
    assert.deepEqual(r.rows.map((x) => x.row), [{ id: 1, b: 1 }, { id: 2, b: null }, { id: 1, b: 1 }]);
    assert.equal(r.diagnostics.length, 1);
    assert.deepEqual({ ...r.diagnostics[0] }, { code: 'USER_FUNCTION_FAILED', message: 'udf.boom: Error: too big: 2 (line 2)', position: { line: 2, column: 3 } });
  });

  test('a function that loops forever is stopped at its time limit; the next events are computed', () => {
    const r = run('SELECT id, udf.spin(id) AS s INTO out FROM input', functions, [['input', { id: 1 }], ['input', { id: 2 }], ['input', { id: 3 }]]);
    assert.deepEqual(r.rows.map((x) => x.row), [{ id: 1, s: 1 }, { id: 2, s: null }, { id: 3, s: 3 }]);
    assert.deepEqual(r.diagnostics.map((d) => [d.code, d.message]), [['USER_FUNCTION_TIMED_OUT', 'udf.spin: ran longer than its limit of 50 ms and was stopped']]);
  });

  test('endless recursion fails (stack) and runaway recursion without a loop is stopped (time)', () => {
    // A limit no stack overflow reaches, even on a busy machine: this is about the stack, not time.
    const patient = loadUserFunctions([udf('deep', 'function deep(n) { return deep(n + 1); }')], { timeLimitMs: 60_000 });
    const deep = run('SELECT udf.deep(n) AS d INTO out FROM input', patient, [['input', { n: 0 }], ['input', { n: 1 }]]);
    assert.deepEqual(deep.rows.map((x) => x.row), [{ d: null }, { d: null }]);
    assert.deepEqual(deep.diagnostics.map((d) => d.code), ['USER_FUNCTION_FAILED', 'USER_FUNCTION_FAILED']);
    assert.match(deep.diagnostics[0]!.message, /RangeError: Maximum call stack/);
    const fib = run('SELECT udf.fib(n) AS f INTO out FROM input', functions, [['input', { n: 10 }], ['input', { n: 60 }]]);
    assert.deepEqual(fib.rows.map((x) => x.row), [{ f: 55 }, { f: null }]);
    assert.deepEqual(fib.diagnostics.map((d) => d.code), ['USER_FUNCTION_TIMED_OUT']);
  });

  test('isolated: no require, process, timers, network or promises; no code from strings, even through a value passed in', () => {
    const r = run('SELECT udf.probe(input) AS p INTO out FROM input', functions, [['input', { id: 1 }]]);
    assert.deepEqual(r.rows.map((x) => x.row), [{ p: 'undefined undefined undefined undefined undefined undefined EvalError EvalError' }]);
  });

  test('an unknown udf.NAME is a compile error naming the function and those given', () => {
    assert.throws(() => compileQuery('SELECT udf.nope(x) AS y FROM input', { functions }), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'UNKNOWN_FUNCTION');
      assert.match(e.message, /^1:8: unknown function udf\.nope; the query was given udf\.hex2Int, udf\.describe, /);
      return true;
    });
    assert.throws(() => compileQuery('SELECT udf.nope(x) AS y FROM input'), /the query was given no JavaScript function/);
  });
});

describe('function files that cannot be used: an error at start with file, line and column', () => {
  const fails = (file: FunctionFile, line: number, column: number, reason: RegExp) => {
    assert.throws(() => loadUserFunctions([file]), (e: unknown) => {
      assert.ok(e instanceof FunctionFileError);
      assert.deepEqual({ file: e.file, ...e.place }, { file: file.file, line, column });
      assert.match(e.reason, reason);
      return true;
    });
  };

  test('JavaScript that does not parse', () => fails(udf('bad', 'function bad(x) {\n  return x +;\n}'), 2, 13, /not valid JavaScript: Unexpected token/));
  test('a UDF file without a function, or with two', () => {
    fails(udf('none', 'const x = 1;'), 1, 1, /declares none/);
    fails(udf('two', 'function a() {}\n\nfunction b() {}'), 3, 1, /b is a second one, after a \(line 1\)/);
  });
  test('a UDA without main, or whose main sets no accumulate', () => {
    fails(uda('nomain', 'function agg() {}'), 1, 1, /needs function main\(\)/);
    fails(uda('noacc', '\n  function main() { this.init = function () {}; this.computeResult = function () { return 1; }; }'), 2, 3, /main\(\) must set this\.accumulate \(it sets this\.init, this\.computeResult\)/);
  });
  test('async functions, and a top level that throws or never ends', () => {
    fails(udf('later', 'async function later(x) { return x; }'), 1, 1, /async functions are not supported/);
    fails(udf('throws', 'function f() {}\nthrow new Error("no");'), 1, 1, /failed while loading: Error: no/);
    fails(udf('stuck', 'function f() {}\nfor (;;) {}'), 1, 1, /the top level ran longer than 1000 ms/);
  });
});

describe('JavaScript UDAs', () => {
  const functions = loadUserFunctions([
    uda('sumOnly', sumUda(false)),
    uda('sumBack', sumUda(true)),
    uda('counting', countingSum),
    uda('twa', `// Time-weighted average, the reference's example.
function main() {
  this.init = function () { this.totalValue = 0.0; this.totalWeight = 0.0; };
  this.accumulate = function (value, timestamp) { this.totalValue += value.level * value.weight; this.totalWeight += value.weight; };
  this.computeResult = function () { return this.totalValue == 0 ? 0 : this.totalValue / this.totalWeight; };
}`),
    uda('firstLast', `function main() {
  this.init = function () { this.first = null; this.last = null; };
  this.accumulate = function (v, ts) { if (this.first === null) this.first = ts; this.last = ts; };
  this.computeResult = function () { return { first: this.first, last: this.last, seconds: (this.last - this.first) / 1000 }; };
}`),
    uda('fragile', `function main() {
  this.init = function () { this.n = 0; };
  this.accumulate = function (v) { if (v < 0) throw new Error('negative'); this.n += v; };
  this.computeResult = function () { return this.n; };
}`),
  ]);
  const events = [1, 2, 4, 7, 8, 13, 21].map((s, i) => ['input', { at: t(s), v: i + 1, store: s % 2 === 0 ? 'even' : 'odd' }] as [string, Record<string, unknown>]);

  /** Each row's UDA result next to the built-in SUM's over the same window. */
  const againstSum = (window: string, name = 'sumOnly', groupBy = '') => {
    const r = run(`SELECT System.Timestamp() AS w, ${groupBy ? 'store, ' : ''}uda.${name}(v) AS mine, SUM(v) AS builtin
      INTO out FROM input TIMESTAMP BY at GROUP BY ${groupBy ? `${groupBy}, ` : ''}${window}`, functions, events);
    assert.deepEqual(r.diagnostics, []);
    for (const { row } of r.rows) assert.equal(row.mine, row.builtin, JSON.stringify(row));
    return r.rows.map((x) => x.row);
  };

  test('tumbling: hand-computed sums per 10 s window, per group', () => {
    assert.deepEqual(againstSum('TumblingWindow(second, 10)'), [
      { w: '2024-03-01T10:00:10.0000000Z', mine: 1 + 2 + 3 + 4 + 5, builtin: 15 },
      { w: '2024-03-01T10:00:20.0000000Z', mine: 6, builtin: 6 },
      { w: '2024-03-01T10:00:30.0000000Z', mine: 7, builtin: 7 },
    ]);
    // Odd and even seconds in the first window, odd ones alone after it.
    assert.equal(againstSum('TumblingWindow(second, 10)', 'sumOnly', 'store').length, 4);
  });

  test('hopping, sliding (accumulate only, and with deaccumulate), session and snapshot windows agree with SUM', () => {
    assert.equal(againstSum('HoppingWindow(second, 10, 5)').length, 6);
    const sliding = againstSum('SlidingWindow(second, 5)');
    assert.deepEqual(againstSum('SlidingWindow(second, 5)', 'sumBack'), sliding);
    // Ends at each entry (7) and each exit (7, two of them shared with entries), less the two empty windows (18, 26).
    assert.equal(sliding.length, 10);
    assert.deepEqual(againstSum('SessionWindow(second, 4, 60)'), [
      { w: '2024-03-01T10:00:12.0000000Z', mine: 15, builtin: 15 },
      { w: '2024-03-01T10:00:17.0000000Z', mine: 6, builtin: 6 },
      { w: '2024-03-01T10:00:25.0000000Z', mine: 7, builtin: 7 },
    ]);
    assert.equal(againstSum('System.Timestamp()').length, 7);
  });

  test('with deaccumulate, hopping and sliding windows give the rows of the built-in SUM, in its order, per group', () => {
    for (const window of ['HoppingWindow(second, 10, 5)', 'HoppingWindow(second, 6, 4)', 'SlidingWindow(second, 5)']) {
      const query = (aggregate: string) => `SELECT System.Timestamp() AS w, store, ${aggregate} AS v INTO out FROM input TIMESTAMP BY at GROUP BY store, ${window}`;
      const mine = run(query('uda.sumBack(v)'), functions, events).rows;
      assert.deepEqual(mine, run(query('SUM(v)'), functions, events).rows, window);
      assert.ok(mine.length > 5);
    }
  });

  test('a hopping window with deaccumulate: each event accumulated once and deaccumulated once', () => {
    const r = run('SELECT System.Timestamp() AS w, uda.counting(v) AS c INTO out FROM input TIMESTAMP BY at GROUP BY HoppingWindow(second, 10, 2)', functions, events);
    const rows = r.rows.map((x) => x.row as { w: string; c: { sum: number; calls: number } });
    // Window (4, 14]: events at 7, 8 and 13 s. Before it, those at 1, 2 and 4 s entered and left.
    assert.deepEqual(rows.find((x) => x.w === t(14).replace('Z', '.0000000Z'))!.c, { sum: 4 + 5 + 6, calls: 6 + 3 });
  });

  test('a sliding window with deaccumulate moves one state along instead of recomputing each window', () => {
    // Only when every aggregate of the statement can deaccumulate (built-ins do not): uda.counting alone.
    const r = run('SELECT System.Timestamp() AS w, uda.counting(v) AS c INTO out FROM input TIMESTAMP BY at GROUP BY SlidingWindow(second, 5)', functions, events);
    const rows = r.rows.map((x) => x.row as { w: string; c: { sum: number; calls: number } });
    const sums = run('SELECT SUM(v) AS s INTO out FROM input TIMESTAMP BY at GROUP BY SlidingWindow(second, 5)', functions, events).rows.map((x) => x.row.s);
    assert.deepEqual(rows.map((x) => x.c.sum), sums);
    // By the window ending at 13 s: the events at 1, 2, 4, 7, 8 and 13 s entered once each, and all
    // but the last left once each (at 6, 7, 9, 12 and 13 s) — one state, never recomputed.
    assert.deepEqual(rows.find((x) => x.w === t(13).replace('Z', '.0000000Z'))!.c, { sum: 6, calls: 6 + 5 });
  });

  test('uda.NAME(step alias): the reference\'s time-weighted average, over records', () => {
    const noise = [[1, 80, 22.0], [2, 81, 37.8], [2, 85, 26.3], [6, 99, 23.0], [7, 79, 17.9]] as const;
    const r = run(`WITH value AS (SELECT NoiseLevelDB AS level, DurationSecond AS weight FROM input TIMESTAMP BY EntryTime)
      SELECT System.Timestamp() AS ts, uda.TWA(value) AS twa INTO out FROM value GROUP BY TumblingWindow(minute, 5)`, functions,
    noise.map(([m, level, weight]) => ['input', { EntryTime: `2017-06-10T12:0${m}:00Z`, NoiseLevelDB: level, DurationSecond: weight }]));
    assert.deepEqual(r.diagnostics, []);
    const twa = (xs: readonly (readonly number[])[]) => xs.reduce((a, x) => a + x[1]! * x[2]!, 0) / xs.reduce((a, x) => a + x[2]!, 0);
    assert.deepEqual(r.rows.map((x) => x.row), [
      { ts: '2017-06-10T12:05:00.0000000Z', twa: twa(noise.slice(0, 3)) },
      { ts: '2017-06-10T12:10:00.0000000Z', twa: twa(noise.slice(3)) },
    ]);
  });

  test('accumulate receives the event time as a Date', () => {
    const r = run('SELECT uda.firstLast(v) AS f INTO out FROM input TIMESTAMP BY at GROUP BY TumblingWindow(second, 10)', functions, events.slice(0, 3));
    assert.deepEqual(r.rows[0]!.row.f, { first: '2024-03-01T10:00:01.0000000Z', last: '2024-03-01T10:00:04.0000000Z', seconds: 3 });
  });

  test('an accumulate that throws skips that event for the aggregate, with a diagnostic', () => {
    const r = run('SELECT uda.fragile(v) AS n, COUNT(*) AS c INTO out FROM input TIMESTAMP BY at GROUP BY TumblingWindow(second, 10)', functions,
      [1, -5, 3].map((v, i) => ['input', { at: t(i + 1), v }]));
    assert.deepEqual(r.rows.map((x) => x.row), [{ n: 4, c: 3 }]);
    assert.deepEqual(r.diagnostics.map((d) => [d.code, d.message]), [['USER_FUNCTION_FAILED', 'uda.fragile: accumulate: Error: negative (line 3)']]);
  });

  test('uda.NAME where no aggregate may stand, with OVER, or unknown: compile errors', () => {
    assert.throws(() => compileQuery('SELECT uda.sumOnly(v) FROM input', { functions }), { code: 'AGGREGATE_WITHOUT_WINDOW' });
    assert.throws(() => compileQuery('SELECT uda.nope(v) FROM input GROUP BY TumblingWindow(second, 1)', { functions }), /unknown aggregate uda\.nope; the query was given uda\.sumOnly/);
    assert.throws(() => compileQuery('SELECT uda.sumOnly(v, 2) FROM input GROUP BY TumblingWindow(second, 1)', { functions }), { code: 'WRONG_ARGUMENT_COUNT' });
  });

  test('a checkpoint in the middle of a window: restored into a new runner, the same rows', () => {
    // With sumBack alone, sliding and hopping windows keep one moving state per group (all the
    // statement's aggregates deaccumulate); beside twa, every window has its own states.
    for (const [window, aggregates] of [
      ['TumblingWindow(second, 10)', 'uda.sumOnly(v) AS mine, uda.twa(input) AS t'],
      ['SlidingWindow(second, 5)', 'uda.sumBack(v) AS mine'],
      ['SlidingWindow(second, 5)', 'uda.sumBack(v) AS mine, uda.twa(input) AS t'],
      ['HoppingWindow(second, 10, 5)', 'uda.sumBack(v) AS mine'],
      ['HoppingWindow(second, 10, 5)', 'uda.sumOnly(v) AS mine, uda.twa(input) AS t'],
      ['SessionWindow(second, 4, 60)', 'uda.sumOnly(v) AS mine, uda.twa(input) AS t'],
    ] as const) {
      const query = `SELECT System.Timestamp() AS w, store, ${aggregates} INTO out FROM input TIMESTAMP BY at GROUP BY store, ${window}`;
      const compiled = compileQuery(query, { functions });
      const rows = (into: unknown[]) => (_: string, row: Row) => into.push(toJson(row));
      const withRecords = events.map(([, e]) => ({ ...e, level: e.v, weight: 1 }));
      const straight: unknown[] = [];
      const a = compiled.createRunner({ onRow: rows(straight) });
      for (const e of withRecords) a.push('input', e as Row);
      a.end();
      const resumed: unknown[] = [];
      const b = compiled.createRunner({ onRow: rows(resumed) });
      for (const e of withRecords.slice(0, 3)) b.push('input', e as Row);
      const saved = JSON.parse(JSON.stringify(b.snapshot())) as QueryCheckpoint;
      const c = compiled.createRunner({ onRow: rows(resumed) });
      c.restore(saved);
      for (const e of withRecords.slice(3)) c.push('input', e as Row);
      c.end();
      assert.deepEqual(resumed, straight, window);
      assert.ok(straight.length > 0);
    }
  });
});
