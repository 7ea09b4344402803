// The job store on the real PostgreSQL: the contract, and two job workers (two instances on one
// schema) committing at once while a reader follows the ledger.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PostgresJobStore } from '../../src/jobs/postgres-job-store.js';
import type { NewOutputRow, OutputRow } from '../../src/outputs/output-row.js';
import { createSchema, PG_URL, postgresUnavailable, skipWithoutPostgres } from '../helpers/postgres.js';
import { jobStoreContract } from './job-store.contract.js';

await jobStoreContract({
  name: 'PostgreSQL',
  unavailable: postgresUnavailable,
  fixture: async () => {
    const schema = await createSchema();
    return {
      open: () => PostgresJobStore.open({ url: PG_URL, schema: schema.name }),
      cleanup: () => schema.drop(),
    };
  },
});

async function twoWorkers(body: (a: PostgresJobStore, b: PostgresJobStore) => Promise<void>): Promise<void> {
  const schema = await createSchema();
  const [a, b] = await Promise.all([PostgresJobStore.open({ url: PG_URL, schema: schema.name }), PostgresJobStore.open({ url: PG_URL, schema: schema.name })]);
  try {
    await body(a, b);
  } finally {
    await a.close();
    await b.close();
    await schema.drop();
  }
}

const row = (output: string, job: string, ts: number, n = 0, v: unknown = ts): NewOutputRow => ({ output, job, tenant: 't', timestampMs: ts, n, row: { v } });

test('two stores on one schema see each other\'s commits, checkpoints, clocks and delivery positions', async (t) => {
  if (await skipWithoutPostgres(t)) return;
  await twoWorkers(async (a, b) => {
    const stored = await a.commit('j', { at: 1 }, [row('Top', 'j', 1000), row('Top', 'j', 2000)], 50, ['Top']);
    assert.deepEqual(await b.checkpoint('j'), { at: 1 });
    assert.deepEqual(await b.rowsAfter('Top', 0, 10), stored);
    assert.equal(await b.clock('Top'), 50);
    await b.markDelivered('Top', stored[0]!.id);
    assert.equal(await a.delivered('Top'), stored[0]!.id);
    assert.equal(await a.backlog('Top'), 1);
    await b.reset('j', null);
    assert.equal(await a.checkpoint('j'), undefined);
    assert.deepEqual(await a.rowsAfter('Top', 0, 10), []);
  });
});

test('commits racing from two workers: each one\'s ids are a block of their own, and a reader following by id misses none', async (t) => {
  if (await skipWithoutPostgres(t)) return;
  await twoWorkers(async (a, b) => {
    let done = false;
    const seen: OutputRow[] = [];
    const reader = (async () => {
      let after = 0;
      for (;;) {
        const finished = done;
        const page = await a.rowsAfter('Feed', after, 1000);
        seen.push(...page);
        if (page.length > 0) after = page.at(-1)!.id;
        if (finished && page.length === 0) return;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const commits = await Promise.all(Array.from({ length: 24 }, (_, i) => {
      const store = i % 2 ? a : b;
      return store.commit(`job${i % 4}`, { i }, Array.from({ length: 5 }, (_, k) => row('Feed', `job${i % 4}`, i * 10 + k)), i, ['Feed']);
    }));
    done = true;
    await reader;
    const blocks = commits.map((c) => c.map((r) => r.id)).sort((x, y) => x[0]! - y[0]!);
    for (const ids of blocks) assert.deepEqual(ids, Array.from({ length: 5 }, (_, k) => ids[0]! + k), 'one commit draws its ids alone');
    for (let i = 1; i < blocks.length; i++) assert.ok(blocks[i]![0]! > blocks[i - 1]!.at(-1)!);
    assert.equal(new Set(seen.map((r) => r.id)).size, 120, 'the reader saw every row');
    assert.equal(seen.length, 120, 'and none twice');
  });
});

test('a commit repeating an identity in itself keeps the later row, as the embedded store does', async (t) => {
  if (await skipWithoutPostgres(t)) return;
  await twoWorkers(async (a, b) => {
    const stored = await a.commit('j', {}, [row('Top', 'j', 1, 0, 'first'), row('Top', 'j', 2), row('Top', 'j', 1, 0, 'second'), row('Top', 'j', 3)], 1, ['Top', 'Top']);
    assert.equal(stored.length, 4);
    assert.ok(stored.every((r, i) => i === 0 || r.id > stored[i - 1]!.id), 'ids follow the order given');
    assert.deepEqual((await b.rowsAfter('Top', 0, 10)).map((r) => [r.timestampMs, r.row.v]), [[2, 2], [1, 'second'], [3, 3]]);
  });
});

test('prune works through many rows in steps', async (t) => {
  if (await skipWithoutPostgres(t)) return;
  await twoWorkers(async (a) => {
    const rows = Array.from({ length: 12_000 }, (_, i) => row('Big', 'j', i));
    await a.commit('j', {}, rows, 1, []);
    assert.equal(await a.prune('Big', { rows: 1_000, maxAgeMs: Number.MAX_SAFE_INTEGER, keepAfterId: Number.MAX_SAFE_INTEGER }, 20_000), 11_000);
    assert.equal(await a.backlog('Big'), 1_000);
  });
});
