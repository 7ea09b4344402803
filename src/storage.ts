// The one place that picks storage adapters from the config. The server and the CLI both open
// their stores here, so `omnistream device …` sees exactly what the REST API sees.
import { join } from 'node:path';
import { FileKeyStore } from './auth/file-key-store.js';
import type { KeyStore } from './auth/key-store.js';
import type { Config } from './config/index.js';
import type { ConsumerGroupStore } from './log/consumer-group-store.js';
import type { EventLog } from './log/event-log.js';
import { SqliteConsumerGroupStore } from './log/sqlite-consumer-group-store.js';
import { SqliteEventLog } from './log/sqlite-event-log.js';
import type { JobStore } from './jobs/job-store.js';
import { SqliteJobStore } from './jobs/sqlite-job-store.js';
import type { ReferenceVersionStore } from './reference/reference-version-store.js';
import type { RecsStore } from './recs/recs-store.js';
import { SqliteRecsStore } from './recs/sqlite-recs-store.js';
import { SqliteReferenceVersionStore } from './reference/sqlite-reference-version-store.js';
import type { Registry } from './registry/registry.js';
import { CachedRegistry } from './registry/cached-registry.js';
import { SqliteRegistry } from './registry/sqlite-registry.js';

export function openKeyStore(config: Config): KeyStore {
  return FileKeyStore.open(config.dataDir, config.ownerKey);
}

export function openRegistry(config: Config): Registry {
  return new SqliteRegistry(join(config.dataDir, 'registry.db'));
}

/** The registry as the server uses it: cached, since every message authenticates against it. */
export function openServingRegistry(config: Config): Registry {
  return new CachedRegistry(openRegistry(config), config.registryCache);
}

export function openConsumerGroupStore(config: Config): ConsumerGroupStore {
  return new SqliteConsumerGroupStore(join(config.dataDir, 'groups.db'));
}

/** `onError` hears background failures no request sees (the writer thread, checkpoints). */
export function openEventLog(config: Config, onError?: (message: string) => void): EventLog {
  const { partitions, retention, dedupWindow, durability, maxPendingMessages } = config.log;
  return new SqliteEventLog({ path: join(config.dataDir, 'log.db'), partitions, retentionMs: retention, dedupWindowMs: dedupWindow, durability, maxPendingMessages, onError });
}

/** Job checkpoints and every output's rows (one database: a job commits both in one transaction). */
export function openJobStore(config: Config): JobStore {
  return new SqliteJobStore(join(config.dataDir, 'jobs.db'));
}

export function openReferenceVersionStore(config: Config): ReferenceVersionStore {
  return new SqliteReferenceVersionStore(join(config.dataDir, 'references.db'));
}

/** The recommender's model and log positions (one database: a checkpoint commits both). */
export function openRecsStore(config: Config): RecsStore {
  return new SqliteRecsStore(join(config.dataDir, 'recs.db'));
}
