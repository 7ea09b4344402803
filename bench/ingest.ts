// Ingestion throughput: single-event requests and 100-event batches against Omnistream, each
// beside a bare node:http server that answers 204 and does nothing, measured in the same run.
//   npm run build && npx tsx bench/ingest.ts [--seconds 5] [--runs 3] [--connections 50] [--only NAME]
import autocannon from 'autocannon';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { deviceResource, signSasToken } from '../src/auth/sas.js';
import { SqliteRegistry } from '../src/registry/sqlite-registry.js';
import { builtCli } from './built-server.js';
import { machine, median, spawnReady, table, type Child } from './harness.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, runs: { type: 'string', default: '3' }, connections: { type: 'string', default: '50' }, only: { type: 'string' } } });
const SECONDS = Number(values.seconds);
const RUNS = Number(values.runs);
const CONNECTIONS = Number(values.connections);
const CLI = builtCli('bench/ingest.ts');

const BARE = `
const http = require('node:http');
const server = http.createServer((req, res) => { req.on('data', () => {}); req.on('end', () => { res.writeHead(204); res.end(); }); });
server.keepAliveTimeout = 65000;
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ url: 'http://127.0.0.1:' + server.address().port })));
process.on('SIGTERM', () => process.exit(0));`;

/** A shopper event of realistic size (~160 bytes). */
const event = (i: number) => JSON.stringify({ event: 'product_viewed', sku: `SKU-${1000 + (i % 500)}`, store: 'web', session: 'a1b2c3d4e5f6', price: 49.95, ts: '2026-11-25T10:00:00.000Z' });
const batchBody = JSON.stringify(Array.from({ length: 100 }, (_, i) => ({ body: Buffer.from(event(i)).toString('base64'), properties: { 'iothub-app-channel': 'web' } })));

interface Scenario {
  readonly name: string;
  /** Overrides --connections: more connections show the CPU-bound rate once latency stops mattering. */
  readonly connections?: number;
  readonly eventsPerRequest: number;
  readonly durability: 'process' | 'fsync';
  readonly body: string;
  readonly contentType?: string;
}

const scenarios: Scenario[] = [
  { name: 'single event', eventsPerRequest: 1, durability: 'process', body: event(0) },
  { name: 'single event, 200 connections', connections: 200, eventsPerRequest: 1, durability: 'process', body: event(0) },
  { name: '100-event batch', eventsPerRequest: 100, durability: 'process', body: batchBody, contentType: 'application/vnd.microsoft.iothub.json' },
  { name: '100-event batch, fsync', eventsPerRequest: 100, durability: 'fsync', body: batchBody, contentType: 'application/vnd.microsoft.iothub.json' },
];

interface Run { rps: number; p50: number; p99: number; errors: number }

async function load(url: string, path: string, s: Scenario, authorization: string): Promise<Run> {
  const r = await autocannon({
    url: `${url}${path}`, method: 'POST', connections: s.connections ?? CONNECTIONS, duration: SECONDS, body: s.body,
    headers: { authorization, ...(s.contentType ? { 'content-type': s.contentType } : {}) },
  });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx };
}

async function omnistream(durability: Scenario['durability']): Promise<{ server: Child; token: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'omnistream-bench-'));
  const registry = new SqliteRegistry(join(dir, 'registry.db'));
  const d = await registry.create({ deviceId: 'bench-device' });
  await registry.close();
  const server = await spawnReady([CLI, 'start', '--data', dir, '--http-port', '0'],
    { OMNISTREAM_HTTP_HOST: '127.0.0.1', OMNISTREAM_DURABILITY: durability });
  const token = signSasToken({ resource: deviceResource('localhost', d.deviceId), key: d.authentication.symmetricKey.primaryKey, expiry: Math.floor(Date.now() / 1000) + 86_400 });
  return { server, token, dir };
}

const path = '/devices/bench-device/messages/events?api-version=2021-04-12';
console.log(`# Ingestion benchmark\n\nmachine: ${machine()}\ncommand: npx tsx bench/ingest.ts --seconds ${SECONDS} --runs ${RUNS} --connections ${CONNECTIONS}`);
console.log('load generator: autocannon in this process (sharing the machine with the server); keep-alive, no pipelining; medians of the runs\n');
const rows: Array<Array<string | number>> = [];
for (const s of scenarios.filter((x) => !values.only || x.name.includes(values.only))) {
  const bare = await spawnReady(['-e', BARE]);
  const os = await omnistream(s.durability);
  const bareRuns: Run[] = [];
  const osRuns: Run[] = [];
  try {
    // Warm both up, then alternate runs so drift on a noisy machine hits both alike.
    await load(bare.url, path, s, os.token);
    await load(os.server.url, path, s, os.token);
    for (let i = 0; i < RUNS; i++) {
      bareRuns.push(await load(bare.url, path, s, os.token));
      osRuns.push(await load(os.server.url, path, s, os.token));
    }
  } finally {
    await bare.stop();
    await os.server.stop();
    rmSync(os.dir, { recursive: true, force: true });
  }
  const m = (runs: Run[], k: keyof Run) => median(runs.map((r) => r[k]));
  const ratio = m(osRuns, 'rps') / m(bareRuns, 'rps');
  rows.push([s.name, 'bare node:http 204', Math.round(m(bareRuns, 'rps')), Math.round(m(bareRuns, 'rps') * s.eventsPerRequest), m(bareRuns, 'p50'), m(bareRuns, 'p99'), '', m(bareRuns, 'errors')]);
  rows.push([s.name, `omnistream (durability ${s.durability})`, Math.round(m(osRuns, 'rps')), Math.round(m(osRuns, 'rps') * s.eventsPerRequest), m(osRuns, 'p50'), m(osRuns, 'p99'), `${ratio.toFixed(2)}×`, m(osRuns, 'errors')]);
}
console.log(table(['scenario', 'server', 'requests/s', 'events/s', 'p50 ms', 'p99 ms', 'ratio to bare', 'errors'], rows));
