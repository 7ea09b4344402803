// Overload: what a quiet device sees while another floods, and what admitted requests see when the
// offered load is a multiple of what the server answers. One server (the build in dist/), one run:
//   1. capacity: 50 connections over 200 devices, closed loop → C requests/s answered 204
//   2. the quiet device alone: 50 requests/s, open loop (sent on time whatever the answers)
//   3. the same quiet device while one device floods from 200 connections (its quota refuses it)
//   4. the same quiet device while 200 devices offer 3 × maxIngestInFlight connections (the cap refuses)
// Reported: the quiet device's p50/p99 in 3 and 4 against 2 (the ratio is the result), the offered
// load against C, the statuses, admitted p99, and the server's RSS sampled every 250 ms throughout.
//   npm run build && npx tsx bench/overload.ts [--seconds 5] [--runs 3]
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { deviceResource, signSasToken } from '../src/auth/sas.js';
import { SqliteRegistry } from '../src/registry/sqlite-registry.js';
import { builtCli } from './built-server.js';
import { machine, median, spawnReady, table } from './harness.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, runs: { type: 'string', default: '3' } } });
const SECONDS = Number(values.seconds);
const RUNS = Number(values.runs);
const DEVICES = 200;
const QUOTA = { perSecond: 100, burst: 200 };
const MAX_IN_FLIGHT = 256;
const QUIET_RATE = 50;
const body = JSON.stringify({ event: 'product_viewed', sku: 'SKU-1', store: 12 });

// A load generator is this file again, in a child process of its own (see load()).
if (process.env.OMNISTREAM_OVERLOAD_LOAD) {
  const result = await loadHere(JSON.parse(process.env.OMNISTREAM_OVERLOAD_LOAD) as Parameters<typeof loadHere>[0]);
  process.send!(result, () => process.exit(0));
  await new Promise(() => undefined);
}

const CLI = builtCli('bench/overload.ts');

const dir = mkdtempSync(join(tmpdir(), 'omnistream-overload-'));
const registry = new SqliteRegistry(join(dir, 'registry.db'));
const expiry = Math.floor(Date.now() / 1000) + 86_400;
const tokenOf = async (id: string) => {
  const d = await registry.create({ deviceId: id });
  return signSasToken({ resource: deviceResource('localhost', id), key: d.authentication.symmetricKey.primaryKey, expiry });
};
const quietToken = await tokenOf('quiet');
const flooderToken = await tokenOf('flooder');
const manyTokens = await Promise.all(Array.from({ length: DEVICES }, (_, i) => tokenOf(`dev-${i}`)));
await registry.close();
writeFileSync(join(dir, 'omnistream.yaml'), [
  `dataDir: ${JSON.stringify(dir)}`,
  'http:', '  host: 127.0.0.1', '  port: 0', `  maxIngestInFlight: ${MAX_IN_FLIGHT}`,
  'quotas:', '  device:', `    perSecond: ${QUOTA.perSecond}`, `    burst: ${QUOTA.burst}`,
  'logLevel: info',
].join('\n'));
const server = await spawnReady([CLI, 'start', '--config', join(dir, 'omnistream.yaml')]);
const { hostname, port } = new URL(server.url);
const pathOf = (id: string) => `/devices/${id}/messages/events?api-version=2021-04-12`;

/** The server's resident set, sampled through the whole run. */
const rss: number[] = [];
const sampler = setInterval(() => {
  const status = readFileSync(`/proc/${server.process.pid}/status`, 'utf8');
  rss.push(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}, 250);

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The quiet device: one request every 1000/QUIET_RATE ms whatever the answers (open loop), latency of each. */
async function quiet(seconds: number): Promise<{ p50: number; p99: number; statuses: Record<number, number> }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  const pending: Array<Promise<void>> = [];
  const until = Date.now() + seconds * 1000;
  let i = 0;
  while (Date.now() < until) {
    const started = performance.now();
    pending.push(new Promise<void>((resolve) => {
      const req = request({ host: hostname, port, path: pathOf('quiet'), method: 'POST', agent, headers: { authorization: quietToken, 'iothub-messageid': `q-${i++}-${Date.now()}` } }, (res) => {
        res.resume();
        res.on('end', () => {
          latencies.push(performance.now() - started);
          statuses[res.statusCode!] = (statuses[res.statusCode!] ?? 0) + 1;
          resolve();
        });
      });
      req.on('error', () => resolve());
      req.end(body);
    }));
    await new Promise((r) => setTimeout(r, 1000 / QUIET_RATE));
  }
  await Promise.all(pending);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), statuses };
}

interface Load { rps: number; statuses: Record<number, number>; admittedP99: number }

/**
 * Closed-loop load from autocannon in a child process, so that the quiet device's client (this
 * process) is not held up by the load generator's work; `tokens` rotate per request.
 */
function load(ids: readonly string[], tokens: readonly string[], connections: number, seconds: number): Promise<Load> {
  const child = fork(fileURLToPath(import.meta.url), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, OMNISTREAM_OVERLOAD_LOAD: JSON.stringify({ url: server.url, ids, tokens, connections, seconds }) },
  });
  return new Promise((resolve, reject) => {
    child.once('message', (r) => resolve(r as Load));
    child.once('error', reject);
  });
}

async function loadHere({ url, ids, tokens, connections, seconds }: { url: string; ids: string[]; tokens: string[]; connections: number; seconds: number }): Promise<Load> {
  const pathOf = (id: string) => `/devices/${id}/messages/events?api-version=2021-04-12`;
  let n = 0;
  const admitted: number[] = [];
  const statuses: Record<number, number> = {};
  let done!: (r: autocannon.Result) => void;
  const finished = new Promise<autocannon.Result>((resolve) => { done = resolve; });
  const instance = autocannon({
    url, connections, duration: seconds,
    requests: [{
      method: 'POST', body,
      setupRequest: (req) => {
        const k = n++ % ids.length;
        return { ...req, path: pathOf(ids[k]!), headers: { authorization: tokens[k]! } };
      },
    }],
  }, (err, result) => {
    if (err) throw err;
    done(result);
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status === 204) admitted.push(ms);
  });
  const r = await finished;
  admitted.sort((a, b) => a - b);
  return { rps: r.requests.average, statuses, admittedP99: percentile(admitted, 99) };
}

const manyIds = Array.from({ length: DEVICES }, (_, i) => `dev-${i}`);
console.log(`# Overload benchmark\n\nmachine: ${machine()}\ncommand: npx tsx bench/overload.ts --seconds ${SECONDS} --runs ${RUNS}`);
console.log(`server: dist/cli.js start, quotas.device ${QUOTA.perSecond}/s (burst ${QUOTA.burst}), http.maxIngestInFlight ${MAX_IN_FLIGHT}; the loads from autocannon in a child process, the quiet device from this process, all sharing the machine\n`);

try {
  await load(manyIds, manyTokens, 50, 2); // warm-up
  const capacity = await load(manyIds, manyTokens, 50, SECONDS);
  const capacity204 = (capacity.statuses[204] ?? 0) / SECONDS;
  const alone: Array<{ p50: number; p99: number }> = [];
  const flooded: Array<{ p50: number; p99: number; flood: Load }> = [];
  const overloaded: Array<{ p50: number; p99: number; flood: Load }> = [];
  const quietStatuses: Record<number, number> = {};
  // Under a global overload the in-flight cap refuses whoever comes: the quiet device too.
  const overloadedQuiet: Record<number, number> = {};
  const count = (s: Record<number, number>) => { for (const [k, v] of Object.entries(s)) quietStatuses[Number(k)] = (quietStatuses[Number(k)] ?? 0) + v; };
  for (let run = 0; run < RUNS; run++) {
    const a = await quiet(SECONDS);
    count(a.statuses);
    alone.push(a);
    const [q1, f1] = await Promise.all([quiet(SECONDS), load(['flooder'], [flooderToken], 200, SECONDS)]);
    count(q1.statuses);
    flooded.push({ ...q1, flood: f1 });
    const [q2, f2] = await Promise.all([quiet(SECONDS), load(manyIds, manyTokens, 3 * MAX_IN_FLIGHT, SECONDS)]);
    for (const [k, v] of Object.entries(q2.statuses)) overloadedQuiet[Number(k)] = (overloadedQuiet[Number(k)] ?? 0) + v;
    overloaded.push({ ...q2, flood: f2 });
  }
  clearInterval(sampler);
  const m = (xs: Array<{ p50: number; p99: number }>, k: 'p50' | 'p99') => median(xs.map((x) => x[k]));
  const offered = (xs: Array<{ flood: Load }>) => median(xs.map((x) => Object.values(x.flood.statuses).reduce((a, b) => a + b, 0) / SECONDS));
  const share = (xs: Array<{ flood: Load }>, status: number) => median(xs.map((x) => (x.flood.statuses[status] ?? 0) / Object.values(x.flood.statuses).reduce((a, b) => a + b, 0)));
  console.log(`capacity (50 connections over ${DEVICES} devices, closed loop): ${Math.round(capacity204)} requests/s answered 204, p99 ${capacity.admittedP99} ms\n`);
  console.log(table(['phase', 'quiet p50 ms', 'quiet p99 ms', 'quiet p99 / alone', 'offered requests/s (× capacity)', 'refused', 'admitted p99 ms'], [
    ['quiet device alone (baseline)', m(alone, 'p50'), m(alone, 'p99'), '1.00×', '', '', ''],
    ['one device floods (200 connections)', m(flooded, 'p50'), m(flooded, 'p99'), `${(m(flooded, 'p99') / m(alone, 'p99')).toFixed(2)}×`,
      `${Math.round(offered(flooded))} (${(offered(flooded) / capacity204).toFixed(1)}×)`, `${(share(flooded, 429) * 100).toFixed(1)}% 429`, median(flooded.map((f) => f.flood.admittedP99))],
    [`${DEVICES} devices, ${3 * MAX_IN_FLIGHT} connections (3 × the in-flight cap)`, m(overloaded, 'p50'), m(overloaded, 'p99'), `${(m(overloaded, 'p99') / m(alone, 'p99')).toFixed(2)}×`,
      `${Math.round(offered(overloaded))} (${(offered(overloaded) / capacity204).toFixed(1)}×)`, `${(share(overloaded, 503) * 100).toFixed(1)}% 503`, median(overloaded.map((f) => f.flood.admittedP99))],
  ]));
  console.log(`\nquiet device statuses, alone and beside the flooding device: ${JSON.stringify(quietStatuses)}; beside the ${DEVICES} devices: ${JSON.stringify(overloadedQuiet)}`);
  console.log(`server RSS through the run (MB, every 250 ms): start ${rss[0]?.toFixed(0)}, max ${Math.max(...rss).toFixed(0)}, end ${rss.at(-1)?.toFixed(0)} (${rss.length} samples)`);
  if (Object.keys(quietStatuses).some((s) => s !== '204')) {
    console.error('the quiet device was refused');
    process.exitCode = 1;
  }
} finally {
  clearInterval(sampler);
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
