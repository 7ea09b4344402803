// The recommender's costs, each beside a baseline measured in the same run:
//  1. model updates: events/s Recommender.absorb takes (parsed bodies, one core), beside a
//     hand-written popularity counter over the same bodies (the cheapest useful consumer);
//  2. from the log: events/s read from a SQLite log, parsed and absorbed (the runner's path),
//     beside the same read and parse without the model;
//  3. serving: p50/p99 of GET /api/recommendations/… while clients post events to the same
//     server, beside GET /healthz interleaved with it (the floor the busy event loop sets); twice:
//     ingestion paced at --ingest-rate events/s (a steady day's traffic: the latency a shopper's
//     page sees), then as fast as 8 clients can post (the saturated server: queueing, not serving).
//   npx tsx bench/recs.ts [--events 1000000] [--runs 5] [--seconds 10] [--ingest-rate 5000] [--checkpoint-interval 5s] [--server dist|tsx]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FileKeyStore } from '../src/auth/file-key-store.js';
import { deviceResource, signSasToken } from '../src/auth/sas.js';
import { buildConfig } from '../src/config/index.js';
import type { NewMessage } from '../src/core/message.js';
import { SqliteEventLog } from '../src/log/sqlite-event-log.js';
import { LogReader } from '../src/recs/log-reader.js';
import { Recommender } from '../src/recs/recommender.js';
import { recsConfigOf } from '../src/recs/recs-rules.js';
import { SqliteRegistry } from '../src/registry/sqlite-registry.js';
import { builtCli } from './built-server.js';
import { machine, median, percentile, spawnReady, table } from './harness.js';

const { values } = parseArgs({ options: {
  events: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '5' }, seconds: { type: 'string', default: '10' },
  server: { type: 'string', default: 'dist' }, 'ingest-rate': { type: 'string', default: '5000' },
  // The server's default unless given: `1h` shows serving without checkpoints in the measured seconds.
  'checkpoint-interval': { type: 'string' },
} });
const INGEST_RATE = Number(values['ingest-rate']);
if (!(INGEST_RATE > 0)) throw new Error('--ingest-rate is a number of events per second above 0');
const EVENTS = Number(values.events);
const RUNS = Number(values.runs);
const SECONDS = Number(values.seconds);
const ITEMS = 20_000;
const SHOPPERS = 200_000;
const PARTITIONS = 4;

const RECS = {
  enabled: true, shopper: 'shopper', store: 'store', ...(values['checkpoint-interval'] ? { checkpointInterval: values['checkpoint-interval'] } : {}),
  events: { product_viewed: { weight: 1 }, product_tried_on: { weight: 3 }, added_to_cart: { weight: 4 }, order_completed: { weight: 6, purchase: true } },
};
const recsConfig = () => recsConfigOf(buildConfig({ recommendations: RECS }).recommendations);

let seed = 7;
const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
/** Zipf-like item popularity: a few items most of the time, a long tail. */
const itemOf = () => `SKU-${Math.floor(ITEMS * random() ** 2.5)}`;

/** Shopper sessions of 2 to 15 events, interleaved as many shoppers shop at once (~150 bytes each). */
function makeBodies(n: number): string[] {
  const out: string[] = [];
  const active: { shopper: string; left: number; near: number }[] = [];
  while (out.length < n) {
    if (active.length < 500) active.push({ shopper: `u${Math.floor(random() * SHOPPERS)}`, left: 2 + Math.floor(random() * 14), near: Math.floor(ITEMS * random() ** 2.5) });
    const i = Math.floor(random() * active.length);
    const s = active[i]!;
    const r = random();
    const event = r < 0.7 ? 'product_viewed' : r < 0.8 ? 'product_tried_on' : r < 0.92 ? 'added_to_cart' : 'order_completed';
    // A session stays near one part of the catalogue: what there is to learn.
    const sku = random() < 0.6 ? `SKU-${(s.near + Math.floor(random() * 20)) % ITEMS}` : itemOf();
    out.push(JSON.stringify({ event, sku, shopper: s.shopper, store: `store-${s.shopper.length % 8}`, price: 49.95, channel: 'web', time: '2026-12-06T10:00:00.000Z' }));
    if (--s.left === 0) active.splice(i, 1);
  }
  return out;
}

// --- 1. model updates ------------------------------------------------------------------------

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
}

function modelUpdates(parsed: readonly unknown[]): { recs: number; counter: number } {
  const recsRates: number[] = [];
  const counterRates: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    // Rates per second of this thread's CPU: what one core absorbs, however busy the machine.
    const counts = new Map<string, number>();
    let t = process.cpuUsage();
    for (const body of parsed) {
      const sku = (body as { sku: string }).sku;
      counts.set(sku, (counts.get(sku) ?? 0) + 1);
    }
    counterRates.push(parsed.length / cpuSeconds(t));
    const r = new Recommender(recsConfig());
    t = process.cpuUsage();
    for (let i = 0; i < parsed.length; i++) r.absorb('default', 'app-1', parsed[i], 1_700_000_000_000 + i * 10);
    recsRates.push(parsed.length / cpuSeconds(t));
    if (r.absorbed !== parsed.length) throw new Error(`absorbed ${r.absorbed} of ${parsed.length}`);
  }
  return { recs: median(recsRates), counter: median(counterRates) };
}

// --- 2. from the log ---------------------------------------------------------------------------

function openLog(dir: string): SqliteEventLog {
  return new SqliteEventLog({ path: join(dir, 'log.db'), partitions: PARTITIONS, retentionMs: 30 * 86_400_000, dedupWindowMs: 86_400_000, maxPendingMessages: 1e6, durability: 'process' });
}

async function fromLog(bodies: readonly string[]): Promise<{ recs: number; readOnly: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'omnistream-bench-recs-'));
  try {
    let log = openLog(dir);
    for (let i = 0; i < bodies.length; i += 500) {
      const batch: NewMessage[] = [];
      for (let j = i; j < Math.min(i + 500, bodies.length); j++) {
        batch.push({ deviceId: `app-${j % 16}`, tenant: 'default', generationId: '1', authMethod: { scope: 'device', type: 'sas', issuer: 'iothub' }, body: Buffer.from(bodies[j]!), properties: {} });
      }
      await log.append(batch);
    }
    await log.close();
    log = openLog(dir);
    const pass = async (absorb: boolean): Promise<number> => {
      const r = new Recommender(recsConfig());
      const reader = new LogReader(log, []);
      let n = 0;
      const t = process.cpuUsage();
      for (;;) {
        await reader.fill(Infinity);
        let e;
        let round = 0;
        while ((e = reader.take()) !== undefined) {
          const body: unknown = JSON.parse(e.body as string);
          if (absorb) r.absorb(e.shared.tenant, e.shared.deviceId, body, e.enqueuedMs);
          n++;
          round++;
        }
        if (round === 0 && reader.caughtUp) break;
      }
      if (n !== bodies.length) throw new Error(`read ${n} of ${bodies.length}`);
      return n / cpuSeconds(t);
    };
    const recs: number[] = [];
    const readOnly: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      readOnly.push(await pass(false));
      recs.push(await pass(true));
    }
    await log.close();
    return { recs: median(recs), readOnly: median(readOnly) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- 3. serving under ingestion ----------------------------------------------------------------

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function request(url: string, method: 'GET' | 'POST', headers: Record<string, string>, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** `rate`: events/s all clients together post, paced; null: as fast as they can. */
async function serving(bodies: readonly string[], rate: number | null): Promise<{ recs: number[]; health: number[]; ingested: number; seconds: number; items: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'omnistream-bench-recs-server-'));
  const config = join(dir, 'omnistream.json');
  writeFileSync(config, JSON.stringify({ recommendations: RECS }));
  const DEVICES = 8;
  const registry = new SqliteRegistry(join(dir, 'registry.db'));
  const devices = await Promise.all(Array.from({ length: DEVICES }, (_, i) => registry.create({ deviceId: `app-${i}` })));
  await registry.close();
  const tokens = devices.map((d) => signSasToken({ resource: deviceResource('localhost', d.deviceId), key: d.authentication.symmetricKey.primaryKey, expiry: Math.floor(Date.now() / 1000) + 3600 }));
  const cli = values.server === 'tsx' ? ['--import', 'tsx', fileURLToPath(new URL('../src/cli.ts', import.meta.url))] : [builtCli('bench/recs.ts')];
  const server = await spawnReady([...cli, 'start', '--config', config, '--data', dir, '--http-port', '0'], { OMNISTREAM_HTTP_HOST: '127.0.0.1' });
  try {
    const service = FileKeyStore.open(dir).policy('service')!;
    const auth = { authorization: signSasToken({ resource: 'localhost', key: service.primaryKey, keyName: 'service', expiry: Math.floor(Date.now() / 1000) + 3600 }) };
    let next = 0;
    const batch = (size: number): string => JSON.stringify(Array.from({ length: size }, () => ({ body: Buffer.from(bodies[next++ % bodies.length]!).toString('base64') })));
    const post = async (device: number, size: number) => {
      const res = await request(`${server.url}/devices/app-${device}/messages/events`, 'POST', { authorization: tokens[device]!, 'content-type': 'application/vnd.microsoft.iothub.json' }, batch(size));
      if (res.status !== 204) throw new Error(`ingest answered ${res.status}: ${res.text}`);
    };
    // A model to ask: the first 200,000 events, then wait until it has absorbed them.
    const warm = Math.min(200_000, bodies.length);
    await Promise.all(Array.from({ length: DEVICES }, async (_, d) => {
      for (let i = d * 500; i < warm; i += DEVICES * 500) await post(d, 500);
    }));
    let items = 0;
    for (;;) {
      const r = JSON.parse((await request(`${server.url}/api/recommendations/items/x`, 'GET', auth)).text) as { model: { events: number; items: number } };
      items = r.model.items;
      if (r.model.events >= next) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // Ingestion from 8 clients in batches of 50, while 4 readers alternate a recommendation and a health check.
    // Paced clients keep a schedule (a late batch does not push the next ones back).
    const interval = rate === null ? 0 : (DEVICES * 50 * 1000) / rate;
    const until = performance.now() + SECONDS * 1000;
    let ingested = 0;
    const recs: number[] = [];
    const health: number[] = [];
    const started = performance.now();
    await Promise.all([
      ...Array.from({ length: DEVICES }, async (_, d) => {
        let due = performance.now() + (interval * d) / DEVICES;
        while (performance.now() < until) {
          if (interval > 0) {
            const wait = due - performance.now();
            if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
            due += interval;
          }
          await post(d, 50);
          ingested += 50;
        }
      }),
      ...Array.from({ length: 4 }, async (_, reader) => {
        let i = reader;
        while (performance.now() < until) {
          const path = i % 2 === 0 ? `/api/recommendations/items/${itemOf()}?k=10` : `/api/recommendations/shoppers/u${Math.floor(random() * SHOPPERS)}?k=10`;
          let t = performance.now();
          const a = await request(`${server.url}${path}`, 'GET', auth);
          recs.push(performance.now() - t);
          if (a.status !== 200) throw new Error(`${path} answered ${a.status}`);
          t = performance.now();
          await request(`${server.url}/healthz`, 'GET', {});
          health.push(performance.now() - t);
          i++;
        }
      }),
    ]);
    const seconds = (performance.now() - started) / 1000;
    return { recs: recs.sort((a, b) => a - b), health: health.sort((a, b) => a - b), ingested, seconds, items };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- report ------------------------------------------------------------------------------------

console.log(`# Recommender\n\nmachine: ${machine()}\ncommand: npx tsx bench/recs.ts --events ${EVENTS} --runs ${RUNS} --seconds ${SECONDS} --ingest-rate ${INGEST_RATE}${values['checkpoint-interval'] ? ` --checkpoint-interval ${values['checkpoint-interval']}` : ''} --server ${values.server}\n`);
const bodies = makeBodies(EVENTS);
const parsed = bodies.map((b) => JSON.parse(b) as unknown);
const updates = modelUpdates(parsed);
const log = await fromLog(bodies);
console.log(`## Absorbing events (${EVENTS.toLocaleString('en-US')} events, ${ITEMS.toLocaleString('en-US')} items, ${SHOPPERS.toLocaleString('en-US')} shoppers; events per CPU-second of one thread, median of ${RUNS} runs)\n`);
console.log(table(['path', 'events/s', 'baseline', 'baseline events/s', 'ratio'], [
  ['model updates (Recommender.absorb, parsed bodies)', Math.round(updates.recs), 'a popularity counter (Map per SKU)', Math.round(updates.counter), updates.recs / updates.counter],
  ['from the SQLite log: read, parse, absorb', Math.round(log.recs), 'read and parse only', Math.round(log.readOnly), log.recs / log.readOnly],
]));
const target = updates.recs >= 100_000 ? 'met' : 'NOT met';
console.log(`\nmodel updates: ${Math.round(updates.recs).toLocaleString('en-US')} events/s (target ≥ 100,000/s: ${target})\n`);

for (const rate of [INGEST_RATE, null]) {
  const s = await serving(bodies, rate);
  const how = rate === null ? 'as fast as 8 clients post (saturated)' : `paced at ${rate.toLocaleString('en-US')} events/s`;
  console.log(`## Serving under ingestion ${how} (${s.seconds.toFixed(1)} s, ${Math.round(s.ingested / s.seconds).toLocaleString('en-US')} events/s ingested by 8 clients, model of ${s.items.toLocaleString('en-US')} items; 4 readers alternating)\n`);
  console.log(table(['request', 'requests', 'p50 ms', 'p99 ms', 'p99 vs /healthz'], [
    ['GET /api/recommendations/items|shoppers (k=10)', s.recs.length, percentile(s.recs, 0.5), percentile(s.recs, 0.99), percentile(s.recs, 0.99) / percentile(s.health, 0.99)],
    ['GET /healthz (baseline)', s.health.length, percentile(s.health, 0.5), percentile(s.health, 0.99), 1],
  ]));
  const p99 = percentile(s.recs, 0.99);
  console.log(`\nrecommendation p99 ${how}: ${p99.toFixed(2)} ms${rate === null ? ' (no target: a saturated server queues every request)' : ` (target ≤ 5 ms: ${p99 <= 5 ? 'met' : 'NOT met'})`}\n`);
}
