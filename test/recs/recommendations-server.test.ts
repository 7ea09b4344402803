// Recommendations through the real server: events posted over HTTP change them; a tenant sees only
// its own; bad requests are 4xx; a restart on the same data directory, and a kill -9 in the middle
// of a stream of events, keep the model exactly as one uninterrupted pass over the log builds it.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FileKeyStore } from '../../src/auth/file-key-store.js';
import { deviceResource, signSasToken } from '../../src/auth/sas.js';
import { buildConfig } from '../../src/config/index.js';
import type { Device } from '../../src/core/device.js';
import type { StoredMessage } from '../../src/core/message.js';
import { SqliteEventLog } from '../../src/log/sqlite-event-log.js';
import { Recommender } from '../../src/recs/recommender.js';
import { recsConfigOf } from '../../src/recs/recs-rules.js';
import { SqliteRegistry } from '../../src/registry/sqlite-registry.js';
import { eventually } from '../helpers/jobs.js';
import { spawnServer, type ServerProcess } from '../helpers/process.js';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js';

const RECS = {
  enabled: true,
  shopper: 'shopper',
  store: 'store',
  checkpointInterval: '100ms',
  events: {
    viewed: { weight: 1 },
    tried: { weight: 2 },
    bought: { weight: 5, purchase: true, item: 'items[].sku' },
  },
};

interface Answer {
  tenant: string;
  items: { item: string; score: number }[];
  fallback?: string;
  store?: string;
  basedOn?: string[];
  model: { events: number; items: number; shoppers: number };
}

describe('recommendations over HTTP', () => {
  let server: TestServer;
  let devices: Record<'a' | 'b', Device>;
  let owner: { authorization: string };
  const counts = { a: 0, b: 0 };
  /** Posts one event; `learnable` ones are what the tenant's model should absorb. */
  const post = async (tenant: 'a' | 'b', body: unknown, learnable = true): Promise<void> => {
    const d = devices[tenant];
    const res = await server.fetch(`/devices/${d.deviceId}/messages/events`, { method: 'POST', headers: { authorization: server.deviceToken(d) }, body: JSON.stringify(body) });
    assert.equal(res.status, 204);
    if (learnable) counts[tenant]++;
  };
  const get = async (path: string, headers: Record<string, string> = owner): Promise<Answer> => {
    const res = await server.fetch(path, { headers });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as Answer;
  };
  /** Waits until the tenant's model has absorbed everything posted for it. */
  const absorbed = (tenant: 'a' | 'b') => eventually(`tenant ${tenant}'s model to absorb ${counts[tenant]} events`, async () => {
    const r = await get(`/api/recommendations/items/x?tenant=brand-${tenant}`);
    return r.model.events >= counts[tenant] ? r : undefined;
  });

  before(async () => {
    server = await startTestServer({ recommendations: RECS });
    devices = { a: await server.createDevice('app-a', { tenant: 'brand-a' }), b: await server.createDevice('app-b', { tenant: 'brand-b' }) };
    owner = { authorization: server.policyToken('service') };
  });
  after(async () => {
    await server.stop();
  });

  test('events posted over HTTP become recommendations; new shoppers and unknown items get the popular items', async () => {
    const empty = await get('/api/recommendations/items/parka?tenant=brand-a');
    assert.deepEqual({ items: empty.items, fallback: empty.fallback }, { items: [], fallback: 'popular' });
    for (let u = 0; u < 4; u++) {
      await post('a', { event: 'viewed', sku: 'parka', shopper: `u${u}`, store: 'OSL' });
      await post('a', { event: 'tried', sku: 'beanie', shopper: `u${u}`, store: 'OSL' });
    }
    await post('a', { event: 'viewed', sku: 'boots', shopper: 'u9', store: 'BGO' });
    const parka = await eventually('parka to have a neighbour', async () => {
      const r = await get('/api/recommendations/items/parka?tenant=brand-a&k=3');
      return r.fallback === undefined && r.items.length > 0 ? r : undefined;
    });
    assert.deepEqual(parka.items.map((i) => i.item), ['beanie']);
    // Jaccard min(1,2)·4 / (4 + 8 − 4), up to the decay between the events (30 days' half-life).
    assert.ok(Math.abs(parka.items[0]!.score - 1 / 2) < 1e-6, String(parka.items[0]!.score));
    await post('a', { event: 'viewed', sku: 'parka', shopper: 'newcomer' });
    await absorbed('a');
    const mine = await get('/api/recommendations/shoppers/newcomer?tenant=brand-a');
    assert.equal(mine.fallback, undefined);
    assert.deepEqual(mine.items.map((i) => i.item), ['beanie']);
    assert.deepEqual(mine.basedOn, ['parka']);
    // An order with two lines: both are bought, so neither is recommended to that shopper again.
    await post('a', { event: 'bought', items: [{ sku: 'beanie' }, { sku: 'scarf' }], shopper: 'newcomer' });
    await absorbed('a');
    assert.ok(!(await get('/api/recommendations/shoppers/newcomer?tenant=brand-a')).items.some((i) => i.item === 'beanie' || i.item === 'scarf'));
    const stranger = await get('/api/recommendations/shoppers/never-seen?tenant=brand-a&k=2');
    assert.equal(stranger.fallback, 'popular');
    assert.deepEqual(stranger.items.map((i) => i.item), ['beanie', 'scarf'], 'weights summed: beanie 4·2 + 5, then scarf 5, newer than parka\'s 4 + 1');
    assert.deepEqual((await get('/api/recommendations/popular?tenant=brand-a&k=2')).items, stranger.items, 'the popular items themselves');
    const inStore = await get('/api/recommendations/items/unknown?tenant=brand-a&store=BGO');
    assert.deepEqual({ fallback: inStore.fallback, store: inStore.store, items: inStore.items.map((i) => i.item) }, { fallback: 'popular', store: 'BGO', items: ['boots'] });
  });

  test('events the model cannot learn from are skipped, counted, and change nothing', async () => {
    const before = (await absorbed('a')).model;
    const bad = [{ sku: 'parka', shopper: 'u1' }, { event: 'clicked', sku: 'parka', shopper: 'u1' }, { event: 'viewed', shopper: 'u1' },
      { event: 'viewed', sku: 'parka' }, { event: 'viewed', sku: 'p'.repeat(1_000), shopper: 'u1' }, { event: 'viewed', sku: ['x'], shopper: 'u1' }];
    for (const body of bad) await post('a', body, false);
    await post('a', { event: 'viewed', sku: '靴-👢', shopper: 'ユーザー' });
    await eventually('the last event to be absorbed', async () => {
      const r = await get(`/api/recommendations/shoppers/${encodeURIComponent('ユーザー')}?tenant=brand-a`);
      return r.basedOn?.[0] === '靴-👢' ? r : undefined;
    });
    const metrics = await (await server.fetch('/metrics')).text();
    for (const reason of ['no_event_name', 'unknown_event', 'no_item', 'no_shopper', 'bad_id']) {
      assert.match(metrics, new RegExp(`omnistream_recs_events_skipped\\{reason="${reason}"\\} [1-9]`), reason);
    }
    const after = (await get('/api/recommendations/items/x?tenant=brand-a')).model;
    assert.equal(after.events, before.events + 1, 'only the good one was learned');
  });

  test('a tenant never sees another tenant\'s items; viewer keys are bound to theirs', async () => {
    await post('b', { event: 'viewed', sku: 'robe', shopper: 'u0' });
    await post('b', { event: 'viewed', sku: 'parka', shopper: 'u0' });
    await absorbed('b');
    const b = await get('/api/recommendations/items/parka?tenant=brand-b');
    assert.deepEqual(b.items.map((i) => i.item), ['robe']);
    const viewerA = await server.keys.addViewerKey('brand-a');
    const asA = await get(`/api/recommendations/items/parka?key=${viewerA.key}`);
    assert.equal(asA.tenant, 'brand-a');
    assert.ok(!asA.items.some((i) => i.item === 'robe'));
    const popularA = await get(`/api/recommendations/shoppers/nobody?key=${viewerA.key}&k=100`);
    assert.ok(!popularA.items.some((i) => i.item === 'robe'), 'nor in its popular items');
    const refused = await server.fetch(`/api/recommendations/items/parka?key=${viewerA.key}&tenant=brand-b`);
    assert.equal(refused.status, 403);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'forbidden');
  });

  test('k out of range is a 400 stating the range; no credential is a 401', async () => {
    for (const k of ['0', '101', 'ten', '-1']) {
      const res = await server.fetch(`/api/recommendations/items/parka?tenant=brand-a&k=${k}`, { headers: owner });
      assert.equal(res.status, 400, k);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'invalid_argument');
      assert.match(body.error.message, /k must be an integer from 1 to 100/);
    }
    assert.equal((await server.fetch('/api/recommendations/items/parka')).status, 401);
    const device = await server.fetch('/api/recommendations/items/parka', { headers: { authorization: server.deviceToken(devices.a) } });
    assert.ok(device.status === 401 || device.status === 403, `a device token cannot read them: ${device.status}`);
  });

  test('a restart on the same data directory keeps the model', async () => {
    const beforeRestart = await absorbed('a');
    const items = await get('/api/recommendations/items/parka?tenant=brand-a');
    const shopper = await get('/api/recommendations/shoppers/newcomer?tenant=brand-a');
    await server.close();
    server = await startTestServer({ recommendations: RECS }, server.dataDir);
    owner = { authorization: server.policyToken('service') };
    assert.deepEqual(await get('/api/recommendations/items/parka?tenant=brand-a'), items);
    assert.deepEqual(await get('/api/recommendations/shoppers/newcomer?tenant=brand-a'), shopper);
    assert.equal((await get('/api/recommendations/items/x?tenant=brand-a')).model.events, beforeRestart.model.events);
  });
});

test('kill -9 while events flow, then restart: the model is exactly what one pass over the stored log builds', { timeout: 120_000 }, async () => {
  const dataDir = tempDir();
  const config = join(dataDir, 'omnistream.json');
  writeFileSync(config, JSON.stringify({ recommendations: RECS }));
  let server: ServerProcess | undefined;
  try {
    const registry = new SqliteRegistry(join(dataDir, 'registry.db'));
    const devices = await Promise.all(Array.from({ length: 4 }, (_, i) => registry.create({ deviceId: `app-${i}`, tenant: i % 2 === 0 ? 'brand-a' : 'brand-b' })));
    await registry.close();
    const tokens = devices.map((d) => signSasToken({ resource: deviceResource('localhost', d.deviceId), key: d.authentication.symmetricKey.primaryKey, expiry: Math.floor(Date.now() / 1000) + 3600 }));
    let n = 0;
    const unacked = new Map<string, { device: number; body: string }>();
    const send = async (url: string, id: string, device: number, body: string): Promise<boolean> => {
      try {
        const res = await fetch(`${url}/devices/app-${device}/messages/events`, { method: 'POST', headers: { authorization: tokens[device]!, 'iothub-messageid': id }, body });
        assert.equal(res.status, 204);
        return true;
      } catch {
        return false;
      }
    };
    const flow = async (url: string, stop: () => boolean) => {
      await Promise.all(Array.from({ length: 4 }, async () => {
        while (!stop()) {
          const i = n++;
          const device = i % 4;
          const kind = ['viewed', 'viewed', 'tried', 'bought'][i % 4]!;
          const sku = `sku-${(i * 7) % 23}`;
          const body = JSON.stringify({ event: kind, shopper: `u${i % 37}`, store: `s${i % 3}`, ...(kind === 'bought' ? { items: [{ sku }] } : { sku }) });
          unacked.set(`e-${i}`, { device, body });
          if (await send(url, `e-${i}`, device, body)) unacked.delete(`e-${i}`);
          else return;
        }
      }));
    };
    for (let crash = 0; crash < 2; crash++) {
      server = await spawnServer(['--config', config, '--data', dataDir]);
      for (const [id, { device, body }] of unacked) assert.ok(await send(server.url, id, device, body), `retry of ${id}`);
      unacked.clear();
      let killed = false;
      const flowing = flow(server.url, () => killed);
      await new Promise((r) => setTimeout(r, 1_000 + Math.random() * 500));
      killed = true;
      server.child.kill('SIGKILL');
      await server.exited;
      await flowing;
    }
    server = await spawnServer(['--config', config, '--data', dataDir]);
    for (const [id, { device, body }] of unacked) assert.ok(await send(server.url, id, device, body), `retry of ${id}`);
    const url = server.url;
    const service = FileKeyStore.open(dataDir).policy('service')!;
    const auth = { authorization: signSasToken({ resource: 'localhost', key: service.primaryKey, keyName: 'service', expiry: Math.floor(Date.now() / 1000) + 600 }) };
    const ask = async (path: string): Promise<Answer> => (await (await fetch(`${url}${path}`, { headers: auth })).json()) as Answer;
    // Every id was acknowledged once at last (retries are stored once): n events, devices 0 and 2 brand-a's.
    const perTenant = (t: string) => Array.from({ length: n }, (_, i) => i % 4).filter((d) => (d % 2 === 0) === (t === 'brand-a')).length;
    for (const t of ['brand-a', 'brand-b']) {
      await eventually(`${t} to catch up`, async () => ((await ask(`/api/recommendations/items/x?tenant=${t}`)).model.events === perTenant(t) ? true : undefined), 30_000);
    }
    const served = new Map<string, Answer['items']>();
    for (const t of ['brand-a', 'brand-b']) {
      for (let s = 0; s < 23; s++) served.set(`${t} sku-${s}`, (await ask(`/api/recommendations/items/sku-${s}?tenant=${t}&k=100`)).items);
      for (let u = 0; u < 37; u += 3) served.set(`${t} u${u}`, (await ask(`/api/recommendations/shoppers/u${u}?tenant=${t}&k=100`)).items);
    }
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);

    // The oracle: the same code over the stored messages, in the log's order, in one pass.
    const messages = await readLog(dataDir);
    assert.equal(messages.length, n, 'every event stored once');
    const oracle = new Recommender(recsConfigOf(buildConfig({ recommendations: RECS }).recommendations));
    messages.sort((x, y) => x.enqueuedTimeUtc.getTime() - y.enqueuedTimeUtc.getTime() || x.partition - y.partition || x.sequenceNumber - y.sequenceNumber);
    for (const m of messages) oracle.absorb(m.tenant, m.deviceId, JSON.parse(m.body.toString('utf8')), m.enqueuedTimeUtc.getTime());
    assert.equal(oracle.absorbed, n);
    for (const t of ['brand-a', 'brand-b']) {
      for (let s = 0; s < 23; s++) assert.deepEqual(served.get(`${t} sku-${s}`), oracle.forItem(t, `sku-${s}`, 100).items, `${t} sku-${s}`);
      for (let u = 0; u < 37; u += 3) assert.deepEqual(served.get(`${t} u${u}`), oracle.forShopper(t, `u${u}`, 100).items, `${t} u${u}`);
    }
  } finally {
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
});

async function readLog(dataDir: string): Promise<StoredMessage[]> {
  const log = new SqliteEventLog({ path: join(dataDir, 'log.db'), partitions: 4, retentionMs: 1e12, dedupWindowMs: 86_400_000, maxPendingMessages: 1e5, durability: 'process' });
  const out: StoredMessage[] = [];
  for (let p = 0; p < 4; p++) out.push(...(await log.read(p, { kind: 'earliest' }, 1e6)).messages);
  await log.close();
  return out;
}
