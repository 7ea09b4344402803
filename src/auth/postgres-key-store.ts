// The key store in PostgreSQL, shared by every gateway. Every request is authorized against it, so
// reads answer from a copy in memory, never from the database. The copy is kept fresh by polling:
// every write bumps one version number (in the write's own statement), and each store reads that
// number once per KEY_REFRESH_MS, fetching the keys again (in the same statement, one snapshot)
// only when it moved. A revocation in another process is therefore served here within a second
// plus one round trip; one's own writes are read back before they resolve. Polling rather than
// LISTEN/NOTIFY: no connection is held for it, a lost connection needs no re-subscribing, and a
// notification missed while reconnecting cannot leave a revoked key live. When the database is
// unreachable, the last copy keeps being served and writes fail.
import { randomBytes } from 'node:crypto';
import { DEFAULT_TENANT, validateSymmetricKey, validateTenant } from '../core/device.js';
import { OmniError } from '../core/errors.js';
import { DEFAULT_POLICIES, isRight, type Right } from '../core/rights.js';
import { PostgresDatabase, type PostgresTarget } from '../postgres/postgres-database.js';
import { NOTIFY_CHANNEL } from '../postgres/postgres-notifications.js';
import { migrate, schemaComponent } from '../postgres/schema-migrations.js';
import { KEY_REFRESH_MS, type AppKey, type KeyStore, type Policy, type ViewerKey } from './key-store.js';
import { generateKey } from './sas.js';

/** The topic of key changes on NOTIFY_CHANNEL; the value is the keys' new version. */
export const KEYS_CHANNEL = 'keys';

export const KEY_STORE_SCHEMA = schemaComponent('keys', [
  {
    version: 1,
    description: 'shared access policies, app keys, viewer keys, and the version every change bumps',
    statements: (s) => [
      `CREATE TABLE ${s}.key_policies (name text PRIMARY KEY, position integer NOT NULL, primary_key text NOT NULL, secondary_key text NOT NULL, rights text[] NOT NULL)`,
      `CREATE TABLE ${s}.app_keys (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, key text NOT NULL UNIQUE, tenant text NOT NULL,
        created_at timestamptz NOT NULL, revoked_at timestamptz)`,
      `CREATE TABLE ${s}.viewer_keys (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, key text NOT NULL UNIQUE, tenant text,
        created_at timestamptz NOT NULL, revoked_at timestamptz)`,
      `CREATE TABLE ${s}.key_store_state (id integer PRIMARY KEY CHECK (id = 1), version bigint NOT NULL)`,
      `INSERT INTO ${s}.key_store_state (id, version) VALUES (1, 0)`,
    ],
  },
  {
    version: 2,
    description: 'every change of the keys is notified, so other processes read them at once rather than at their next poll',
    statements: (s) => [
      `CREATE FUNCTION ${s}.notify_keys_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('${NOTIFY_CHANNEL}', TG_TABLE_SCHEMA || E'\t${KEYS_CHANNEL}\t' || NEW.version);
        RETURN NULL;
      END $$`,
      `CREATE TRIGGER keys_changed AFTER UPDATE OF version ON ${s}.key_store_state FOR EACH ROW EXECUTE FUNCTION ${s}.notify_keys_change()`,
    ],
  },
]);


export interface PostgresKeyStoreOptions {
  /** The `ownerKey` setting: fixes the iothubowner primary key. */
  readonly ownerKey?: string | null | undefined;
}

/** The keys being served: live keys only (a revoked key is never served), indexed for lookups. */
interface Keys {
  readonly version: number;
  readonly policies: ReadonlyMap<string, Policy>;
  readonly appKeys: ReadonlyMap<string, AppKey>;
  readonly viewerKeys: ReadonlyMap<string, ViewerKey>;
}

const NO_KEYS: Keys = { version: -1, policies: new Map(), appKeys: new Map(), viewerKeys: new Map() };

interface SnapshotRow {
  version: string;
  /** null when the version is the one already served. */
  policies: [string, string, string, string[]][] | null;
  app_keys: [string, string, string][] | null;
  viewer_keys: [string, string | null, string][] | null;
}

function newAppKey(): string {
  return `ak_${randomBytes(18).toString('base64url')}`;
}

function newViewerKey(): string {
  return `vk_${randomBytes(24).toString('base64url')}`;
}

export class PostgresKeyStore implements KeyStore {
  private keys: Keys = NO_KEYS;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private closed = false;
  private readonly t;
  private readonly snapshotSql: string;

  private constructor(
    private readonly db: PostgresDatabase,
    private readonly ownerKey: string | undefined,
  ) {
    this.t = {
      policies: db.table('key_policies'),
      appKeys: db.table('app_keys'),
      viewerKeys: db.table('viewer_keys'),
      state: db.table('key_store_state'),
    };
    const changed = (select: string): string => `CASE WHEN s.version <> $1 THEN (${select}) END`;
    this.snapshotSql = `SELECT s.version,
      ${changed(`SELECT COALESCE(json_agg(json_build_array(name, primary_key, secondary_key, rights) ORDER BY position), '[]') FROM ${this.t.policies}`)} AS policies,
      ${changed(`SELECT COALESCE(json_agg(json_build_array(key, tenant, created_at) ORDER BY id), '[]') FROM ${this.t.appKeys} WHERE revoked_at IS NULL`)} AS app_keys,
      ${changed(`SELECT COALESCE(json_agg(json_build_array(key, tenant, created_at) ORDER BY id), '[]') FROM ${this.t.viewerKeys} WHERE revoked_at IS NULL`)} AS viewer_keys
      FROM ${this.t.state} AS s WHERE s.id = 1`;
  }

  /**
   * Opens the keys in `target`'s schema, creating or migrating the tables; a new store gets IoT
   * Hub's default policies and one app key of the default tenant, once, however many processes
   * open it at the same moment.
   */
  static async open(target: PostgresTarget, options: PostgresKeyStoreOptions = {}): Promise<PostgresKeyStore> {
    const ownerKey = options.ownerKey || undefined;
    if (ownerKey) validateSymmetricKey(ownerKey, 'the owner key');
    const db = PostgresDatabase.connect(target, 'the key store');
    const store = new PostgresKeyStore(db, ownerKey);
    try {
      await migrate(db, KEY_STORE_SCHEMA);
      await store.seed();
      await store.refresh(true);
    } catch (err) {
      await db.close();
      throw err;
    }
    store.schedule(Date.now());
    return store;
  }

  private async seed(): Promise<void> {
    const seeded = async (query: PostgresDatabase['query']): Promise<boolean> =>
      (await query<{ found: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${this.t.policies}) AS found`)).rows[0]!.found;
    if (await seeded(this.db.query)) return;
    await this.db.transaction(async (query) => {
      // The state row's lock makes concurrent first opens take turns; the later ones find the keys.
      await query(`SELECT version FROM ${this.t.state} WHERE id = 1 FOR UPDATE`);
      if (await seeded(query)) return;
      let position = 0;
      for (const [name, rights] of Object.entries(DEFAULT_POLICIES)) {
        await query(`INSERT INTO ${this.t.policies} (name, position, primary_key, secondary_key, rights) VALUES ($1, $2, $3, $4, $5)`,
          [name, position++, generateKey(), generateKey(), [...rights]]);
      }
      await query(`INSERT INTO ${this.t.appKeys} (key, tenant, created_at) VALUES ($1, $2, $3)`, [newAppKey(), DEFAULT_TENANT, new Date()]);
      await query(`UPDATE ${this.t.state} SET version = version + 1 WHERE id = 1`);
    });
  }

  /** Reads the keys again when their version moved (always when `force`); never goes back to an older copy. */
  private async refresh(force: boolean): Promise<void> {
    const { rows } = await this.db.query<SnapshotRow>(this.snapshotSql, [force ? -1 : this.keys.version]);
    const row = rows[0];
    if (!row) throw new OmniError('internal', `the key store's tables in PostgreSQL at ${this.db.where} have lost their state row`);
    const version = Number(row.version);
    // Unchanged, or a poll that started before one of this store's writes and read an older copy.
    if (row.policies === null || row.app_keys === null || row.viewer_keys === null || version < this.keys.version) return;
    const policies = new Map<string, Policy>();
    for (const [name, primaryKey, secondaryKey, rights] of row.policies) {
      if (!rights.every(isRight)) throw new OmniError('internal', `the key store in PostgreSQL at ${this.db.where}: policy ${name} has unknown rights`);
      policies.set(name, { name, primaryKey, secondaryKey, rights: rights as Right[] });
    }
    this.keys = {
      version,
      policies,
      appKeys: new Map(row.app_keys.map(([key, tenant, created]) => [key, { key, tenant, createdAt: isoTime(created) }])),
      viewerKeys: new Map(row.viewer_keys.map(([key, tenant, created]) => [key, { key, tenant, createdAt: isoTime(created) }])),
    };
  }

  /** Another process changed the keys: read them now rather than at the next poll. */
  changed(): void {
    if (this.closed) return;
    void this.refresh(false).catch(() => {
      // The next poll tries again.
    });
  }

  /** Polls every KEY_REFRESH_MS, start to start; a failed poll keeps the copy being served. */
  private schedule(lastStart: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      const started = Date.now();
      this.polling = this.refresh(false)
        .catch(() => {
          // The database is away: serve the keys we have; the next poll tries again.
        })
        .finally(() => {
          this.polling = undefined;
          this.schedule(started);
        });
    }, Math.max(0, KEY_REFRESH_MS - (Date.now() - lastStart)));
    // The poll alone never keeps a process alive.
    this.timer.unref();
  }

  /** A write's statement (which bumps the version), then the copy read back so the caller sees it. */
  private async write(sql: string, values: readonly unknown[]): Promise<number> {
    const changed = (await this.db.query(sql, values)).rowCount ?? 0;
    if (changed > 0) {
      // The write is committed: a failure to read it back must not report it as failed; the next
      // poll brings it.
      await this.refresh(true).catch(() => {});
    }
    return changed;
  }

  policy(name: string): Policy | undefined {
    const p = this.keys.policies.get(name);
    if (!p) return undefined;
    return name === 'iothubowner' && this.ownerKey ? { ...p, primaryKey: this.ownerKey } : p;
  }

  policies(): Policy[] {
    return [...this.keys.policies.keys()].map((name) => this.policy(name)!);
  }

  tenantOfAppKey(key: string): string | undefined {
    return this.keys.appKeys.get(key)?.tenant;
  }

  appKeys(): AppKey[] {
    return [...this.keys.appKeys.values()];
  }

  async addAppKey(tenant: string): Promise<AppKey> {
    validateTenant(tenant);
    const key: AppKey = { key: newAppKey(), tenant, createdAt: new Date().toISOString() };
    await this.write(`WITH k AS (INSERT INTO ${this.t.appKeys} (key, tenant, created_at) VALUES ($1, $2, $3))
      UPDATE ${this.t.state} SET version = version + 1 WHERE id = 1`, [key.key, key.tenant, key.createdAt]);
    return key;
  }

  async revokeAppKey(key: string): Promise<void> {
    const revoked = await this.write(`WITH r AS (UPDATE ${this.t.appKeys} SET revoked_at = now() WHERE key = $1 AND revoked_at IS NULL RETURNING 1)
      UPDATE ${this.t.state} SET version = version + 1 WHERE id = 1 AND EXISTS (SELECT 1 FROM r)`, [key]);
    if (revoked === 0) throw new OmniError('invalid_app_key', `no live app key ${key}`);
  }

  viewerKey(key: string): ViewerKey | undefined {
    return this.keys.viewerKeys.get(key);
  }

  viewerKeys(): ViewerKey[] {
    return [...this.keys.viewerKeys.values()];
  }

  async addViewerKey(tenant: string | null): Promise<ViewerKey> {
    if (tenant !== null) validateTenant(tenant);
    const key: ViewerKey = { key: newViewerKey(), tenant, createdAt: new Date().toISOString() };
    await this.write(`WITH k AS (INSERT INTO ${this.t.viewerKeys} (key, tenant, created_at) VALUES ($1, $2, $3))
      UPDATE ${this.t.state} SET version = version + 1 WHERE id = 1`, [key.key, key.tenant, key.createdAt]);
    return key;
  }

  async revokeViewerKey(key: string): Promise<void> {
    const revoked = await this.write(`WITH r AS (UPDATE ${this.t.viewerKeys} SET revoked_at = now() WHERE key = $1 AND revoked_at IS NULL RETURNING 1)
      UPDATE ${this.t.state} SET version = version + 1 WHERE id = 1 AND EXISTS (SELECT 1 FROM r)`, [key]);
    if (revoked === 0) throw new OmniError('invalid_viewer_key', `no live viewer key ${key}`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    await this.polling;
    await this.db.close();
  }
}

/** A timestamptz as JSON renders it (with the session's offset) → ISO 8601 in UTC, as keys.json has it. */
function isoTime(text: string): string {
  return new Date(text).toISOString();
}
