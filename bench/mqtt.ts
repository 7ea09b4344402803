// MQTT ingestion: QoS 1 messages/s from concurrent `mqtt` clients, each keeping a window of
// publishes in flight, against the gateway's plain MQTT port (PUBACK after the append commits) and,
// in the same run with the same clients, against the machine's Mosquitto on 127.0.0.1:1883.
// After the runs, the gateway's log must hold exactly the messages it acknowledged.
//   npm run build && npx tsx bench/mqtt.ts [--seconds 5] [--runs 3] [--clients 50] [--window 32] [--durability process|fsync]
//                                          [--mosquitto mqtt://127.0.0.1:1883] [--profile DIR]
import mqtt, { type MqttClient } from 'mqtt';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { deviceResource, signSasToken } from '../src/auth/sas.js';
import { SqliteRegistry } from '../src/registry/sqlite-registry.js';
import { builtCli } from './built-server.js';
import { freePort, machine, median, percentile, spawnReady, table, type Child } from './harness.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' }, runs: { type: 'string', default: '3' }, clients: { type: 'string', default: '50' },
    window: { type: 'string', default: '32' }, durability: { type: 'string', default: 'process' },
    mosquitto: { type: 'string', default: 'mqtt://127.0.0.1:1883' }, profile: { type: 'string' },
  },
});
const SECONDS = Number(values.seconds);
const RUNS = Number(values.runs);
const CLIENTS = Number(values.clients);
const WINDOW = Number(values.window);
const CLI = builtCli('bench/mqtt.ts');
/** Fixes the iothubowner key, so this process can read the gateway's partitions afterwards. */
const OWNER_KEY = Buffer.alloc(32, 0x42).toString('base64');

/** A reader's event of realistic size, and the property bag an SDK would add. */
const payload = Buffer.from(JSON.stringify({ event: 'tag_read', epc: '3034257BF7194E4000001A85', antenna: 2, rssi: -52.5, zone: 'fitting-rooms', ts: '2026-11-25T10:00:00.000Z' }));
const topicOf = (deviceId: string) => `devices/${deviceId}/messages/events/%24.ct=application%2Fjson&%24.ce=utf-8&store=12`;

interface Target {
  readonly name: string;
  readonly url: string;
  options(deviceId: string): mqtt.IClientOptions;
  /** The broker's process, whose CPU time is measured. */
  readonly pid: number | undefined;
}

interface Run { perSecond: number; acked: number; p50: number; p99: number; brokerCpu: number; loadCpu: number; errors: number }

/** CPU time (user + system, every thread) of a process so far, in ms, from /proc (Linux). */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

async function connectAll(target: Target, ids: readonly string[]): Promise<MqttClient[]> {
  return Promise.all(ids.map((id) => mqtt.connectAsync(target.url, { ...target.options(id), protocolVersion: 4, reconnectPeriod: 0, keepalive: 60, clean: true })));
}

/** Every client publishes QoS 1 keeping `window` in flight for SECONDS; every publish sent is waited for. */
async function load(target: Target, ids: readonly string[], window: number): Promise<Run> {
  const clients = await connectAll(target, ids);
  const latencies: number[] = [];
  let acked = 0;
  let errors = 0;
  let running = true;
  const brokerBefore = cpuMs(target.pid);
  const loadBefore = process.cpuUsage();
  const started = performance.now();
  const stop = setTimeout(() => {
    running = false;
  }, SECONDS * 1000);
  await Promise.all(clients.map((client, i) => new Promise<void>((done) => {
    const topic = topicOf(ids[i]!);
    let inFlight = 0;
    const send = (): void => {
      inFlight++;
      const sent = performance.now();
      client.publish(topic, payload, { qos: 1 }, (err) => {
        inFlight--;
        if (err) errors++;
        else {
          acked++;
          if ((acked & 31) === 0) latencies.push(performance.now() - sent);
        }
        if (running && !err) send();
        else if (inFlight === 0) done();
      });
    };
    for (let w = 0; w < window; w++) send();
  })));
  clearTimeout(stop);
  const seconds = (performance.now() - started) / 1000;
  const brokerCpu = cpuMs(target.pid) - brokerBefore;
  const load = process.cpuUsage(loadBefore);
  await Promise.all(clients.map((c) => c.endAsync()));
  latencies.sort((a, b) => a - b);
  return {
    perSecond: acked / seconds, acked, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99),
    brokerCpu: (brokerCpu / acked) * 1000, loadCpu: ((load.user + load.system) / 1000 / acked) * 1000, errors,
  };
}

interface Gateway { readonly server: Child; readonly target: Target; readonly dir: string; stored(): Promise<number> }

async function gateway(): Promise<Gateway> {
  const dir = mkdtempSync(join(tmpdir(), 'omnistream-bench-mqtt-'));
  const registry = new SqliteRegistry(join(dir, 'registry.db'));
  const tokens = new Map<string, string>();
  const expiry = Math.floor(Date.now() / 1000) + 86_400;
  for (let i = 0; i < CLIENTS; i++) {
    const d = await registry.create({ deviceId: `reader-${i}` });
    tokens.set(d.deviceId, signSasToken({ resource: deviceResource('localhost', d.deviceId), key: d.authentication.symmetricKey.primaryKey, expiry }));
  }
  await registry.close();
  const port = await freePort();
  const node = values.profile ? ['--cpu-prof', '--cpu-prof-dir', values.profile] : [];
  const server = await spawnReady([...node, CLI, 'start', '--data', dir, '--http-port', '0', '--mqtt-port', String(port)],
    { OMNISTREAM_HTTP_HOST: '127.0.0.1', OMNISTREAM_DURABILITY: values.durability, OMNISTREAM_OWNER_KEY: OWNER_KEY });
  return {
    server, dir,
    target: {
      name: `omnistream (durability ${values.durability}; PUBACK after commit)`,
      url: `mqtt://127.0.0.1:${port}`,
      pid: server.process.pid,
      options: (id) => ({ clientId: id, username: `localhost/${id}/?api-version=2021-04-12`, password: tokens.get(id)! }),
    },
    async stored() {
      const authorization = signSasToken({ resource: 'localhost', key: OWNER_KEY, keyName: 'iothubowner', expiry });
      const res = await fetch(`${server.url}/api/partitions`, { headers: { authorization } });
      const { partitions } = (await res.json()) as { partitions: Array<{ isEmpty: boolean; lastEnqueuedSequenceNumber: number; beginningSequenceNumber: number }> };
      return partitions.reduce((n, p) => n + (p.isEmpty ? 0 : p.lastEnqueuedSequenceNumber - p.beginningSequenceNumber + 1), 0);
    },
  };
}

function mosquittoPid(): number | undefined {
  try {
    return Number(execFileSync('pidof', ['mosquitto'], { encoding: 'utf8' }).trim().split(/\s+/)[0]) || undefined;
  } catch {
    return undefined;
  }
}

const mosquitto: Target = { name: 'Mosquitto (QoS 1, acknowledged from memory)', url: values.mosquitto, pid: mosquittoPid(), options: (id) => ({ clientId: `omnistream-bench-${id}` }) };
const ids = Array.from({ length: CLIENTS }, (_, i) => `reader-${i}`);
const scenarios = [
  { name: `${WINDOW} in flight per client`, window: WINDOW, target: true },
  { name: '1 in flight per client (as the SDKs send)', window: 1, target: false },
];

console.log(`# MQTT ingestion benchmark\n\nmachine: ${machine()}; load average before the run ${loadavg()[0]!.toFixed(2)} (other work on the machine adds noise)`);
console.log(`command: npx tsx bench/mqtt.ts --seconds ${SECONDS} --runs ${RUNS} --clients ${CLIENTS} --window ${WINDOW} --durability ${values.durability}`);
console.log(`load: ${CLIENTS} \`mqtt\` (mqtt.js ${(await import('mqtt/package.json', { with: { type: 'json' } })).default.version}) clients in this process, MQTT 3.1.1, QoS 1, a ${payload.length}-byte JSON payload on a topic with a property bag; runs alternate between the brokers; medians of ${RUNS} runs of ${SECONDS} s after a warm-up`);
console.log('CPU per 1,000 messages, user + system: the broker\'s process (the gateway\'s every thread, from /proc) and this load generator\'s\n');

try {
  await Promise.all((await connectAll(mosquitto, ['probe'])).map((c) => c.endAsync()));
} catch (err) {
  console.error(`no Mosquitto at ${values.mosquitto} to compare with (${(err as Error).message}); install mosquitto or pass --mosquitto URL`);
  process.exit(1);
}

const gw = await gateway();
const rows: Array<Array<string | number>> = [];
let ackedByGateway = 0;
let storedByGateway: number;
let targetMet = true;
let failed = false;
try {
  for (const scenario of scenarios) {
    const runs = { gateway: [] as Run[], mosquitto: [] as Run[] };
    // Warm both up, then alternate so drift on a noisy machine hits both alike.
    await load(mosquitto, ids, scenario.window);
    ackedByGateway += (await load(gw.target, ids, scenario.window)).acked;
    for (let i = 0; i < RUNS; i++) {
      runs.mosquitto.push(await load(mosquitto, ids, scenario.window));
      runs.gateway.push(await load(gw.target, ids, scenario.window));
    }
    ackedByGateway += runs.gateway.reduce((n, r) => n + r.acked, 0);
    const m = (rs: Run[], k: keyof Run) => median(rs.map((r) => r[k]));
    const ratio = m(runs.gateway, 'perSecond') / m(runs.mosquitto, 'perSecond');
    if (scenario.target && ratio < 0.5) targetMet = false;
    if (runs.gateway.some((r) => r.errors > 0)) failed = true;
    for (const [name, rs, r] of [[mosquitto.name, runs.mosquitto, ''], [gw.target.name, runs.gateway, `${ratio.toFixed(2)}×`]] as const) {
      rows.push([scenario.name, name, Math.round(m(rs, 'perSecond')), m(rs, 'p50'), m(rs, 'p99'), m(rs, 'brokerCpu'), m(rs, 'loadCpu'), r, m(rs, 'errors')]);
    }
    console.error(`${scenario.name}: messages/s per run: Mosquitto ${runs.mosquitto.map((r) => Math.round(r.perSecond)).join(', ')}; gateway ${runs.gateway.map((r) => Math.round(r.perSecond)).join(', ')}`);
  }
  storedByGateway = await gw.stored();
} finally {
  await gw.server.stop();
  rmSync(gw.dir, { recursive: true, force: true });
}
console.log(table(['scenario', 'broker', 'messages/s', 'p50 ms', 'p99 ms', 'broker CPU ms / 1k', 'load CPU ms / 1k', 'ratio to Mosquitto', 'errors'], rows));
console.log(`\ngateway: ${ackedByGateway.toLocaleString('en-US')} messages acknowledged, ${storedByGateway.toLocaleString('en-US')} in its log${storedByGateway === ackedByGateway ? '' : ' — MISMATCH'}`);
console.log(`target (${scenarios[0]!.name}): ≥ 0.5× Mosquitto — ${targetMet ? 'met' : 'NOT met'}`);
if (failed || storedByGateway !== ackedByGateway) process.exitCode = 1;
