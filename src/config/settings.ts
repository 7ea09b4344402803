// Every setting of Omnistream, each declared once (schema.ts says how, and how a feature adds a
// section). The Config type the code reads is derived from this declaration.
import { validateSymmetricKey } from '../core/device.js';
import { DURABILITIES } from '../log/durability.js';
import { LOG_LEVELS } from '../telemetry/logger.js';
import { DASHBOARD_SETTINGS } from './dashboard-settings.js';
import { JOB_SETTINGS, OUTPUT_SETTINGS, REFERENCE_SETTINGS } from './jobs-settings.js';
import { RECOMMENDATION_SETTINGS } from './recommendation-settings.js';
import { boolean, choice, duration, integer, list, path, records, section, sequence, text, type ValueOf } from './schema.js';

/** The process roles: `gateway` (HTTP, MQTT, bridges), `jobs` (job workers), `all` (both, one process). */
export const ROLES = ['all', 'gateway', 'jobs'] as const;
export type Role = (typeof ROLES)[number];

/** nats://HOST:PORT (tls:// too), comma-separated for a cluster. */
function isNatsUrls(value: string): boolean {
  return value.split(',').every((u) => {
    const url = u.trim();
    return /^(nats|tls):\/\/[^/\s]+$/i.test(url.replace(/\/$/, '')) && URL.canParse(url);
  });
}

function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value) && URL.canParse(value);
}

function isSymmetricKey(key: string): boolean {
  try {
    validateSymmetricKey(key, 'key');
    return true;
  } catch {
    return false;
  }
}

export const SETTINGS = section({
  dataDir: path({
    doc: 'where the log, consumer groups, registry and keys live',
    default: './data', env: 'OMNISTREAM_DATA', flag: 'data', placeholder: 'DIR',
  }),
  hostName: text({
    doc: 'the hub host name SAS tokens are scoped to (`sr`) and connection strings carry',
    default: 'localhost', env: 'OMNISTREAM_HOST_NAME', flag: 'host-name', placeholder: 'NAME',
  }),
  http: section({
    host: text({ doc: 'listen address', default: '0.0.0.0', env: 'OMNISTREAM_HTTP_HOST', placeholder: 'ADDRESS' }),
    port: integer({
      doc: 'plain HTTP listen port; 0 picks a free one',
      min: 0, max: 65535, default: 8080, env: 'OMNISTREAM_HTTP_PORT', flag: 'http-port',
    }),
    httpsPort: integer({
      doc: 'HTTPS listen port beside the plain one, 443 for the official SDKs; off when unset',
      min: 0, max: 65535, default: null, env: 'OMNISTREAM_HTTPS_PORT', flag: 'https-port',
    }),
    tlsCert: path({
      doc: 'PEM certificate of the HTTPS and MQTTS ports; unset, a self-signed one is generated into `<data>/tls/` when one of them is on',
      default: null, env: 'OMNISTREAM_TLS_CERT', flag: 'tls-cert',
    }),
    tlsKey: path({ doc: 'PEM private key of `http.tlsCert`', default: null, env: 'OMNISTREAM_TLS_KEY', flag: 'tls-key' }),
    trustProxy: boolean({ doc: 'take the client address (rate limits) from `X-Forwarded-For`; only behind a trusted proxy', default: false }),
    headersTimeout: duration({ doc: 'a request whose headers have not all arrived by then gets 408 and is closed (slow clients)', default: '10s' }),
    requestTimeout: duration({ doc: 'a request whose body has not all arrived by then gets 408 and is closed; long-polls and SSE are not cut, their request is complete', default: '30s' }),
    maxIngestInFlight: integer({ doc: 'device requests (events, beacons, registrations) handled at once; more get 503 and `Retry-After` before their body is read', min: 1, max: 1_000_000, default: 2_000 }),
  }, {
    check: (http) => {
      if ((http.tlsCert === null) === (http.tlsKey === null)) return undefined;
      return http.tlsCert === null
        ? { setting: 'tlsKey', problem: 'goes with http.tlsCert: set both or neither' } as const
        : { setting: 'tlsCert', problem: 'goes with http.tlsKey: set both or neither' } as const;
    },
  }),
  mqtt: section({
    host: text({ doc: 'listen address of the MQTT ports; unset, `http.host`', default: null, env: 'OMNISTREAM_MQTT_HOST', placeholder: 'ADDRESS' }),
    tlsPort: integer({
      doc: 'MQTT over TLS (IoT Hub\'s MQTT) listen port, 8883 for the official SDKs; off when unset',
      min: 0, max: 65535, default: null, env: 'OMNISTREAM_MQTTS_PORT', flag: 'mqtts-port',
    }),
    port: integer({
      doc: 'plain MQTT listen port, for devices on a trusted network (IoT Hub has none); off when unset',
      min: 0, max: 65535, default: null, env: 'OMNISTREAM_MQTT_PORT', flag: 'mqtt-port',
    }),
    maxInflight: integer({
      doc: 'messages of one MQTT connection waiting for their append; at this many the gateway stops reading from it until one is stored',
      min: 1, max: 10_000, default: 64,
    }),
    maxInflightTotal: integer({
      doc: 'messages of all MQTT connections together waiting for their append; past it a publish is refused: no PUBACK, and the connection closes once its earlier messages are acknowledged',
      min: 1, max: 10_000_000, default: 10_000,
    }),
    maxConnections: integer({
      doc: 'MQTT connections open at once (both ports); past it a CONNECT gets CONNACK 3 (server unavailable) and the connection closes',
      min: 1, max: 10_000_000, default: 10_000,
    }),
  }),
  bridges: records(section({
    url: text({ doc: 'the store broker: mqtt://host:1883 or mqtts://host:8883 (credentials may go in the URL or below)', placeholder: 'URL' }),
    topics: sequence(section({
      pattern: text({ doc: 'a topic the store\'s readers publish to, with {name} for a level that varies: `stores/{store}/readers/{reader}/events`' }),
      deviceId: text({ doc: 'the device a message comes from, made of the pattern\'s names: `{store}-{reader}`', default: '{device}' }),
    }), { doc: 'the topics the bridge subscribes to (QoS 1), each mapped to devices' }),
    tenant: text({ doc: 'the tenant of the devices the bridge creates on first sight', default: 'default', placeholder: 'NAME' }),
    username: text({ doc: 'user name on the broker', default: null }),
    password: text({ doc: 'password on the broker', default: null }),
    ca: path({ doc: 'PEM file of the CA that signed the broker\'s certificate (mqtts)', default: null }),
    clientId: text({ doc: 'the client id of the bridge\'s persistent session (default omnistream-bridge-<name>)', default: null }),
    dedup: choice({ doc: '`hash`: a message\'s id is a hash of its topic and payload, so a redelivery is stored once; `none`', values: ['hash', 'none'], default: 'hash' }),
  }, {
    check: (b) => (b.topics.length === 0 ? { setting: 'topics', problem: 'a bridge needs at least one topic pattern' } as const : undefined),
  }), { doc: 'bridges from store MQTT brokers: their readers\' messages into the log, at least once, deduplicated' }),
  log: section({
    partitions: integer({ doc: 'partitions of the log, fixed when it is created', min: 1, max: 32, default: 4, env: 'OMNISTREAM_PARTITIONS' }),
    retention: duration({ doc: 'messages older than this are deleted', default: '7d', env: 'OMNISTREAM_RETENTION' }),
    retentionInterval: duration({ doc: 'how often retention runs', default: '1m' }),
    dedupWindow: duration({ doc: 'a repeated `messageId` from a device within this time is stored once', default: '24h' }),
    durability: choice({
      doc: '`process`: an acknowledged message survives `kill -9`; `fsync`: power loss too',
      values: DURABILITIES, default: 'process', env: 'OMNISTREAM_DURABILITY',
    }),
    maxPendingMessages: integer({ doc: 'appends waiting for a commit before new ones get 503 and `Retry-After`', min: 1, max: 10_000_000, default: 100_000 }),
    url: text({
      doc: 'the log on NATS JetStream: `nats://HOST:PORT`, comma-separated for a cluster (docs/scale-out.md); unset, the embedded SQLite log in `dataDir`',
      default: null, env: 'OMNISTREAM_LOG', flag: 'log', placeholder: 'nats://HOST:PORT', valid: isNatsUrls, expected: 'nats://HOST:PORT, or several separated by commas',
    }),
    stream: text({
      doc: 'JetStream: the prefix of the log\'s streams (`<stream>_p<N>`) and dedup bucket; gateways and job workers of one hub share it',
      default: 'omnistream', env: 'OMNISTREAM_LOG_STREAM', flag: 'log-stream', placeholder: 'NAME',
      // The JetStream log checks it again (STREAM_PREFIX); importing it here would load NATS for every command.
      valid: (v) => /^[A-Za-z0-9_-]{1,64}$/.test(v), expected: '1 to 64 letters, digits, - or _',
    }),
    replicas: integer({ doc: 'JetStream: replicas of each partition\'s stream (3 on a 3-node cluster); changed on the next start', min: 1, max: 5, default: 1, env: 'OMNISTREAM_LOG_REPLICAS' }),
    storage: choice({ doc: 'JetStream: `file`, or `memory` (lost when every replica restarts); fixed when the streams are created', values: ['file', 'memory'], default: 'file' }),
    horizonMargin: duration({
      doc: 'JetStream: how far behind the wall clock jobs read, so that appends of other gateways (their clocks, their latency) land first',
      default: '1s',
    }),
  }),
  db: section({
    url: text({
      doc: 'PostgreSQL for the registry, keys, consumer groups, jobs\' checkpoints and rows, reference versions and coordination (docs/scale-out.md); unset, files in `dataDir`',
      default: null, env: 'OMNISTREAM_DB', flag: 'db', placeholder: 'postgres://USER@HOST:PORT/DB', valid: isPostgresUrl, expected: 'a postgres:// URL',
    }),
    schema: text({
      doc: 'the PostgreSQL schema Omnistream\'s tables live in (created and migrated on start)',
      default: 'omnistream', env: 'OMNISTREAM_DB_SCHEMA', flag: 'db-schema', placeholder: 'NAME',
      valid: (v) => /^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(v), expected: 'letters, digits and _, at most 63, not starting with a digit',
    }),
    poolSize: integer({ doc: 'connections each process opens to PostgreSQL at most (one more is held for notifications)', min: 2, max: 1_000, default: 10 }),
  }),
  role: choice({
    doc: 'what this process runs: `gateway` (HTTP, MQTT, bridges, feed, dashboards), `jobs` (continuous jobs and output delivery, with health and metrics on its HTTP port), `all` (both)',
    // Not all|gateway|jobs: the pipes would split the docs' settings table.
    values: ROLES, default: 'all', env: 'OMNISTREAM_ROLE', flag: 'role', placeholder: 'ROLE',
  }),
  jobLease: duration({
    doc: 'with `db`: a jobs process keeps a job (or an output\'s delivery) this long after its last renewal; when it dies, another takes the job over after this',
    default: '5s',
  }),
  cors: section({
    deviceOrigins: list({ doc: 'origins allowed on device routes and `/api/register` (`*`: any)', default: ['*'] }),
    adminOrigins: list({ doc: 'origins allowed on registry, feed and admin routes', default: [] }),
  }),
  quotas: section({
    device: section({
      perSecond: integer({ doc: 'messages a second one device may send over HTTP and MQTT, on average (429 and `Retry-After`; MQTT: disconnect); 0: no quota (docs/hardening.md)', min: 0, max: 1_000_000, default: 0, env: 'OMNISTREAM_DEVICE_QUOTA' }),
      burst: integer({ doc: 'messages one device may send at once above its rate', min: 1, max: 10_000_000, default: 1_000 }),
    }),
    tenant: section({
      perSecond: integer({ doc: 'messages a second all devices of one tenant (one brand\'s app keys) may send together; 0: no quota', min: 0, max: 10_000_000, default: 0, env: 'OMNISTREAM_TENANT_QUOTA' }),
      burst: integer({ doc: 'messages one tenant\'s devices may send at once above its rate', min: 1, max: 100_000_000, default: 10_000 }),
    }),
  }),
  register: section({
    perMinute: integer({ doc: 'self-registrations per minute per client address', min: 1, max: 1_000_000, default: 10 }),
    burst: integer({ doc: 'self-registrations a client address may make at once', min: 1, max: 1_000_000, default: 20 }),
    tokenTtlSeconds: integer({ doc: 'lifetime of the token `/api/register` returns, in seconds', min: 60, max: 366 * 86_400, default: 86_400 }),
  }),
  registryCache: duration({
    doc: 'how long the server trusts a device record it read; its own changes apply at once, another process\'s (the CLI) within this time',
    default: '1s',
  }),
  logLevel: choice({ doc: 'the least important log lines written', values: LOG_LEVELS, default: 'info', env: 'OMNISTREAM_LOG_LEVEL' }),
  demo: boolean({ doc: 'demo mode: the retail demo (demo/omnistream.yaml unless `--config` is given), a viewer and an app key per brand, and the shopper simulator; prints the dashboards\' links', default: false, flag: 'demo' }),
  demoRate: integer({ doc: 'demo mode: events per second the shopper simulator sends, all brands together; 0 sends none', min: 0, max: 10_000, default: 40, env: 'OMNISTREAM_DEMO_RATE', flag: 'rate', placeholder: 'N' }),
  ownerKey: text({
    doc: 'fixes the `iothubowner` primary key (base64, 16 to 64 bytes) for scripted deployments; generated on first start when unset',
    default: null, env: 'OMNISTREAM_OWNER_KEY', valid: isSymmetricKey, expected: 'a base64 key of 16 to 64 bytes',
  }),
  reference: REFERENCE_SETTINGS,
  outputs: OUTPUT_SETTINGS,
  jobs: JOB_SETTINGS,
  dashboards: DASHBOARD_SETTINGS,
  recommendations: RECOMMENDATION_SETTINGS,
}, {
  check: (c) => {
    if (c.role === 'all' || (c.log.url !== null && c.db.url !== null)) return undefined;
    return { setting: 'role', problem: `a ${c.role} process runs beside others, so it needs the log and database they share: give --log nats://HOST:PORT and --db postgres://… (docs/scale-out.md)` } as const;
  },
});

export type Config = ValueOf<typeof SETTINGS>;
