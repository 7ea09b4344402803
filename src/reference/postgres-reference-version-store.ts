// Reference versions in PostgreSQL, shared by every job worker: one row per version, the rows as
// JSON text (kept exactly as written, key order included).
import { PostgresDatabase, type PostgresTarget } from '../postgres/postgres-database.js';
import { migrate, schemaComponent } from '../postgres/schema-migrations.js';
import type { Row } from '../query/index.js';
import type { ReferenceVersionStore } from './reference-version-store.js';
import type { ReferenceVersion } from './versioned-reference.js';

export const REFERENCE_VERSION_SCHEMA = schemaComponent('reference_versions', [
  {
    version: 1,
    description: 'reference versions by name and validity',
    statements: (s) => [
      `CREATE TABLE ${s}.reference_versions (name text NOT NULL, valid_from bigint NOT NULL, hash text NOT NULL, rows text NOT NULL, PRIMARY KEY (name, valid_from))`,
    ],
  },
]);

export class PostgresReferenceVersionStore implements ReferenceVersionStore {
  private readonly table: string;

  private constructor(private readonly db: PostgresDatabase) {
    this.table = db.table('reference_versions');
  }

  /** Opens the store in `target`'s schema, creating or migrating its table. */
  static async open(target: PostgresTarget): Promise<PostgresReferenceVersionStore> {
    const db = PostgresDatabase.connect(target, 'the reference version store');
    try {
      await migrate(db, REFERENCE_VERSION_SCHEMA);
    } catch (err) {
      await db.close();
      throw err;
    }
    return new PostgresReferenceVersionStore(db);
  }

  async versions(name: string): Promise<ReferenceVersion[]> {
    const { rows } = await this.db.query<{ valid_from: string; hash: string; rows: string }>(
      `SELECT valid_from, hash, rows FROM ${this.table} WHERE name = $1 ORDER BY valid_from`, [name]);
    return rows.map((r) => ({ validFromMs: Number(r.valid_from), hash: r.hash, rows: JSON.parse(r.rows) as Row[] }));
  }

  async save(name: string, version: ReferenceVersion): Promise<void> {
    await this.db.query(`INSERT INTO ${this.table} (name, valid_from, hash, rows) VALUES ($1, $2, $3, $4)
      ON CONFLICT (name, valid_from) DO UPDATE SET hash = EXCLUDED.hash, rows = EXCLUDED.rows`,
    [name, version.validFromMs, version.hash, JSON.stringify(version.rows)]);
  }

  async prune(name: string, beforeMs: number): Promise<void> {
    // Everything older than the version valid at `beforeMs`; that one stays.
    await this.db.query(`DELETE FROM ${this.table} WHERE name = $1 AND valid_from < (
      SELECT COALESCE(MAX(valid_from), 0) FROM ${this.table} WHERE name = $1 AND valid_from <= $2)`, [name, beforeMs]);
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
