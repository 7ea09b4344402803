// The device registry port. Adapters (SQLite now, PostgreSQL later) store devices; the rules for
// what a create or update means live in device-records.ts so every adapter applies them alike.
import type { DeviceLookup } from '../auth/device-lookup.js';
import type { Device, DeviceInput } from '../core/device.js';

/** `get` and `cached` come from auth's port; only caching adapters have `cached`. */
export interface Registry extends DeviceLookup {
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
