// Reference versions in `<data>/references.db`: one row per version, the rows as JSON text.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Row } from '../query/index.js';
import type { ReferenceVersionStore } from './reference-version-store.js';
import type { ReferenceVersion } from './versioned-reference.js';

export class SqliteReferenceVersionStore implements ReferenceVersionStore {
  private readonly db: Database.Database;

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec('CREATE TABLE IF NOT EXISTS reference_versions (name TEXT NOT NULL, valid_from INTEGER NOT NULL, hash TEXT NOT NULL, rows TEXT NOT NULL, PRIMARY KEY (name, valid_from)) WITHOUT ROWID');
  }

  async versions(name: string): Promise<ReferenceVersion[]> {
    return this.db.prepare<[string], { valid_from: number; hash: string; rows: string }>('SELECT valid_from, hash, rows FROM reference_versions WHERE name = ? ORDER BY valid_from')
      .all(name)
      .map((r) => ({ validFromMs: r.valid_from, hash: r.hash, rows: JSON.parse(r.rows) as Row[] }));
  }

  async save(name: string, version: ReferenceVersion): Promise<void> {
    this.db.prepare('INSERT OR REPLACE INTO reference_versions (name, valid_from, hash, rows) VALUES (?, ?, ?, ?)')
      .run(name, version.validFromMs, version.hash, JSON.stringify(version.rows));
  }

  async prune(name: string, beforeMs: number): Promise<void> {
    this.db.prepare(`DELETE FROM reference_versions WHERE name = ? AND valid_from < (
        SELECT COALESCE(MAX(valid_from), 0) FROM reference_versions WHERE name = ? AND valid_from <= ?)`).run(name, name, beforeMs);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
