// The behaviour every ConsumerGroupStore backend must have. Each backend's test calls this.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConsumerGroupStore } from '../../src/log/consumer-group-store.js';
import { contractSuite, type Backend } from '../helpers/backend.js';

export interface StoreFactory {
  /** Opens a store; the same `name` reopens the same data. */
  open(name: string): Promise<ConsumerGroupStore>;
  cleanup(): Promise<void>;
}

export function consumerGroupStoreContract(backend: Backend<StoreFactory>): Promise<void> {
  return contractSuite('ConsumerGroupStore', backend, (factory) => {
    let n = 0;
    async function withStore(body: (store: ConsumerGroupStore, reopen: () => Promise<ConsumerGroupStore>) => Promise<void>) {
      const f = await factory();
      const name = `s${n++}`;
      const opened: ConsumerGroupStore[] = [await f.open(name)];
      try {
        await body(opened[0]!, async () => {
          await opened[opened.length - 1]!.close();
          opened.push(await f.open(name));
          return opened[opened.length - 1]!;
        });
      } finally {
        for (const s of opened) await s.close();
        await f.cleanup();
      }
    }

    test('groups are created once, listed, read and deleted with their checkpoints', () =>
      withStore(async (store) => {
        const a = await store.create('analytics', new Map([[1, 5]]));
        assert.ok(a);
        assert.equal(a.name, 'analytics');
        assert.ok(a.createdAt instanceof Date);
        assert.equal(await store.create('analytics', new Map()), undefined, 'a second create is refused');
        await store.create('recs', new Map());
        assert.deepEqual((await store.list()).map((g) => g.name), ['analytics', 'recs']);
        assert.deepEqual(await store.checkpoints('analytics'), new Map([[1, 5]]));
        assert.equal(await store.delete('analytics'), true);
        assert.equal(await store.delete('analytics'), false);
        assert.equal(await store.get('analytics'), undefined);
        await store.create('analytics', new Map());
        assert.deepEqual(await store.checkpoints('analytics'), new Map(), 'a recreated group does not inherit checkpoints');
      }));

    test('commits move checkpoints forward only, and only in the current generation', () =>
      withStore(async (store) => {
        const g = (await store.create('g', new Map()))!;
        assert.equal(await store.commit('g', g.generation, new Map([[0, 10], [1, 3]])), 'committed');
        assert.equal(await store.commit('g', g.generation, new Map([[0, 4], [2, 7]])), 'committed');
        assert.deepEqual(await store.checkpoints('g'), new Map([[0, 10], [1, 3], [2, 7]]));
        assert.equal(await store.commit('g', 'another-generation', new Map([[0, 99]])), 'stale_generation');
        assert.equal(await store.commit('missing', g.generation, new Map([[0, 1]])), 'group_not_found');
        assert.deepEqual(await store.checkpoints('g'), new Map([[0, 10], [1, 3], [2, 7]]));
      }));

    test('repositioning replaces every checkpoint and changes the generation', () =>
      withStore(async (store) => {
        const g = (await store.create('g', new Map()))!;
        await store.commit('g', g.generation, new Map([[0, 10], [1, 3]]));
        const moved = await store.reposition('g', new Map([[0, 2]]));
        assert.ok(moved);
        assert.notEqual(moved.generation, g.generation);
        assert.deepEqual(await store.checkpoints('g'), new Map([[0, 2]]));
        assert.equal(await store.commit('g', g.generation, new Map([[0, 50]])), 'stale_generation');
        assert.equal(await store.reposition('missing', new Map()), undefined);
      }));

    test('groups, checkpoints and the cursor key survive a reopen', () =>
      withStore(async (store, reopen) => {
        const g = (await store.create('g', new Map()))!;
        await store.commit('g', g.generation, new Map([[3, 42]]));
        const key = await store.cursorKey();
        assert.ok(key.length >= 32);
        const again = await reopen();
        assert.deepEqual(await again.get('g'), g);
        assert.deepEqual(await again.checkpoints('g'), new Map([[3, 42]]));
        assert.deepEqual(await again.cursorKey(), key);
      }));
  });
}
