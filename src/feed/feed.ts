// The read side as app.ts mounts it: partition reads, consumer groups, SSE and lag metrics.
import type { Authenticator } from '../auth/authenticator.js';
import type { HttpPlugin } from '../http/route.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { EventLog } from '../log/event-log.js';
import type { ConsumerGroupStore } from '../log/consumer-group-store.js';
import type { Logger } from '../telemetry/logger.js';
import { consumerGroupRoutes } from './consumer-group-routes.js';
import { ConsumerGroups } from './consumer-groups.js';
import { LagMetrics } from './lag-metrics.js';
import { partitionRoutes } from './partition-routes.js';
import type { SharedLeaseStore } from './shared-leases.js';

export interface Feed {
  readonly plugins: readonly HttpPlugin[];
  /** Ends waiting long-polls and streams; call before the HTTP server waits for requests. */
  release(): void;
  /** Closes the group store (the feed owns it); call after the HTTP server has stopped. */
  close(): Promise<void>;
}

/** With `shared`, a group's readers share its partitions across every gateway (shared-leases.ts). */
export async function openFeed(store: ConsumerGroupStore, log: EventLog, auth: Authenticator, metrics: Metrics, logger: Logger, shared?: SharedLeaseStore): Promise<Feed> {
  const groups = await ConsumerGroups.open(log, store, shared);
  const lag = new LagMetrics(groups, metrics, logger);
  return {
    plugins: [partitionRoutes(auth, log), consumerGroupRoutes(auth, groups)],
    release: () => groups.close(),
    async close() {
      groups.close();
      await lag.close();
      await store.close();
    },
  };
}
