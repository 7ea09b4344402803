// MATCH_RECOGNIZE benchmark: the retail funnel (viewed → tried on → bought within 30 minutes, per
// shopper and product) over N click events, against a plain filter query over the same events in
// the same process — what pattern matching costs beyond reading and stamping the events. Reports
// events/s for both and their ratio (median of several runs). The funnel's rows are checked
// against a hand-written funnel loop; the process exits with 1 when they differ.
//   npx tsx bench/match-recognize.ts [--events N] [--runs R]
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { compileQuery, type Row } from '../src/query/index.js';
import { machine, median } from './harness.js';

interface Click {
  time: string;
  shopper: string;
  product: string;
  kind: 'view' | 'tryon' | 'purchase' | 'cart';
  price: number;
}

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
const shoppers = 5_000;
const products = 4;
const limitMs = 30 * 60_000;

const funnelQuery = `SELECT * FROM clicks TIMESTAMP BY time
MATCH_RECOGNIZE (
  LIMIT DURATION (minute, 30)
  PARTITION BY shopper, product
  MEASURES First(Viewed.time) AS viewedAt, Count(Viewed.time) AS views, Last(Bought.price) AS price
  AFTER MATCH SKIP PAST LAST ROW
  PATTERN (Viewed+ TriedOn+ Bought)
  DEFINE
    Viewed AS Viewed.kind = 'view',
    TriedOn AS TriedOn.kind = 'tryon',
    Bought AS Bought.kind = 'purchase'
) AS Funnel`;

const filterQuery = `SELECT shopper, product, price FROM clicks TIMESTAMP BY time WHERE kind = 'purchase'`;

function makeEvents(n: number): Click[] {
  let seed = 4242;
  const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const out: Click[] = new Array(n);
  let t = Date.UTC(2024, 0, 1);
  for (let i = 0; i < n; i++) {
    t += random() < 0.02 ? 1_000 : 0; // ~50 events per second of event time: a shopper-product pair every ~7 min
    const r = random();
    const kind = r < 0.5 ? 'view' : r < 0.75 ? 'tryon' : r < 0.9 ? 'purchase' : 'cart';
    out[i] = JSON.parse(JSON.stringify({
      time: new Date(t).toISOString(),
      shopper: `shopper-${Math.floor(random() * shoppers)}`,
      product: `sku-${Math.floor(random() * products)}`,
      kind,
      price: Math.floor(random() * 10_000) / 100,
    })) as Click;
  }
  return out;
}

function runEngine(query: string, events: readonly Click[], digest: (row: Row) => number): Digest {
  let rows = 0, checksum = 0;
  const runner = compileQuery(query, { inputs: ['clicks'] }).createRunner({ onRow: (_o, row) => { rows++; checksum += digest(row); } });
  for (const e of events) runner.push('clicks', e as unknown as Row);
  runner.end();
  return { rows, checksum };
}

/**
 * The same funnel by hand. The three kinds exclude one another, so a match is a run of views, a
 * run of try-ons and a purchase, uninterrupted within the partition; past its last row, the match
 * starts at the earliest view of the run within 30 minutes of the purchase.
 */
function funnelLoop(events: readonly Click[]): Digest {
  const state = new Map<string, { views: number[]; triedOn: boolean }>();
  let rows = 0, checksum = 0;
  for (const e of events) {
    const key = `${e.shopper}\u0000${e.product}`;
    const ts = Date.parse(e.time);
    let s = state.get(key);
    if (!s) { s = { views: [], triedOn: false }; state.set(key, s); }
    switch (e.kind) {
      case 'view':
        if (s.triedOn) { s.views = []; s.triedOn = false; }
        s.views.push(ts);
        break;
      case 'tryon':
        if (s.views.length > 0) s.triedOn = true;
        break;
      case 'purchase': {
        if (s.triedOn) {
          const k = s.views.findIndex((v) => ts - v <= limitMs);
          if (k >= 0) { rows++; checksum += s.views.length - k + e.price; }
        }
        s.views = [];
        s.triedOn = false;
        break;
      }
      default:
        s.views = [];
        s.triedOn = false;
    }
  }
  return { rows, checksum };
}

function measure(fn: () => Digest): { seconds: number; digest: Digest } {
  const t0 = performance.now();
  const digest = fn();
  return { seconds: (performance.now() - t0) / 1000, digest };
}

function main(): void {
  console.log(`machine: ${machine()}`);
  console.log(`command: npx tsx bench/match-recognize.ts --events ${eventCount} --runs ${runs}`);
  console.log(`events: ${eventCount.toLocaleString('en-US')} pre-decoded clicks (${shoppers.toLocaleString('en-US')} shoppers × ${products} products, view/tryon/purchase/cart); median of ${runs} runs`);
  console.log(`baseline: ${filterQuery}`);
  console.log(`load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(', ')}\n`);
  const events = makeEvents(eventCount);
  const warmUp = events.slice(0, 50_000);
  const funnelDigest = (row: Row) => (row.views as number) + (row.price as number);
  let agrees = sameAnswer(runEngine(funnelQuery, warmUp, funnelDigest), funnelLoop(warmUp));
  runEngine(filterQuery, warmUp, () => 0);
  const funnelTimes: number[] = [], filterTimes: number[] = [], loopTimes: number[] = [];
  let matches = 0, purchases = 0;
  for (let r = 0; r < runs; r++) {
    const f = measure(() => runEngine(funnelQuery, events, funnelDigest));
    const b = measure(() => runEngine(filterQuery, events, () => 0));
    const l = measure(() => funnelLoop(events));
    funnelTimes.push(f.seconds);
    filterTimes.push(b.seconds);
    loopTimes.push(l.seconds);
    agrees &&= sameAnswer(f.digest, l.digest);
    matches = f.digest.rows;
    purchases = b.digest.rows;
  }
  const rate = (times: number[]) => eventCount / median(times);
  const each = (times: number[]) => times.map((s) => Math.round(eventCount / s).toLocaleString('en-US')).join(', ');
  console.log(`funnel (MATCH_RECOGNIZE)   ${fmt(rate(funnelTimes))} events/s   (runs ${each(funnelTimes)}; ${matches.toLocaleString('en-US')} matches)`);
  console.log(`filter (WHERE, baseline)   ${fmt(rate(filterTimes))} events/s   (runs ${each(filterTimes)}; ${purchases.toLocaleString('en-US')} rows)`);
  console.log(`hand-written funnel loop   ${fmt(rate(loopTimes))} events/s   (runs ${each(loopTimes)})`);
  console.log(`ratio                      ${(rate(funnelTimes) / rate(filterTimes)).toFixed(2)} × the filter query`);
  console.log(`same answer as the loop    ${agrees ? 'yes' : 'NO'}`);
  console.log(`load average at end: ${os.loadavg().map((l) => l.toFixed(2)).join(', ')}`);
  if (!agrees) {
    console.error('the funnel query\'s matches differ from the hand-written loop\'s');
    process.exitCode = 1;
  }
}

function sameAnswer(a: Digest, b: Digest): boolean {
  return a.rows === b.rows && Math.abs(a.checksum - b.checksum) <= 1e-6 * Math.abs(b.checksum);
}

function fmt(rate: number): string {
  return Math.round(rate).toLocaleString('en-US').padStart(11);
}

main();
