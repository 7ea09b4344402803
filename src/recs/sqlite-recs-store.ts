// The embedded recommender store: `<data>/recs.db` (SQLite, WAL). One row per item, co-occurring
// pair, shopper and store of each tenant, so a checkpoint writes what changed, not the model; the
// positions row is written in the same transaction.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ItemRecord, ModelChanges, ModelMeta, ModelRecords, ShopperRecord, StoreRecord } from './item-model.js';

/** An item's row: its record without the pairs, which have rows of their own. */
type ItemRow = Omit<ItemRecord, 'pairs'>;
import type { RecsCheckpoint, RecsStore, StoredModels } from './recs-store.js';
import { WalCheckpointer } from '../log/wal-checkpointer.js';

/**
 * How long a checkpoint may write before the questions waiting on the recommender's thread are
 * answered. By time, not rows: an item's row carries up to twice `neighbours` pairs, and 500 such
 * rows held requests up for ~100 ms.
 */
const SLICE_MS = 1;
const WAL_CHECKPOINT_MS = 1_000;

export class SqliteRecsStore implements RecsStore {
  private readonly db: Database.Database;
  private readonly stmts;
  private readonly checkpointer: WalCheckpointer;

  /** `onError` hears background failures (the WAL checkpoints) that no caller sees. */
  constructor(path: string, onError: (message: string) => void = () => undefined) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a commit survives kill -9 (the log's default durability).
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    // A checkpoint writes tens of MB: the WAL checkpoint its COMMIT crossed took 200-500 ms on the
    // recommender's thread, and every recommendation waited (docs/recommendations.md, "Serving").
    this.db.pragma('wal_autocheckpoint = 0');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS recs_checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), checkpoint TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS recs_meta (tenant TEXT PRIMARY KEY, meta TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS recs_items (tenant TEXT NOT NULL, item TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (tenant, item)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS recs_pairs (tenant TEXT NOT NULL, item TEXT NOT NULL, other TEXT NOT NULL, count REAL NOT NULL, PRIMARY KEY (tenant, item, other)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS recs_shoppers (tenant TEXT NOT NULL, shopper TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (tenant, shopper)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS recs_stores (tenant TEXT NOT NULL, store TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (tenant, store)) WITHOUT ROWID;
    `);
    const db = this.db;
    this.stmts = {
      checkpoint: db.prepare<[], { checkpoint: string }>('SELECT checkpoint FROM recs_checkpoint WHERE id = 1'),
      saveCheckpoint: db.prepare<[string]>('INSERT OR REPLACE INTO recs_checkpoint (id, checkpoint) VALUES (1, ?)'),
      metas: db.prepare<[], { tenant: string; meta: string }>('SELECT tenant, meta FROM recs_meta'),
      items: db.prepare<[string], { record: string }>('SELECT record FROM recs_items WHERE tenant = ?'),
      shoppers: db.prepare<[string], { record: string }>('SELECT record FROM recs_shoppers WHERE tenant = ?'),
      stores: db.prepare<[string], { record: string }>('SELECT record FROM recs_stores WHERE tenant = ?'),
      saveMeta: db.prepare<[string, string]>('INSERT OR REPLACE INTO recs_meta (tenant, meta) VALUES (?, ?)'),
      saveItem: db.prepare<[string, string, string]>('INSERT OR REPLACE INTO recs_items (tenant, item, record) VALUES (?, ?, ?)'),
      pairs: db.prepare<[string], [string, string, number]>('SELECT item, other, count FROM recs_pairs WHERE tenant = ? ORDER BY item, other').raw(true) as unknown as Database.Statement<[string], [string, string, number]>,
      savePair: db.prepare<[string, string, string, number]>('INSERT OR REPLACE INTO recs_pairs (tenant, item, other, count) VALUES (?, ?, ?, ?)'),
      deletePair: db.prepare<[string, string, string]>('DELETE FROM recs_pairs WHERE tenant = ? AND item = ? AND other = ?'),
      saveShopper: db.prepare<[string, string, string]>('INSERT OR REPLACE INTO recs_shoppers (tenant, shopper, record) VALUES (?, ?, ?)'),
      deleteShopper: db.prepare<[string, string]>('DELETE FROM recs_shoppers WHERE tenant = ? AND shopper = ?'),
      saveStore: db.prepare<[string, string, string]>('INSERT OR REPLACE INTO recs_stores (tenant, store, record) VALUES (?, ?, ?)'),
    };
    this.moveLegacyPairs();
    this.checkpointer = new WalCheckpointer(path, WAL_CHECKPOINT_MS, onError);
  }

  /** A recs.db from before pair rows kept every item's pairs in its record: they move to recs_pairs, once. */
  private moveLegacyPairs(): void {
    const legacy = this.db.prepare<[], { tenant: string; record: string }>(`SELECT tenant, record FROM recs_items WHERE record LIKE '%"pairs":%'`).all();
    if (legacy.length === 0) return;
    this.db.transaction(() => {
      for (const { tenant, record } of legacy) {
        const r = JSON.parse(record) as ItemRecord;
        for (const [other, n] of r.pairs) this.stmts.savePair.run(tenant, r.item, other, n);
        this.stmts.saveItem.run(tenant, r.item, JSON.stringify({ item: r.item, occurrence: r.occurrence, popularity: r.popularity } satisfies ItemRow));
      }
    })();
  }

  async load(): Promise<StoredModels> {
    const row = this.stmts.checkpoint.get();
    const tenants = new Map<string, ModelRecords>();
    for (const { tenant, meta } of this.stmts.metas.all()) {
      tenants.set(tenant, {
        meta: JSON.parse(meta) as ModelMeta,
        items: this.itemsOf(tenant),
        shoppers: this.stmts.shoppers.all(tenant).map((r) => JSON.parse(r.record) as ShopperRecord),
        removedShoppers: [],
        stores: this.stmts.stores.all(tenant).map((r) => JSON.parse(r.record) as StoreRecord),
      });
    }
    return { checkpoint: row === undefined ? undefined : (JSON.parse(row.checkpoint) as RecsCheckpoint), tenants };
  }

  private itemsOf(tenant: string): ItemRecord[] {
    const pairs = new Map<string, [string, number][]>();
    for (const [item, other, n] of this.stmts.pairs.all(tenant)) {
      let list = pairs.get(item);
      if (list === undefined) pairs.set(item, (list = []));
      list.push([other, n]);
    }
    return this.stmts.items.all(tenant).map((r) => {
      const row = JSON.parse(r.record) as ItemRow;
      return { ...row, pairs: pairs.get(row.item) ?? [] };
    });
  }

  /**
   * One transaction, written a slice of rows at a time with the event loop free between slices: a
   * checkpoint of a large model (thousands of items) in one piece held every request up for
   * seconds. Only the recommender's thread uses this connection, so nothing else joins the open
   * transaction; a crash before COMMIT leaves the previous checkpoint whole.
   */
  async commit(checkpoint: RecsCheckpoint, changes: ReadonlyMap<string, ModelChanges>): Promise<void> {
    const s = this.stmts;
    let sliceEnds = performance.now() + SLICE_MS;
    const row = (): Promise<void> | undefined => {
      if (performance.now() < sliceEnds) return undefined;
      return new Promise((resolve) => setImmediate(() => {
        sliceEnds = performance.now() + SLICE_MS;
        resolve();
      }));
    };
    this.db.exec('BEGIN');
    try {
      for (const [tenant, c] of changes) {
        s.saveMeta.run(tenant, JSON.stringify(c.meta));
        // Removals first: a shopper forgotten and seen again within one checkpoint is in both.
        for (const shopper of c.removedShoppers) {
          s.deleteShopper.run(tenant, shopper);
          await row();
        }
        for (const r of c.items) {
          s.saveItem.run(tenant, r.item, JSON.stringify({ item: r.item, occurrence: r.occurrence, popularity: r.popularity } satisfies ItemRow));
          // Removals first: a partner pruned and added again within one checkpoint is in both.
          for (const other of r.removedPairs ?? []) s.deletePair.run(tenant, r.item, other);
          for (const [other, n] of r.pairs) s.savePair.run(tenant, r.item, other, n);
          await row();
        }
        for (const r of c.shoppers) {
          s.saveShopper.run(tenant, r.shopper, JSON.stringify(r));
          await row();
        }
        for (const r of c.stores) s.saveStore.run(tenant, r.store, JSON.stringify(r));
      }
      s.saveCheckpoint.run(JSON.stringify(checkpoint));
      this.db.exec('COMMIT');
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw err;
    }
  }

  async close(): Promise<void> {
    this.db.close();
    await this.checkpointer.close();
  }
}
