// Rows upserted into a PostgreSQL table, created if absent. The key is the row's identity (job,
// tenant, timestamp, n), so a row delivered twice is stored once; the row itself is a jsonb
// column, and configured columns are filled from its fields for plain SQL.
import pg from 'pg';
import type { OutputRow } from './output-row.js';
import type { OutputSink } from './output-sink.js';

/** Column types a configured column may have. */
export const POSTGRES_COLUMN_TYPES = ['text', 'bigint', 'integer', 'double precision', 'numeric', 'boolean', 'timestamptz', 'jsonb'] as const;
export type PostgresColumnType = (typeof POSTGRES_COLUMN_TYPES)[number];

export interface PostgresSinkOptions {
  readonly url: string;
  /** `table` or `schema.table`. */
  readonly table: string;
  /** Columns filled from the row's fields of the same name. */
  readonly columns: Readonly<Record<string, PostgresColumnType>>;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const RESERVED = new Set(['job', 'tenant', 'window_end', 'n', 'row', 'updated_at']);

/** Checks a table name and quotes it: `a.b` → `"a"."b"`. */
export function quoteTable(table: string): string {
  const parts = table.split('.');
  if (parts.length > 2 || !parts.every((p) => IDENTIFIER.test(p))) throw new Error(`'${table}' is not a table name (letters, digits and _, optionally schema.table)`);
  return parts.map((p) => `"${p}"`).join('.');
}

export function checkColumns(columns: Readonly<Record<string, string>>): void {
  for (const name of Object.keys(columns)) {
    if (!IDENTIFIER.test(name)) throw new Error(`'${name}' is not a column name (letters, digits and _)`);
    if (RESERVED.has(name.toLowerCase())) throw new Error(`'${name}' is a column Omnistream fills itself (${[...RESERVED].join(', ')})`);
  }
}

/** Rows per INSERT statement (PostgreSQL allows 65,535 parameters). */
const ROWS_PER_STATEMENT = 500;

export class PostgresSink implements OutputSink {
  private readonly pool: pg.Pool;
  private readonly table: string;
  private readonly columns: [string, PostgresColumnType][];
  private created: Promise<void> | undefined;

  constructor(options: PostgresSinkOptions) {
    this.table = quoteTable(options.table);
    checkColumns(options.columns);
    this.columns = Object.entries(options.columns);
    this.pool = new pg.Pool({ connectionString: options.url, max: 2, connectionTimeoutMillis: 10_000 });
    // A dropped idle connection must not take the process with it; the next write reconnects.
    this.pool.on('error', () => {});
  }

  private ensureTable(): Promise<void> {
    this.created ??= (async () => {
      const extra = this.columns.map(([name, type]) => `, "${name}" ${type}`).join('');
      await this.pool.query(`CREATE TABLE IF NOT EXISTS ${this.table} (
        job text NOT NULL, tenant text NOT NULL, window_end timestamptz NOT NULL, n integer NOT NULL,
        row jsonb NOT NULL${extra}, updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (job, tenant, window_end, n))`);
      // A table created before a column was configured gets it now.
      for (const [name, type] of this.columns) await this.pool.query(`ALTER TABLE ${this.table} ADD COLUMN IF NOT EXISTS "${name}" ${type}`);
    })().catch((err: unknown) => {
      this.created = undefined;
      throw err;
    });
    return this.created;
  }

  async write(rows: readonly OutputRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.ensureTable();
    const names = ['job', 'tenant', 'window_end', 'n', 'row', ...this.columns.map(([c]) => `"${c}"`)];
    const width = names.length;
    const updates = names.slice(4).map((n) => `${n} = EXCLUDED.${n}`).join(', ');
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
        const chunk = rows.slice(i, i + ROWS_PER_STATEMENT);
        const values: unknown[] = [];
        const tuples = chunk.map((r, k) => {
          values.push(r.job, r.tenant, new Date(r.timestampMs), r.n, JSON.stringify(r.row));
          for (const [name, type] of this.columns) values.push(columnValue(r.row[name], type));
          return `(${Array.from({ length: width }, (_, j) => `$${k * width + j + 1}`).join(', ')})`;
        });
        await client.query(`INSERT INTO ${this.table} (${names.join(', ')}) VALUES ${tuples.join(', ')}
          ON CONFLICT (job, tenant, window_end, n) DO UPDATE SET ${updates}, updated_at = now()`, values);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async forget(job: string, fromMs: number | null): Promise<void> {
    await this.ensureTable();
    if (fromMs === null) await this.pool.query(`DELETE FROM ${this.table} WHERE job = $1`, [job]);
    else await this.pool.query(`DELETE FROM ${this.table} WHERE job = $1 AND window_end >= $2`, [job, new Date(fromMs)]);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** A row's field as a column value; records and arrays go to jsonb as JSON text. */
function columnValue(v: unknown, type: PostgresColumnType): unknown {
  if (v === undefined || v === null) return null;
  if (type === 'jsonb') return JSON.stringify(v);
  if (typeof v === 'object') return JSON.stringify(v);
  return v;
}
