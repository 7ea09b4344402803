// One schema of a PostgreSQL database as the state adapters use it (registry, keys, consumer groups,
// jobs, reference versions): a pool, the schema's qualified table names, transactions, and the
// translation of pg's failures into OmniErrors that say what failed and where, never the password.
import { createHash } from 'node:crypto';
import pg from 'pg';
import { OmniError } from '../core/errors.js';

/** Where an adapter keeps its tables: a pool the caller owns (and ends), or a URL it opens itself. */
export type PostgresTarget =
  | { readonly pool: pg.Pool; readonly schema: string }
  | { readonly url: string; readonly schema: string; readonly poolSize?: number };

/** A query on a pool or on a transaction's client; failures already translated. */
export type Query = <R extends pg.QueryResultRow = Record<string, unknown>>(text: string, values?: readonly unknown[]) => Promise<pg.QueryResult<R>>;

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Connections an adapter opens for itself from a URL. */
const DEFAULT_POOL_SIZE = 4;
/** An unreachable host fails within this, instead of hanging a start. */
const CONNECT_TIMEOUT_MS = 5_000;

// Network failures (Node's) and PostgreSQL's connection classes: the database cannot be used now.
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', '57P02', '57P03', // admin shutdown, crash shutdown, cannot connect now
  '53300', // too many connections
  '3D000', // the database does not exist
  '28000', '28P01', // authentication refused
]);
const CLIENT_GONE = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end/i;
// Values PostgreSQL cannot hold as given (a NUL byte in text, a number past bigint).
const INVALID_VALUE_SQLSTATES = new Set(['22021', '22P05', '22001', '22003', '22P02']);

/** A signed 32-bit key from a name, for advisory locks scoped to one schema. */
export function lockKey(name: string): number {
  return createHash('sha256').update(name).digest().readInt32BE(0);
}

/** A pool as the adapters use one: bounded connect time, idle failures survived. Check the URL first (URL.canParse). */
export function openPool(url: string, size: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: size, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  // An idle connection that drops (the server restarts) must not take the process with it; the
  // next query reconnects.
  pool.on('error', () => {});
  return pool;
}

/** user@host:port/database (schema s) of a pool: what a message may say, never the password. */
export function poolWhere(pool: pg.Pool, schema: string): string {
  return describePool(pool, schema);
}

export class PostgresDatabase {
  /** The quoted schema name, ready for SQL. */
  readonly quotedSchema: string;

  private closed = false;

  private constructor(
    readonly pool: pg.Pool,
    /** The schema's name as given. */
    readonly schema: string,
    /** What uses this database, for messages ("the registry"). */
    readonly what: string,
    /** host:port/database and schema, without credentials. */
    readonly where: string,
    private readonly ownsPool: boolean,
  ) {
    this.quotedSchema = `"${schema}"`;
  }

  /** No connection is made until the first query; `what` names the user in messages ("the registry"). */
  static connect(target: PostgresTarget, what: string): PostgresDatabase {
    if (!SCHEMA_NAME.test(target.schema)) {
      throw new OmniError('invalid_argument', `'${target.schema}' is not a schema name (letters, digits and _, at most 63)`);
    }
    if ('pool' in target) return new PostgresDatabase(target.pool, target.schema, what, describePool(target.pool, target.schema), false);
    // Said here, without the URL: an unparsable URL reaching pg fails later with the URL (and any
    // password in it) attached to the error.
    if (!URL.canParse(target.url)) throw new OmniError('invalid_argument', `${what}: the PostgreSQL URL is not a URL (postgres://user@host:port/database)`);
    const pool = openPool(target.url, target.poolSize ?? DEFAULT_POOL_SIZE);
    return new PostgresDatabase(pool, target.schema, what, describePool(pool, target.schema), true);
  }

  /** A table of this schema, quoted: `"schema"."name"`. */
  table(name: string): string {
    return `${this.quotedSchema}."${name}"`;
  }

  readonly query: Query = async <R extends pg.QueryResultRow>(text: string, values: readonly unknown[] = []) => {
    try {
      return await this.pool.query<R>(text, values as unknown[]);
    } catch (err) {
      throw this.failure(err);
    }
  };

  /**
   * Runs `body` in one transaction on one connection: committed when it resolves, rolled back when
   * it throws. `begin` replaces the plain BEGIN (to take a lock in the same round trip, say).
   */
  async transaction<T>(body: (query: Query) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.failure(err);
    }
    const query: Query = async <R extends pg.QueryResultRow>(text: string, values: readonly unknown[] = []) => {
      try {
        return await client.query<R>(text, values as unknown[]);
      } catch (err) {
        throw this.failure(err);
      }
    };
    let broken: Error | undefined;
    try {
      await query(begin);
      const result = await body(query);
      await query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: unknown) => {
        // A connection that cannot roll back is not given to the next caller.
        broken = e instanceof Error ? e : new Error(String(e));
      });
      throw err;
    } finally {
      client.release(broken);
    }
  }

  /**
   * pg's failure as Omnistream reports it: an unreachable or refusing server is `unavailable` (503,
   * retry later) naming the database; a value PostgreSQL cannot store is `invalid_argument`;
   * anything else is returned as it is (a bug, reported as a 500 with its cause).
   */
  failure(err: unknown): unknown {
    if (err instanceof OmniError) return err;
    const code = sqlState(err);
    if (isUnavailable(err)) {
      // The server answered and refused (no such database, bad credentials, shutting down), or could not be reached.
      const verb = code !== undefined && UNAVAILABLE_SQLSTATES.has(code) ? 'cannot use' : 'cannot reach';
      return new OmniError('unavailable', `${this.what} ${verb} its database, PostgreSQL at ${this.where}: ${reason(err)}`, { cause: err, retryAfterSeconds: 1 });
    }
    if (code !== undefined && INVALID_VALUE_SQLSTATES.has(code)) {
      return new OmniError('invalid_argument', `${this.what} cannot store the value: ${reason(err)}`, { cause: err });
    }
    return err;
  }

  /** Ends the pool when this database opened it; a pool the caller gave stays open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsPool) await this.pool.end();
  }
}

/** The SQLSTATE of a PostgreSQL error (`23505`, …), or undefined for other failures. */
export function sqlState(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

function isUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(code))) return true;
  return err instanceof Error && CLIENT_GONE.test(err.message);
}

/** The error's own words; Node's AggregateError (IPv4 and IPv6 both refused) has an empty message. */
function reason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.message) return err.message;
  if (err instanceof AggregateError) return err.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))).join('; ');
  return (err as { code?: string }).code ?? err.name;
}

/** user@host:port/database (schema s): what a message may say about a pool, never its password. */
function describePool(pool: pg.Pool, schema: string): string {
  try {
    // A client resolves the pool's settings (URL, fields, PG* variables) as a connection would;
    // constructing one connects nothing.
    const probe = new pg.Client(pool.options);
    const user = probe.user ? `${probe.user}@` : '';
    return `${user}${probe.host}:${probe.port}/${probe.database ?? ''} (schema ${schema})`;
  } catch {
    return `an unreadable connection string (schema ${schema})`;
  }
}
