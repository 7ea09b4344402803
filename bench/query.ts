// Query engine benchmark: each scenario runs the engine and a hand-written loop computing the
// same answer over the same pre-decoded events, in the same process, and reports events/s for
// both and their ratio (median of several runs). A speed is only worth quoting for a right answer,
// so the process exits with 1 when any run of the engine disagrees with its loop.
//   npx tsx bench/query.ts [--events N] [--runs R] [--only tumbling|hopping|session]
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { compileQuery, type Row } from '../src/query/index.js';
import { machine, median } from './harness.js';

interface Click {
  time: string;
  sku: string;
  shopper: string;
  price: number;
}

interface Scenario {
  readonly name: string;
  readonly query: string;
  /** Rows produced by the engine: a digest to compare with the loop's. */
  engine(events: readonly Click[]): Digest;
  loop(events: readonly Click[]): Digest;
}

/** Enough of an answer to show both sides computed the same thing. */
interface Digest {
  rows: number;
  checksum: number;
}

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const eventCount = flag('--events', 1_000_000);
const runs = flag('--runs', 5);
/** One scenario by the first word of its name, to profile it alone (`node --cpu-prof`). */
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const catalogueSize = 10_000;
const shoppers = 20_000;
const start = Date.UTC(2024, 0, 1);

// --- data --------------------------------------------------------------------------------------

function makeEvents(n: number): Click[] {
  let seed = 12345;
  const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const events: Click[] = new Array(n);
  let t = start;
  for (let i = 0; i < n; i++) {
    t += random() < 0.5 ? 1 : 0; // ~2,000 events per second of event time, many sharing a millisecond
    // Decoded from JSON text, as events read from a file or the log are (flat strings, plain objects).
    events[i] = JSON.parse(JSON.stringify({
      time: new Date(t).toISOString(),
      // 5% of clicks name products missing from the catalogue (dropped by the inner join).
      sku: `sku-${Math.floor(random() * catalogueSize * 1.05)}`,
      shopper: `shopper-${Math.floor(random() * shoppers)}`,
      price: Math.floor(random() * 10_000) / 100,
    })) as Click;
  }
  return events;
}

const catalogue: Row[] = JSON.parse(JSON.stringify(Array.from({ length: catalogueSize }, (_, i) => ({ sku: `sku-${i}`, name: `product ${i}`, category: `c${i % 40}`, weight: 1 + (i % 5) })))) as Row[];

function runEngine(query: string, events: readonly Click[], digest: (row: Row) => number): Digest {
  const compiled = compileQuery(query, { inputs: ['clicks'], references: ['catalogue'] });
  let rows = 0;
  let checksum = 0;
  const runner = compiled.createRunner({
    references: { catalogue },
    onRow: (_output, row) => { rows++; checksum += digest(row); },
  });
  for (const e of events) runner.push('clicks', e as unknown as Row);
  runner.end();
  return { rows, checksum };
}

// --- scenarios ---------------------------------------------------------------------------------

const tumblingJoin: Scenario = {
  name: 'tumbling 10 s count per product, joined with a 10,000-row catalogue',
  query: `SELECT c.sku, COUNT(*) AS views, SUM(p.weight) AS weighted, System.Timestamp() AS windowEnd
FROM clicks c TIMESTAMP BY time
JOIN catalogue p ON c.sku = p.sku
GROUP BY c.sku, TumblingWindow(second, 10)`,
  engine(events) {
    return runEngine(this.query, events, (row) => (row.views as number) + (row.weighted as number));
  },
  loop(events) {
    const bySku = new Map<string, Row>();
    for (const p of catalogue) bySku.set(p.sku as string, p);
    const windows = new Map<number, Map<string, { views: number; weighted: number }>>();
    const ends: number[] = [];
    let rows = 0, checksum = 0, watermark = -Infinity;
    const close = (limit: number) => {
      while (ends.length > 0 && ends[0]! < limit) {
        const end = ends.shift()!;
        for (const g of windows.get(end)!.values()) { rows++; checksum += g.views + g.weighted; }
        windows.delete(end);
      }
    };
    for (const e of events) {
      const ts = Date.parse(e.time);
      const product = bySku.get(e.sku);
      if (product) {
        const end = Math.ceil(ts / 10_000) * 10_000;
        let w = windows.get(end);
        if (!w) { w = new Map(); windows.set(end, w); ends.push(end); }
        const g = w.get(e.sku);
        if (g) { g.views++; g.weighted += product.weight as number; } else w.set(e.sku, { views: 1, weighted: product.weight as number });
      }
      if (ts > watermark) { watermark = ts; close(watermark); }
    }
    close(Infinity);
    return { rows, checksum };
  },
};

const hoppingAverage: Scenario = {
  name: 'hopping 60 s / 10 s average price',
  query: `SELECT AVG(price) AS avgPrice, COUNT(*) AS n, System.Timestamp() AS windowEnd
FROM clicks TIMESTAMP BY time
GROUP BY HoppingWindow(second, 60, 10)`,
  engine(events) {
    return runEngine(this.query, events, (row) => (row.avgPrice as number) + (row.n as number));
  },
  loop(events) {
    const windows = new Map<number, { sum: number; n: number }>();
    const ends: number[] = [];
    let rows = 0, checksum = 0, watermark = -Infinity;
    const close = (limit: number) => {
      while (ends.length > 0 && ends[0]! < limit) {
        const end = ends.shift()!;
        const w = windows.get(end)!;
        rows++;
        checksum += w.sum / w.n + w.n;
        windows.delete(end);
      }
    };
    for (const e of events) {
      const ts = Date.parse(e.time);
      for (let end = Math.ceil(ts / 10_000) * 10_000; end < ts + 60_000; end += 10_000) {
        let w = windows.get(end);
        if (!w) { w = { sum: 0, n: 0 }; windows.set(end, w); ends.push(end); }
        w.sum += e.price;
        w.n++;
      }
      if (ts > watermark) { watermark = ts; close(watermark); }
    }
    close(Infinity);
    return { rows, checksum };
  },
};

const sessionPerShopper: Scenario = {
  name: 'session window per shopper (timeout 30 s, max 10 min)',
  query: `SELECT shopper, COUNT(*) AS clicks, SUM(price) AS spent, System.Timestamp() AS closed
FROM clicks TIMESTAMP BY time
GROUP BY shopper, SessionWindow(second, 30, 600) OVER (PARTITION BY shopper)`,
  engine(events) {
    return runEngine(this.query, events, (row) => (row.clicks as number) + (row.spent as number));
  },
  loop(events) {
    // Sessions close eagerly when the shopper's next click is past the close time, or at the end;
    // the grid cut (every 600 s) and the continuation rule are the same as the engine's.
    const timeout = 30_000, max = 600_000;
    const open = new Map<string, { last: number; maxEnd: number; closeAt: number; clicks: number; spent: number }>();
    const cut = new Map<string, { at: number; last: number }>();
    let rows = 0, checksum = 0;
    for (const e of events) {
      const ts = Date.parse(e.time);
      let s = open.get(e.shopper);
      if (s && ts > s.closeAt) {
        rows++;
        checksum += s.clicks + s.spent;
        if (s.closeAt === s.maxEnd) cut.set(e.shopper, { at: s.maxEnd, last: s.last });
        s = undefined;
      }
      if (!s) {
        const c = cut.get(e.shopper);
        cut.delete(e.shopper);
        const first = c && ts - c.last <= timeout && ts > c.at ? c.at : ts;
        const maxEnd = Math.ceil((first + max) / max) * max;
        s = { last: ts, maxEnd, closeAt: Math.min(ts + timeout, maxEnd), clicks: 0, spent: 0 };
        open.set(e.shopper, s);
      } else if (ts > s.last) {
        s.last = ts;
        s.closeAt = Math.min(ts + timeout, s.maxEnd);
      }
      s.clicks++;
      s.spent += e.price;
    }
    for (const s of open.values()) { rows++; checksum += s.clicks + s.spent; }
    return { rows, checksum };
  },
};

// --- measurement -------------------------------------------------------------------------------

/**
 * Wall-clock and CPU seconds (all of the process's threads, the collector's too). On a shared
 * machine the wall clock includes time spent waiting for a core; CPU time does not.
 */
function measure(fn: () => Digest): { seconds: number; cpuSeconds: number; digest: Digest } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const digest = fn();
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { seconds, cpuSeconds: (c.user + c.system) / 1e6, digest };
}

function main(): void {
  console.log(`machine: ${machine()}`);
  console.log(`command: npx tsx bench/query.ts --events ${eventCount} --runs ${runs}${only ? ` --only ${only}` : ''}`);
  console.log(`events: ${eventCount.toLocaleString('en-US')} pre-decoded click objects (ISO time strings, parsed by both sides); median of ${runs} runs`);
  console.log(`load average at start: ${loadAverage()} (other processes on the machine skew both sides)\n`);
  const events = makeEvents(eventCount);
  const wrong: string[] = [];
  const scenarios = [tumblingJoin, hoppingAverage, sessionPerShopper].filter((s) => only === undefined || s.name.startsWith(only));
  if (scenarios.length === 0) throw new Error(`--only ${only}: no scenario's name starts with it (tumbling, hopping, session)`);
  for (const scenario of scenarios) {
    const engineTimes: number[] = [];
    const loopTimes: number[] = [];
    const engineCpu: number[] = [];
    const loopCpu: number[] = [];
    let rows = 0;
    let agrees = true;
    // One untimed warm-up each, then alternate so both see the same machine state.
    const warmUp = events.slice(0, 50_000);
    agrees &&= sameAnswer(scenario.engine(warmUp), scenario.loop(warmUp));
    for (let r = 0; r < runs; r++) {
      const e = measure(() => scenario.engine(events));
      const l = measure(() => scenario.loop(events));
      engineTimes.push(e.seconds);
      loopTimes.push(l.seconds);
      engineCpu.push(e.cpuSeconds);
      loopCpu.push(l.cpuSeconds);
      agrees &&= sameAnswer(e.digest, l.digest);
      rows = e.digest.rows;
    }
    if (!agrees) wrong.push(scenario.name);
    const engineRate = eventCount / median(engineTimes);
    const loopRate = eventCount / median(loopTimes);
    console.log(`${scenario.name}`);
    console.log(`  engine        ${fmt(engineRate)} events/s   (runs ${eachRun(engineTimes)})`);
    console.log(`  hand-written  ${fmt(loopRate)} events/s   (runs ${eachRun(loopTimes)})`);
    console.log(`  ratio         ${(engineRate / loopRate).toFixed(2)} × the hand-written loop`);
    const engineCpuRate = eventCount / median(engineCpu);
    const loopCpuRate = eventCount / median(loopCpu);
    console.log(`  per CPU-second engine ${fmt(engineCpuRate).trim()}, hand-written ${fmt(loopCpuRate).trim()} events: ${(engineCpuRate / loopCpuRate).toFixed(2)} ×`);
    console.log(`  same answer   ${agrees ? 'yes' : 'NO'} (${rows.toLocaleString('en-US')} rows)\n`);
  }
  console.log(`load average at end: ${loadAverage()}`);
  if (wrong.length > 0) {
    console.error(`the engine's answer differs from the hand-written loop's: ${wrong.join('; ')}`);
    process.exitCode = 1;
  }
}

/** Same rows, and checksums equal up to float rounding (the two sides sum in different orders). */
function sameAnswer(engine: Digest, loop: Digest): boolean {
  return engine.rows === loop.rows && Math.abs(engine.checksum - loop.checksum) <= 1e-6 * Math.abs(loop.checksum);
}

/** Every run in events/s, in the order run: how noisy the machine was. */
function eachRun(seconds: number[]): string {
  return seconds.map((s) => fmt(eventCount / s).trim()).join(', ');
}

function loadAverage(): string {
  return os.loadavg().map((l) => l.toFixed(2)).join(', ');
}

function fmt(rate: number): string {
  return Math.round(rate).toLocaleString('en-US').padStart(11);
}

main();
