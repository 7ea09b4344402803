// Scale-out ingestion: events/s and p99 acknowledgement latency of HTTP ingestion through the real
// (built) server, in the same run, for
//   1. one process on the embedded SQLite log (the baseline),
//   2. one process on the JetStream log (the machine's nats-server, replicas 1), state in files,
//   3. one gateway on JetStream with its state in PostgreSQL (--role gateway),
//   4. two gateways on the same JetStream log and PostgreSQL, connections split between them.
// Rounds alternate between the setups so drift on a noisy machine hits all alike; medians of the
// rounds; ratios against the SQLite process of the same run. After the rounds, each setup's log
// must hold every event it acknowledged, and no more than those plus the requests cut off in flight
// when a round ended.
//   npm run build && npx tsx bench/scale-out.ts [--seconds 5] [--runs 3] [--connections 50] [--devices 64]
//                                              [--nats nats://127.0.0.1:4222] [--pg postgres://postgres@127.0.0.1:5432/test]
import autocannon from 'autocannon';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { deviceResource, signSasToken } from '../src/auth/sas.js';
import { builtCli } from './built-server.js';
import { machine, median, spawnReady, table, type Child } from './harness.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' }, runs: { type: 'string', default: '3' }, connections: { type: 'string', default: '50' },
    devices: { type: 'string', default: '64' },
    nats: { type: 'string', default: process.env.OMNISTREAM_NATS_URL ?? 'nats://127.0.0.1:4222' },
    pg: { type: 'string', default: process.env.OMNISTREAM_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const SECONDS = Number(values.seconds);
const RUNS = Number(values.runs);
const CONNECTIONS = Number(values.connections);
const DEVICES = Number(values.devices);
const NATS = values.nats;
const PG = values.pg;
const CLI = builtCli('bench/scale-out.ts');
/** Fixes the iothubowner key, so this process can create devices and count partitions. */
const OWNER_KEY = Buffer.alloc(32, 0x43).toString('base64');
const HOST = 'localhost';
const EXPIRY = Math.floor(Date.now() / 1000) + 86_400;
const ownerToken = signSasToken({ resource: HOST, key: OWNER_KEY, keyName: 'iothubowner', expiry: EXPIRY });

/** A shopper event of realistic size (~160 bytes), as bench/ingest.ts sends. */
const event = (i: number) => JSON.stringify({ event: 'product_viewed', sku: `SKU-${1000 + (i % 500)}`, store: 'web', session: 'a1b2c3d4e5f6', price: 49.95, ts: '2026-11-25T10:00:00.000Z' });
const batchBody = JSON.stringify(Array.from({ length: 100 }, (_, i) => ({ body: Buffer.from(event(i)).toString('base64'), properties: { 'iothub-app-channel': 'web' } })));

interface Scenario { readonly name: string; readonly eventsPerRequest: number; readonly body: string; readonly contentType?: string }
const scenarios: Scenario[] = [
  { name: 'single event', eventsPerRequest: 1, body: event(0) },
  { name: '100-event batch', eventsPerRequest: 100, body: batchBody, contentType: 'application/vnd.microsoft.iothub.json' },
];

/** Devices with keys of our own, so the same tokens serve every setup. */
const devices = Array.from({ length: DEVICES }, (_, i) => {
  const deviceId = `shop-${i}`;
  const key = randomBytes(32).toString('base64');
  return { deviceId, key, token: signSasToken({ resource: deviceResource(HOST, deviceId), key, expiry: EXPIRY }) };
});

interface Setup {
  readonly name: string;
  readonly gateways: Child[];
  /** The nats-server's CPU counts against it. */
  readonly usesNats: boolean;
  /** Events the setup acknowledged (2xx × events per request), warm-ups included. */
  acknowledged: number;
  /**
   * Events of requests still unanswered when a round ended (autocannon drops them): the log may
   * hold them without their acknowledgement having been seen. At most connections × events per request per round.
   */
  unanswered: number;
  cleanup(): Promise<void>;
}

interface Run { eventsPerSecond: number; p50: number; p99: number; errors: number; gatewayCpuPer1k: number; natsCpuPer1k: number }

/** CPU time (user + system, every thread) of a process so far, in ms, from /proc (Linux); NaN elsewhere. */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

/** The nats-server serving `NATS` (its port on the command line), for its CPU time. */
function natsPid(): number | undefined {
  const port = new URL(NATS.split(',')[0]!).port || '4222';
  try {
    for (const pid of execFileSync('pidof', ['nats-server'], { encoding: 'utf8' }).trim().split(/\s+/)) {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (cmd.includes(port) || cmd.some((a) => a.endsWith(`:${port}`))) return Number(pid);
    }
  } catch {
    // not on this machine, or no /proc
  }
  return undefined;
}
const NATS_PID = natsPid();

async function start(args: string[]): Promise<Child> {
  return spawnReady([CLI, 'start', '--http-port', '0', ...args], { OMNISTREAM_HTTP_HOST: '127.0.0.1', OMNISTREAM_OWNER_KEY: OWNER_KEY });
}

async function createDevices(url: string): Promise<void> {
  for (const d of devices) {
    const res = await fetch(`${url}/devices/${d.deviceId}?api-version=2021-04-12`, {
      method: 'PUT', headers: { authorization: ownerToken, 'content-type': 'application/json' },
      body: JSON.stringify({ deviceId: d.deviceId, authentication: { type: 'sas', symmetricKey: { primaryKey: d.key, secondaryKey: randomBytes(32).toString('base64') } } }),
    });
    if (res.status !== 200) throw new Error(`creating ${d.deviceId} on ${url}: ${res.status} ${await res.text()}`);
  }
}

async function storedEvents(url: string): Promise<number> {
  const res = await fetch(`${url}/api/partitions`, { headers: { authorization: ownerToken } });
  const { partitions } = (await res.json()) as { partitions: Array<{ isEmpty: boolean; lastEnqueuedSequenceNumber: number; beginningSequenceNumber: number }> };
  return partitions.reduce((n, p) => n + (p.isEmpty ? 0 : p.lastEnqueuedSequenceNumber - p.beginningSequenceNumber + 1), 0);
}

async function deleteStreams(prefix: string): Promise<void> {
  const nc = await connect({ servers: NATS.split(','), timeout: 2_000, maxReconnectAttempts: 0 });
  try {
    const jsm = await jetstreamManager(nc);
    const names: string[] = [];
    for await (const name of jsm.streams.names()) if (name.startsWith(`${prefix}_`) || name.startsWith(`KV_${prefix}_`)) names.push(name);
    await Promise.all(names.map((n) => jsm.streams.delete(n).catch(() => false)));
  } finally {
    await nc.close();
  }
}

async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

/** Starts a setup's processes one after the other (the first creates the streams and schema) and registers the devices. */
async function setup(name: string, kind: 'sqlite' | 'jetstream' | 'shared', gatewayCount: number): Promise<Setup> {
  const id = `bench${randomBytes(4).toString('hex')}`;
  const dirs: string[] = [];
  const gateways: Child[] = [];
  const cleanup = async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    if (kind !== 'sqlite') await deleteStreams(id);
    if (kind === 'shared') await dropSchema(id);
  };
  try {
    for (let i = 0; i < gatewayCount; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'omnistream-bench-scale-'));
      dirs.push(dir);
      const args = ['--data', dir];
      if (kind !== 'sqlite') args.push('--log', NATS, '--log-stream', id);
      if (kind === 'shared') args.push('--db', PG, '--db-schema', id, '--role', 'gateway');
      gateways.push(await start(args));
    }
    await createDevices(gateways[0]!.url);
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { name, gateways, usesNats: kind !== 'sqlite', acknowledged: 0, unanswered: 0, cleanup };
}

/** One round: autocannon in this process, each request from the next device, connections spread over the setup's gateways. */
async function load(s: Setup, scenario: Scenario, seconds: number): Promise<Run> {
  let next = 0;
  const pids = s.gateways.map((g) => g.process.pid);
  const before = pids.map(cpuMs);
  const natsBefore = cpuMs(NATS_PID);
  const r = await autocannon({
    // autocannon spreads connections over several URLs (connection i on url i mod n); its types say one.
    url: s.gateways.map((g) => g.url) as unknown as string,
    connections: CONNECTIONS, duration: seconds,
    requests: [{
      method: 'POST', body: scenario.body,
      setupRequest: (req) => {
        const d = devices[next++ % devices.length]!;
        return {
          ...req, path: `/devices/${d.deviceId}/messages/events?api-version=2021-04-12`,
          headers: { ...req.headers, authorization: d.token, ...(scenario.contentType ? { 'content-type': scenario.contentType } : {}) },
        };
      },
    }],
  });
  const ok = r['2xx'];
  s.acknowledged += ok * scenario.eventsPerRequest;
  s.unanswered += CONNECTIONS * scenario.eventsPerRequest;
  const gatewayCpu = pids.reduce<number>((n, pid, i) => n + cpuMs(pid) - before[i]!, 0);
  const events = ok * scenario.eventsPerRequest;
  return {
    eventsPerSecond: events / seconds, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx,
    gatewayCpuPer1k: (gatewayCpu / events) * 1000, natsCpuPer1k: s.usesNats ? ((cpuMs(NATS_PID) - natsBefore) / events) * 1000 : NaN,
  };
}

console.log(`# Scale-out ingestion benchmark\n\nmachine: ${machine()}; load average before the run ${loadavg()[0]!.toFixed(2)} (other work on the machine adds noise)`);
console.log(`command: npx tsx bench/scale-out.ts --seconds ${SECONDS} --runs ${RUNS} --connections ${CONNECTIONS} --devices ${DEVICES} --nats ${NATS} --pg ${PG}`);
console.log(`services: nats-server ${NATS} (JetStream, file storage, replicas 1; the machine's shared service, on the same cores: other work's traffic on it counts in its CPU), PostgreSQL ${PG.replace(/\/\/[^@]*@/, '//')}`);
console.log(`load: autocannon in this process (sharing the machine), ${CONNECTIONS} keep-alive connections spread over the setup's gateways, each request from the next of ${DEVICES} devices; durability \`process\` for SQLite (as JetStream's file storage, acknowledged before an fsync)`);
console.log(`rounds alternate between the setups; medians of ${RUNS} rounds of ${SECONDS} s after a warm-up; ratio: events/s against the SQLite process of the same round set`);
console.log(`CPU per 1,000 events (user + system, every thread, from /proc): the gateways' processes, and the nats-server's${NATS_PID === undefined ? ' (not found on this machine: —)' : ''}\n`);

/** Why a service the setups need is missing, or undefined. */
async function missingService(): Promise<string | undefined> {
  try {
    const nc = await connect({ servers: NATS.split(','), timeout: 2_000, maxReconnectAttempts: 0 });
    try {
      await jetstreamManager(nc);
    } finally {
      await nc.close();
    }
  } catch (err) {
    return `no NATS JetStream at ${NATS} (${(err as Error).message}): start nats-server with -js, or pass --nats URL`;
  }
  const client = new pg.Client({ connectionString: PG, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    return `no PostgreSQL at ${PG} (${(err as Error).message}): start it, or pass --pg URL`;
  } finally {
    await client.end().catch(() => {});
  }
  return undefined;
}

const missing = await missingService();
if (missing) {
  console.error(missing);
  process.exit(1);
}

const setups: Setup[] = [];
const rows: Array<Array<string | number>> = [];
let failed = false;
try {
  setups.push(await setup('1 process, SQLite log (baseline)', 'sqlite', 1));
  setups.push(await setup('1 process, JetStream log, state in files', 'jetstream', 1));
  setups.push(await setup('1 gateway, JetStream + PostgreSQL', 'shared', 1));
  setups.push(await setup('2 gateways, JetStream + PostgreSQL', 'shared', 2));
  for (const scenario of scenarios) {
    const runs = setups.map(() => [] as Run[]);
    for (const s of setups) await load(s, scenario, Math.min(2, SECONDS));
    for (let i = 0; i < RUNS; i++) for (const [j, s] of setups.entries()) runs[j]!.push(await load(s, scenario, SECONDS));
    const m = (rs: Run[], k: keyof Run) => median(rs.map((r) => r[k]));
    const baseline = m(runs[0]!, 'eventsPerSecond');
    for (const [j, s] of setups.entries()) {
      const rs = runs[j]!;
      if (rs.some((r) => r.errors > 0)) failed = true;
      rows.push([scenario.name, s.name, Math.round(m(rs, 'eventsPerSecond')), m(rs, 'p50'), m(rs, 'p99'), m(rs, 'gatewayCpuPer1k'), s.usesNats && NATS_PID !== undefined ? m(rs, 'natsCpuPer1k') : '—',
        j === 0 ? '1.00×' : `${(m(rs, 'eventsPerSecond') / baseline).toFixed(2)}×`, m(rs, 'errors')]);
      console.error(`${scenario.name}, ${s.name}: events/s per round ${rs.map((r) => Math.round(r.eventsPerSecond)).join(', ')}`);
    }
  }
  console.log(table(['scenario', 'setup', 'events/s', 'p50 ms', 'p99 ms', 'gateways CPU ms / 1k events', 'nats-server CPU ms / 1k events', 'ratio to SQLite', 'errors'], rows));
  console.log();
  for (const s of setups) {
    // Every acknowledged event is in the log; beyond them, at most the requests cut off at the rounds' ends.
    const stored = await storedEvents(s.gateways[0]!.url);
    const ok = stored >= s.acknowledged && stored <= s.acknowledged + s.unanswered;
    if (!ok) failed = true;
    console.log(`${s.name}: ${s.acknowledged.toLocaleString('en-US')} events acknowledged, ${stored.toLocaleString('en-US')} in its log `
      + `(at most ${s.unanswered.toLocaleString('en-US')} more were in flight when rounds ended)${ok ? '' : ' — MISMATCH'}`);
  }
} finally {
  for (const s of setups) await s.cleanup();
}
if (failed) process.exitCode = 1;
