// Overload: what a quiet device sees while others flood, what admitted requests see when the
// offered load is three times what the server answers, and the server's memory throughout.
//
// On two cores a load generator sharing the server's core cannot offer a multiple of what that
// core answers, so the run splits them: the server is pinned to CPU 0, everything else (this
// process, the quiet device's client, the load generators at nice 19) to CPU 1. Capacity is
// measured in that arrangement, in the same run. The generators write pre-built requests on raw
// sockets, pipelined, on a clock (open loop): what is due is written whatever the answers, up to a
// window of unanswered requests (32) per connection; what finds every window full is counted as
// not written (the server pushing back), so "offered" is what was written, and the run says
// whether it reached 3× capacity. Phases, one server, one run:
//   1. HTTP capacity: closed loop (64 connections × 16 pipelined) over 1,000 devices → C answered 204/s
//   2. the quiet device alone: 50 requests/s, open loop, from this process (the baseline)
//   1b. refusal capacity: the flooding device alone, closed loop (64 × 16) → R answered/s (429 but its quota's share)
//   3. the same beside one device offering R / 2, then 3 × C, from 200 connections (its quota refuses: 429)
//   4. the same beside 1,000 devices offering 3 × C from 768 connections (3 × the in-flight cap: 503)
//   5. MQTT (the server restarted without quotas): capacity, 200 connections × 10 QoS 1 publishes in
//      flight (under mqtt.maxInflightTotal) → M PUBACKs/s
//   6. MQTT at 3 × M (open loop) and closed loop, 200 connections × 64 in flight, over
//      mqtt.maxInflightTotal: refused publishes (no PUBACK, disconnect), counted by reason from
//      /metrics; a refused connection reconnects after 100 ms
// Reported: the quiet device's p50/p99 against 2 (the ratio is the result), offered against
// capacity, the answers, admitted p99, the server's RSS sampled every 250 ms (its peak per phase).
//   npm run build && npx tsx bench/overload.ts [--seconds 5] [--runs 3]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { loadavg, setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import mqttPacket from 'mqtt-packet';
import { deviceResource, signSasToken } from '../src/auth/sas.js';
import { SqliteRegistry } from '../src/registry/sqlite-registry.js';
import { builtCli } from './built-server.js';
import { freePort, machine, median, percentile, spawnReady, table } from './harness.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, runs: { type: 'string', default: '3' } } });
const SECONDS = Number(values.seconds);
const RUNS = Number(values.runs);
const DEVICES = 1_000;
const QUOTA = { perSecond: 100, burst: 200 };
const MAX_IN_FLIGHT = 256;
const MQTT_MAX_INFLIGHT_TOTAL = 2_048;
const MQTT_CONNECTIONS = 200;
/** Publishes in flight per connection when measuring capacity: all connections together stay under mqtt.maxInflightTotal. */
const MQTT_CAPACITY_WINDOW = 10;
const QUIET_RATE = 50;
const OVERLOAD = 3;
const SERVER_CPU = '0';
const LOAD_CPU = '1';
const body = JSON.stringify({ event: 'product_viewed', sku: 'SKU-1', store: 12 });

/** What a generator is asked to do: HTTP requests or MQTT publishes, at `rate` a second (0: closed loop). */
interface LoadSpec {
  readonly protocol: 'http' | 'mqtt';
  readonly port: number;
  readonly devices: ReadonlyArray<{ readonly id: string; readonly token: string }>;
  readonly connections: number;
  /** Unanswered requests (unacknowledged publishes) per connection at most. */
  readonly window: number;
  readonly rate: number;
  readonly seconds: number;
}

interface LoadResult {
  readonly sent: number;
  /** Due but not written: every connection's window was full. */
  readonly unsent: number;
  readonly answers: Record<string, number>;
  /** Written but never answered: the server closed the connection first. */
  readonly unanswered: number;
  readonly admittedP50: number;
  readonly admittedP99: number;
  /** MQTT: connections refused at CONNECT, by return code. */
  readonly connacks: Record<string, number>;
}

// A load generator is this file again, in a child process of its own on the load's CPU (see load()).
if (process.env.OMNISTREAM_OVERLOAD_LOAD) {
  setPriority(19);
  process.once('message', (spec: LoadSpec) => {
    void generate(spec).then((result) => process.send!(result, () => process.exit(0)));
  });
  await new Promise(() => undefined);
}

/** Where a chunked body that starts at `at` ends, or Infinity while it is incomplete. */
function chunkedEnd(buf: Buffer, at: number): number {
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return Infinity;
    const size = parseInt(buf.toString('latin1', at, eol), 16);
    at = eol + 2 + size + 2;
    if (size === 0) return at;
    if (at > buf.length) return Infinity;
  }
}

/**
 * One connection of a generator. `requests` builds what to write for the n-th request; `parse`
 * takes whole answers off the front of the bytes received and returns how many bytes it used.
 */
async function generate(spec: LoadSpec): Promise<LoadResult> {
  const answers: Record<string, number> = {};
  const connacks: Record<string, number> = {};
  const admitted: number[] = [];
  let sent = 0;
  let unsent = 0;
  let unanswered = 0;
  let stopping = false;
  const started = performance.now();
  const measuring = () => !stopping;

  const httpRequests = spec.devices.map((d) => Buffer.from(
    `POST /devices/${d.id}/messages/events?api-version=2021-04-12 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${d.token}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  ));

  class Connection {
    socket!: Socket;
    /** Send times of the requests not answered yet, oldest first. */
    pending: number[] = [];
    ready = false;
    private buffer: Buffer | undefined;
    private packetId = 0;
    private readonly device;
    /** MQTT: the device's publish with packet id 0, copied and numbered per publish. */
    private readonly publish: Buffer | undefined;
    private readonly idAt: number = 0;

    constructor(readonly index: number) {
      this.device = spec.devices[index % spec.devices.length]!;
      if (spec.protocol === 'mqtt') {
        const topic = `devices/${this.device.id}/messages/events/`;
        this.publish = mqttPacket.generate({ cmd: 'publish', topic, payload: body, qos: 1, messageId: 1, retain: false, dup: false });
        this.idAt = this.publish.length - Buffer.byteLength(body) - 2;
      }
      this.open();
    }

    open(): void {
      this.ready = false;
      this.buffer = undefined;
      const socket = (this.socket = connect(spec.port, '127.0.0.1'));
      socket.setNoDelay(true);
      socket.on('connect', () => {
        if (spec.protocol === 'http') this.ready = true;
        else {
          socket.write(mqttPacket.generate({
            cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: this.device.id,
            username: `localhost/${this.device.id}/?api-version=2021-04-12`, password: Buffer.from(this.device.token),
          }));
        }
        this.fill();
      });
      socket.on('data', (chunk: Buffer) => this.onData(chunk));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        if (measuring()) unanswered += this.pending.length;
        this.pending = [];
        if (!stopping) setTimeout(() => this.open(), spec.protocol === 'mqtt' ? 100 : 0);
      });
    }

    /** Closed loop: keeps the window full. */
    fill(): void {
      if (spec.rate !== 0 || !this.ready) return;
      const n = spec.window - this.pending.length;
      if (n > 0) this.send(n);
    }

    send(n: number): void {
      const now = performance.now();
      const parts: Buffer[] = [];
      for (let i = 0; i < n; i++) {
        if (spec.protocol === 'http') parts.push(httpRequests[(this.index + sent + i) % httpRequests.length]!);
        else {
          this.packetId = (this.packetId % 65_535) + 1;
          const packet = Buffer.from(this.publish!);
          packet.writeUInt16BE(this.packetId, this.idAt);
          parts.push(packet);
        }
        this.pending.push(now);
      }
      sent += n;
      this.socket.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
    }

    private onData(chunk: Buffer): void {
      const buf = this.buffer === undefined ? chunk : Buffer.concat([this.buffer, chunk]);
      let at = 0;
      const now = performance.now();
      for (;;) {
        let status: string;
        if (spec.protocol === 'http') {
          const end = buf.indexOf('\r\n\r\n', at);
          if (end < 0) break;
          const head = buf.toString('latin1', at, end).toLowerCase();
          const cl = head.indexOf('content-length:');
          const next = cl >= 0 ? end + 4 + parseInt(head.slice(cl + 15), 10) : head.includes('transfer-encoding: chunked') ? chunkedEnd(buf, end + 4) : end + 4;
          if (next > buf.length) break;
          status = head.slice(9, 12);
          at = next;
        } else {
          if (buf.length - at < 4) break;
          const type = buf[at]! >> 4;
          at += 4;
          if (type === 2) {
            const code = buf[at - 1]!;
            if (code === 0) {
              this.ready = true;
              this.fill();
            } else connacks[code] = (connacks[code] ?? 0) + 1;
            continue;
          }
          status = 'puback';
        }
        const t = this.pending.shift();
        if (t === undefined || !measuring()) continue;
        answers[status] = (answers[status] ?? 0) + 1;
        if (status === '204' || status === 'puback') admitted.push(now - t);
      }
      this.buffer = at >= buf.length ? undefined : buf.subarray(at);
      this.fill();
    }
  }

  const connections = Array.from({ length: spec.connections }, (_, i) => new Connection(i));
  let timer: NodeJS.Timeout | undefined;
  if (spec.rate !== 0) {
    // Open loop: every 2 ms, what is due by now goes to the connections in turn, within their windows.
    let issued = 0;
    let next = 0;
    timer = setInterval(() => {
      const due = Math.floor((spec.rate * (performance.now() - started)) / 1000) - issued;
      const perConnection = new Map<Connection, number>();
      let placed = 0;
      for (let tried = 0; placed < due && tried < connections.length; tried++) {
        const c = connections[next]!;
        next = (next + 1) % connections.length;
        const room = c.ready ? spec.window - c.pending.length - (perConnection.get(c) ?? 0) : 0;
        if (room <= 0) continue;
        const k = Math.min(room, Math.ceil(due / connections.length), due - placed);
        perConnection.set(c, (perConnection.get(c) ?? 0) + k);
        placed += k;
        tried = -1;
      }
      for (const [c, k] of perConnection) c.send(k);
      unsent += due - placed;
      issued += due;
    }, 2);
  }
  await new Promise((r) => setTimeout(r, spec.seconds * 1000));
  clearInterval(timer);
  stopping = true;
  for (const c of connections) c.socket.destroy();
  admitted.sort((a, b) => a - b);
  return { sent, unsent, answers, unanswered, admittedP50: percentile(admitted, 0.5), admittedP99: percentile(admitted, 0.99), connacks };
}

const CLI = builtCli('bench/overload.ts');

const dir = mkdtempSync(join(tmpdir(), 'omnistream-overload-'));
const registry = new SqliteRegistry(join(dir, 'registry.db'));
const expiry = Math.floor(Date.now() / 1000) + 86_400;
const deviceOf = async (id: string) => {
  const d = await registry.create({ deviceId: id });
  return { id, token: signSasToken({ resource: deviceResource('localhost', id), key: d.authentication.symmetricKey.primaryKey, expiry }) };
};
const quietDevice = await deviceOf('quiet');
const flooder = await deviceOf('flooder');
const many = await Promise.all(Array.from({ length: DEVICES }, (_, i) => deviceOf(`dev-${i}`)));
const mqttDevices = await Promise.all(Array.from({ length: MQTT_CONNECTIONS }, (_, i) => deviceOf(`mqtt-${i}`)));
await registry.close();
const mqttPort = await freePort();
/**
 * The server on its CPU. The MQTT phases get a restart of it without quotas (same data directory):
 * a flood of 3 × capacity from 200 devices would otherwise meet their quotas before the limit measured.
 */
async function startServer(withQuotas: boolean) {
  writeFileSync(join(dir, 'omnistream.yaml'), [
    `dataDir: ${JSON.stringify(dir)}`,
    'http:', '  host: 127.0.0.1', '  port: 0', `  maxIngestInFlight: ${MAX_IN_FLIGHT}`,
    'mqtt:', `  port: ${mqttPort}`, `  maxInflightTotal: ${MQTT_MAX_INFLIGHT_TOTAL}`,
    ...(withQuotas ? ['quotas:', '  device:', `    perSecond: ${QUOTA.perSecond}`, `    burst: ${QUOTA.burst}`] : []),
    'logLevel: info',
  ].join('\n'));
  const started = await spawnReady([CLI, 'start', '--config', join(dir, 'omnistream.yaml')]);
  // Every thread of the server on one CPU; this process (and so its children) on the other.
  execFileSync('taskset', ['-a', '-p', '-c', SERVER_CPU, String(started.process.pid)], { stdio: 'ignore' });
  return started;
}
let server = await startServer(true);
execFileSync('taskset', ['-a', '-p', '-c', LOAD_CPU, String(process.pid)], { stdio: 'ignore' });
const { hostname, port } = new URL(server.url);
const httpPort = Number(port);

/** The server's resident set, sampled through the whole run, tagged with the phase. */
const rss: Array<{ phase: string; mb: number }> = [];
let phase = 'start';
const sampler = setInterval(() => {
  let status: string;
  try {
    status = readFileSync(`/proc/${server.process.pid}/status`, 'utf8');
  } catch {
    return; // between the two servers
  }
  rss.push({ phase, mb: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024 });
}, 250);
const peak = (p: string) => Math.max(...rss.filter((r) => r.phase.startsWith(p)).map((r) => r.mb));

async function metricsText(): Promise<string> {
  return (await fetch(`${server.url}/metrics`)).text();
}
function counter(text: string, pattern: RegExp): number {
  return Number(pattern.exec(text)?.[1] ?? 0);
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
      const req = request({ host: hostname, port, path: `/devices/quiet/messages/events?api-version=2021-04-12`, method: 'POST', agent, headers: { authorization: quietDevice.token, 'iothub-messageid': `q-${i++}-${Date.now()}` } }, (res) => {
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
  return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), statuses };
}

/** A generator in a child process (this file again), on the load's CPU at the lowest priority. */
function load(spec: Omit<LoadSpec, 'seconds'>, seconds = SECONDS): Promise<LoadResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, OMNISTREAM_OVERLOAD_LOAD: '1' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  child.send({ ...spec, seconds });
  return new Promise((resolve, reject) => {
    child.once('message', (r) => resolve(r as LoadResult));
    child.once('error', reject);
  });
}

const total = (r: LoadResult) => r.sent + r.unsent;
const answered = (r: LoadResult) => Object.values(r.answers).reduce((a, b) => a + b, 0);

console.log(`# Overload benchmark\n\nmachine: ${machine()}; load average before the run ${loadavg().map((l) => l.toFixed(1)).join(' ')}\ncommand: npx tsx bench/overload.ts --seconds ${SECONDS} --runs ${RUNS}`);
console.log(`server: dist/cli.js start on CPU ${SERVER_CPU} (taskset), quotas.device ${QUOTA.perSecond}/s (burst ${QUOTA.burst}) for the HTTP phases, none for the MQTT ones, http.maxIngestInFlight ${MAX_IN_FLIGHT}, mqtt.maxInflightTotal ${MQTT_MAX_INFLIGHT_TOTAL}; this process, the quiet device's client and the generators (raw sockets, pipelined, nice 19) on CPU ${LOAD_CPU}; other users of the machine anywhere\n`);

try {
  phase = 'warm-up';
  await load({ protocol: 'http', port: httpPort, devices: many, connections: 64, window: 16, rate: 0 }, 2);
  phase = 'capacity';
  const capacity = await load({ protocol: 'http', port: httpPort, devices: many, connections: 64, window: 16, rate: 0 });
  const C = (capacity.answers['204'] ?? 0) / SECONDS;
  // What the server can refuse: the flooding device alone, closed loop, as hard as it is answered.
  phase = 'refusal capacity';
  const refusing = await load({ protocol: 'http', port: httpPort, devices: [flooder], connections: 64, window: 16, rate: 0 });
  const R = answered(refusing) / SECONDS;
  const alone: Array<{ p50: number; p99: number }> = [];
  type Beside = { p50: number; p99: number; flood: LoadResult };
  const floods = [
    { name: 'one device floods at half what the server can refuse (200 connections)', rate: R / 2, times: 0, spec: { devices: [flooder], connections: 200 }, runs: [] as Beside[] },
    { name: 'one device floods at 3 × capacity (200 connections)', rate: OVERLOAD * C, times: OVERLOAD, spec: { devices: [flooder], connections: 200 }, runs: [] as Beside[] },
    { name: `${DEVICES} devices at 3 × capacity (${3 * MAX_IN_FLIGHT} connections, 3 × the in-flight cap)`, rate: OVERLOAD * C, times: OVERLOAD, spec: { devices: many, connections: 3 * MAX_IN_FLIGHT }, runs: [] as Beside[] },
  ];
  const quietStatuses: Record<number, number> = {};
  // Under a global overload the in-flight cap refuses whoever comes: the quiet device too.
  const overloadedQuiet: Record<number, number> = {};
  const add = (into: Record<number, number>, s: Record<number, number>) => { for (const [k, v] of Object.entries(s)) into[Number(k)] = (into[Number(k)] ?? 0) + v; };
  for (let run = 0; run < RUNS; run++) {
    phase = 'quiet alone';
    const a = await quiet(SECONDS);
    add(quietStatuses, a.statuses);
    alone.push(a);
    for (const flood of floods) {
      phase = flood.name;
      const [q, f] = await Promise.all([quiet(SECONDS), load({ protocol: 'http', port: httpPort, ...flood.spec, window: 32, rate: flood.rate })]);
      add(flood.spec.devices.length === 1 ? quietStatuses : overloadedQuiet, q.statuses);
      flood.runs.push({ ...q, flood: f });
    }
  }

  await server.stop();
  server = await startServer(false);
  phase = 'mqtt capacity';
  const mqttCapacity = await load({ protocol: 'mqtt', port: mqttPort, devices: mqttDevices, connections: MQTT_CONNECTIONS, window: MQTT_CAPACITY_WINDOW, rate: 0 });
  const M = (mqttCapacity.answers.puback ?? 0) / SECONDS;
  const before = await metricsText();
  phase = 'mqtt overload';
  const mqttFloods: LoadResult[] = [];
  const mqttClosed: LoadResult[] = [];
  for (let run = 0; run < RUNS; run++) {
    mqttFloods.push(await load({ protocol: 'mqtt', port: mqttPort, devices: mqttDevices, connections: MQTT_CONNECTIONS, window: 64, rate: OVERLOAD * M }));
    mqttClosed.push(await load({ protocol: 'mqtt', port: mqttPort, devices: mqttDevices, connections: MQTT_CONNECTIONS, window: 64, rate: 0 }));
  }
  const afterText = await metricsText();
  clearInterval(sampler);

  const m = (xs: Array<{ p50: number; p99: number }>, k: 'p50' | 'p99') => median(xs.map((x) => x[k]));
  const offered = (xs: Beside[]) => median(xs.map((x) => x.flood.sent / SECONDS));
  const answeredRate = (xs: Beside[]) => median(xs.map((x) => answered(x.flood) / SECONDS));
  const share = (xs: Beside[], status: string) => median(xs.map((x) => (x.flood.answers[status] ?? 0) / Math.max(1, answered(x.flood))));
  const reached = (rate: number, cap: number, times = OVERLOAD) => `${(rate / cap).toFixed(1)}×${times === OVERLOAD ? (rate >= OVERLOAD * cap * 0.95 ? ', 3× reached' : ', 3× NOT reached') : ''}`;
  console.log(`HTTP capacity (64 connections × 16 pipelined over ${DEVICES} devices, closed loop): ${Math.round(C)} answered 204/s, p50 ${capacity.admittedP50.toFixed(1)} ms, p99 ${capacity.admittedP99.toFixed(1)} ms; server RSS peak ${peak('capacity').toFixed(0)} MB`);
  console.log(`HTTP refusal capacity (the flooding device alone, 64 connections × 16 pipelined, closed loop): ${Math.round(R)} answered/s (${[...Object.entries(refusing.answers)].map(([s, n]) => `${s}: ${n}`).join(', ')})\n`);
  console.log(table(['phase', 'quiet p50 ms', 'quiet p99 ms', 'quiet p99 / alone', 'due/s', 'written/s (× capacity)', 'not written (windows full)', 'answered/s', 'answers', 'unanswered (closed)', 'admitted p99 ms', 'RSS peak MB'], [
    ['quiet device alone (baseline)', m(alone, 'p50'), m(alone, 'p99'), '1.00×', '', '', '', '', '', '', '', peak('quiet alone').toFixed(0)],
    ...floods.map(({ name, rate, times, runs: xs }) => [
      name, m(xs, 'p50'), m(xs, 'p99'), `${(m(xs, 'p99') / m(alone, 'p99')).toFixed(2)}×`,
      Math.round(rate), `${Math.round(offered(xs))} (${reached(offered(xs), C, times)})`,
      `${(median(xs.map((x) => x.flood.unsent / Math.max(1, total(x.flood)))) * 100).toFixed(1)}%`,
      Math.round(answeredRate(xs)),
      [...new Set(xs.flatMap((x) => Object.keys(x.flood.answers)))].sort().map((s) => `${(share(xs, s) * 100).toFixed(1)}% ${s}`).join(', '),
      `${median(xs.map((x) => x.flood.unanswered))}`,
      median(xs.map((x) => x.flood.admittedP99)), peak(name).toFixed(0),
    ]),
  ]));
  console.log(`\nquiet device statuses, alone and beside the flooding device: ${JSON.stringify(quietStatuses)}; beside the ${DEVICES} devices: ${JSON.stringify(overloadedQuiet)}`);

  const mqttOffered = median(mqttFloods.map((r) => r.sent / SECONDS));
  const reasons = ['overloaded', 'quota_exceeded'].map((reason) => {
    const re = new RegExp(`omnistream_mqtt_disconnects_total\\{reason="${reason}"\\} (\\d+)`);
    return `${reason} ${counter(afterText, re) - counter(before, re)}`;
  });
  console.log(`\nMQTT capacity (${MQTT_CONNECTIONS} connections × ${MQTT_CAPACITY_WINDOW} QoS 1 publishes in flight, closed loop): ${Math.round(M)} PUBACKs/s, p99 ${mqttCapacity.admittedP99.toFixed(1)} ms`);
  const mqttRow = (name: string, rs: LoadResult[], offeredText: string) => [name, offeredText,
    `${(median(rs.map((r) => r.unsent / Math.max(1, total(r)))) * 100).toFixed(1)}%`, Math.round(median(rs.map((r) => (r.answers.puback ?? 0) / SECONDS))),
    median(rs.map((r) => r.admittedP99)), median(rs.map((r) => r.unanswered))];
  console.log(table(['MQTT phase (200 connections, 64 publishes in flight each at most)', 'written publishes/s (× capacity)', 'not written (windows full)', 'PUBACKs/s', 'PUBACK p99 ms', 'unacknowledged (connection closed)'], [
    mqttRow(`open loop, ${OVERLOAD} × capacity due`, mqttFloods, `${Math.round(mqttOffered)} (${reached(mqttOffered, M)})`),
    mqttRow('closed loop (12,800 in flight wanted, 6 × the limit)', mqttClosed, `${Math.round(median(mqttClosed.map((r) => r.sent / SECONDS)))}`),
  ]));
  console.log(`MQTT server RSS peak during the overload runs: ${peak('mqtt overload').toFixed(0)} MB (capacity phase ${peak('mqtt capacity').toFixed(0)} MB); disconnects during them, by reason: ${reasons.join(', ')}; CONNACK refusals seen by the clients: ${JSON.stringify(mqttFloods.map((r) => r.connacks))}`);
  console.log(`\nserver RSS through the run (MB, every 250 ms): start ${rss[0]?.mb.toFixed(0)}, max ${Math.max(...rss.map((r) => r.mb)).toFixed(0)}, end ${rss.at(-1)?.mb.toFixed(0)} (${rss.length} samples); load average after ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  if (Object.keys(quietStatuses).some((s) => s !== '204')) {
    console.error('the quiet device was refused');
    process.exitCode = 1;
  }
} finally {
  clearInterval(sampler);
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
