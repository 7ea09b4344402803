// JavaScript functions benchmark: the same query with a UDF call per event, or a UDA per window,
// against the same logic written with the built-ins, in the same process over the same pre-decoded
// events — what the sandbox costs (a call into a node:vm context per value, the time checks in the
// function's loops and body). Reports events/s for both and their ratio (median of several runs);
// the rows of both sides are compared and the process exits with 1 when they differ.
//   npx tsx bench/functions.ts [--events N] [--runs R]
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { compileQuery, type Row, type UserFunctions } from '../src/query/index.js';
import { loadUserFunctions } from '../src/scripting/load-functions.js';
import { machine, median } from './harness.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const eventCount = flag('--events', 500_000);
const runs = flag('--runs', 5);

const functions: UserFunctions = loadUserFunctions([
  { name: 'discounted', kind: 'udf', file: 'discounted.js', source: 'function discounted(price, pct) { return price * (100 - pct) / 100; }' },
  {
    name: 'total', kind: 'uda', file: 'total.js', source: `function main() {
      this.init = function () { this.sum = 0; };
      this.accumulate = function (value, timestamp) { this.sum += value; };
      this.deaccumulate = function (value, timestamp) { this.sum -= value; };
      this.computeResult = function () { return this.sum; };
    }`,
  },
]);

interface Scenario {
  readonly name: string;
  readonly mine: string;
  readonly builtin: string;
}

const scenarios: Scenario[] = [
  {
    name: 'UDF per event: a discounted price (SELECT … FROM clicks)',
    mine: 'SELECT udf.discounted(price, 15) AS v FROM clicks',
    builtin: 'SELECT price * (100 - 15) / 100 AS v FROM clicks',
  },
  {
    name: 'UDA per window: a sum per store, 1 s tumbling windows',
    mine: 'SELECT store, uda.total(price) AS v FROM clicks TIMESTAMP BY time GROUP BY store, TumblingWindow(second, 1)',
    builtin: 'SELECT store, SUM(price) AS v FROM clicks TIMESTAMP BY time GROUP BY store, TumblingWindow(second, 1)',
  },
  {
    name: 'UDA per window: a sum per store, 10 s windows hopping by 1 s (the UDA deaccumulates: one state moved along)',
    mine: 'SELECT store, uda.total(price) AS v FROM clicks TIMESTAMP BY time GROUP BY store, HoppingWindow(second, 10, 1)',
    builtin: 'SELECT store, SUM(price) AS v FROM clicks TIMESTAMP BY time GROUP BY store, HoppingWindow(second, 10, 1)',
  },
];

function makeEvents(n: number): Row[] {
  let seed = 12345;
  const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const start = Date.UTC(2024, 0, 1);
  const events: Row[] = new Array(n);
  for (let i = 0, t = start; i < n; i++) {
    t += random() < 0.5 ? 1 : 0;
    events[i] = JSON.parse(JSON.stringify({ time: new Date(t).toISOString(), store: `store-${Math.floor(random() * 20)}`, price: Math.floor(random() * 10_000) / 100 })) as Row;
  }
  return events;
}

interface Digest {
  rows: number;
  checksum: number;
}

function runOnce(query: string, events: readonly Row[]): { seconds: number; digest: Digest } {
  const digest: Digest = { rows: 0, checksum: 0 };
  const runner = compileQuery(query, { functions }).createRunner({
    onRow: (_, row) => {
      digest.rows++;
      digest.checksum += row.v as number;
    },
  });
  const t0 = performance.now();
  for (const e of events) runner.push('clicks', e);
  runner.end();
  return { seconds: (performance.now() - t0) / 1000, digest };
}

function main(): void {
  console.log('JavaScript functions: a UDF per event and a UDA per window against the same logic in built-ins');
  console.log(`machine: ${machine()}`);
  console.log(`command: npx tsx bench/functions.ts --events ${eventCount} --runs ${runs}`);
  console.log(`baseline: the same query with built-in functions and SUM, same process, same events; median of ${runs} runs, alternating\n`);
  const events = makeEvents(eventCount);
  const wrong: string[] = [];
  for (const s of scenarios) {
    const mine: number[] = [], builtin: number[] = [];
    let agrees = true, rows = 0;
    runOnce(s.mine, events.slice(0, 20_000));
    runOnce(s.builtin, events.slice(0, 20_000));
    for (let r = 0; r < runs; r++) {
      const a = runOnce(s.mine, events), b = runOnce(s.builtin, events);
      mine.push(a.seconds);
      builtin.push(b.seconds);
      agrees &&= a.digest.rows === b.digest.rows && Math.abs(a.digest.checksum - b.digest.checksum) <= 1e-6 * Math.abs(b.digest.checksum);
      rows = a.digest.rows;
    }
    if (!agrees) wrong.push(s.name);
    const mineRate = eventCount / median(mine), builtinRate = eventCount / median(builtin);
    console.log(s.name);
    console.log(`  JavaScript    ${fmt(mineRate)} events/s   (runs ${mine.map((x) => fmt(eventCount / x).trim()).join(', ')})`);
    console.log(`  built-in      ${fmt(builtinRate)} events/s   (runs ${builtin.map((x) => fmt(eventCount / x).trim()).join(', ')})`);
    console.log(`  ratio         ${(mineRate / builtinRate).toFixed(2)} × the built-in`);
    console.log(`  same answer   ${agrees ? 'yes' : 'NO'} (${rows.toLocaleString('en-US')} rows)\n`);
  }
  console.log(`load average at end: ${os.loadavg().map((l) => l.toFixed(2)).join(', ')}`);
  if (wrong.length > 0) {
    console.error(`the JavaScript side's answer differs from the built-ins': ${wrong.join('; ')}`);
    process.exitCode = 1;
  }
}

function fmt(rate: number): string {
  return Math.round(rate).toLocaleString('en-US').padStart(11);
}

main();
