// What scale-out tests share: one hub's shared log and database (a fresh JetStream stream prefix
// and PostgreSQL schema per fixture, removed after), the flags that point a process at them, and
// processes started and stopped through the real command line.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestContext } from 'node:test';
import { deleteStreams, freshPrefix, NATS_URL, natsUnavailable } from './nats.js';
import { PG_URL, postgresUnavailable } from './postgres.js';
import { spawnServer, type ServerProcess } from './process.js';
import { requireOrSkip } from './services.js';

/** Skips (or fails under OMNISTREAM_REQUIRE_SERVICES=1) unless both NATS JetStream and PostgreSQL are here. */
export async function skipWithoutScaleOut(t: TestContext): Promise<boolean> {
  return requireOrSkip(t, (await natsUnavailable()) ?? (await postgresUnavailable()));
}

export interface SharedHub {
  readonly stream: string;
  readonly schema: string;
  /** --log, --log-stream, --db, --db-schema for this hub. */
  readonly flags: readonly string[];
  query<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, values?: unknown[]): Promise<R[]>;
  /** Deletes the streams and the schema. */
  remove(): Promise<void>;
}

export function sharedHub(): SharedHub {
  const stream = freshPrefix();
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
  return {
    stream, schema,
    flags: ['--log', NATS_URL, '--log-stream', stream, '--db', PG_URL, '--db-schema', schema],
    async query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []) {
      return (await pool.query<R>(text, values)).rows;
    },
    async remove() {
      await deleteStreams(stream).catch(() => {});
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await pool.end();
    },
  };
}

/** `omnistream start` on the hub, on a free HTTP port, until stopped. */
export async function startProcess(hub: SharedHub, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  return spawnServer([...hub.flags, ...args], { OMNISTREAM_OWNER_KEY: OWNER_KEY, ...env });
}

/** Every process of a hub shares the owner key, as a scripted deployment fixes it. */
export const OWNER_KEY = randomBytes(32).toString('base64');

/** SIGTERM, then waits for the exit (a graceful stop). */
export async function stopProcess(p: ServerProcess | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  await p.exited;
}

/** kill -9, then waits for the exit. */
export async function killProcess(p: ServerProcess): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGKILL');
  await p.exited;
}
