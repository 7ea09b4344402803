// The bridge from a store broker: messages/s from the machine's Mosquitto into the log, beside a
// plain QoS 1 subscriber on the same broker in the same run (how fast the broker itself delivers).
// Each run publishes N messages (QoS 1) to a fresh topic; the bridge's time is from the first publish
// until the log holds all N (its PUBACKs go out only once stored); the subscriber's, until it has
// received all N. Publishers stay at most 800 messages ahead of the consumer: Mosquitto queues at
// most max_queued_messages (1,000 by default) for a session that falls behind and drops the rest,
// so a load beyond what one session drains would measure the broker's drops, not the bridge.
//   npm run build && npx tsx bench/bridge.ts [--messages 20000] [--runs 3] [--publishers 4] [--in-flight 32]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { FileKeyStore } from '../src/auth/file-key-store.js';
import { signSasToken } from '../src/auth/sas.js';
import { builtCli } from './built-server.js';
import { machine, median, spawnReady, table } from './harness.js';

const { values } = parseArgs({ options: {
  messages: { type: 'string', default: '20000' }, runs: { type: 'string', default: '3' }, publishers: { type: 'string', default: '4' },
  'in-flight': { type: 'string', default: '32' },
} });
const MESSAGES = Number(values.messages);
const RUNS = Number(values.runs);
const PUBLISHERS = Number(values.publishers);
const IN_FLIGHT = Number(values['in-flight']);
const BROKER = process.env.OMNISTREAM_MOSQUITTO_URL ?? 'mqtt://127.0.0.1:1883';
const CLI = builtCli('bench/bridge.ts');

const connect = (options: mqtt.IClientOptions = {}) => new Promise<mqtt.MqttClient>((resolve, reject) => {
  const c = mqtt.connect(BROKER, { reconnectPeriod: 0, ...options });
  c.once('connect', () => resolve(c));
  c.once('error', reject);
});
const end = (c: mqtt.MqttClient) => new Promise<void>((resolve) => c.end(false, {}, () => resolve()));

/** How far publishers may run ahead of the consumer: under Mosquitto's default queue of 1,000. */
const AHEAD = 800;

/**
 * Publishes N messages to `topic/{device}/events`, QoS 1, IN_FLIGHT unacknowledged per publisher,
 * never more than AHEAD beyond what `consumed` says the consumer has.
 */
async function publish(prefix: string, consumed: () => number): Promise<void> {
  const publishers = await Promise.all(Array.from({ length: PUBLISHERS }, () => connect()));
  let next = 0;
  await Promise.all(publishers.map(async (c, p) => {
    const inFlight = new Set<Promise<void>>();
    for (;;) {
      while (next - consumed() > AHEAD) await new Promise((r) => setTimeout(r, 1));
      const i = next++;
      if (i >= MESSAGES) break;
      const sent = new Promise<void>((resolve, reject) => c.publish(`${prefix}/r${(i + p) % 50}/events`, JSON.stringify({ tag: `T${i}`, rssi: -42 }), { qos: 1 }, (e) => (e ? reject(e) : resolve())));
      inFlight.add(sent);
      void sent.finally(() => inFlight.delete(sent));
      if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  }));
  await Promise.all(publishers.map(end));
}

async function subscriberRun(): Promise<number> {
  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  const sub = await connect({ clientId: `bench-sub-${prefix}`, clean: true });
  await new Promise<void>((resolve, reject) => sub.subscribe(`${prefix}/+/events`, { qos: 1 }, (e) => (e ? reject(e) : resolve())));
  let received = 0;
  const done = new Promise<void>((resolve) => sub.on('message', () => { if (++received === MESSAGES) resolve(); }));
  const started = performance.now();
  await publish(prefix, () => received);
  await done;
  const seconds = (performance.now() - started) / 1000;
  await end(sub);
  return MESSAGES / seconds;
}

async function bridgeRun(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'omnistream-bench-bridge-'));
  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  const clientId = `omnistream-bridge-bench-${prefix}`;
  writeFileSync(join(dir, 'omnistream.yaml'), `bridges:\n  store:\n    url: ${BROKER}\n    clientId: ${clientId}\n    topics:\n      - { pattern: '${prefix}/{device}/events' }\n`);
  const server = await spawnReady([CLI, 'start', '--config', join(dir, 'omnistream.yaml'), '--data', dir, '--http-port', '0'], { OMNISTREAM_HTTP_HOST: '127.0.0.1' });
  try {
    const p = FileKeyStore.open(dir).policy('service')!;
    const headers = { authorization: signSasToken({ resource: 'localhost', key: p.primaryKey, keyName: 'service', expiry: Math.floor(Date.now() / 1000) + 3600 }) };
    const api = async <T>(path: string) => (await (await fetch(`${server.url}${path}`, { headers })).json()) as T;
    // Subscribed before the first publish: only a subscribed session gets messages.
    for (;;) {
      const { bridges } = await api<{ bridges: Array<{ connected: boolean }> }>('/api/bridges');
      if (bridges[0]?.connected) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 200));
    const started = performance.now();
    let stored = 0;
    const publishing = publish(prefix, () => stored);
    for (;;) {
      const { partitions } = await api<{ partitions: Array<{ lastEnqueuedSequenceNumber: number }> }>('/api/partitions');
      stored = partitions.reduce((n, x) => n + x.lastEnqueuedSequenceNumber + 1, 0);
      if (stored >= MESSAGES) break;
      if (performance.now() - started > 120_000) {
        const { bridges } = await api<{ bridges: unknown[] }>('/api/bridges');
        throw new Error(`the log holds ${stored} of ${MESSAGES} messages after 2 minutes; bridge: ${JSON.stringify(bridges[0])}`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    const seconds = (performance.now() - started) / 1000;
    await publishing;
    return MESSAGES / seconds;
  } finally {
    await server.stop();
    const forget = await connect({ clientId, clean: true });
    await end(forget);
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`# MQTT bridge benchmark\n\nmachine: ${machine()}\ncommand: npx tsx bench/bridge.ts --messages ${MESSAGES} --runs ${RUNS} --publishers ${PUBLISHERS} --in-flight ${IN_FLIGHT}`);
console.log(`broker: Mosquitto at ${BROKER} (its default limits); ${PUBLISHERS} publisher(s) (mqtt.js, QoS 1, ${IN_FLIGHT} in flight each) in this process; ~40 B JSON messages on 50 topics`);
console.log('bridge: the built server (`node dist/cli.js start`) with one bridge (persistent session, QoS 1, PUBACK once stored), timed until the log holds every message');
console.log('baseline: a plain mqtt.js QoS 1 subscriber on the same broker, timed until it has every message; runs alternate; medians\n');
const sub: number[] = [];
const bridge: number[] = [];
for (let i = 0; i < RUNS; i++) {
  sub.push(await subscriberRun());
  bridge.push(await bridgeRun());
}
console.log(table(['path', 'messages/s (median)', 'ratio', 'runs'], [
  ['plain QoS 1 subscriber (baseline)', Math.round(median(sub)), '1.00', sub.map((x) => Math.round(x).toLocaleString('en-US')).join(', ')],
  ['bridge into the log (durable)', Math.round(median(bridge)), (median(bridge) / median(sub)).toFixed(2), bridge.map((x) => Math.round(x).toLocaleString('en-US')).join(', ')],
]));
