// The device registry port. Adapters (SQLite now, PostgreSQL later) store devices; the rules for
// what a create or update means live in device-records.ts so every adapter applies them alike.
import type { Device, DeviceInput } from '../core/device.js';

export interface Registry {
  get(deviceId: string): Promise<Device | undefined>;
  /**
   * The device when it is known without a storage round trip (a cache's fresh entry), `null` when
   * it is known not to exist, `undefined` when not known. Only caching adapters have it; it lets a
   * device's repeated requests be authorized synchronously.
   */
  cached?(deviceId: string): Device | null | undefined;
  list(options?: { top?: number }): Promise<Device[]>;
  /** Fails with `device_exists` when the id is taken. */
  create(input: DeviceInput): Promise<Device>;
  /** `ifMatch` is `*` or an etag; fails with `device_not_found` or `precondition_failed`. */
  update(input: DeviceInput, ifMatch: string): Promise<Device>;
  /** `ifMatch` absent or `*` deletes unconditionally; fails with `device_not_found` or `precondition_failed`. */
  delete(deviceId: string, ifMatch?: string): Promise<void>;
  /** Records when devices were last heard from; batched by the caller, never per message. */
  recordActivity(lastSeen: ReadonlyMap<string, Date>): Promise<void>;
  close(): Promise<void>;
}
