// The behaviour every ReferenceVersionStore backend must have.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReferenceVersionStore } from '../../src/reference/reference-version-store.js';
import { contractSuite, type Backend } from '../helpers/backend.js';

export interface VersionStoreFixture {
  open(): Promise<ReferenceVersionStore>;
  cleanup(): Promise<void>;
}

export function referenceVersionStoreContract(backend: Backend<VersionStoreFixture>): Promise<void> {
  return contractSuite('ReferenceVersionStore', backend, (fixture) => {
    test('versions are kept per name in time order and survive reopening; pruning keeps the one valid at the cut', async () => {
      const f = await fixture();
      let store = await f.open();
      try {
        assert.deepEqual(await store.versions('products'), []);
        await store.save('products', { validFromMs: 300, hash: 'h3', rows: [{ sku: 'a', price: '3' }] });
        await store.save('products', { validFromMs: 100, hash: 'h1', rows: [{ sku: 'a', price: '1' }] });
        await store.save('products', { validFromMs: 200, hash: 'h2', rows: [{ sku: 'a', price: '2' }, { sku: 'b', nested: { x: [1, null] } }] });
        await store.save('stores', { validFromMs: 150, hash: 's', rows: [] });
        await store.close();
        store = await f.open();
        const versions = await store.versions('products');
        assert.deepEqual(versions.map((v) => [v.validFromMs, v.hash]), [[100, 'h1'], [200, 'h2'], [300, 'h3']]);
        assert.deepEqual(versions[1]!.rows, [{ sku: 'a', price: '2' }, { sku: 'b', nested: { x: [1, null] } }]);
        await store.prune('products', 250);
        assert.deepEqual((await store.versions('products')).map((v) => v.validFromMs), [200, 300]);
        await store.prune('products', 50);
        assert.deepEqual((await store.versions('products')).map((v) => v.validFromMs), [200, 300]);
        assert.equal((await store.versions('stores')).length, 1, 'other names untouched');
      } finally {
        await store.close();
        await f.cleanup();
      }
    });
  });
}
