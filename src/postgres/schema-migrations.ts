// Versioned schemas for the PostgreSQL state adapters. Each adapter names its component and lists
// its migrations; opening it brings the schema to the newest version it knows:
//
// - `schema_migrations` (in the adapter's schema) records one row per applied migration:
//   (component, version, description, applied_at). A component's version is its highest row.
// - Every start runs `migrate` under a transaction-scoped advisory lock on the schema, so processes
//   starting together apply each migration once, one after the other; the others wait and find
//   nothing left to do. All pending migrations of a component run in that one transaction: a
//   failure leaves the schema as it was.
// - A database recorded at a version this code does not know (a newer Omnistream migrated it) is
//   refused with an error saying so, before anything is touched.
import { OmniError } from '../core/errors.js';
import { lockKey, type PostgresDatabase } from './postgres-database.js';

export interface Migration {
  /** 1, 2, 3, … in order, without gaps. */
  readonly version: number;
  readonly description: string;
  /** The statements, given the quoted schema name; they run in order in the migration's transaction. */
  readonly statements: (schema: string) => readonly string[];
}

export interface SchemaComponent {
  /** The component's name in `schema_migrations` ("registry", "jobs", …). */
  readonly name: string;
  readonly migrations: readonly Migration[];
}

/** The advisory lock class of migrations (the second key is the schema's): "Omn1". */
const MIGRATION_LOCK_CLASS = 0x4f6d6e31;

/** The newest version a component knows. */
export function latestVersion(component: SchemaComponent): number {
  return component.migrations.at(-1)?.version ?? 0;
}

/** Checks a component's list once, where it is declared: versions 1..n in order. */
export function schemaComponent(name: string, migrations: readonly Migration[]): SchemaComponent {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`${name} migrations must be numbered 1, 2, 3, … in order; found ${m.version} at position ${i + 1}`);
  });
  return { name, migrations };
}

/** Brings `component` to its newest version in `db`'s schema; returns the version it was at. */
export async function migrate(db: PostgresDatabase, component: SchemaComponent): Promise<number> {
  const latest = latestVersion(component);
  const schema = db.quotedSchema;
  return db.transaction(async (query) => {
    // Creating a schema that exists needs no right to create one, so look before creating.
    const exists = await query<{ found: boolean }>('SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS found', [db.schema]);
    if (!exists.rows[0]!.found) await query(`CREATE SCHEMA ${schema}`);
    await query(`CREATE TABLE IF NOT EXISTS ${db.table('schema_migrations')} (
      component text NOT NULL, version integer NOT NULL, description text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, version))`);
    const found = await query<{ version: number }>(`SELECT COALESCE(MAX(version), 0) AS version FROM ${db.table('schema_migrations')} WHERE component = $1`, [component.name]);
    const current = found.rows[0]!.version;
    if (current > latest) {
      throw new OmniError('internal', `${db.what}'s tables in PostgreSQL at ${db.where} are at version ${current} of '${component.name}', newer than this Omnistream knows `
        + `(${latest}): a newer Omnistream migrated them. Run that version, or point this one at another schema.`);
    }
    for (const m of component.migrations.slice(current)) {
      for (const statement of m.statements(schema)) await query(statement);
      await query(`INSERT INTO ${db.table('schema_migrations')} (component, version, description) VALUES ($1, $2, $3)`, [component.name, m.version, m.description]);
    }
    return current;
  }, `BEGIN; SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_CLASS}, ${lockKey(db.schema)})`);
}
