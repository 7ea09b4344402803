// Fencing through the shared leases, against the real PostgreSQL: a job's commit holds only while
// its worker holds the job's lease (and the epoch it started under), and a consumer group's
// checkpoint moves only for partitions whose lease names the committing reader.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import pg from 'pg';
import { OmniError } from '../../src/core/errors.js';
import { jobLeaseName } from '../../src/jobs/job-store.js';
import { PostgresJobStore } from '../../src/jobs/postgres-job-store.js';
import { PostgresConsumerGroupStore } from '../../src/log/postgres-consumer-group-store.js';
import type { PostgresTarget } from '../../src/postgres/postgres-database.js';
import { PostgresLeases } from '../../src/postgres/postgres-leases.js';
import { createSchema, PG_URL, skipWithoutPostgres } from '../helpers/postgres.js';

/** Runs `body` on a schema of its own (dropped after), with a pool the body's stores share. */
async function onFreshSchema(t: TestContext, body: (target: PostgresTarget) => Promise<void>): Promise<void> {
  if (await skipWithoutPostgres(t)) return;
  const schema = await createSchema();
  const pool = new pg.Pool({ connectionString: PG_URL, max: 4 });
  try {
    await body({ pool, schema: schema.name });
  } finally {
    await pool.end();
    await schema.drop();
  }
}

const row = (n: number) => ({ output: 'Counts', job: 'counts', tenant: 'default', timestampMs: 1_000, n: 0, row: { n } });

test('a job worker commits only while it holds the job; after another took it over, its commit is refused', (t) => onFreshSchema(t, async (target) => {
  // Two workers; a lease of 200 ms, so the first one's lapses while the test waits.
  const [first, second] = await Promise.all([PostgresLeases.open(target, 200), PostgresLeases.open(target, 200)]);
  const [storeOfFirst, storeOfSecond] = await Promise.all([PostgresJobStore.open(target, { fence: first }), PostgresJobStore.open(target, { fence: second })]);
  const refused = (e: unknown) => e instanceof OmniError && e.code === 'unavailable' && /run by another process/.test(e.message);
  try {
    await assert.rejects(storeOfFirst.commit('counts', { at: 0 }, [row(1)], 1, []), refused, 'no lease, no commit');
    assert.equal(await first.claim(jobLeaseName('counts')), 'acquired');
    assert.equal(await second.claim(jobLeaseName('counts')), 'held_elsewhere');
    await storeOfFirst.commit('counts', { at: 1 }, [row(1)], 1, []);
    await assert.rejects(storeOfSecond.commit('counts', { at: 99 }, [row(99)], 1, []), refused, 'the other worker cannot commit');

    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(await second.claim(jobLeaseName('counts')), 'acquired');
    assert.deepEqual(await storeOfSecond.checkpoint('counts'), { at: 1 }, 'the new owner starts from what the first committed');
    // The first worker, back from a stall, still believes it runs the job: its commit and reset are refused.
    await assert.rejects(storeOfFirst.commit('counts', { at: 2 }, [row(2)], 1, []), refused);
    await assert.rejects(storeOfFirst.reset('counts', null), refused);
    assert.equal(await first.claim(jobLeaseName('counts')), 'held_elsewhere');
    await storeOfSecond.commit('counts', { at: 3 }, [row(3)], 1, []);
    assert.deepEqual(await storeOfSecond.checkpoint('counts'), { at: 3 });
    assert.deepEqual((await storeOfSecond.latestRows('Counts', { limit: 10 })).map((r) => r.row), [{ n: 3 }]);
  } finally {
    await Promise.all([storeOfFirst.close(), storeOfSecond.close(), first.close(), second.close()]);
  }
}));

test('a reader reconnecting through another gateway takes its own partition at once (the epoch moves on); another reader still waits', (t) => onFreshSchema(t, async (target) => {
  // Two gateways' lease handles; the lease is long, so only the owner rule can let the second take it.
  const [gone, next] = await Promise.all([PostgresLeases.open(target, 60_000), PostgresLeases.open(target, 60_000)]);
  const store = await PostgresConsumerGroupStore.open(target);
  try {
    const group = (await store.create('audit', new Map()))!;
    const lease = (p: number) => `cg/audit/${group.generation}/p/${p}`;
    const fence = { reader: 'reader-a', lease };
    assert.equal(await gone.claim(lease(0), 'reader-a', 60_000), 'acquired');
    assert.equal(await next.claim(lease(0), 'reader-b', 60_000), 'held_elsewhere', 'another reader still waits for the lease');
    assert.equal(await next.claim(lease(0), 'reader-a', 60_000), 'acquired', 'the same reader does not');
    assert.equal(await next.claim(lease(0), 'reader-a', 60_000), 'renewed');
    assert.deepEqual(gone.fence(lease(0)), { owner: 'reader-a', epoch: 1 });
    assert.deepEqual(next.fence(lease(0)), { owner: 'reader-a', epoch: 2 });
    assert.equal(await store.commit('audit', group.generation, new Map([[0, 5]]), fence), 'committed');
    assert.deepEqual(await store.checkpoints('audit'), new Map([[0, 5]]));
  } finally {
    await Promise.all([store.close(), gone.close(), next.close()]);
  }
}));

test('a reader\'s commit moves only the partitions whose lease names it', (t) => onFreshSchema(t, async (target) => {
  const leases = await PostgresLeases.open(target, 60_000);
  const store = await PostgresConsumerGroupStore.open(target);
  try {
    const group = (await store.create('audit', new Map()))!;
    const lease = (p: number) => `cg/audit/${group.generation}/p/${p}`;
    assert.equal(await leases.claim(lease(0), 'reader-a', 60_000), 'acquired');
    assert.equal(await leases.claim(lease(1), 'reader-b', 60_000), 'acquired');
    const fence = (reader: string) => ({ reader, lease });
    assert.equal(await store.commit('audit', group.generation, new Map([[0, 10], [1, 10], [2, 10]]), fence('reader-a')), 'committed');
    assert.deepEqual(await store.checkpoints('audit'), new Map([[0, 10]]), 'partition 1 is reader-b\'s, partition 2 nobody\'s');
    assert.equal(await store.commit('audit', group.generation, new Map([[1, 7]]), fence('reader-b')), 'committed');
    assert.deepEqual(await store.checkpoints('audit'), new Map([[0, 10], [1, 7]]));
  } finally {
    await Promise.all([store.close(), leases.close()]);
  }
}));
