// The recommender as the server runs it: its model restored from the store, its runner reading
// the log, its routes. app.ts opens it when `recommendations.enabled`.
import type { Authenticator } from '../auth/authenticator.js';
import type { HttpPlugin } from '../http/route.js';
import type { EventLog } from '../log/event-log.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { Recommender } from './recommender.js';
import { recsConfigOf, type RecsSettings } from './recs-rules.js';
import { recsRoutes } from './recs-routes.js';
import { RecsRunner } from './recs-runner.js';
import type { RecsStore } from './recs-store.js';

export interface Recommendations {
  readonly recommender: Recommender;
  routes(auth: Authenticator): HttpPlugin;
  /** Starts reading the log (after the listener, as jobs do). */
  start(): void;
  /** Commits what was absorbed, then closes the store; before the log closes. */
  close(): Promise<void>;
}

export async function openRecommendations(settings: RecsSettings, deps: { log: EventLog; store: RecsStore; metrics: Metrics; logger: Logger }): Promise<Recommendations> {
  const config = recsConfigOf(settings);
  const recommender = new Recommender(config);
  const logger = deps.logger.child({ component: 'recommendations' });
  const runner = new RecsRunner({ log: deps.log, store: deps.store, recommender, logger, metrics: deps.metrics, checkpointIntervalMs: config.checkpointIntervalMs });
  try {
    await runner.open();
  } catch (err) {
    await deps.store.close();
    throw err;
  }
  return {
    recommender,
    routes: (auth) => recsRoutes(auth, recommender),
    start: () => runner.start(),
    async close() {
      await runner.close();
      await deps.store.close();
    },
  };
}
