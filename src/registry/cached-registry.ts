// Keeps recently read devices in memory so authenticating a message costs no storage round trip.
// Writes through this instance invalidate at once; writes by another process (the CLI, another
// node) are seen within `ttlMs`, or at once where the backend tells of them (invalidate).
import type { Device, DeviceInput } from '../core/device.js';
import type { Registry } from './registry.js';

interface Entry {
  readonly device: Device | undefined;
  readonly expiresAt: number;
}

const MAX_ENTRIES = 100_000;

export class CachedRegistry implements Registry {
  private readonly cache = new Map<string, Entry>();

  constructor(private readonly inner: Registry, private readonly ttlMs: number, private readonly now: () => number = Date.now) {}

  async get(deviceId: string): Promise<Device | undefined> {
    const hit = this.cache.get(deviceId);
    const now = this.now();
    if (hit && hit.expiresAt > now) return hit.device;
    const device = await this.inner.get(deviceId);
    if (this.cache.size >= MAX_ENTRIES) this.cache.clear();
    this.cache.set(deviceId, { device, expiresAt: now + this.ttlMs });
    return device;
  }

  cached(deviceId: string): Device | null | undefined {
    const hit = this.cache.get(deviceId);
    if (hit === undefined || hit.expiresAt <= this.now()) return undefined;
    return hit.device ?? null;
  }

  /** Another process changed `deviceId` (every device when undefined): read it again next time. */
  invalidate(deviceId: string | undefined): void {
    if (deviceId === undefined) this.cache.clear();
    else this.cache.delete(deviceId);
  }

  list(options?: { top?: number }): Promise<Device[]> {
    return this.inner.list(options);
  }

  async create(input: DeviceInput): Promise<Device> {
    this.cache.delete(input.deviceId);
    return this.inner.create(input);
  }

  async update(input: DeviceInput, ifMatch: string): Promise<Device> {
    try {
      return await this.inner.update(input, ifMatch);
    } finally {
      this.cache.delete(input.deviceId);
    }
  }

  async delete(deviceId: string, ifMatch?: string): Promise<void> {
    try {
      await this.inner.delete(deviceId, ifMatch);
    } finally {
      this.cache.delete(deviceId);
    }
  }

  async recordActivity(lastSeen: ReadonlyMap<string, Date>): Promise<void> {
    await this.inner.recordActivity(lastSeen);
    // Refresh the cached records rather than drop them: the devices that were just active are the
    // ones about to send again, and they should stay on the synchronous path.
    for (const [deviceId, at] of lastSeen) {
      const hit = this.cache.get(deviceId);
      if (hit?.device) this.cache.set(deviceId, { device: { ...hit.device, lastActivityTime: at.toISOString() }, expiresAt: hit.expiresAt });
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
