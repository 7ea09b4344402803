// The composition root: builds every part from the config, starts them, stops them in order.
import { Authenticator } from './auth/authenticator.js';
import type { KeyStore } from './auth/key-store.js';
import type { Config } from './config/index.js';
import { openFeed } from './feed/feed.js';
import { healthRoutes } from './http/health-routes.js';
import { Metrics } from './telemetry/metrics.js';
import { HttpServer } from './http/server.js';
import { deviceRoutes } from './ingest/device-routes.js';
import { Ingestion } from './ingest/ingestion.js';
import { registerRoutes } from './ingest/register-routes.js';
import { dashboardRoutes } from './dashboard/dashboard-routes.js';
import { Dashboards } from './dashboard/dashboards.js';
import { eventRoutes } from './dashboard/event-routes.js';
import { outputRoutes } from './dashboard/output-routes.js';
import { pageRoutes } from './dashboard/page-routes.js';
import { JobManager } from './jobs/job-manager.js';
import { jobRoutes } from './jobs/job-routes.js';
import { jobsConfigOf } from './jobs/jobs-config.js';
import type { EventLog } from './log/event-log.js';
import { createLogger, type Logger } from './telemetry/logger.js';
import type { Registry } from './registry/registry.js';
import { registryRoutes } from './registry/registry-routes.js';
import { openConsumerGroupStore, openEventLog, openJobStore, openKeyStore, openReferenceVersionStore, openServingRegistry } from './storage.js';

export interface RunningApp {
  readonly config: Config;
  /** Base URL of the HTTP listener, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  readonly port: number;
  readonly keys: KeyStore;
  readonly registry: Registry;
  readonly log: EventLog;
  readonly metrics: Metrics;
  readonly jobs: JobManager;
  /** Graceful stop: refuse new work, finish requests and appends in flight, close storage. */
  close(): Promise<void>;
}

export async function startApp(config: Config, logger: Logger = createLogger(config.logLevel)): Promise<RunningApp> {
  const keys = openKeyStore(config);
  const registry = openServingRegistry(config);
  const log = openEventLog(config, (message) => logger.error('log writer', { message }));
  const metrics = new Metrics();
  const auth = new Authenticator(config.hostName, keys, registry);
  const ingestion = new Ingestion(log, registry, metrics, logger);
  const feed = await openFeed(openConsumerGroupStore(config), log, auth, metrics, logger);
  const jobStore = openJobStore(config);
  const referenceStore = openReferenceVersionStore(config);
  const { jobs: jobsConfig, problems } = await jobsConfigOf(config);
  const jobs = new JobManager(jobsConfig, { log, store: jobStore, referenceStore, metrics, logger, keepReferencesMs: config.log.retention }, problems);
  const dashboards = new Dashboards(config.dashboards, { names: () => jobs.outputNames(), find: (name) => jobs.output(name)?.name }, logger);
  /** Ends the live-event tails at shutdown, as the feed and the jobs end theirs. */
  const tails = new AbortController();
  let ready = false;

  const server = new HttpServer({
    plugins: [
      healthRoutes(metrics, () => ready, () => jobs.health()),
      deviceRoutes(auth, ingestion),
      registerRoutes(keys, registry, { hostName: config.hostName, rateLimit: config.register, tokenTtlSeconds: config.register.tokenTtlSeconds }),
      registryRoutes(auth, registry),
      ...feed.plugins,
      jobRoutes(auth, jobs),
      outputRoutes(auth, jobs),
      dashboardRoutes(auth, dashboards),
      eventRoutes(auth, log, tails.signal),
      pageRoutes(),
    ],
    cors: config.cors,
    trustProxy: config.http.trustProxy,
    tls: config.http.tlsCert && config.http.tlsKey ? { cert: config.http.tlsCert, key: config.http.tlsKey } : null,
    metrics,
    logger,
  });
  metrics.gauge('omnistream_http_requests_in_flight', 'Requests being handled').track({}, () => server.activeRequests);

  let retention: Promise<unknown> = Promise.resolve();
  const retentionTimer = setInterval(() => {
    retention = log.applyRetention(new Date()).then(
      (r) => r.deletedMessages > 0 && logger.info('retention removed expired messages', { deleted: r.deletedMessages }),
      (err: unknown) => logger.error('retention failed', { err }),
    );
  }, config.log.retentionInterval);
  retentionTimer.unref();

  let address;
  try {
    address = await server.listen(config.http.port, config.http.host);
  } catch (err) {
    clearInterval(retentionTimer);
    await jobs.close();
    await Promise.all([ingestion.close(), feed.close(), log.close()]);
    await Promise.all([registry.close(), keys.close(), jobStore.close(), referenceStore.close()]);
    throw err;
  }
  ready = true;
  // Jobs start behind the listener: a reference source that is slow to answer (PostgreSQL at
  // start) delays only the jobs that join it, never ingestion.
  const jobsStarted = jobs.start().catch((err: unknown) => logger.error('jobs could not start', { err }));
  const scheme = config.http.tlsCert ? 'https' : 'http';
  const host = config.http.host === '0.0.0.0' || config.http.host === '::' ? '127.0.0.1' : config.http.host;
  const url = `${scheme}://${host}:${address.port}`;
  logger.info('omnistream ready', { url, dataDir: config.dataDir, partitions: config.log.partitions, durability: config.log.durability, startupMs: Math.round(performance.now()) });

  let closing: Promise<void> | undefined;
  return {
    config, url, port: address.port, keys, registry, log, metrics, jobs,
    close() {
      closing ??= (async () => {
        ready = false;
        clearInterval(retentionTimer);
        feed.release();
        jobs.release();
        tails.abort();
        await server.close();
        await retention;
        await ingestion.close();
        await jobsStarted;
        // Jobs commit their last checkpoint before the log they read closes.
        await jobs.close();
        await feed.close();
        await log.close();
        await Promise.all([registry.close(), keys.close(), jobStore.close(), referenceStore.close()]);
        logger.info('omnistream stopped');
      })();
      return closing;
    },
  };
}
