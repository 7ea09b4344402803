// The key store on the real PostgreSQL: the contract (its "another store" case is a second
// instance with its own connections, as another process would be), first opens racing, and a
// store that loses its database.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { KEY_REFRESH_MS } from '../../src/auth/key-store.js';
import { PostgresKeyStore } from '../../src/auth/postgres-key-store.js';
import { OmniError } from '../../src/core/errors.js';
import { DEFAULT_POLICIES } from '../../src/core/rights.js';
import { createSchema, PG_URL, postgresUnavailable, skipWithoutPostgres, type TestSchema } from '../helpers/postgres.js';
import { keyStoreContract } from './key-store.contract.js';

await keyStoreContract({
  name: 'PostgreSQL',
  unavailable: postgresUnavailable,
  fixture: async () => {
    const schema = await createSchema();
    const opened: PostgresKeyStore[] = [];
    return {
      open: async (options = {}) => {
        const store = await PostgresKeyStore.open({ url: PG_URL, schema: schema.name }, options);
        opened.push(store);
        return store;
      },
      // Stores a case opened and never closed too.
      cleanup: async () => {
        for (const store of opened) await store.close();
        await schema.drop();
      },
    };
  },
});

/** Waits until `check` holds, failing when it still does not after `ms`. */
async function within(ms: number, what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(20);
  }
}

async function withSchema(body: (schema: TestSchema) => Promise<void>): Promise<void> {
  const schema = await createSchema();
  try {
    await body(schema);
  } finally {
    await schema.drop();
  }
}

// Independent (a schema each) and mostly waiting for polls: run together.
describe('PostgreSQL key store across processes', { concurrency: true }, () => {
  test('processes opening a new store at the same moment create the default keys once', async (t) => {
    if (await skipWithoutPostgres(t)) return;
    await withSchema(async (schema) => {
      const stores = await Promise.all(Array.from({ length: 4 }, () => PostgresKeyStore.open({ url: PG_URL, schema: schema.name })));
      try {
        for (const s of stores) {
          assert.deepEqual(s.policies(), stores[0]!.policies());
          assert.deepEqual(s.appKeys(), stores[0]!.appKeys());
        }
        assert.equal(stores[0]!.appKeys().length, 1);
        assert.deepEqual(await schema.query('SELECT count(*)::int AS n FROM key_policies'), [{ n: Object.keys(DEFAULT_POLICIES).length }]);
        assert.deepEqual(await schema.query('SELECT count(*)::int AS n FROM app_keys'), [{ n: 1 }]);
      } finally {
        for (const s of stores) await s.close();
      }
    });
  });

  test('two stores: viewer keys and revocations cross within the refresh interval; a key revoked by both is revoked once', async (t) => {
    if (await skipWithoutPostgres(t)) return;
    await withSchema(async (schema) => {
      const a = await PostgresKeyStore.open({ url: PG_URL, schema: schema.name });
      const b = await PostgresKeyStore.open({ url: PG_URL, schema: schema.name });
      try {
        const viewer = await a.addViewerKey(null);
        const app = await a.addAppKey('brand-z');
        await within(KEY_REFRESH_MS + 200, 'b sees a\'s new keys', () => b.tenantOfAppKey(app.key) === 'brand-z');
        assert.deepEqual(b.viewerKey(viewer.key), viewer);
        const outcomes = await Promise.allSettled([a.revokeAppKey(app.key), b.revokeAppKey(app.key)]);
        assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
        assert.ok(outcomes.some((o) => o.status === 'rejected' && o.reason instanceof OmniError && o.reason.code === 'invalid_app_key'));
        await b.revokeViewerKey(viewer.key);
        assert.equal(b.viewerKey(viewer.key), undefined, 'the writer sees its write at once');
        await within(KEY_REFRESH_MS + 200, 'a sees b\'s revocation', () => a.viewerKey(viewer.key) === undefined);
        assert.equal(a.tenantOfAppKey(app.key), undefined);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });

  test('a store whose connections are cut keeps serving its keys, reconnects by itself, and sees changes again', async (t) => {
    if (await skipWithoutPostgres(t)) return;
    await withSchema(async (schema) => {
      const url = new URL(PG_URL);
      url.searchParams.set('application_name', `keys-${schema.name}`);
      const cut = await PostgresKeyStore.open({ url: url.toString(), schema: schema.name });
      const other = await PostgresKeyStore.open({ url: PG_URL, schema: schema.name });
      try {
        const before = cut.policies();
        await schema.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [`keys-${schema.name}`]);
        assert.deepEqual(cut.policies(), before, 'reads never wait for the database');
        const added = await other.addAppKey('after-the-cut');
        await within(2 * KEY_REFRESH_MS + 200, 'the cut store sees the new key', () => cut.tenantOfAppKey(added.key) === 'after-the-cut');
      } finally {
        await cut.close();
        await other.close();
      }
    });
  });

  test('a store whose database is gone keeps serving what it has; writes fail saying where', async (t) => {
    if (await skipWithoutPostgres(t)) return;
    await withSchema(async (schema) => {
      const pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
      const store = await PostgresKeyStore.open({ pool, schema: schema.name });
      try {
        const key = store.appKeys()[0]!;
        await pool.end();
        await sleep(KEY_REFRESH_MS + 200);
        assert.equal(store.tenantOfAppKey(key.key), 'default');
        await assert.rejects(store.addAppKey('brand'), (e) => e instanceof OmniError && e.code === 'unavailable' && e.message.includes(schema.name) && e.message.includes('the key store'));
      } finally {
        await store.close();
      }
    });
  });
});
