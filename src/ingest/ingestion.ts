// The one ingestion path every transport uses: authorize → validate → dedup and append (the log
// does both atomically) → acknowledge. HTTP and MQTT call `ingest`, so a rule is never written twice.
import type { DeviceCaller } from '../auth/authenticator.js';
import { OmniError } from '../core/errors.js';
import { MAX_BATCH_MESSAGES, MAX_MESSAGE_BYTES, messageSize, type IncomingMessage, type NewMessage } from '../core/message.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { AppendResult, EventLog } from '../log/event-log.js';
import type { Logger } from '../telemetry/logger.js';
import type { Registry } from '../registry/registry.js';
import { IngestQuotas, type QuotaSettings } from './quotas.js';

/** How a message came in: HTTP, the MQTT endpoint, or a bridge from another MQTT broker. */
export type Transport = 'http' | 'mqtt' | 'bridge';

const ACTIVITY_FLUSH_MS = 5_000;

export class Ingestion {
  /** Last time each device was heard from, written to the registry in batches. */
  private lastSeen = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private readonly counters;
  /** Off unless configured; a bridge's messages are not counted (its broker paces its readers). */
  readonly quotas: IngestQuotas;

  constructor(
    private readonly log: EventLog,
    private readonly registry: Registry,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    quotas: QuotaSettings = { device: { perSecond: 0, burst: 1 }, tenant: { perSecond: 0, burst: 1 } },
  ) {
    this.quotas = new IngestQuotas(quotas);
    const per = (transport: Transport) => ({
      messages: metrics.messagesIngested.with({ transport }),
      bytes: metrics.bytesIngested.with({ transport }),
      duplicates: metrics.duplicates.with({ transport }),
    });
    this.counters = { http: per('http'), mqtt: per('mqtt'), bridge: per('bridge') };
    this.timer = setInterval(() => void this.flushActivity(), ACTIVITY_FLUSH_MS);
    this.timer.unref();
  }

  /** Validates a whole batch before anything is stored: all or nothing. */
  validate(messages: readonly IncomingMessage[]): void {
    if (messages.length === 0) throw new OmniError('invalid_body', 'A batch must hold at least one message');
    if (messages.length > MAX_BATCH_MESSAGES) throw new OmniError('batch_too_large', `A batch holds at most ${MAX_BATCH_MESSAGES} messages; got ${messages.length}`);
    let total = 0;
    for (let i = 0; i < messages.length; i++) {
      const size = messageSize(messages[i]!);
      if (size > MAX_MESSAGE_BYTES) throw new OmniError('message_too_large', `Message ${i} is ${size} bytes; the limit is ${MAX_MESSAGE_BYTES}`);
      total += size;
    }
    if (total > MAX_MESSAGE_BYTES) throw new OmniError('message_too_large', `The batch is ${total} bytes; the limit is ${MAX_MESSAGE_BYTES}`);
  }

  /** Before a request's body is read: refuses a device (or tenant) already over its quota. */
  admit(caller: DeviceCaller): void {
    this.quotas.admit(caller.device);
  }

  async ingest(caller: DeviceCaller, messages: readonly IncomingMessage[], transport: Transport): Promise<AppendResult[]> {
    this.validate(messages);
    const { device, authMethod } = caller;
    if (transport !== 'bridge') this.quotas.take(device, messages.length);
    const batch: NewMessage[] = messages.map((m) => ({
      body: m.body, properties: m.properties, messageId: m.messageId, correlationId: m.correlationId, contentType: m.contentType, contentEncoding: m.contentEncoding,
      deviceId: device.deviceId, tenant: device.tenant, generationId: device.generationId, authMethod,
    }));
    const started = performance.now();
    const results = await this.log.append(batch);
    this.metrics.appendSeconds.observe((performance.now() - started) / 1000);
    let stored = 0;
    let bytes = 0;
    for (let i = 0; i < results.length; i++) {
      if (results[i]!.duplicate) continue;
      stored++;
      bytes += batch[i]!.body.length;
    }
    const counters = this.counters[transport];
    counters.messages.inc(stored);
    counters.bytes.inc(bytes);
    if (stored < results.length) counters.duplicates.inc(results.length - stored);
    this.lastSeen.set(device.deviceId, Date.now());
    return results;
  }

  private async flushActivity(): Promise<void> {
    if (this.lastSeen.size === 0) return;
    const seen = this.lastSeen;
    this.lastSeen = new Map();
    try {
      await this.registry.recordActivity(new Map([...seen].map(([id, ms]) => [id, new Date(ms)])));
    } catch (err) {
      this.logger.warn('could not record device activity', { err });
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flushActivity();
  }
}
