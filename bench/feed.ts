// Read throughput: messages/s read through the consumer-group API (pull a page of 1,000, parse
// it, commit its cursor, repeat) by one reader and by one reader per partition, beside the log's
// raw read rate (EventLog.read in pages of 1,000, in this process) over the same prefilled log,
// in the same run.
//   npm run build && npx tsx bench/feed.ts [--messages 600000] [--runs 5] [--page 1000] [--client http|fetch] [--server-cpu-prof DIR]
// --server-cpu-prof writes a V8 CPU profile of the server (node --cpu-prof) into DIR.
// --client fetch reads with the global fetch (undici) instead of node:http (see `request` below).
import { readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FileKeyStore } from '../src/auth/file-key-store.js';
import { signSasToken } from '../src/auth/sas.js';
import type { NewMessage } from '../src/core/message.js';
import { SqliteEventLog } from '../src/log/sqlite-event-log.js';
import { builtCli } from './built-server.js';
import { machine, median, spawnReady, table } from './harness.js';

const { values } = parseArgs({ options: {
  messages: { type: 'string', default: '600000' }, runs: { type: 'string', default: '5' }, page: { type: 'string', default: '1000' },
  client: { type: 'string', default: 'http' }, 'server-cpu-prof': { type: 'string' },
} });
if (values.client !== 'http' && values.client !== 'fetch') throw new Error('--client is http or fetch');
const CLIENT = values.client;
const MESSAGES = Number(values.messages);
const RUNS = Number(values.runs);
const PAGE = Number(values.page);
const PARTITIONS = 4;
const CLI = builtCli('bench/feed.ts');

let sink = 0;

/** A shopper event of realistic size (~160 bytes), sent as the SDKs do: JSON, no content type. */
function event(i: number): NewMessage {
  const body = JSON.stringify({ event: 'product_viewed', sku: `SKU-${1000 + (i % 500)}`, store: 'web', session: 'a1b2c3d4e5f6', price: 49.95, ts: '2026-11-25T10:00:00.000Z' });
  return { deviceId: `shop-${i % 100}`, tenant: 'default', generationId: '1', authMethod: { scope: 'device', type: 'sas', issuer: 'iothub' }, body: Buffer.from(body), properties: { channel: 'web' } };
}

function openLog(dir: string): SqliteEventLog {
  return new SqliteEventLog({ path: join(dir, 'log.db'), partitions: PARTITIONS, retentionMs: 30 * 86_400_000, dedupWindowMs: 86_400_000, maxPendingMessages: 1e6, durability: 'process' });
}

async function prefill(dir: string): Promise<void> {
  const log = openLog(dir);
  for (let i = 0; i < MESSAGES; i += 500) await log.append(Array.from({ length: Math.min(500, MESSAGES - i) }, (_, j) => event(i + j)));
  await log.close();
}

/**
 * The server's CPU time so far (user + system, all its threads) in ms, from /proc; undefined
 * where there is no /proc. Clock ticks are taken as 100 per second (Linux's USER_HZ).
 */
function cpuMs(pid: number | undefined): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/**
 * Every message once through EventLog.read, pages of PAGE per partition. With `touch`, each
 * message's body and properties are used too (the log may build them only when asked).
 */
async function rawRead(log: SqliteEventLog, touch = false): Promise<number> {
  const started = performance.now();
  let n = 0;
  for (let p = 0; p < PARTITIONS; p++) {
    let next = 0;
    for (;;) {
      const page = await log.read(p, { kind: 'sequence', sequenceNumber: next }, PAGE);
      if (page.messages.length === 0) break;
      n += page.messages.length;
      if (touch) for (const m of page.messages) sink += m.body.length + Object.keys(m.properties).length;
      next = page.nextSequenceNumber;
    }
  }
  if (n !== MESSAGES) throw new Error(`raw read saw ${n} messages, expected ${MESSAGES}`);
  return n / ((performance.now() - started) / 1000);
}

/** The client's own CPU time so far (all its threads) in ms: during an API read that is the client's work. */
function ownCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

// Each reader keeps one connection, as a long-running worker would. node:http rather than fetch by
// default: on a 2-core VM undici's fetch cost the client ~1.5 ms more CPU per page (streams and
// promises per chunk), time the server then lacks; `--client fetch` measures it that way.
const agent = new http.Agent({ keepAlive: true });

interface Reply {
  readonly status: number;
  /** The body as text (UTF-8), as a reader decodes it before JSON.parse. */
  readonly text: string;
}

function httpRequest(url: string, method: string, authorization: string, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: { authorization } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function fetchRequest(url: string, method: string, authorization: string, body?: string): Promise<Reply> {
  const res = await fetch(url, { method, headers: { authorization }, body });
  return { status: res.status, text: await res.text() };
}

const request = CLIENT === 'http' ? httpRequest : fetchRequest;

/**
 * Every message once through a new consumer group: `readers` readers of the group (which split
 * its partitions) each loop pull → parse → commit until all messages were read; the time stops
 * at the commit of the last page.
 */
async function apiRead(url: string, authorization: string, group: string, readers: number, pid?: number): Promise<{ rate: number; clientCpuMs: number; serverCpuMs?: number }> {
  const put = await request(`${url}/api/consumergroups/${group}`, 'PUT', authorization, '{"startFrom":"earliest"}');
  if (put.status !== 201) throw new Error(`PUT group: ${put.status}`);
  const started = performance.now();
  const cpuBefore = cpuMs(pid);
  const ownBefore = ownCpuMs();
  let n = 0;
  let elapsed = 0;
  const reader = async (id: string) => {
    // A reader whose partitions are all leased to others waits (wait_ms) instead of spinning.
    while (n < MESSAGES) {
      const res = await request(`${url}/api/consumergroups/${group}/messages?max=${PAGE}&reader=${id}&wait_ms=200`, 'GET', authorization);
      if (res.status !== 200) throw new Error(`pull: ${res.status} ${res.text}`);
      const page = JSON.parse(res.text) as { messages: unknown[]; cursor: string };
      if (page.messages.length === 0) continue;
      const done = await request(`${url}/api/consumergroups/${group}/checkpoint`, 'POST', authorization, JSON.stringify({ cursor: page.cursor }));
      if (done.status !== 204) throw new Error(`checkpoint: ${done.status}`);
      n += page.messages.length;
      if (n >= MESSAGES) elapsed = performance.now() - started;
    }
  };
  await Promise.all(Array.from({ length: readers }, (_, i) => reader(`r${i}`)));
  const clientCpuMs = ownCpuMs() - ownBefore;
  const cpuAfter = cpuMs(pid);
  if (n !== MESSAGES) throw new Error(`the API delivered ${n} messages, expected ${MESSAGES}`);
  const rate = n / (elapsed / 1000);
  return cpuBefore === undefined || cpuAfter === undefined ? { rate, clientCpuMs } : { rate, clientCpuMs, serverCpuMs: cpuAfter - cpuBefore };
}

const dir = mkdtempSync(join(tmpdir(), 'omnistream-bench-feed-'));
try {
  console.log(`# Feed benchmark\n\nmachine: ${machine()}\ncommand: npx tsx bench/feed.ts --messages ${MESSAGES} --runs ${RUNS} --page ${PAGE} --client ${CLIENT}`);
  console.log(`log: ${MESSAGES.toLocaleString('en-US')} JSON messages (~160 B, 100 devices, ${PARTITIONS} partitions); server: the build, \`node dist/cli.js start\`, as a child process;`);
  console.log(`client: this process (sharing the machine), each reader on its own keep-alive connection (${CLIENT === 'http' ? 'node:http' : 'fetch'}) looping pull (body decoded as UTF-8, JSON parsed) → checkpoint; raw: EventLog.read in this process; medians of the runs\n`);
  await prefill(dir);
  const keys = FileKeyStore.open(dir);
  const policy = keys.policy('service')!;
  const token = signSasToken({ resource: 'localhost', key: policy.primaryKey, keyName: 'service', expiry: Math.floor(Date.now() / 1000) + 86_400 });
  const profile = values['server-cpu-prof'] === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', values['server-cpu-prof']];
  const server = await spawnReady([...profile, CLI, 'start', '--data', dir, '--http-port', '0'], { OMNISTREAM_HTTP_HOST: '127.0.0.1' });
  const raw: number[] = [];
  const rawTouched: number[] = [];
  const api: Record<number, number[]> = { 1: [], [PARTITIONS]: [] };
  const serverCpu: Record<number, number[]> = { 1: [], [PARTITIONS]: [] };
  const clientCpu: Record<number, number[]> = { 1: [], [PARTITIONS]: [] };
  const pid = server.process.pid;
  try {
    const log = openLog(dir);
    // Warm both paths (JIT, page cache), then alternate so drift hits all alike.
    await rawRead(log);
    await apiRead(server.url, token, 'warmup', 1);
    for (let i = 0; i < RUNS; i++) {
      raw.push(await rawRead(log));
      rawTouched.push(await rawRead(log, true));
      for (const readers of [1, PARTITIONS]) {
        const { rate, clientCpuMs, serverCpuMs } = await apiRead(server.url, token, `bench-${readers}-${i}`, readers, pid);
        api[readers]!.push(rate);
        clientCpu[readers]!.push(clientCpuMs);
        if (serverCpuMs !== undefined) serverCpu[readers]!.push(serverCpuMs);
      }
    }
    await log.close();
  } finally {
    agent.destroy();
    await server.stop();
  }
  const r = median(raw);
  const runs = (xs: number[]) => xs.map((x) => Math.round(x).toLocaleString('en-US')).join(', ');
  const rt = median(rawTouched);
  const rows: Array<Array<string | number>> = [
    [`raw EventLog.read, pages of ${PAGE.toLocaleString('en-US')}`, Math.round(r), '1.00', '', '', runs(raw)],
    [`raw EventLog.read, every body and properties used`, Math.round(rt), (rt / r).toFixed(2), '', '', runs(rawTouched)],
  ];
  const perPage = (ms: number[]) => (median(ms) / (MESSAGES / PAGE)).toFixed(2);
  for (const readers of [1, PARTITIONS]) {
    const a = median(api[readers]!);
    // Server CPU (all its threads) per page of PAGE messages, from /proc: the server's share apart from the client's.
    const cpu = serverCpu[readers]!.length === 0 ? 'n/a' : perPage(serverCpu[readers]!);
    rows.push([`consumer-group API, pages of ${PAGE.toLocaleString('en-US')}, ${readers} reader${readers > 1 ? 's' : ''}`, Math.round(a), (a / r).toFixed(2), cpu, perPage(clientCpu[readers]!), runs(api[readers]!)]);
  }
  console.log(table(['path', 'messages/s (median)', 'ratio to raw', 'server CPU ms/page', 'client CPU ms/page', 'runs'], rows));
  if (sink < 0) console.log(sink); // keeps the touched reads from being optimised away
  console.log('\ntargets: API ≥ 200,000 messages/s and ≥ 0.5 × raw');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
