// Reference versions on the real PostgreSQL: the contract, and two job workers sharing them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PostgresReferenceVersionStore } from '../../src/reference/postgres-reference-version-store.js';
import { createSchema, PG_URL, postgresUnavailable, skipWithoutPostgres } from '../helpers/postgres.js';
import { referenceVersionStoreContract } from './reference-version-store.contract.js';

await referenceVersionStoreContract({
  name: 'PostgreSQL',
  unavailable: postgresUnavailable,
  fixture: async () => {
    const schema = await createSchema();
    return {
      open: () => PostgresReferenceVersionStore.open({ url: PG_URL, schema: schema.name }),
      cleanup: () => schema.drop(),
    };
  },
});

test('two stores on one schema see each other\'s versions; a row\'s key order is kept', async (t) => {
  if (await skipWithoutPostgres(t)) return;
  const schema = await createSchema();
  const [a, b] = await Promise.all([PostgresReferenceVersionStore.open({ url: PG_URL, schema: schema.name }), PostgresReferenceVersionStore.open({ url: PG_URL, schema: schema.name })]);
  try {
    await a.save('products', { validFromMs: 100, hash: 'h1', rows: [{ z: 1, a: 'x', m: null }] });
    const seen = await b.versions('products');
    assert.deepEqual(seen, [{ validFromMs: 100, hash: 'h1', rows: [{ z: 1, a: 'x', m: null }] }]);
    assert.deepEqual(Object.keys(seen[0]!.rows[0]!), ['z', 'a', 'm']);
    await b.save('products', { validFromMs: 100, hash: 'h1b', rows: [] });
    await b.save('products', { validFromMs: 200, hash: 'h2', rows: [] });
    assert.deepEqual((await a.versions('products')).map((v) => v.hash), ['h1b', 'h2']);
    await a.prune('products', 250);
    assert.deepEqual((await b.versions('products')).map((v) => v.hash), ['h2']);
  } finally {
    await a.close();
    await b.close();
    await schema.drop();
  }
});
