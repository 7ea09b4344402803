// A PostgreSQL query, run every refresh interval (the retailer's product catalogue, say). Rows come
// back as objects with the query's column names; numeric and bigint columns arrive as text, as
// pg returns them, so a query can CAST them or the SQL can.
import pg from 'pg';
import type { Row } from '../query/index.js';
import { ReferenceDataError } from './reference-rows.js';
import type { ReferenceSource } from './reference-source.js';

export interface PostgresReferenceOptions {
  readonly url: string;
  readonly query: string;
  readonly refreshMs: number;
  /** The query is cancelled after this long. */
  readonly timeoutMs: number;
}

export class PostgresReferenceSource implements ReferenceSource {
  private readonly pool: pg.Pool;

  constructor(private readonly options: PostgresReferenceOptions) {
    // One connection is enough for one query an interval; it is reopened after a failure.
    this.pool = new pg.Pool({ connectionString: options.url, max: 1, idleTimeoutMillis: Math.max(10_000, options.refreshMs * 2), statement_timeout: options.timeoutMs, connectionTimeoutMillis: options.timeoutMs });
    // An idle connection that drops (the server restarts) must not take the process with it.
    this.pool.on('error', () => {});
  }

  get refreshMs(): number {
    return this.options.refreshMs;
  }

  get description(): string {
    const url = new URL(this.options.url);
    url.password = url.password ? '***' : '';
    return `${url.toString()} ${this.options.query}`;
  }

  async mayHaveChanged(): Promise<boolean> {
    return true;
  }

  async load(): Promise<Row[]> {
    try {
      const result = await this.pool.query<Record<string, unknown>>(this.options.query);
      return result.rows.map(toRow);
    } catch (e) {
      throw new ReferenceDataError(`PostgreSQL reference query failed: ${(e as Error).message}`);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** pg's values as query values: dates as ISO text (the engine parses them when a query needs a datetime), bytes as base64. */
function toRow(r: Record<string, unknown>): Row {
  const row: Row = {};
  for (const [k, v] of Object.entries(r)) {
    row[k] = v instanceof Date ? v.toISOString() : Buffer.isBuffer(v) ? v.toString('base64') : v === undefined ? null : (v as Row[string]);
  }
  return row;
}
