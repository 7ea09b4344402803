// Appends to the JetStream log: every message published with a Nats-Msg-Id, retried with the same
// id until JetStream acknowledges it or the append's time is up, and dedup of a device's messageId
// (JetStream's duplicate window, and past it a KV bucket). See jetstream-event-log.ts for the design.
import { randomBytes } from 'node:crypto';
import type { MsgHdrs } from '@nats-io/transport-node';
import type { KV } from '@nats-io/kv';
import { OmniError } from '../core/errors.js';
import { isJsonBody } from '../core/json-body.js';
import { partitionFor, type NewMessage, type PartitionId } from '../core/message.js';
import type { AppendResult } from './event-log.js';
import { dedupKey, H, messageHeaders, subjectOf } from './jetstream-log-layout.js';
import { PublishRefusedError, type JetStreamPublisher, type PubAck } from './jetstream-log-publisher.js';
import type { StoredHeaders } from './jetstream-log-reader.js';

/** One attempt waits this long for JetStream's acknowledgement before the message is sent again. */
const ATTEMPT_TIMEOUT_MS = 2_000;
/** A duplicate whose original is past the dedup window is stored again; it cannot be stale many times over. */
const MAX_REPUBLISH_ROUNDS = 3;
const MAX_CACHED_PARTITIONS = 100_000;

export interface AppenderOptions {
  readonly prefix: string;
  readonly partitions: number;
  readonly dedupWindowMs: number;
  readonly appendTimeoutMs: number;
  /** Names NATS in errors. */
  readonly where: string;
}

export interface AppenderContext {
  /** The log's clock: the time a message published now is enqueued at. */
  clock(): number;
  connected(): boolean;
  /** Resolves when NATS is back, or at `deadline` (epoch ms). */
  whenConnected(deadline: number): Promise<void>;
  /** The headers of the message at `seq`, or undefined when it is gone. */
  headersAt(partition: PartitionId, seq: number): Promise<StoredHeaders | undefined>;
}

/** A message newly stored by an append: what readers' state and listeners hear about. */
export interface StoredPosition {
  readonly partition: PartitionId;
  readonly seq: number;
  readonly enqueuedMs: number;
}

export interface AppendOutcome {
  readonly results: AppendResult[];
  readonly stored: StoredPosition[];
}

interface Item {
  readonly m: NewMessage;
  readonly partition: PartitionId;
  /** The dedup key of (device, messageId), when there is a messageId. */
  readonly key: string | undefined;
  readonly appendId: string;
  readonly headers: MsgHdrs;
  /** An earlier message of the same batch with the same key: this one is its duplicate. */
  sameAs: number | undefined;
  msgId: string;
  attempts: number;
  ack: PubAck | undefined;
  result: { seq: number; enqueuedMs: number; duplicate: boolean } | undefined;
  /** Stored by this append (not a duplicate): its dedup entry is written before the ack. */
  stored: boolean;
}

export class JetStreamLogAppender {
  private readonly instance = randomBytes(9).toString('base64url');
  private counter = 0;
  private readonly partitionOf = new Map<string, number>();

  constructor(
    private readonly publisher: JetStreamPublisher,
    /** The dedup bucket, when the dedup window is longer than JetStream's duplicate window. */
    private readonly kv: KV | undefined,
    private readonly options: AppenderOptions,
    private readonly context: AppenderContext,
  ) {}

  async append(batch: readonly NewMessage[]): Promise<AppendOutcome> {
    const deadline = Date.now() + this.options.appendTimeoutMs;
    const items = batch.map((m) => this.item(m));
    const firstOfKey = new Map<string, number>();
    items.forEach((it, i) => {
      if (it.key === undefined) return;
      const first = firstOfKey.get(it.key);
      if (first === undefined) firstOfKey.set(it.key, i);
      else it.sameAs = first;
    });
    if (this.kv !== undefined && firstOfKey.size > 0) await this.beforeDeadline(this.lookUp([...firstOfKey.values()].map((i) => items[i]!)), deadline);
    const toPublish = items.filter((it) => it.sameAs === undefined && it.result === undefined);
    // Stamped as they are published, in one turn of the event loop: publish order is stamp order.
    const stamp = this.context.clock();
    for (const it of toPublish) {
      it.headers.set(H.enqueued, String(stamp));
      it.headers.set(H.msgId, it.msgId);
    }
    let round = toPublish;
    for (let r = 0; round.length > 0; r++) {
      await this.publish(round, deadline);
      round = await this.beforeDeadline(this.settleDuplicates(round, stamp, r), deadline);
    }
    if (this.kv !== undefined) await this.beforeDeadline(this.remember(items.filter((it) => it.key !== undefined && it.sameAs === undefined)), deadline);
    return this.outcome(items);
  }

  /** What an append waits for besides publishing (the dedup bucket, an original's headers) ends with it at its deadline. */
  private beforeDeadline<T>(work: Promise<T>, deadline: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.unavailable(new Error('no answer before the append timed out'))), Math.max(0, deadline - Date.now()));
    });
    return Promise.race([work, late]).finally(() => clearTimeout(timer));
  }

  private item(m: NewMessage): Item {
    const partition = this.partitionFor(m.deviceId);
    const appendId = `${this.instance}.${(this.counter++).toString(36)}`;
    const key = m.messageId === undefined ? undefined : dedupKey(m.deviceId, m.messageId);
    const headers = messageHeaders(m, isJsonBody(m.body, m.contentType, m.contentEncoding), key === undefined ? undefined : appendId);
    return { m, partition, key, appendId, headers, sameAs: undefined, msgId: key === undefined ? appendId : `d.${key}`, attempts: 0, ack: undefined, result: undefined, stored: false };
  }

  private partitionFor(deviceId: string): number {
    let p = this.partitionOf.get(deviceId);
    if (p === undefined) {
      if (this.partitionOf.size >= MAX_CACHED_PARTITIONS) this.partitionOf.clear();
      this.partitionOf.set(deviceId, (p = partitionFor(deviceId, this.options.partitions)));
    }
    return p;
  }

  /** Messages whose (device, messageId) the bucket remembers within the window are duplicates: not published. */
  private async lookUp(items: Item[]): Promise<void> {
    const now = Date.now();
    await Promise.all(items.map(async (it) => {
      let entry;
      try {
        entry = await this.kv!.get(it.key!);
      } catch (err) {
        throw this.unavailable(err);
      }
      const seen = entry === null ? undefined : parseEntry(entry.string());
      if (seen !== undefined && now - seen.enqueuedMs <= this.options.dedupWindowMs) {
        it.result = { seq: seen.seq, enqueuedMs: seen.enqueuedMs, duplicate: true };
      }
    }));
  }

  /**
   * Publishes every item and waits for JetStream's acknowledgements. What fails for want of an
   * answer (a timeout, no responders, NATS gone) is sent again with the same Nats-Msg-Id, so a
   * message stored by an attempt whose acknowledgement was lost is not stored twice; until the
   * deadline, then the append is refused with `overloaded`. An answer from JetStream that refuses
   * a message ends the append at once.
   */
  private async publish(items: Item[], deadline: number): Promise<void> {
    let pending = items;
    for (let attempt = 0; ; attempt++) {
      const timeout = Math.max(1, Math.min(ATTEMPT_TIMEOUT_MS, deadline - Date.now()));
      for (const it of pending) it.attempts++;
      const outcomes = await this.publisher.publishAll(pending.map((it) => ({
        subject: subjectOf(this.options.prefix, it.partition), data: it.m.body, headers: it.headers,
      })), timeout);
      const failed: Item[] = [];
      let refusal: PublishRefusedError | undefined;
      let last: unknown;
      outcomes.forEach((o, i) => {
        if (!(o instanceof Error)) {
          pending[i]!.ack = o;
          return;
        }
        failed.push(pending[i]!);
        last = o;
        if (o instanceof PublishRefusedError) refusal ??= o;
      });
      if (failed.length === 0) return;
      if (refusal !== undefined) throw this.refused(refusal);
      if (Date.now() >= deadline) throw this.unavailable(last);
      if (!this.context.connected()) await this.context.whenConnected(deadline);
      else await sleep(Math.min(25 * 2 ** attempt, 500, Math.max(0, deadline - Date.now())));
      if (Date.now() >= deadline) throw this.unavailable(last);
      pending = failed;
    }
  }

  /**
   * Sorts out what JetStream acknowledged as a duplicate of an earlier Nats-Msg-Id: this append's
   * own earlier attempt (stored by it after all), a repeat of a device's messageId within the
   * window (a duplicate, at the original's position), or a repeat whose original is older than the
   * dedup window (JetStream's window is at least 100 ms and its sweep is coarse): that one is sent
   * again under an id naming the original, so two gateways storing it again still store it once.
   * Returns the items to publish again.
   */
  private async settleDuplicates(items: Item[], stamp: number, round: number): Promise<Item[]> {
    const again: Item[] = [];
    const now = Date.now();
    await Promise.all(items.map(async (it) => {
      const ack = it.ack!;
      const seq = ack.seq - 1;
      if (!ack.duplicate || it.key === undefined) {
        // A unique id's duplicate can only be this append's own attempt whose acknowledgement was lost.
        it.result = { seq, enqueuedMs: stamp, duplicate: false };
        it.stored = true;
        return;
      }
      let original: StoredHeaders | undefined;
      try {
        original = await this.context.headersAt(it.partition, seq);
      } catch (err) {
        throw this.unavailable(err);
      }
      if (original !== undefined && original.get(H.appendId) === it.appendId) {
        it.result = { seq, enqueuedMs: stamp, duplicate: false };
        it.stored = true;
        return;
      }
      const enqueuedMs = original === undefined ? Number.NaN : Number(original.get(H.enqueued));
      if (Number.isFinite(enqueuedMs) && now - enqueuedMs <= this.options.dedupWindowMs) {
        it.result = { seq, enqueuedMs, duplicate: true };
        return;
      }
      if (round + 1 >= MAX_REPUBLISH_ROUNDS) throw new OmniError('internal', `The log could not store message ${JSON.stringify(it.m.messageId)} of ${JSON.stringify(it.m.deviceId)} again after its dedup window`);
      it.msgId = `d.${it.key}.${seq}`;
      it.headers.set(H.msgId, it.msgId);
      it.ack = undefined;
      again.push(it);
    }));
    return again;
  }

  /**
   * Writes (device, messageId) → position to the dedup bucket before the append is acknowledged,
   * for what this append stored and for duplicates JetStream's own window caught (their entry may
   * be missing: the append that stored them may have failed before writing it).
   */
  private async remember(items: Item[]): Promise<void> {
    const writes = items.filter((it) => it.result !== undefined && (it.stored || it.ack !== undefined));
    try {
      await Promise.all(writes.map((it) => this.kv!.put(it.key!, `${it.partition}:${it.result!.seq}:${it.result!.enqueuedMs}`)));
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  private outcome(items: Item[]): AppendOutcome {
    const results: AppendResult[] = [];
    const stored: StoredPosition[] = [];
    let time = new Date(Number.NaN);
    for (const it of items) {
      const source = it.sameAs === undefined ? it : items[it.sameAs]!;
      const r = source.result!;
      const duplicate = it.sameAs !== undefined || r.duplicate;
      if (time.getTime() !== r.enqueuedMs) time = new Date(r.enqueuedMs);
      results.push({ partition: it.partition, sequenceNumber: r.seq, offset: String(r.seq), enqueuedTimeUtc: time, duplicate });
      if (it.stored) stored.push({ partition: it.partition, seq: r.seq, enqueuedMs: r.enqueuedMs });
    }
    return { results, stored };
  }

  /** NATS did not answer in time, or is gone: never acknowledged, retry later. */
  unavailable(cause: unknown): OmniError {
    const why = cause instanceof Error ? cause.message : String(cause);
    return new OmniError('unavailable', `The log (NATS JetStream at ${this.options.where}) did not acknowledge the append: ${why}`, { cause, retryAfterSeconds: 1 });
  }

  /** JetStream answered and refused: a 5xx of its own (storage full, say) is worth a retry later; anything else is a fault here. */
  private refused(err: PublishRefusedError): OmniError {
    const message = `JetStream refused the append: ${err.message} (error ${err.code})`;
    return err.status >= 500
      ? new OmniError('overloaded', message, { cause: err, retryAfterSeconds: 1 })
      : new OmniError('internal', message, { cause: err });
  }
}

function parseEntry(text: string): { partition: number; seq: number; enqueuedMs: number } | undefined {
  const [p, s, t] = text.split(':').map(Number);
  return p === undefined || s === undefined || t === undefined || !Number.isFinite(p + s + t) ? undefined : { partition: p, seq: s, enqueuedMs: t };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
