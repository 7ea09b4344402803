// Per-device and per-tenant message quotas (ARCHITECTURE §9): token buckets in messages per second,
// so one device flooding the gateway — or every device of one app key's brand — is refused with
// 429 and Retry-After (over MQTT: disconnected) while the others go on. Memory is bounded: at most
// MAX_BUCKETS buckets per kind, least recently used dropped first, which at worst gives a
// forgotten sender a fresh allowance.
import { refusal } from '../core/errors.js';

export interface Quota {
  /** Messages per second on average; 0 turns the quota off. */
  readonly perSecond: number;
  /** Messages that may come at once above the rate (at least a full batch is always let through from a full bucket). */
  readonly burst: number;
}

export interface QuotaSettings {
  readonly device: Quota;
  readonly tenant: Quota;
}

export interface QuotaSender {
  readonly deviceId: string;
  readonly tenant: string;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export const MAX_BUCKETS = 100_000;

class Buckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(readonly quota: Quota, private readonly now: () => number) {}

  get enabled(): boolean {
    return this.quota.perSecond > 0;
  }

  get size(): number {
    return this.buckets.size;
  }

  /** The bucket of `key`, refilled to now and moved to the most recently used end. */
  private bucket(key: string): Bucket {
    const now = this.now();
    let b = this.buckets.get(key);
    if (b) {
      b.tokens = Math.min(this.quota.burst, b.tokens + ((now - b.updatedMs) * this.quota.perSecond) / 1000);
      b.updatedMs = now;
      this.buckets.delete(key);
    } else {
      b = { tokens: this.quota.burst, updatedMs: now };
      if (this.buckets.size >= MAX_BUCKETS) this.buckets.delete(this.buckets.keys().next().value!);
    }
    this.buckets.set(key, b);
    return b;
  }

  /**
   * Seconds until `n` messages may go (0: now). A full bucket lets any batch through and goes into
   * debt, so a batch larger than the burst is slowed, never refused for ever.
   */
  wait(key: string, n: number): number {
    const b = this.bucket(key);
    const need = Math.min(n, this.quota.burst);
    return b.tokens >= need ? 0 : Math.max(1, Math.ceil((need - b.tokens) / this.quota.perSecond));
  }

  take(key: string, n: number): void {
    this.bucket(key).tokens -= n;
  }
}

export class IngestQuotas {
  private readonly devices: Buckets;
  private readonly tenants: Buckets;

  constructor(settings: QuotaSettings, now: () => number = Date.now) {
    this.devices = new Buckets(settings.device, now);
    this.tenants = new Buckets(settings.tenant, now);
  }

  /** Buckets held, for the memory bound's test. */
  get bucketCount(): number {
    return this.devices.size + this.tenants.size;
  }

  /** Before a body is read: refuses a sender with no allowance left, so a flood costs no buffering. */
  admit(sender: QuotaSender): void {
    this.check(sender, 1);
  }

  /** Takes `n` messages from the device's and the tenant's allowance, or refuses them all. */
  take(sender: QuotaSender, n: number): void {
    this.check(sender, n);
    if (this.devices.enabled) this.devices.take(sender.deviceId, n);
    if (this.tenants.enabled) this.tenants.take(sender.tenant, n);
  }

  private check(sender: QuotaSender, n: number): void {
    const device = this.devices.enabled ? this.devices.wait(sender.deviceId, n) : 0;
    if (device > 0) {
      throw refusal('quota_exceeded', `Device ${sender.deviceId} is over its quota of ${this.quotaText('device')}`, device);
    }
    const tenant = this.tenants.enabled ? this.tenants.wait(sender.tenant, n) : 0;
    if (tenant > 0) {
      throw refusal('quota_exceeded', `Tenant ${sender.tenant} is over its quota of ${this.quotaText('tenant')}`, tenant);
    }
  }

  private quotaText(kind: 'device' | 'tenant'): string {
    const q = (kind === 'device' ? this.devices : this.tenants).quota;
    return `${q.perSecond} messages a second (bursts of ${q.burst})`;
  }
}
