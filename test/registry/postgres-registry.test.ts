// The registry on the real PostgreSQL: the contract, and two gateways (two instances on one schema)
// sharing it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OmniError } from '../../src/core/errors.js';
import { PostgresRegistry } from '../../src/registry/postgres-registry.js';
import { createSchema, PG_URL, postgresUnavailable, skipWithoutPostgres } from '../helpers/postgres.js';
import { registryContract } from './registry.contract.js';

await registryContract({
  name: 'PostgreSQL',
  unavailable: postgresUnavailable,
  fixture: async () => {
    const schema = await createSchema();
    const registry = await PostgresRegistry.open({ url: PG_URL, schema: schema.name });
    return { registry, cleanup: async () => { await registry.close(); await schema.drop(); } };
  },
});

/** Two registries on one fresh schema, as two gateways would open it. */
async function twoGateways(body: (a: PostgresRegistry, b: PostgresRegistry) => Promise<void>): Promise<void> {
  const schema = await createSchema();
  const [a, b] = await Promise.all([PostgresRegistry.open({ url: PG_URL, schema: schema.name }), PostgresRegistry.open({ url: PG_URL, schema: schema.name })]);
  try {
    await body(a, b);
  } finally {
    await a.close();
    await b.close();
    await schema.drop();
  }
}

test('two registries on one schema see each other\'s writes at once', async (t) => {
  if (await skipWithoutPostgres(t)) return;
  await twoGateways(async (a, b) => {
    const created = await a.create({ deviceId: 'shared', tenant: 'brand' });
    assert.deepEqual(await b.get('shared'), created);
    const updated = await b.update({ deviceId: 'shared', status: 'disabled' }, created.etag);
    assert.deepEqual(await a.get('shared'), updated);
    await assert.rejects(a.update({ deviceId: 'shared' }, created.etag), (e) => e instanceof OmniError && e.code === 'precondition_failed', 'a\'s etag is stale');
    await a.recordActivity(new Map([['shared', new Date('2026-01-01T00:00:02Z')]]));
    await b.recordActivity(new Map([['shared', new Date('2026-01-01T00:00:01Z')]]));
    assert.equal((await a.get('shared'))!.lastActivityTime, '2026-01-01T00:00:02.000Z', 'activity only moves forward, whichever gateway reports it');
    assert.deepEqual((await b.list()).map((d) => d.deviceId), ['shared']);
    await b.delete('shared', updated.etag);
    assert.equal(await a.get('shared'), undefined);
  });
});

test('racing gateways: one create of an id wins, concurrent updates all land one after another', async (t) => {
  if (await skipWithoutPostgres(t)) return;
  await twoGateways(async (a, b) => {
    const outcomes = await Promise.allSettled([a.create({ deviceId: 'race' }), b.create({ deviceId: 'race' }), a.create({ deviceId: 'race' }), b.create({ deviceId: 'race' })]);
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
    for (const o of outcomes) if (o.status === 'rejected') assert.equal((o.reason as OmniError).code, 'device_exists');
    const etags = new Set<string>();
    const updates = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).update({ deviceId: 'race', statusReason: `r${i}` }, '*')));
    for (const u of updates) etags.add(u.etag);
    assert.equal(etags.size, 10, 'every update made its own version');
    const final = (await a.get('race'))!;
    assert.ok(updates.some((u) => u.etag === final.etag && u.statusReason === final.statusReason), 'the stored record is one of the updates, whole');
  });
});

test('two gateways\' batches of activity for the same devices both land (no deadlock); unknown devices are skipped', async (t) => {
  if (await skipWithoutPostgres(t)) return;
  await twoGateways(async (a, b) => {
    for (let i = 0; i < 20; i++) await a.create({ deviceId: `d${i}` });
    const at = new Date('2026-03-01T10:00:00.123Z');
    const batch = new Map(Array.from({ length: 25 }, (_, i) => [`d${i}`, at] as const));
    await Promise.all([a.recordActivity(batch), b.recordActivity(new Map([...batch].reverse()))]);
    const devices = await b.list();
    assert.equal(devices.length, 20);
    assert.ok(devices.every((d) => d.lastActivityTime === at.toISOString()));
  });
});
