// The recommender as the server runs it: its model on a thread of its own, restored from its store
// (recs-thread.ts), the log read for it on the server's thread (recs-runner.ts), its routes.
// app.ts opens it when `recommendations.enabled`.
import type { Authenticator } from '../auth/authenticator.js';
import type { HttpPlugin } from '../http/route.js';
import type { EventLog } from '../log/event-log.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { RecsSettings } from './recs-rules.js';
import { recsRoutes } from './recs-routes.js';
import { RecsRunner } from './recs-runner.js';

export interface Recommendations {
  routes(auth: Authenticator): HttpPlugin;
  /** Starts reading the log (after the listener, as jobs do). */
  start(): void;
  /** Commits what was absorbed, then closes the store and the thread; before the log closes. */
  close(): Promise<void>;
}

/** `storePath`: the recommender's SQLite store, opened on its thread. */
export async function openRecommendations(settings: RecsSettings, deps: { log: EventLog; storePath: string; metrics: Metrics; logger: Logger }): Promise<Recommendations> {
  const logger = deps.logger.child({ component: 'recommendations' });
  const runner = new RecsRunner({ log: deps.log, settings, storePath: deps.storePath, logger, metrics: deps.metrics });
  try {
    await runner.open();
  } catch (err) {
    await runner.close();
    throw err;
  }
  return {
    routes: (auth) => recsRoutes(auth, (query) => runner.ask(query)),
    start: () => runner.start(),
    close: () => runner.close(),
  };
}
