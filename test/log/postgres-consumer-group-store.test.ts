// Consumer groups on the real PostgreSQL: the contract, and two gateways (two instances on one
// schema) committing to the same groups.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConsumerGroupStore } from '../../src/log/consumer-group-store.js';
import { PostgresConsumerGroupStore } from '../../src/log/postgres-consumer-group-store.js';
import { createSchema, PG_URL, postgresUnavailable, skipWithoutPostgres, type TestSchema } from '../helpers/postgres.js';
import { consumerGroupStoreContract } from './consumer-group-store.contract.js';

await consumerGroupStoreContract({
  name: 'PostgreSQL',
  unavailable: postgresUnavailable,
  fixture: async () => {
    // The contract names its stores; each name is a schema of its own.
    const schemas = new Map<string, TestSchema>();
    return {
      open: async (name) => {
        let schema = schemas.get(name);
        if (!schema) schemas.set(name, (schema = await createSchema()));
        return PostgresConsumerGroupStore.open({ url: PG_URL, schema: schema.name });
      },
      cleanup: async () => {
        for (const schema of schemas.values()) await schema.drop();
      },
    };
  },
});

async function twoGateways(body: (a: ConsumerGroupStore, b: ConsumerGroupStore) => Promise<void>): Promise<void> {
  const schema = await createSchema();
  const [a, b] = await Promise.all([PostgresConsumerGroupStore.open({ url: PG_URL, schema: schema.name }), PostgresConsumerGroupStore.open({ url: PG_URL, schema: schema.name })]);
  try {
    await body(a, b);
  } finally {
    await a.close();
    await b.close();
    await schema.drop();
  }
}

test('two stores on one schema share groups, checkpoints, generations and the cursor key', async (t) => {
  if (await skipWithoutPostgres(t)) return;
  await twoGateways(async (a, b) => {
    const [keyA, keyB] = await Promise.all([a.cursorKey(), b.cursorKey()]);
    assert.deepEqual(keyA, keyB, 'created once, even when both ask at the same moment');
    const g = (await a.create('analytics', new Map([[0, 1]])))!;
    assert.equal(await b.create('analytics', new Map()), undefined);
    assert.deepEqual(await b.get('analytics'), g);
    assert.equal(await b.commit('analytics', g.generation, new Map([[0, 7], [1, 2]])), 'committed');
    assert.deepEqual(await a.checkpoints('analytics'), new Map([[0, 7], [1, 2]]));
    const moved = (await a.reposition('analytics', new Map([[1, 1]])))!;
    assert.equal(await b.commit('analytics', g.generation, new Map([[1, 9]])), 'stale_generation', 'b\'s reader holds the old generation');
    assert.deepEqual(await b.checkpoints('analytics'), new Map([[1, 1]]));
    assert.equal(await b.commit('analytics', moved.generation, new Map([[1, 3]])), 'committed');
    assert.equal(await b.delete('analytics'), true);
    assert.equal(await a.commit('analytics', moved.generation, new Map([[1, 4]])), 'group_not_found');
    assert.deepEqual(await a.list(), []);
  });
});

test('concurrent commits from two gateways keep the highest position of each partition', async (t) => {
  if (await skipWithoutPostgres(t)) return;
  await twoGateways(async (a, b) => {
    const g = (await a.create('g', new Map()))!;
    const commits = Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).commit('g', g.generation, new Map([[0, i], [1, 40 - i], [i % 4, 100 + i]])));
    assert.ok((await Promise.all(commits)).every((o) => o === 'committed'));
    assert.deepEqual(await b.checkpoints('g'), new Map([[0, 136], [1, 137], [2, 138], [3, 139]]));
  });
});

test('a reposition racing commits: no commit of the old generation lands after it', async (t) => {
  if (await skipWithoutPostgres(t)) return;
  await twoGateways(async (a, b) => {
    const g = (await a.create('g', new Map()))!;
    const racing = Array.from({ length: 30 }, (_, i) => b.commit('g', g.generation, new Map([[0, 1000 + i]])));
    // Some commits land before the reposition, the rest queue behind it.
    await new Promise((resolve) => setTimeout(resolve, 2));
    const moved = (await a.reposition('g', new Map([[0, 5]])))!;
    const outcomes = await Promise.all(racing);
    // Whatever committed before the reposition was overwritten by it; nothing came after it.
    assert.ok(outcomes.every((o) => o === 'committed' || o === 'stale_generation'));
    assert.deepEqual(await a.checkpoints('g'), new Map([[0, 5]]));
    assert.equal((await b.get('g'))!.generation, moved.generation);
  });
});
