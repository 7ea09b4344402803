// The bridge from a store's broker, against the machine's Mosquitto (127.0.0.1:1883): readers
// publishing to the store broker feed the log at least once and deduplicated, devices created on
// first sight with the bridge's tenant, the broker's QoS 1 acknowledged only once stored — so a
// kill -9 of the gateway loses nothing the broker accepted.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { deviceIdTemplate, topicPattern } from '../../src/ingest/mqtt-bridge/topic-pattern.js';
import { SqliteEventLog } from '../../src/log/sqlite-event-log.js';
import type { StoredMessage } from '../../src/core/message.js';
import { eventually } from '../helpers/jobs.js';
import { spawnServer, type ServerProcess } from '../helpers/process.js';
import { readAll, startTestServer, tempDir, type TestServer } from '../helpers/server.js';
import { requireOrSkip } from '../helpers/services.js';

const BROKER = process.env.OMNISTREAM_MOSQUITTO_URL ?? 'mqtt://127.0.0.1:1883';

async function brokerMissing(): Promise<string | undefined> {
  const client = mqtt.connect(BROKER, { connectTimeout: 2_000, reconnectPeriod: 0 });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
      client.once('close', () => reject(new Error('closed')));
    });
    return undefined;
  } catch (err) {
    return `Mosquitto at ${BROKER} is not reachable: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    client.end(true);
  }
}

/** A store reader publishing to the broker, QoS 1; resolves once the broker has each message. */
async function reader(): Promise<{ publish(topic: string, body: string): Promise<void>; end(): Promise<void> }> {
  const client = mqtt.connect(BROKER, { clientId: `reader-${randomBytes(4).toString('hex')}`, reconnectPeriod: 0 });
  await new Promise<void>((resolve, reject) => { client.once('connect', () => resolve()); client.once('error', reject); });
  return {
    publish: (topic, body) => new Promise<void>((resolve, reject) => client.publish(topic, body, { qos: 1 }, (err) => (err ? reject(err) : resolve()))),
    end: () => new Promise<void>((resolve) => client.end(false, {}, () => resolve())),
  };
}

/** Forgets the bridge's persistent session on the broker, so runs leave nothing behind. */
async function dropSession(clientId: string): Promise<void> {
  const client = mqtt.connect(BROKER, { clientId, clean: true, reconnectPeriod: 0 });
  await new Promise<void>((resolve) => { client.once('connect', () => resolve()); client.once('error', () => resolve()); });
  await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
}

describe('topic patterns and device ids', () => {
  test('named levels match whole levels, and make the subscription and the device id', () => {
    const p = topicPattern('stores/{store}/readers/{reader}/events');
    assert.equal(p.filter, 'stores/+/readers/+/events');
    assert.deepEqual(p.match('stores/oslo-1/readers/door-2/events'), { store: 'oslo-1', reader: 'door-2' });
    for (const t of ['stores/oslo-1/readers/door-2', 'stores/oslo-1/readers/door-2/events/x', 'shops/oslo-1/readers/door-2/events', 'stores//readers/door-2/events']) assert.equal(p.match(t), undefined, t);
    assert.equal(deviceIdTemplate('{store}-{reader}', 'stores/{store}/readers/{reader}/events')({ store: 'oslo-1', reader: 'door-2' }), 'oslo-1-door-2');
    assert.throws(() => deviceIdTemplate('{device}', 'stores/{store}/readers/{reader}/events'), /names \{device\}, which the topic pattern .* has not/);
    assert.throws(() => topicPattern('stores/+/events'), /not MQTT wildcards/);
    assert.throws(() => topicPattern('stores/x{store}/events'), /takes a whole level/);
    assert.throws(() => topicPattern('a/{x}/{x}'), /appears twice/);
  });
});

describe('a bridge from the store broker (Mosquitto)', () => {
  let s: TestServer | undefined;
  let missing: string | undefined;
  const prefix = `omni-${randomBytes(4).toString('hex')}`;
  const clientId = `omnistream-bridge-test-${prefix}`;
  before(async () => {
    missing = await brokerMissing();
    if (missing) return;
    s = await startTestServer({
      bridges: {
        store: {
          url: BROKER, tenant: 'nordvik', clientId,
          topics: [{ pattern: `${prefix}/stores/{store}/readers/{reader}/events`, deviceId: '{store}-{reader}' }],
        },
      },
    });
    await eventually('the bridge to connect', async () => {
      const { bridges } = await (await s!.fetch('/api/bridges', { headers: { authorization: s!.policyToken('service') } })).json() as { bridges: Array<{ connected: boolean }> };
      return bridges[0]!.connected ? true : undefined;
    });
  });
  after(async () => {
    await s?.stop();
    if (!missing) await dropSession(clientId);
  });

  test('readers\' messages land in the log as devices of the bridge\'s tenant, named parts as properties, a redelivery stored once', async (t) => {
    if (requireOrSkip(t, missing)) return;
    const r = await reader();
    for (let i = 0; i < 5; i++) await r.publish(`${prefix}/stores/oslo-1/readers/door-${i % 2}/events`, JSON.stringify({ tag: `E200-${i}`, rssi: -40 - i }));
    // The same bytes on the same topic again: what a broker's redelivery looks like.
    await r.publish(`${prefix}/stores/oslo-1/readers/door-0/events`, JSON.stringify({ tag: 'E200-0', rssi: -40 }));
    // A level the device-id rule refuses: dropped, and said so.
    await r.publish(`${prefix}/stores/oslo~1/readers/door-9/events`, '{"tag":"x"}');
    await r.end();
    const stored = await eventually('five messages', async () => {
      const all = (await readAll(s!)).filter((m) => m.deviceId.startsWith('oslo-1-door-'));
      return all.length >= 5 ? all : undefined;
    });
    assert.equal(stored.length, 5, 'the repeat was stored once');
    assert.ok(stored.every((m) => m.tenant === 'nordvik'));
    assert.deepEqual(new Set(stored.map((m) => m.deviceId)), new Set(['oslo-1-door-0', 'oslo-1-door-1']));
    assert.deepEqual(stored.find((m) => m.deviceId === 'oslo-1-door-1')!.properties, { store: 'oslo-1', reader: 'door-1' });
    assert.deepEqual(stored.map((m) => (JSON.parse(m.body.toString()) as { tag: string }).tag).sort(), ['E200-0', 'E200-1', 'E200-2', 'E200-3', 'E200-4']);
    assert.equal((await s!.registry.get('oslo-1-door-0'))!.kind, 'bridged');
    const status = await eventually('the drop counted', async () => {
      const { bridges } = await (await s!.fetch('/api/bridges', { headers: { authorization: s!.policyToken('service') } })).json() as { bridges: Array<{ stored: number; duplicates: number; devicesCreated: number; dropped: Record<string, number> }> };
      return bridges[0]!.dropped['invalid device id'] === 1 ? bridges[0]! : undefined;
    });
    assert.deepEqual([status.stored, status.duplicates, status.devicesCreated], [5, 1, 2]);
    const metrics = await (await s!.fetch('/metrics')).text();
    assert.match(metrics, /omnistream_messages_ingested_total\{transport="bridge"\} 5/);
    assert.match(metrics, /omnistream_bridge_connected\{bridge="store"\} 1/);
  });
});

test('kill -9 of the gateway while readers publish: everything the broker accepted reaches the log, once', { timeout: 90_000 }, async (t) => {
  const missing = await brokerMissing();
  if (requireOrSkip(t, missing)) return;
  const dataDir = tempDir();
  const prefix = `omni-${randomBytes(4).toString('hex')}`;
  const clientId = `omnistream-bridge-crash-${prefix}`;
  const config = join(dataDir, 'omnistream.yaml');
  writeFileSync(config, [
    'bridges:',
    '  store:',
    `    url: ${BROKER}`,
    `    clientId: ${clientId}`,
    '    tenant: solenne',
    '    topics:',
    `      - { pattern: '${prefix}/readers/{device}/events' }`,
  ].join('\n'));
  let server: ServerProcess | undefined;
  const r = await reader();
  try {
    server = await spawnServer(['--config', config, '--data', dataDir]);
    // Only a subscribed session gets messages: the first start must have subscribed before readers publish.
    const first = server.url;
    await eventually('the bridge to subscribe', async () => ((await bridgeStatus(first, dataDir)).connected ? true : undefined));
    let n = 0;
    let publishing = true;
    let burst = false;
    const sent = (async () => {
      while (publishing) {
        const i = n++;
        await r.publish(`${prefix}/readers/r${i % 3}/events`, JSON.stringify({ tag: `T${i}` }));
        // A store's pace (a few hundred a second): Mosquitto queues at most 1,000 messages for a
        // session that is away (max_queued_messages) and drops the rest, which is the broker's choice.
        if (!burst) await new Promise((resolve) => setTimeout(resolve, 3));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 800));
    // A burst right before the kill, so the bridge has messages in hand when it dies: only what it
    // acknowledged after storing may be gone from the broker.
    burst = true;
    const burstFrom = n;
    await eventually('a burst', async () => (n - burstFrom >= 400 ? true : undefined));
    burst = false;
    server.child.kill('SIGKILL');
    await server.exited;
    // The broker keeps taking messages while the gateway is down: they wait in the bridge's session.
    await new Promise((resolve) => setTimeout(resolve, 500));
    server = await spawnServer(['--config', config, '--data', dataDir]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    publishing = false;
    await sent;
    const total = n;
    const url = server.url;
    await eventually('every message the broker accepted', async () => {
      const stored = await storedCount(url, dataDir);
      return stored >= total ? true : undefined;
    }, 30_000).catch(async (err: unknown) => {
      throw new Error(`${String(err)}: ${await storedCount(url, dataDir)} of ${total} stored; bridge ${JSON.stringify(await bridgeStatus(url, dataDir))}`);
    });
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
    server = undefined;
    const messages = await readLog(dataDir);
    const tags = messages.map((m) => (JSON.parse(m.body.toString()) as { tag: string }).tag);
    assert.equal(new Set(tags).size, total, 'every tag stored');
    assert.equal(tags.length, total, 'none twice');
  } finally {
    await r.end();
    if (server) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    await dropSession(clientId);
    rmSync(dataDir, { recursive: true, force: true });
  }
});

async function serviceToken(dataDir: string): Promise<string> {
  const { FileKeyStore } = await import('../../src/auth/file-key-store.js');
  const { signSasToken } = await import('../../src/auth/sas.js');
  const p = FileKeyStore.open(dataDir).policy('service')!;
  return signSasToken({ resource: 'localhost', key: p.primaryKey, keyName: 'service', expiry: Math.floor(Date.now() / 1000) + 600 });
}

async function storedCount(url: string, dataDir: string): Promise<number> {
  const { partitions } = await (await fetch(`${url}/api/partitions`, { headers: { authorization: await serviceToken(dataDir) } })).json() as { partitions: Array<{ lastEnqueuedSequenceNumber: number }> };
  return partitions.reduce((sum, p) => sum + p.lastEnqueuedSequenceNumber + 1, 0);
}

async function bridgeStatus(url: string, dataDir: string): Promise<{ connected: boolean }> {
  const { bridges } = await (await fetch(`${url}/api/bridges`, { headers: { authorization: await serviceToken(dataDir) } })).json() as { bridges: Array<{ connected: boolean }> };
  return bridges[0]!;
}

async function readLog(dataDir: string): Promise<StoredMessage[]> {
  const log = new SqliteEventLog({ path: join(dataDir, 'log.db'), partitions: 4, retentionMs: 1e12, dedupWindowMs: 86_400_000, maxPendingMessages: 1e5, durability: 'process' });
  const out: StoredMessage[] = [];
  for (let p = 0; p < 4; p++) out.push(...(await log.read(p, { kind: 'earliest' }, 1e6)).messages);
  await log.close();
  return out;
}
