import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqliteRecsStore } from '../../src/recs/sqlite-recs-store.js';
import { tempDir } from '../helpers/server.js';
import { recsStoreContract } from './recs-store.contract.js';

await recsStoreContract({
  name: 'recs.db',
  fixture: async () => {
    const dir = tempDir();
    return {
      open: async () => new SqliteRecsStore(join(dir, 'recs.db')),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
});

test('a recs.db from before pair rows (pairs inside the item\'s record) loads the same, and its pairs then change one by one', async () => {
  const dir = tempDir();
  const path = join(dir, 'recs.db');
  try {
    const old = new Database(path);
    old.exec(`
      CREATE TABLE recs_checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), checkpoint TEXT NOT NULL);
      CREATE TABLE recs_meta (tenant TEXT PRIMARY KEY, meta TEXT NOT NULL);
      CREATE TABLE recs_items (tenant TEXT NOT NULL, item TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (tenant, item)) WITHOUT ROWID;
    `);
    const meta = { originMs: 1_000, clockMs: 1_002, touch: 2, events: 2 };
    old.prepare('INSERT INTO recs_checkpoint VALUES (1, ?)').run(JSON.stringify({ positions: [2], absorbed: 2, skipped: {} }));
    old.prepare('INSERT INTO recs_meta VALUES (?, ?)').run('default', JSON.stringify(meta));
    const insert = old.prepare('INSERT INTO recs_items VALUES (?, ?, ?)');
    insert.run('default', 'A', JSON.stringify({ item: 'A', occurrence: 1, popularity: 1, pairs: [['B', 0.5], ['C', 0.25]] }));
    insert.run('default', 'B', JSON.stringify({ item: 'B', occurrence: 1, popularity: 1, pairs: [['A', 0.5]] }));
    old.close();

    let store = new SqliteRecsStore(path);
    const items = (await store.load()).tenants.get('default')!.items;
    assert.deepEqual(items, [
      { item: 'A', occurrence: 1, popularity: 1, pairs: [['B', 0.5], ['C', 0.25]] },
      { item: 'B', occurrence: 1, popularity: 1, pairs: [['A', 0.5]] },
    ]);
    // A change of one pair keeps the others, which now have rows of their own.
    await store.commit({ positions: [3], absorbed: 3, skipped: {} }, new Map([['default', {
      meta: { ...meta, events: 3 }, items: [{ item: 'A', occurrence: 2, popularity: 2, pairs: [['B', 1]] }], shoppers: [], removedShoppers: [], stores: [],
    }]]));
    await store.close();
    store = new SqliteRecsStore(path);
    assert.deepEqual((await store.load()).tenants.get('default')!.items[0], { item: 'A', occurrence: 2, popularity: 2, pairs: [['B', 1], ['C', 0.25]] });
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
