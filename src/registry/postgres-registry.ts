// The device registry in PostgreSQL, for several gateways sharing one registry. Records follow the
// rules of device-records.ts like every adapter. A device is one row: its record as JSON text (its
// key order kept, as the REST API shows it) and, apart, when it was last heard from, so recording
// activity is one small UPDATE for a whole batch and never rewrites the record. Changes are
// compare-and-set on the row's version, so two gateways updating one device cannot lose a write.
import type { Device, DeviceInput } from '../core/device.js';
import { OmniError } from '../core/errors.js';
import { PostgresDatabase, sqlState, type PostgresTarget } from '../postgres/postgres-database.js';
import { NOTIFY_CHANNEL } from '../postgres/postgres-notifications.js';
import { migrate, schemaComponent } from '../postgres/schema-migrations.js';
import { checkIfMatch, deviceNotFound, newDevice, updatedDevice } from './device-records.js';
import type { Registry } from './registry.js';

/** The topic of device changes on NOTIFY_CHANNEL; the value is the device id. */
export const DEVICE_CHANNEL = 'devices';

export const REGISTRY_SCHEMA = schemaComponent('registry', [
  {
    version: 1,
    description: 'devices, and the sequence their versions (etags) come from',
    statements: (s) => [
      // COLLATE "C": devices list in id order by code point, as the embedded registry lists them.
      `CREATE TABLE ${s}.devices (
        device_id text COLLATE "C" PRIMARY KEY,
        tenant text NOT NULL,
        version bigint NOT NULL,
        doc text NOT NULL,
        last_activity timestamptz)`,
      `CREATE INDEX devices_tenant ON ${s}.devices (tenant)`,
      `CREATE SEQUENCE ${s}.device_versions`,
    ],
  },
  {
    version: 2,
    description: 'a device created, changed or deleted is notified, so every process drops its cached record',
    statements: (s) => [
      // Activity (last_activity) is not a change of the record: only rows whose version moves notify.
      `CREATE FUNCTION ${s}.notify_device_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('${NOTIFY_CHANNEL}', TG_TABLE_SCHEMA || E'\t${DEVICE_CHANNEL}\t' || CASE WHEN TG_OP = 'DELETE' THEN OLD.device_id ELSE NEW.device_id END);
        RETURN NULL;
      END $$`,
      `CREATE TRIGGER devices_changed AFTER INSERT OR DELETE OR UPDATE OF version ON ${s}.devices
        FOR EACH ROW EXECUTE FUNCTION ${s}.notify_device_change()`,
    ],
  },
]);

interface DeviceRow {
  doc: string;
  version: string;
  last_activity: Date | null;
}

/** A batch of activity that deadlocks with another gateway's is tried again this often. */
const ACTIVITY_ATTEMPTS = 3;

export class PostgresRegistry implements Registry {
  private readonly devices: string;
  private readonly versions: string;

  private constructor(private readonly db: PostgresDatabase) {
    this.devices = db.table('devices');
    this.versions = db.table('device_versions');
  }

  /** Opens the registry in `target`'s schema, creating or migrating its tables. */
  static async open(target: PostgresTarget): Promise<PostgresRegistry> {
    const db = PostgresDatabase.connect(target, 'the registry');
    try {
      await migrate(db, REGISTRY_SCHEMA);
    } catch (err) {
      await db.close();
      throw err;
    }
    return new PostgresRegistry(db);
  }

  /** The record with its activity; `next`, when asked for, a fresh version for a change. */
  private async read(deviceId: string, withNext = false): Promise<{ device: Device; version: string; next: number } | undefined> {
    const next = withNext ? `, nextval('${this.versions}') AS next` : '';
    const { rows } = await this.db.query<DeviceRow & { next?: string }>(`SELECT doc, version, last_activity${next} FROM ${this.devices} WHERE device_id = $1`, [deviceId]);
    const row = rows[0];
    return row && { device: toDevice(row), version: row.version, next: Number(row.next ?? 0) };
  }

  async get(deviceId: string): Promise<Device | undefined> {
    return (await this.read(deviceId))?.device;
  }

  async list({ top = 1000 }: { top?: number } = {}): Promise<Device[]> {
    const { rows } = await this.db.query<DeviceRow>(`SELECT doc, version, last_activity FROM ${this.devices} ORDER BY device_id LIMIT $1`, [top]);
    return rows.map(toDevice);
  }

  async create(input: DeviceInput): Promise<Device> {
    // The input is checked before a version is drawn for it.
    newDevice(input, new Date(), 0);
    const { rows } = await this.db.query<{ v: string }>(`SELECT nextval('${this.versions}') AS v`);
    const version = Number(rows[0]!.v);
    const device = newDevice(input, new Date(), version);
    let inserted;
    try {
      inserted = await this.db.query(`INSERT INTO ${this.devices} (device_id, tenant, version, doc) VALUES ($1, $2, $3, $4) ON CONFLICT (device_id) DO NOTHING`,
        [device.deviceId, device.tenant, version, JSON.stringify(device)]);
    } catch (err) {
      throw sqlState(err) === '23505' ? exists(device.deviceId) : err;
    }
    if (inserted.rowCount === 0) throw exists(device.deviceId);
    return device;
  }

  async update(input: DeviceInput, ifMatch: string): Promise<Device> {
    for (;;) {
      const old = await this.read(input.deviceId, true);
      if (!old) throw new OmniError('precondition_failed', `Device '${input.deviceId}' does not exist; create it without If-Match.`);
      checkIfMatch(old.device, ifMatch);
      const device = updatedDevice(old.device, input, new Date(), old.next);
      const changed = await this.db.query(`UPDATE ${this.devices} SET tenant = $2, version = $3, doc = $4 WHERE device_id = $1 AND version = $5`,
        [device.deviceId, device.tenant, old.next, JSON.stringify(device), old.version]);
      if (changed.rowCount === 1) return device;
      // Changed or deleted since the read: judge the request against what is there now.
    }
  }

  async delete(deviceId: string, ifMatch?: string): Promise<void> {
    for (;;) {
      const old = await this.read(deviceId);
      if (!old) throw deviceNotFound(deviceId);
      if (ifMatch !== undefined) checkIfMatch(old.device, ifMatch);
      const unconditional = ifMatch === undefined || ifMatch.trim() === '*';
      const deleted = unconditional
        ? await this.db.query(`DELETE FROM ${this.devices} WHERE device_id = $1`, [deviceId])
        : await this.db.query(`DELETE FROM ${this.devices} WHERE device_id = $1 AND version = $2`, [deviceId, old.version]);
      if (deleted.rowCount === 1) return;
    }
  }

  async recordActivity(lastSeen: ReadonlyMap<string, Date>): Promise<void> {
    if (lastSeen.size === 0) return;
    // Sorted, so two gateways' batches lock shared devices in the same order; the time only moves
    // forward, whichever gateway heard the device last. Activity is not a change of the identity:
    // etag and version stay, as in IoT Hub.
    const entries = [...lastSeen].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const ids = entries.map(([id]) => id);
    const times = entries.map(([, at]) => at.toISOString());
    for (let attempt = 1; ; attempt++) {
      try {
        await this.db.query(`UPDATE ${this.devices} AS d SET last_activity = GREATEST(d.last_activity, a.at)
          FROM unnest($1::text[], $2::timestamptz[]) AS a(id, at) WHERE d.device_id = a.id`, [ids, times]);
        return;
      } catch (err) {
        if (sqlState(err) !== '40P01' || attempt >= ACTIVITY_ATTEMPTS) throw err;
      }
    }
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

function toDevice(row: DeviceRow): Device {
  const device = JSON.parse(row.doc) as Device;
  return row.last_activity === null ? device : { ...device, lastActivityTime: row.last_activity.toISOString() };
}

function exists(deviceId: string): OmniError {
  return new OmniError('device_exists', `A device with ID '${deviceId}' is already registered.`);
}
