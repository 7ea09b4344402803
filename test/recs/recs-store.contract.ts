// The behaviour every RecsStore backend must have: a checkpoint and the model's changed records
// applied together (an item's pairs one by one), removals before upserts, tenants apart, and all of
// it there after a reopen.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ModelChanges, ShopperRecord } from '../../src/recs/item-model.js';
import type { RecsStore } from '../../src/recs/recs-store.js';
import { contractSuite, type Backend } from '../helpers/backend.js';

export interface RecsStoreFixture {
  /** Opens a store on this fixture's storage; every call opens the same data. */
  open(): Promise<RecsStore>;
  cleanup(): Promise<void>;
}

const meta = (events: number) => ({ originMs: 1_000, clockMs: 1_000 + events, touch: events, events });
const shopper = (name: string, touch: number, items: string[]): ShopperRecord => ({
  shopper: name, lastMs: 1_000 + touch, touch, store: 's1', entries: items.map((item, i) => [item, 1 + i, 1_000 + touch, 0] as const),
});
const changes = (events: number, c: Partial<ModelChanges>): ModelChanges => ({ meta: meta(events), items: [], shoppers: [], removedShoppers: [], stores: [], ...c });

export function recsStoreContract(backend: Backend<RecsStoreFixture>): Promise<void> {
  return contractSuite('RecsStore', backend, (fixture) => {
    test('an empty store has no checkpoint and no model', async () => {
      const f = await fixture();
      const store = await f.open();
      try {
        const loaded = await store.load();
        assert.equal(loaded.checkpoint, undefined);
        assert.equal(loaded.tenants.size, 0);
      } finally {
        await store.close();
        await f.cleanup();
      }
    });

    test('changes accumulate per key, removals first, tenants apart, and survive a reopen', async () => {
      const f = await fixture();
      let store = await f.open();
      try {
        await store.commit({ positions: [3, 0], absorbed: 3, skipped: { unknown_event: 1 } }, new Map([
          ['brand-a', changes(3, {
            items: [{ item: 'A', occurrence: 2, popularity: 3, pairs: [['B', 1]] }, { item: 'B', occurrence: 1, popularity: 1, pairs: [['A', 1]] }],
            shoppers: [shopper('u1', 1, ['A', 'B']), shopper('u2', 2, ['A'])],
            stores: [{ store: 's1', popularity: [['A', 3]] }],
          })],
          ['brand-b', changes(1, { items: [{ item: 'Z', occurrence: 1, popularity: 1, pairs: [] }], shoppers: [shopper('u1', 1, ['Z'])] })],
        ]));
        // u2 forgotten; u1 forgotten and seen again in the same interval (present); A's pair with B
        // changed (pruned and seen again: present) and one with C added; B's pair with A pruned.
        await store.commit({ positions: [5, 1], absorbed: 5, skipped: { unknown_event: 2 } }, new Map([
          ['brand-a', changes(5, {
            items: [
              { item: 'A', occurrence: 4, popularity: 6, pairs: [['B', 2], ['C', 1]], removedPairs: ['B'] },
              { item: 'B', occurrence: 2, popularity: 2, pairs: [], removedPairs: ['A'] },
            ],
            shoppers: [shopper('u1', 5, ['C'])],
            removedShoppers: ['u2', 'u1'],
          })],
        ]));
        await store.close();
        store = await f.open();
        const loaded = await store.load();
        assert.deepEqual(loaded.checkpoint, { positions: [5, 1], absorbed: 5, skipped: { unknown_event: 2 } });
        const a = loaded.tenants.get('brand-a')!;
        assert.deepEqual(a.meta, meta(5));
        assert.deepEqual([...a.items].sort((x, y) => x.item.localeCompare(y.item)), [
          { item: 'A', occurrence: 4, popularity: 6, pairs: [['B', 2], ['C', 1]] },
          { item: 'B', occurrence: 2, popularity: 2, pairs: [] },
        ]);
        assert.deepEqual(a.shoppers, [shopper('u1', 5, ['C'])]);
        assert.deepEqual(a.stores, [{ store: 's1', popularity: [['A', 3]] }]);
        const b = loaded.tenants.get('brand-b')!;
        assert.deepEqual(b.shoppers, [shopper('u1', 1, ['Z'])], 'the other tenant\'s u1 is untouched');
        assert.deepEqual(b.meta, meta(1));
      } finally {
        await store.close();
        await f.cleanup();
      }
    });
  });
}
