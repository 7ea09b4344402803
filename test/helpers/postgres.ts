// The real PostgreSQL the tests use (OMNISTREAM_PG_URL, default the machine's local server), and a
// fresh schema per test so runs never see each other's tables.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestContext } from 'node:test';
import { requireOrSkip } from './services.js';

export const PG_URL = process.env.OMNISTREAM_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let probe: Promise<string | undefined> | undefined;

/** Why PostgreSQL cannot be used here, or undefined when it can. */
export function postgresUnavailable(): Promise<string | undefined> {
  probe ??= (async () => {
    const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return undefined;
    } catch (err) {
      return `PostgreSQL at ${PG_URL} is not reachable: ${err instanceof Error ? err.message : String(err)}`;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return probe;
}

/** Skips (or fails under OMNISTREAM_REQUIRE_SERVICES=1) when PostgreSQL is missing. */
export async function skipWithoutPostgres(t: TestContext): Promise<boolean> {
  return requireOrSkip(t, await postgresUnavailable());
}

export interface TestSchema {
  readonly name: string;
  /** A connection URL whose search_path is the schema, so unqualified tables land in it. */
  readonly url: string;
  query<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, values?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

export async function createSchema(): Promise<TestSchema> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${name}`);
  const url = new URL(PG_URL);
  url.searchParams.set('options', `-c search_path=${name}`);
  return {
    name,
    url: url.toString(),
    async query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []) {
      await admin.query(`SET search_path = ${name}`);
      return (await admin.query<R>(text, values)).rows;
    },
    async drop() {
      await admin.query(`DROP SCHEMA ${name} CASCADE`).catch(() => {});
      await admin.end();
    },
  };
}
