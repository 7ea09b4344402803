// The device registry on an embedded SQLite file.
import Database from 'better-sqlite3';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Device, DeviceInput } from '../core/device.js';
import { OmniError } from '../core/errors.js';
import { checkIfMatch, deviceNotFound, newDevice, updatedDevice } from './device-records.js';
import type { Registry } from './registry.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS devices (
  device_id TEXT PRIMARY KEY,
  tenant    TEXT NOT NULL,
  version   INTEGER NOT NULL,
  doc       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS registry_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO registry_meta VALUES ('version', 0);
`;

export class SqliteRegistry implements Registry {
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    // The registry holds device keys: owner-only, like keys.json.
    chmodSync(path, 0o600);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.stmts = {
      get: this.db.prepare<[string], { doc: string }>('SELECT doc FROM devices WHERE device_id = ?'),
      list: this.db.prepare<[number], { doc: string }>('SELECT doc FROM devices ORDER BY device_id LIMIT ?'),
      insert: this.db.prepare('INSERT INTO devices (device_id, tenant, version, doc) VALUES (?, ?, ?, ?)'),
      update: this.db.prepare('UPDATE devices SET tenant = ?, version = ?, doc = ? WHERE device_id = ?'),
      touch: this.db.prepare('UPDATE devices SET doc = ? WHERE device_id = ?'),
      delete: this.db.prepare('DELETE FROM devices WHERE device_id = ?'),
      bump: this.db.prepare<[], { value: number }>("UPDATE registry_meta SET value = value + 1 WHERE name = 'version' RETURNING value"),
    };
  }

  private read(deviceId: string): Device | undefined {
    const row = this.stmts.get.get(deviceId);
    return row ? (JSON.parse(row.doc) as Device) : undefined;
  }

  private nextVersion(): number {
    return this.stmts.bump.get()!.value;
  }

  async get(deviceId: string): Promise<Device | undefined> {
    return this.read(deviceId);
  }

  async list({ top = 1000 }: { top?: number } = {}): Promise<Device[]> {
    return this.stmts.list.all(top).map((r) => JSON.parse(r.doc) as Device);
  }

  async create(input: DeviceInput): Promise<Device> {
    return this.db.transaction(() => {
      if (this.read(input.deviceId)) throw new OmniError('device_exists', `A device with ID '${input.deviceId}' is already registered.`);
      const version = this.nextVersion();
      const device = newDevice(input, new Date(), version);
      this.stmts.insert.run(device.deviceId, device.tenant, version, JSON.stringify(device));
      return device;
    }).immediate();
  }

  async update(input: DeviceInput, ifMatch: string): Promise<Device> {
    return this.db.transaction(() => {
      const old = this.read(input.deviceId);
      if (!old) throw new OmniError('precondition_failed', `Device '${input.deviceId}' does not exist; create it without If-Match.`);
      checkIfMatch(old, ifMatch);
      const version = this.nextVersion();
      const device = updatedDevice(old, input, new Date(), version);
      this.stmts.update.run(device.tenant, version, JSON.stringify(device), device.deviceId);
      return device;
    }).immediate();
  }

  async delete(deviceId: string, ifMatch?: string): Promise<void> {
    this.db.transaction(() => {
      const old = this.read(deviceId);
      if (!old) throw deviceNotFound(deviceId);
      if (ifMatch !== undefined) checkIfMatch(old, ifMatch);
      this.stmts.delete.run(deviceId);
    }).immediate();
  }

  async recordActivity(lastSeen: ReadonlyMap<string, Date>): Promise<void> {
    this.db.transaction(() => {
      for (const [deviceId, at] of lastSeen) {
        const old = this.read(deviceId);
        if (!old) continue;
        // Activity is not a change of the identity: etag and version stay, as in IoT Hub.
        this.stmts.touch.run(JSON.stringify({ ...old, lastActivityTime: at.toISOString() }), deviceId);
      }
    })();
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
