// The one config schema: every setting, its default and its validation live here.
// Sources, later ones winning: defaults < config file (JSON) < OMNISTREAM_* env < command-line flags.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDurationMs } from './core/duration.js';
import { validateSymmetricKey } from './core/device.js';
import { OmniError } from './core/errors.js';
import type { Durability } from './log/durability.js';
import type { LogLevel } from './telemetry/logger.js';


export interface Config {
  /** Where the log, registry and keys live. */
  readonly dataDir: string;
  /** The hub host name that SAS tokens are scoped to (`sr`) and connection strings carry. */
  readonly hostName: string;
  readonly http: {
    readonly host: string;
    readonly port: number;
    /** PEM files; when both are set the server speaks HTTPS. */
    readonly tlsCert: string | null;
    readonly tlsKey: string | null;
    /** Take the client address from X-Forwarded-For (only behind a trusted proxy). */
    readonly trustProxy: boolean;
  };
  readonly log: {
    readonly partitions: number;
    readonly retentionMs: number;
    readonly dedupWindowMs: number;
    /** `process`: survives kill -9 (WAL, no fsync); `fsync`: survives power loss. */
    readonly durability: Durability;
    /** Appends waiting for a commit before new ones are refused with 503. */
    readonly maxPendingMessages: number;
    readonly retentionIntervalMs: number;
  };
  readonly cors: {
    /** Origins allowed on device routes and /api/register (`*` = any). */
    readonly deviceOrigins: readonly string[];
    /** Origins allowed on admin and service routes. */
    readonly adminOrigins: readonly string[];
  };
  readonly register: {
    readonly perMinute: number;
    readonly burst: number;
    readonly tokenTtlSeconds: number;
  };
  /** How long the server trusts a device record it read (changes made through it apply at once). */
  readonly registryCacheMs: number;
  readonly logLevel: LogLevel;
  readonly demo: boolean;
  /** Fixes the iothubowner primary key (base64) for scripted deployments; generated when null. */
  readonly ownerKey: string | null;
}

export const DEFAULT_CONFIG: Config = {
  dataDir: './data',
  hostName: 'localhost',
  http: { host: '0.0.0.0', port: 8080, tlsCert: null, tlsKey: null, trustProxy: false },
  log: {
    partitions: 4,
    retentionMs: 7 * 86_400_000,
    dedupWindowMs: 86_400_000,
    durability: 'process',
    maxPendingMessages: 100_000,
    retentionIntervalMs: 60_000,
  },
  cors: { deviceOrigins: ['*'], adminOrigins: [] },
  register: { perMinute: 10, burst: 20, tokenTtlSeconds: 86_400 },
  registryCacheMs: 1_000,
  logLevel: 'info',
  demo: false,
  ownerKey: null,
};

type Json = Record<string, unknown>;

function fail(path: string, expected: string, got: unknown): never {
  throw new OmniError('invalid_argument', `config ${path}: expected ${expected}, got ${JSON.stringify(got)}`);
}

function int(v: unknown, path: string, min: number, max: number): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) fail(path, `an integer from ${min} to ${max}`, v);
  return n;
}

function str(v: unknown, path: string): string {
  if (typeof v !== 'string' || v === '') fail(path, 'a non-empty string', v);
  return v;
}

function bool(v: unknown, path: string): boolean {
  if (v === true || v === 'true' || v === '1') return true;
  if (v === false || v === 'false' || v === '0') return false;
  return fail(path, 'true or false', v);
}

function oneOf<T extends string>(v: unknown, path: string, values: readonly T[]): T {
  if (typeof v !== 'string' || !values.includes(v as T)) fail(path, `one of ${values.join(', ')}`, v);
  return v as T;
}

function list(v: unknown, path: string): string[] {
  if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter(Boolean);
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
  return fail(path, 'a list of strings', v);
}

function duration(v: unknown, path: string): number {
  try {
    return parseDurationMs(v, `config ${path}`);
  } catch {
    return fail(path, 'a duration such as 15s, 24h or 7d', v);
  }
}

function section(raw: Json, key: string): Json {
  const v = raw[key];
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(key, 'an object', v);
  return v as Json;
}

const KNOWN: Record<string, readonly string[] | null> = {
  dataDir: null, hostName: null, logLevel: null, demo: null, registryCache: null, ownerKey: null,
  http: ['host', 'port', 'tlsCert', 'tlsKey', 'trustProxy'],
  log: ['partitions', 'retention', 'dedupWindow', 'durability', 'maxPendingMessages', 'retentionInterval'],
  cors: ['deviceOrigins', 'adminOrigins'],
  register: ['perMinute', 'burst', 'tokenTtlSeconds'],
};

/** Validates a partial config (file, env and flags already merged) over the defaults. */
export function buildConfig(raw: Json): Config {
  for (const [key, value] of Object.entries(raw)) {
    if (!(key in KNOWN)) throw new OmniError('invalid_argument', `config: unknown setting '${key}'`);
    const fields = KNOWN[key];
    if (fields && value && typeof value === 'object') {
      for (const f of Object.keys(value)) if (!fields.includes(f)) throw new OmniError('invalid_argument', `config: unknown setting '${key}.${f}'`);
    }
  }
  const d = DEFAULT_CONFIG;
  const http = section(raw, 'http');
  const log = section(raw, 'log');
  const cors = section(raw, 'cors');
  const register = section(raw, 'register');
  const tlsCert = http.tlsCert === undefined || http.tlsCert === null ? null : str(http.tlsCert, 'http.tlsCert');
  const tlsKey = http.tlsKey === undefined || http.tlsKey === null ? null : str(http.tlsKey, 'http.tlsKey');
  if ((tlsCert === null) !== (tlsKey === null)) throw new OmniError('invalid_argument', 'config http.tlsCert and http.tlsKey go together: set both or neither');
  return {
    dataDir: resolve(raw.dataDir === undefined ? d.dataDir : str(raw.dataDir, 'dataDir')),
    hostName: raw.hostName === undefined ? d.hostName : str(raw.hostName, 'hostName'),
    http: {
      host: http.host === undefined ? d.http.host : str(http.host, 'http.host'),
      port: http.port === undefined ? d.http.port : int(http.port, 'http.port', 0, 65535),
      tlsCert,
      tlsKey,
      trustProxy: http.trustProxy === undefined ? d.http.trustProxy : bool(http.trustProxy, 'http.trustProxy'),
    },
    log: {
      partitions: log.partitions === undefined ? d.log.partitions : int(log.partitions, 'log.partitions', 1, 32),
      retentionMs: log.retention === undefined ? d.log.retentionMs : duration(log.retention, 'log.retention'),
      dedupWindowMs: log.dedupWindow === undefined ? d.log.dedupWindowMs : duration(log.dedupWindow, 'log.dedupWindow'),
      durability: log.durability === undefined ? d.log.durability : oneOf(log.durability, 'log.durability', ['process', 'fsync'] as const),
      maxPendingMessages: log.maxPendingMessages === undefined ? d.log.maxPendingMessages : int(log.maxPendingMessages, 'log.maxPendingMessages', 1, 10_000_000),
      retentionIntervalMs: log.retentionInterval === undefined ? d.log.retentionIntervalMs : duration(log.retentionInterval, 'log.retentionInterval'),
    },
    cors: {
      deviceOrigins: cors.deviceOrigins === undefined ? d.cors.deviceOrigins : list(cors.deviceOrigins, 'cors.deviceOrigins'),
      adminOrigins: cors.adminOrigins === undefined ? d.cors.adminOrigins : list(cors.adminOrigins, 'cors.adminOrigins'),
    },
    register: {
      perMinute: register.perMinute === undefined ? d.register.perMinute : int(register.perMinute, 'register.perMinute', 1, 1_000_000),
      burst: register.burst === undefined ? d.register.burst : int(register.burst, 'register.burst', 1, 1_000_000),
      tokenTtlSeconds: register.tokenTtlSeconds === undefined ? d.register.tokenTtlSeconds : int(register.tokenTtlSeconds, 'register.tokenTtlSeconds', 60, 366 * 86_400),
    },
    registryCacheMs: raw.registryCache === undefined ? d.registryCacheMs : duration(raw.registryCache, 'registryCache'),
    logLevel: raw.logLevel === undefined ? d.logLevel : oneOf(raw.logLevel, 'logLevel', ['debug', 'info', 'warn', 'error'] as const),
    demo: raw.demo === undefined ? d.demo : bool(raw.demo, 'demo'),
    ownerKey: raw.ownerKey === undefined || raw.ownerKey === null ? d.ownerKey : validateSymmetricKey(str(raw.ownerKey, 'ownerKey'), 'ownerKey (OMNISTREAM_OWNER_KEY)'),
  };
}

/** Environment variables, each mapped to a setting path. */
const ENV: Record<string, string> = {
  OMNISTREAM_DATA: 'dataDir',
  OMNISTREAM_HOST_NAME: 'hostName',
  OMNISTREAM_HTTP_HOST: 'http.host',
  OMNISTREAM_HTTP_PORT: 'http.port',
  OMNISTREAM_TLS_CERT: 'http.tlsCert',
  OMNISTREAM_TLS_KEY: 'http.tlsKey',
  OMNISTREAM_PARTITIONS: 'log.partitions',
  OMNISTREAM_RETENTION: 'log.retention',
  OMNISTREAM_DURABILITY: 'log.durability',
  OMNISTREAM_LOG_LEVEL: 'logLevel',
  OMNISTREAM_OWNER_KEY: 'ownerKey',
};

function setPath(target: Json, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Json;
  node[parts[parts.length - 1]!] = value;
}

function merge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' ? merge(b as Json, v as Json) : v;
  }
  return out;
}

export interface ConfigSources {
  readonly file?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  /** Settings from flags, by path (`http.port`, `dataDir`…). */
  readonly flags?: Record<string, unknown>;
}

export function loadConfig({ file, env = process.env, flags = {} }: ConfigSources = {}): Config {
  let fromFile: Json = {};
  if (file) {
    try {
      fromFile = JSON.parse(readFileSync(file, 'utf8')) as Json;
    } catch (cause) {
      throw new OmniError('invalid_argument', `config file ${file}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
    if (typeof fromFile !== 'object' || fromFile === null || Array.isArray(fromFile)) throw new OmniError('invalid_argument', `config file ${file}: expected a JSON object`);
  }
  const fromEnv: Json = {};
  for (const [name, path] of Object.entries(ENV)) if (env[name] !== undefined && env[name] !== '') setPath(fromEnv, path, env[name]);
  const fromFlags: Json = {};
  for (const [path, value] of Object.entries(flags)) if (value !== undefined) setPath(fromFlags, path, value);
  return buildConfig(merge(merge(fromFile, fromEnv), fromFlags));
}
