// The behaviour every JobStore backend must have. Each backend's test calls jobStoreContract.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobStore } from '../../src/jobs/job-store.js';
import type { NewOutputRow } from '../../src/outputs/output-row.js';
import { contractSuite, type Backend } from '../helpers/backend.js';

export interface JobStoreFixture {
  /** Opens a store on this fixture's storage; every call opens the same data. */
  open(): Promise<JobStore>;
  cleanup(): Promise<void>;
}

const row = (output: string, ts: number, n = 0, extra: Partial<NewOutputRow> = {}): NewOutputRow => ({
  output, job: 'j', tenant: 'brand-a', timestampMs: ts, n, row: { ts, n, output }, ...extra,
});

export function jobStoreContract(backend: Backend<JobStoreFixture>): Promise<void> {
  return contractSuite('JobStore', backend, (fixture) => {
    async function withStore(body: (store: JobStore, reopen: () => Promise<JobStore>) => Promise<void>): Promise<void> {
      const f = await fixture();
      const opened = [await f.open()];
      try {
        await body(opened[0]!, async () => {
          await opened[opened.length - 1]!.close();
          opened.push(await f.open());
          return opened[opened.length - 1]!;
        });
      } finally {
        await opened[opened.length - 1]!.close();
        await f.cleanup();
      }
    }

    test('a commit stores the rows and the checkpoint together, and both survive reopening', () => withStore(async (store, reopen) => {
      assert.equal(await store.checkpoint('j'), undefined);
      const stored = await store.commit('j', { at: 1, nested: { a: [1, 2] } }, [row('Top', 1000), row('Top', 1000, 1), row('Other', 2000)], 5_000, []);
      assert.deepEqual(stored.map((r) => [r.output, r.timestampMs, r.n, r.committedClockMs]), [['Top', 1000, 0, 5000], ['Top', 1000, 1, 5000], ['Other', 2000, 0, 5000]]);
      assert.ok(stored[0]!.id < stored[1]!.id && stored[1]!.id < stored[2]!.id, 'ids follow commit order');
      const again = await reopen();
      assert.deepEqual(await again.checkpoint('j'), { at: 1, nested: { a: [1, 2] } });
      assert.deepEqual((await again.rowsAfter('Top', 0, 10)).map((r) => r.row), [{ ts: 1000, n: 0, output: 'Top' }, { ts: 1000, n: 1, output: 'Top' }]);
    }));

    test('a row repeating an identity replaces the earlier one: a rerun never adds a copy', () => withStore(async (store) => {
      await store.commit('j', { c: 1 }, [row('Top', 1000, 0, { row: { v: 'first' } })], 1, []);
      await store.commit('j', { c: 2 }, [row('Top', 1000, 0, { row: { v: 'again' } }), row('Top', 1000, 0, { tenant: 'brand-b', row: { v: 'other tenant' } })], 2, []);
      const rows = await store.rowsAfter('Top', 0, 10);
      assert.deepEqual(rows.map((r) => [r.tenant, r.row.v]), [['brand-a', 'again'], ['brand-b', 'other tenant']]);
    }));

    test('latest rows: the newest by timestamp, filtered by tenant, job and time, returned oldest first', () => withStore(async (store) => {
      const rows = Array.from({ length: 10 }, (_, i) => row('Top', 1000 * (i + 1), 0, { tenant: i % 2 === 0 ? 'a' : 'b', job: i < 5 ? 'j' : 'k' }));
      await store.commit('j', {}, rows, 1, []);
      assert.deepEqual((await store.latestRows('Top', { limit: 3 })).map((r) => r.timestampMs), [8000, 9000, 10000]);
      assert.deepEqual((await store.latestRows('Top', { limit: 3, tenant: 'a' })).map((r) => r.timestampMs), [5000, 7000, 9000]);
      assert.deepEqual((await store.latestRows('Top', { limit: 100, sinceMs: 8000 })).map((r) => r.timestampMs), [8000, 9000, 10000]);
      assert.deepEqual((await store.latestRows('Top', { limit: 100, job: 'k', tenant: 'b' })).map((r) => r.timestampMs), [6000, 8000, 10000]);
      assert.deepEqual(await store.latestRows('Nothing', { limit: 5 }), []);
    }));

    test('delivery positions only move forward; the backlog counts what is after them', () => withStore(async (store, reopen) => {
      const stored = await store.commit('j', {}, [row('Hook', 1), row('Hook', 2), row('Hook', 3)], 1, []);
      assert.equal(await store.delivered('Hook'), 0);
      assert.equal(await store.backlog('Hook'), 3);
      await store.markDelivered('Hook', stored[1]!.id);
      await store.markDelivered('Hook', stored[0]!.id);
      const again = await reopen();
      assert.equal(await again.delivered('Hook'), stored[1]!.id);
      assert.equal(await again.backlog('Hook'), 1);
      assert.deepEqual((await again.rowsAfter('Hook', stored[1]!.id, 10)).map((r) => r.timestampMs), [3]);
    }));

    test('stream clocks are committed with the rows and never go back', () => withStore(async (store) => {
      assert.equal(await store.clock('Stream'), 0);
      await store.commit('j', {}, [row('Stream', 1)], 100, ['Stream']);
      await store.commit('j', {}, [], 250, ['Stream']);
      await store.commit('j', {}, [], 200, ['Stream']);
      assert.equal(await store.clock('Stream'), 250);
      assert.equal(await store.clock('Other'), 0);
    }));

    test('reset removes the checkpoint and the job\'s rows from a time on (or all), and no other job\'s', () => withStore(async (store) => {
      await store.commit('j', { c: 1 }, [row('Top', 1000), row('Top', 2000), row('Top', 3000)], 1, []);
      await store.commit('k', { c: 1 }, [row('Top', 2500, 0, { job: 'k' })], 1, []);
      await store.reset('j', 2000);
      assert.equal(await store.checkpoint('j'), undefined);
      assert.deepEqual(await store.checkpoint('k'), { c: 1 });
      assert.deepEqual((await store.rowsAfter('Top', 0, 10)).map((r) => [r.job, r.timestampMs]), [['j', 1000], ['k', 2500]]);
      await store.reset('j', null);
      assert.deepEqual((await store.rowsAfter('Top', 0, 10)).map((r) => r.job), ['k']);
    }));

    test('prune keeps the newest rows and the recent ones, and never what is not yet delivered', () => withStore(async (store) => {
      const now = 1_000_000;
      const stored = await store.commit('j', {}, Array.from({ length: 10 }, (_, i) => row('Top', now - (10 - i) * 1000)), 1, []);
      // Keep 5 rows, at most 3.5 s old, but nothing after the 4th row (not delivered yet).
      const deleted = await store.prune('Top', { rows: 5, maxAgeMs: 3_500, keepAfterId: stored[3]!.id }, now);
      assert.equal(deleted, 4);
      assert.deepEqual((await store.rowsAfter('Top', 0, 20)).map((r) => r.timestampMs), stored.slice(4).map((r) => r.timestampMs));
      const more = await store.prune('Top', { rows: 5, maxAgeMs: 3_500, keepAfterId: Number.MAX_SAFE_INTEGER }, now);
      assert.equal(more, 3);
      assert.deepEqual((await store.rowsAfter('Top', 0, 20)).map((r) => r.timestampMs), [now - 3000, now - 2000, now - 1000]);
    }));
  });
}
