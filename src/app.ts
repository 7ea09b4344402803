// The composition root: builds every part from the config, starts them, stops them in order.
import { Authenticator } from './auth/authenticator.js';
import type { KeyStore } from './auth/key-store.js';
import type { Config } from './config/index.js';
import { openFeed } from './feed/feed.js';
import { healthRoutes } from './http/health-routes.js';
import { Metrics } from './telemetry/metrics.js';
import { HttpServer } from './http/server.js';
import type { Route } from './http/route.js';
import { deviceRoutes } from './ingest/device-routes.js';
import { Ingestion } from './ingest/ingestion.js';
import { registerRoutes } from './ingest/register-routes.js';
import { sdkRoutes } from './ingest/sdk-routes.js';
import { dashboardRoutes } from './dashboard/dashboard-routes.js';
import { Dashboards } from './dashboard/dashboards.js';
import { eventRoutes } from './dashboard/event-routes.js';
import { outputRoutes } from './dashboard/output-routes.js';
import { pageRoutes } from './dashboard/page-routes.js';
import { JobManager } from './jobs/job-manager.js';
import { jobRoutes } from './jobs/job-routes.js';
import { jobsConfigOf } from './jobs/jobs-config.js';
import type { EventLog } from './log/event-log.js';
import { MqttEndpoint } from './ingest/mqtt/mqtt-endpoint.js';
import { bridgeRoutes } from './ingest/mqtt-bridge/bridge-routes.js';
import { MqttBridge } from './ingest/mqtt-bridge/mqtt-bridge.js';
import { loadCertificate, renewedCertificate, secureContextOptions, type CertificateSource, type LoadedCertificate } from './tls/tls-certificate.js';
import { createLogger, type Logger } from './telemetry/logger.js';
import type { Registry } from './registry/registry.js';
import type { ConsumerGroupStore } from './log/consumer-group-store.js';
import type { JobStore } from './jobs/job-store.js';
import type { ReferenceVersionStore } from './reference/reference-version-store.js';
import { registryRoutes } from './registry/registry-routes.js';
import { openRecommendations } from './recs/recommendations.js';
import { openConsumerGroupStore, openEventLog, openJobStore, openKeyStore, openReferenceVersionStore, openServingRegistry, openSharedState, recsStorePath, type SharedState } from './storage.js';

export interface RunningApp {
  readonly config: Config;
  /** Base URL of the HTTP listener, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  readonly port: number;
  /** Ports of the listeners that are on (`http.httpsPort`, `mqtt.port`, `mqtt.tlsPort`). */
  readonly httpsPort: number | undefined;
  readonly mqttPort: number | undefined;
  readonly mqttsPort: number | undefined;
  /** The certificate file of the TLS listeners, configured or generated; undefined without them. */
  readonly certificateFile: string | undefined;
  readonly keys: KeyStore;
  readonly registry: Registry;
  readonly log: EventLog;
  readonly metrics: Metrics;
  readonly jobs: JobManager;
  /** Every route the HTTP listener serves (what the security-model test walks). */
  readonly routes: readonly Route[];
  /** Graceful stop: refuse new work, finish requests and appends in flight, close storage. */
  close(): Promise<void>;
}

/** How often the TLS listeners look for a renewed certificate. */
const CERTIFICATE_CHECK_MS = 3_600_000;

export async function startApp(config: Config, logger: Logger = createLogger(config.logLevel)): Promise<RunningApp> {
  // The certificate first: a wrong one stops the start before anything is opened.
  const certificateSource: CertificateSource = {
    dataDir: config.dataDir,
    hostName: config.hostName,
    configured: config.http.tlsCert && config.http.tlsKey ? { cert: config.http.tlsCert, key: config.http.tlsKey } : null,
  };
  const tlsWanted = config.http.httpsPort !== null || config.mqtt.tlsPort !== null;
  let certificate: LoadedCertificate | undefined = tlsWanted ? await loadCertificate(certificateSource) : undefined;
  // A gateway serves devices and readers; a job worker runs jobs and delivers outputs (docs/scale-out.md).
  const gateway = config.role !== 'jobs';
  const worker = config.role !== 'gateway';
  const opened = await openStores(config, logger);
  const { shared, keys, registry, log, groupStore, jobStore, referenceStore } = opened;
  const metrics = new Metrics();
  const auth = new Authenticator(config.hostName, keys, registry);
  const ingestion = new Ingestion(log, registry, metrics, logger, config.quotas);
  const feed = await openFeed(groupStore, log, auth, metrics, logger, shared?.leases);
  const mqtt = !gateway || (config.mqtt.port === null && config.mqtt.tlsPort === null) ? undefined : new MqttEndpoint({
    hostName: config.hostName,
    maxInflight: config.mqtt.maxInflight,
    maxInflightTotal: config.mqtt.maxInflightTotal,
    maxConnections: config.mqtt.maxConnections,
    authorize: (password, deviceId) => auth.device(password, deviceId),
    ingest: (caller, messages, transport) => ingestion.ingest(caller, messages, transport),
    metrics,
    logger,
  });
  // A pattern or device-id template that cannot work stops the start here, naming the bridge.
  const bridges = Object.entries(gateway ? config.bridges : {}).map(([name, b]) => new MqttBridge({
    name, url: b.url, topics: b.topics, tenant: b.tenant, username: b.username, password: b.password, caFile: b.ca,
    clientId: b.clientId ?? `omnistream-bridge-${name}`, dedup: b.dedup,
  }, { ingestion, registry, logger: logger.child({ bridge: name }), metrics }));
  const { jobs: jobsConfig, problems } = await jobsConfigOf(config);
  // A gateway builds the jobs without running them: it answers for their outputs from the shared store.
  const jobs = new JobManager(jobsConfig, { log, store: jobStore, referenceStore, metrics, logger, keepReferencesMs: config.log.retention, ownership: shared?.leases }, problems);
  // The recommender restores its model before the server answers (docs/recommendations.md).
  const recs = config.recommendations.enabled ? await openRecommendations(config.recommendations, { log, storePath: recsStorePath(config), metrics, logger }) : undefined;
  const dashboards = new Dashboards(config.dashboards, { names: () => jobs.outputNames(), find: (name) => jobs.output(name)?.name }, logger);
  /** Ends the live-event tails at shutdown, as the feed and the jobs end theirs. */
  const tails = new AbortController();
  let ready = false;
  // Unready while the shared log or database is away: a balancer sends devices to another gateway.
  const reachable = (): boolean => (log.reachable ?? true) && (shared?.notifications.connected ?? true);
  const health = healthRoutes(metrics, () => ready && reachable(), () => (worker ? jobs.health() : {}));
  const gatewayPlugins = [
      deviceRoutes(auth, ingestion),
      registerRoutes(keys, registry, { hostName: config.hostName, rateLimit: config.register, tokenTtlSeconds: config.register.tokenTtlSeconds }),
      sdkRoutes(),
      registryRoutes(auth, registry),
      ...feed.plugins,
      jobRoutes(auth, jobs),
      outputRoutes(auth, jobs),
      dashboardRoutes(auth, dashboards),
      eventRoutes(auth, log, tails.signal),
      pageRoutes(),
      bridgeRoutes(auth, bridges),
      ...(recs ? [recs.routes(auth)] : []),
  ];
  // A job worker's port answers for its health, metrics and jobs only.
  const plugins = gateway ? [health, ...gatewayPlugins] : [health, jobRoutes(auth, jobs)];
  const server = new HttpServer({
    plugins,
    cors: config.cors,
    trustProxy: config.http.trustProxy,
    timeouts: { headersMs: config.http.headersTimeout, requestMs: config.http.requestTimeout },
    maxDeviceRequests: config.http.maxIngestInFlight,
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
  const ports: { https?: number; mqtt?: number; mqtts?: number } = {};
  const mqttHost = config.mqtt.host ?? config.http.host;
  try {
    address = await server.listen(config.http.port, config.http.host);
    const tls = certificate && secureContextOptions(certificate.credentials);
    if (config.http.httpsPort !== null) ports.https = (await server.listen(config.http.httpsPort, config.http.host, tls)).port;
    if (mqtt && config.mqtt.tlsPort !== null) ports.mqtts = (await mqtt.listen(config.mqtt.tlsPort, mqttHost, tls)).port;
    if (mqtt && config.mqtt.port !== null) ports.mqtt = (await mqtt.listen(config.mqtt.port, mqttHost)).port;
  } catch (err) {
    clearInterval(retentionTimer);
    await mqtt?.close();
    await server.close();
    await jobs.close();
    await recs?.close();
    await Promise.all([ingestion.close(), feed.close(), log.close()]);
    await Promise.all([registry.close(), keys.close(), jobStore.close(), referenceStore.close()]);
    await shared?.close();
    throw err;
  }
  ready = true;
  // Jobs start behind the listener: a reference source that is slow to answer (PostgreSQL at
  // start) delays only the jobs that join it, never ingestion.
  const jobsStarted = worker
    ? jobs.start().catch((err: unknown) => logger.error('jobs could not start', { err }))
    : jobs.follow().catch((err: unknown) => logger.error('cannot follow the jobs\' rows', { err }));
  // Bridges connect behind the listener too: a store broker that is down is retried, never awaited.
  for (const b of bridges) b.start();
  recs?.start();
  const reachableHost = (listen: string) => {
    const h = listen === '0.0.0.0' || listen === '::' ? '127.0.0.1' : listen;
    return h.includes(':') ? `[${h}]` : h;
  };
  const host = reachableHost(config.http.host);
  const url = `http://${host}:${address.port}`;
  if (certificate) {
    const { credentials, action, reason } = certificate;
    const validTo = credentials.validTo.toISOString();
    if (action === 'configured') logger.info('TLS certificate', { cert: credentials.certFile, validTo });
    else {
      // A client trusts the self-signed certificate when started with this variable (the official SDKs, Node).
      logger.info(action === 'generated' ? 'self-signed TLS certificate generated' : 'self-signed TLS certificate reused', {
        cert: credentials.certFile, validTo, ...(reason ? { reason } : {}), trust: `NODE_EXTRA_CA_CERTS=${credentials.certFile}`,
      });
    }
  }
  logger.info('omnistream ready', {
    url,
    ...(ports.https !== undefined ? { https: `https://${host}:${ports.https}` } : {}),
    ...(ports.mqtts !== undefined ? { mqtts: `mqtts://${reachableHost(mqttHost)}:${ports.mqtts}` } : {}),
    ...(ports.mqtt !== undefined ? { mqtt: `mqtt://${reachableHost(mqttHost)}:${ports.mqtt}` } : {}),
    role: config.role,
    ...(config.log.url !== null ? { log: config.log.url, stream: config.log.stream } : {}),
    ...(config.db.url !== null ? { db: opened.where, schema: config.db.schema } : {}),
    dataDir: config.dataDir, partitions: config.log.partitions, durability: config.log.durability, startupMs: Math.round(performance.now()),
  });
  // A renewed certificate (configured files replaced, or the generated one near its end) is taken without a restart.
  let renewing: Promise<unknown> = Promise.resolve();
  const certificateTimer = setInterval(() => {
    if (!certificate) return;
    renewing = renewedCertificate(certificate.credentials, certificateSource).then((renewed) => {
      if (!renewed) return;
      certificate = renewed;
      const tls = secureContextOptions(renewed.credentials);
      server.setSecureContext(tls);
      mqtt?.setSecureContext(tls);
      logger.info('TLS certificate renewed', { cert: renewed.credentials.certFile, validTo: renewed.credentials.validTo.toISOString(), ...(renewed.reason ? { reason: renewed.reason } : {}) });
    }, (err: unknown) => logger.warn('could not renew the TLS certificate', { err }));
  }, CERTIFICATE_CHECK_MS);
  certificateTimer.unref();

  let closing: Promise<void> | undefined;
  return {
    config, url, port: address.port, keys, registry, log, metrics, jobs, routes: plugins.flatMap((p) => p.routes),
    httpsPort: ports.https, mqttPort: ports.mqtt, mqttsPort: ports.mqtts, certificateFile: certificate?.credentials.certFile,
    close() {
      closing ??= (async () => {
        ready = false;
        clearInterval(retentionTimer);
        clearInterval(certificateTimer);
        feed.release();
        jobs.release();
        tails.abort();
        await Promise.all([server.close(), mqtt?.close(), renewing, ...bridges.map((b) => b.close())]);
        await retention;
        await ingestion.close();
        await jobsStarted;
        // Jobs commit their last checkpoint before the log they read closes.
        await jobs.close();
        // The recommender commits what it absorbed before the log it reads closes.
        await recs?.close();
        await feed.close();
        await log.close();
        await Promise.all([registry.close(), keys.close(), jobStore.close(), referenceStore.close()]);
        await shared?.close();
        logger.info('omnistream stopped');
      })();
      return closing;
    },
  };
}

interface Stores {
  readonly shared: SharedState | undefined;
  /** The database as messages may name it (no password); undefined without one. */
  readonly where: string | undefined;
  readonly keys: KeyStore;
  readonly registry: Registry;
  readonly log: EventLog;
  readonly groupStore: ConsumerGroupStore;
  readonly jobStore: JobStore;
  readonly referenceStore: ReferenceVersionStore;
}

/**
 * Opens every store, the database first (its schema migrated) and then the log. A store that
 * cannot be opened (PostgreSQL or NATS unreachable) stops the start with its error, which names
 * the server; what was opened before it is closed again.
 */
async function openStores(config: Config, logger: Logger): Promise<Stores> {
  const opened: Array<{ close(): Promise<void> }> = [];
  const keep = <T extends { close(): Promise<void> }>(store: T): T => {
    opened.push(store);
    return store;
  };
  let shared: SharedState | undefined;
  try {
    shared = await openSharedState(config, (message) => logger.warn('coordination', { message }));
    const keys = keep(await openKeyStore(config, shared));
    const registry = keep(await openServingRegistry(config, shared));
    const groupStore = keep(await openConsumerGroupStore(config, shared));
    const jobStore = keep(await openJobStore(config, shared));
    const referenceStore = keep(await openReferenceVersionStore(config, shared));
    const log = await openEventLog(config, (message) => logger.error('log', { message }));
    return { shared, where: shared?.where, keys, registry, log, groupStore, jobStore, referenceStore };
  } catch (err) {
    for (const store of opened.reverse()) await store.close().catch(() => {});
    await shared?.close().catch(() => {});
    throw err;
  }
}
