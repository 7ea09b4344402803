// The one place that picks storage adapters from the config. The server and the CLI both open
// their stores here, so `omnistream device …` sees exactly what the REST API sees.
//   default        files in dataDir: the SQLite log, registry, groups, jobs; keys.json
//   log.url        the log on NATS JetStream (src/log/jetstream-event-log.ts)
//   db.url         registry, keys, consumer groups, jobs, reference versions and coordination in
//                  PostgreSQL, one pool per process shared by every adapter, each adapter's tables
//                  migrated as it opens (docs/scale-out.md)
import { join } from 'node:path';
import type pg from 'pg';
import { FileKeyStore } from './auth/file-key-store.js';
import type { KeyStore } from './auth/key-store.js';
import { KEYS_CHANNEL, PostgresKeyStore } from './auth/postgres-key-store.js';
import type { Config } from './config/index.js';
import type { ConsumerGroupStore } from './log/consumer-group-store.js';
import type { EventLog } from './log/event-log.js';
import { PostgresConsumerGroupStore } from './log/postgres-consumer-group-store.js';
import { SqliteConsumerGroupStore } from './log/sqlite-consumer-group-store.js';
import { SqliteEventLog } from './log/sqlite-event-log.js';
import type { JobStore } from './jobs/job-store.js';
import { PostgresJobStore } from './jobs/postgres-job-store.js';
import { SqliteJobStore } from './jobs/sqlite-job-store.js';
import { openPool, poolWhere, type PostgresTarget } from './postgres/postgres-database.js';
import { PostgresLeases } from './postgres/postgres-leases.js';
import { PostgresNotifications } from './postgres/postgres-notifications.js';
import type { ReferenceVersionStore } from './reference/reference-version-store.js';
import { PostgresReferenceVersionStore } from './reference/postgres-reference-version-store.js';
import { SqliteReferenceVersionStore } from './reference/sqlite-reference-version-store.js';
import type { Registry } from './registry/registry.js';
import { CachedRegistry } from './registry/cached-registry.js';
import { PostgresRegistry, DEVICE_CHANNEL } from './registry/postgres-registry.js';
import { SqliteRegistry } from './registry/sqlite-registry.js';

/** What a CLI command opens for itself: a small pool of its own, ended when its store closes. */
const CLI_POOL_SIZE = 2;

/**
 * The process's PostgreSQL: one pool every adapter shares, one listening connection, and the
 * leases of shared work. Undefined without `db.url` (the files in dataDir).
 */
export interface SharedState {
  readonly target: PostgresTarget & { readonly pool: pg.Pool };
  readonly notifications: PostgresNotifications;
  readonly leases: PostgresLeases;
  /** user@host:port/database (schema s), for messages: never the password. */
  readonly where: string;
  /** Ends the listener and the pool; after every adapter using them has closed. */
  close(): Promise<void>;
}

/** Opens the shared pool, the listener and the lease table (migrated), or nothing without db.url. */
export async function openSharedState(config: Config, onError: (message: string) => void): Promise<SharedState | undefined> {
  if (config.db.url === null) return undefined;
  const pool = openPool(config.db.url, config.db.poolSize);
  const target = { pool, schema: config.db.schema };
  let notifications: PostgresNotifications | undefined;
  try {
    const leases = await PostgresLeases.open(target, config.jobLease);
    notifications = await PostgresNotifications.open(target, onError);
    const n = notifications;
    return {
      target, notifications: n, leases, where: poolWhere(pool, config.db.schema),
      async close() {
        await n.close();
        await pool.end();
      },
    };
  } catch (err) {
    await notifications?.close();
    await pool.end();
    throw err;
  }
}

function target(config: Config, shared: SharedState | undefined): PostgresTarget {
  return shared?.target ?? { url: config.db.url!, schema: config.db.schema, poolSize: CLI_POOL_SIZE };
}

export async function openKeyStore(config: Config, shared?: SharedState): Promise<KeyStore> {
  if (config.db.url === null) return FileKeyStore.open(config.dataDir, config.ownerKey);
  const keys = await PostgresKeyStore.open(target(config, shared), { ownerKey: config.ownerKey });
  // A key added or revoked by any process is read at once; the poll stays as the backstop.
  shared?.notifications.on(KEYS_CHANNEL, () => keys.changed());
  return keys;
}

export async function openRegistry(config: Config, shared?: SharedState): Promise<Registry> {
  if (config.db.url === null) return new SqliteRegistry(join(config.dataDir, 'registry.db'));
  return PostgresRegistry.open(target(config, shared));
}

/**
 * The registry as the server uses it: cached, since every message authenticates against it. With
 * PostgreSQL, a device changed by any process (another gateway, the CLI) leaves every cache at
 * once; after the listener lost its connection, every cached device is dropped.
 */
export async function openServingRegistry(config: Config, shared?: SharedState): Promise<Registry> {
  const cached = new CachedRegistry(await openRegistry(config, shared), config.registryCache);
  shared?.notifications.on(DEVICE_CHANNEL, (deviceId) => cached.invalidate(deviceId));
  return cached;
}

export async function openConsumerGroupStore(config: Config, shared?: SharedState): Promise<ConsumerGroupStore> {
  if (config.db.url === null) return new SqliteConsumerGroupStore(join(config.dataDir, 'groups.db'));
  return PostgresConsumerGroupStore.open(target(config, shared));
}

/** `onError` hears background failures no request sees (the writer thread, checkpoints, NATS lost). */
export async function openEventLog(config: Config, onError?: (message: string) => void): Promise<EventLog> {
  const { partitions, retention, dedupWindow, durability, maxPendingMessages } = config.log;
  if (config.log.url !== null) {
    // Loaded only when asked for: every other command would pay for NATS's modules.
    const { openJetStreamEventLog } = await import('./log/jetstream-event-log.js');
    return openJetStreamEventLog({
      url: config.log.url, streamPrefix: config.log.stream, replicas: config.log.replicas, storage: config.log.storage,
      horizonMarginMs: config.log.horizonMargin, partitions, retentionMs: retention, dedupWindowMs: dedupWindow, maxPendingMessages, onError,
    });
  }
  return new SqliteEventLog({ path: join(config.dataDir, 'log.db'), partitions, retentionMs: retention, dedupWindowMs: dedupWindow, durability, maxPendingMessages, onError });
}

/**
 * Job checkpoints and every output's rows (one database: a job commits both in one transaction).
 * With PostgreSQL and shared leases, a job's commit holds only while this process owns the job.
 */
export async function openJobStore(config: Config, shared?: SharedState): Promise<JobStore> {
  if (config.db.url === null) return new SqliteJobStore(join(config.dataDir, 'jobs.db'));
  return PostgresJobStore.open(target(config, shared), shared && { fence: shared.leases });
}

export async function openReferenceVersionStore(config: Config, shared?: SharedState): Promise<ReferenceVersionStore> {
  if (config.db.url === null) return new SqliteReferenceVersionStore(join(config.dataDir, 'references.db'));
  return PostgresReferenceVersionStore.open(target(config, shared));
}

/**
 * The recommender's model and log positions (one database: a checkpoint commits both), opened by
 * the recommender's thread (src/recs/recs-thread.ts), which owns it.
 */
export function recsStorePath(config: Config): string {
  return join(config.dataDir, 'recs.db');
}
