// A bridge from a store's own MQTT broker: it subscribes with QoS 1 to the topics its readers
// publish to, maps each topic to a device (created on first sight, bound to the bridge's tenant),
// and hands each message to the one ingestion path. The broker's PUBACK is sent only once the
// append is durable, and the session is persistent, so what the broker accepted reaches the log at
// least once across restarts and outages; a hash of topic and payload as the messageId makes a
// redelivery a duplicate the log stores once.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { DeviceCaller } from '../../auth/authenticator.js';
import type { Device } from '../../core/device.js';
import { validateDeviceId } from '../../core/device.js';
import { isOmniError } from '../../core/errors.js';
import type { IncomingMessage } from '../../core/message.js';
import type { Registry } from '../../registry/registry.js';
import type { Logger } from '../../telemetry/logger.js';
import type { Metrics } from '../../telemetry/metrics.js';
import type { Ingestion } from '../ingestion.js';
import { BrokerSession } from './broker-session.js';
import { deviceIdTemplate, topicPattern, type TopicPattern } from './topic-pattern.js';

export interface BridgeTopic {
  /** `stores/{store}/readers/{reader}/events` */
  readonly pattern: string;
  /** `{store}-{reader}` */
  readonly deviceId: string;
}

export interface BridgeOptions {
  readonly name: string;
  /** mqtt:// or mqtts:// */
  readonly url: string;
  readonly topics: readonly BridgeTopic[];
  /** The tenant of devices the bridge creates. */
  readonly tenant: string;
  readonly username: string | null;
  readonly password: string | null;
  /** PEM file of the CA the broker's certificate is checked against (mqtts). */
  readonly caFile: string | null;
  /** The client id of the bridge's persistent session on the broker. */
  readonly clientId: string;
  /** `hash`: a message's id is a hash of its topic and payload (redeliveries are stored once); `none`: no id. */
  readonly dedup: 'hash' | 'none';
}

export interface BridgeStatus {
  readonly name: string;
  readonly url: string;
  readonly connected: boolean;
  readonly stored: number;
  readonly duplicates: number;
  /** Messages acknowledged but not stored, by why (they could never be). */
  readonly dropped: Readonly<Record<string, number>>;
  readonly devicesCreated: number;
  readonly lastMessageAt: string | null;
  readonly lastError: { readonly message: string; readonly at: string } | null;
}

/** How long an append the log refused for now (overloaded, unreachable) waits before it is tried again. */
const RETRY_APPEND_MS = 1_000;

interface Route {
  readonly pattern: TopicPattern;
  readonly deviceId: (parts: Record<string, string>) => string;
}

export class MqttBridge {
  private session: BrokerSession | undefined;
  private readonly routes: Route[];
  private readonly devices = new Map<string, Device>();
  private connected = false;
  private closed = false;
  private stored = 0;
  private duplicates = 0;
  private readonly dropped: Record<string, number> = {};
  private devicesCreated = 0;
  private lastMessageAt: number | null = null;
  private lastError: { message: string; at: number } | null = null;
  private readonly counter;

  constructor(
    private readonly options: BridgeOptions,
    private readonly deps: { readonly ingestion: Ingestion; readonly registry: Registry; readonly logger: Logger; readonly metrics: Metrics },
  ) {
    // Checked at start: a pattern or template that cannot work is a configuration error.
    this.routes = options.topics.map((t) => ({ pattern: topicPattern(t.pattern), deviceId: deviceIdTemplate(t.deviceId, t.pattern) }));
    this.counter = deps.metrics.counter('omnistream_bridge_messages_total', 'Messages a bridge received from its broker, by outcome (stored, duplicate, dropped: why)');
    deps.metrics.gauge('omnistream_bridge_connected', '1 while a bridge is connected to its broker').track({ bridge: options.name }, () => (this.connected ? 1 : 0));
  }

  get name(): string {
    return this.options.name;
  }

  start(): void {
    const { options } = this;
    const url = new URL(options.url);
    this.session = new BrokerSession({
      url,
      clientId: options.clientId,
      username: options.username ?? (url.username === '' ? undefined : decodeURIComponent(url.username)),
      password: options.password ?? (url.password === '' ? undefined : decodeURIComponent(url.password)),
      ca: options.caFile ? readFileSync(options.caFile) : undefined,
      filters: this.routes.map((r) => r.pattern.filter),
      keepaliveSeconds: 30,
    }, {
      message: (topic, payload) => this.receive(topic, payload),
      connected: (sessionPresent) => {
        this.connected = true;
        this.deps.logger.info('bridge connected', { bridge: options.name, url: redacted(options.url), sessionPresent });
      },
      disconnected: (why) => {
        if (this.connected && !this.closed) this.deps.logger.warn('bridge disconnected; reconnecting with backoff', { bridge: options.name, why });
        this.connected = false;
        if (!this.closed) this.failed(new Error(why));
      },
    });
    this.session.start();
  }

  /** One message: mapped to its device and appended; resolves once durable (or known never to be storable). */
  private async receive(topic: string, payload: Buffer): Promise<void> {
    this.lastMessageAt = Date.now();
    let parts: Record<string, string> | undefined;
    let route: Route | undefined;
    for (const r of this.routes) {
      parts = r.pattern.match(topic);
      if (parts) {
        route = r;
        break;
      }
    }
    if (!route || !parts) return this.drop('topic matches no pattern', topic);
    let deviceId: string;
    try {
      deviceId = validateDeviceId(route.deviceId(parts));
    } catch {
      return this.drop('invalid device id', topic);
    }
    const message: IncomingMessage = {
      body: payload,
      properties: parts,
      messageId: this.options.dedup === 'hash' ? createHash('sha256').update(topic).update('\u0000').update(payload).digest('base64url').slice(0, 32) : undefined,
    };
    for (;;) {
      if (this.closed) throw new Error('the bridge is closing');
      try {
        const device = await this.device(deviceId);
        if (device.status !== 'enabled') return this.drop('device disabled', topic);
        const caller: DeviceCaller = { device, authMethod: { scope: 'hub', type: 'sas', issuer: 'iothub', policy: `bridge:${this.options.name}` } };
        const [result] = await this.deps.ingestion.ingest(caller, [message], 'bridge');
        if (result!.duplicate) {
          this.duplicates++;
          this.counter.inc({ bridge: this.options.name, outcome: 'duplicate' });
        } else {
          this.stored++;
          this.counter.inc({ bridge: this.options.name, outcome: 'stored' });
        }
        return;
      } catch (err) {
        // A message the gateway refuses for what it is (too large, say) will never be stored: say so and go on.
        if (isOmniError(err) && err.spec.status < 500) return this.drop(err.code, topic);
        // The log or registry is unavailable for now: hold this message (and the broker's next ones) and try again.
        this.failed(err);
        await new Promise((resolve) => setTimeout(resolve, RETRY_APPEND_MS));
      }
    }
  }

  /** The device of a topic, created (with the bridge's tenant) the first time it is seen. */
  private async device(deviceId: string): Promise<Device> {
    const known = this.devices.get(deviceId);
    if (known) return known;
    let device = await this.deps.registry.get(deviceId);
    if (!device) {
      try {
        device = await this.deps.registry.create({ deviceId, tenant: this.options.tenant, kind: 'bridged' });
        this.devicesCreated++;
        this.deps.logger.info('bridge created a device', { bridge: this.options.name, deviceId, tenant: this.options.tenant });
      } catch (err) {
        if (!isOmniError(err) || err.code !== 'device_exists') throw err;
        device = (await this.deps.registry.get(deviceId))!;
      }
    }
    // Kept briefly: a device disabled or deleted in the registry is seen again soon after.
    this.devices.set(deviceId, device);
    setTimeout(() => this.devices.delete(deviceId), 5_000).unref();
    return device;
  }

  private drop(why: string, topic: string): void {
    if (this.dropped[why] === undefined) this.deps.logger.warn('bridge dropped a message it can never store', { bridge: this.options.name, why, topic });
    this.dropped[why] = (this.dropped[why] ?? 0) + 1;
    this.counter.inc({ bridge: this.options.name, outcome: `dropped: ${why}` });
  }

  private failed(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    if (this.lastError?.message !== message) this.deps.logger.warn('bridge problem', { bridge: this.options.name, error: message });
    this.lastError = { message, at: Date.now() };
  }

  status(): BridgeStatus {
    return {
      name: this.options.name,
      url: redacted(this.options.url),
      connected: this.connected,
      stored: this.stored,
      duplicates: this.duplicates,
      dropped: { ...this.dropped },
      devicesCreated: this.devicesCreated,
      lastMessageAt: this.lastMessageAt === null ? null : new Date(this.lastMessageAt).toISOString(),
      lastError: this.lastError && { message: this.lastError.message, at: new Date(this.lastError.at).toISOString() },
    };
  }

  /** Stops taking messages; one in flight is not acknowledged unless it was stored. */
  async close(): Promise<void> {
    this.closed = true;
    await this.session?.close();
  }
}

/** A URL without its password, for logs and status. */
function redacted(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
