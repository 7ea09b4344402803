// The log on NATS JetStream (2.9 or later), for several gateways and job workers sharing one log.
// It passes the same contract suite as the embedded SQLite log; where a distributed log cannot keep
// a promise the same way, this says how it keeps it or what is weaker (docs/scale-out.md, "The log
// on JetStream", says the same for operators).
//
// Layout: one stream per partition, `<prefix>_p<N>`, holding one subject, `<prefix>.p.<N>`.
//   A stream's sequence numbers are gap-free from 1 and never reused (retention and purges only
//   trim the head; nothing here deletes a single message), so the log's sequence number is the
//   stream's minus 1 and the offset its decimal text, exactly as the contract pins them, with no
//   counter of ours to keep consistent between gateways. The cost: P streams (P Raft groups in a
//   cluster) and P consumers where one would do, a partition count fixed at creation (each
//   stream's description records it; open() refuses another), and no cross-partition atomicity,
//   which JetStream 2.9 has for no layout. One stream with a subject per partition would share
//   one sequence across partitions: per-partition numbers would need a counter of our own.
// Messages: the body is the payload; headers carry the fields (Omni-Device-Id, Omni-Tenant,
//   Omni-Generation-Id, Omni-Auth, Omni-Message-Id, Omni-Correlation-Id, Omni-Content-Type,
//   Omni-Content-Encoding, Omni-Properties as JSON, Omni-Body-Json, Omni-Enqueued in epoch ms).
//   The enqueue time is the gateway's, taken from one clock per process that never goes back
//   (as the SQLite log's), stamped when the batch is published.
// Appends: each message is published with a Nats-Msg-Id and acknowledged to the caller only after
//   JetStream's PubAck for every message of the batch. A publish that gets no answer (timeout, no
//   responders during a leader election, NATS gone) is sent again with the same Nats-Msg-Id until
//   `appendTimeoutMs`, so an attempt whose PubAck was lost is not stored twice; then the append is
//   refused with `overloaded` (503, Retry-After). A refusal from JetStream ends it at once (5xx of
//   its own: `overloaded`; else `internal`). New appends while NATS is disconnected are refused at
//   once; more than `maxPendingMessages` in flight: `overloaded`; after close: `shutting_down`.
//   WEAKER THAN THE CONTRACT: a batch is all-or-nothing only when it succeeds. JetStream 2.9 has
//   no atomic multi-message publish, so a refused batch may be stored in part (or, if a PubAck
//   was lost, in whole), and readers may see that part. The caller saw a 503 and retries: its
//   messages with a messageId are then stored once (dedup below); those without one may be
//   stored twice. At least once on failure, as IoT Hub itself is. Never a false acknowledgement.
// Dedup of a device's messageId for `dedupWindowMs`: the Nats-Msg-Id of a message with a
//   messageId is a hash of (device, messageId), so JetStream itself answers a repeat within its
//   duplicate window (`publishDedupWindowMs`, default 2 min) with the original's sequence number,
//   also when two gateways store the same message at once. That window lives in the server's
//   memory for every message, so it is kept short; the rest of the 24 h is a KV bucket
//   (`<prefix>_dedup`, TTL = dedupWindowMs) from the hash to the original position, read before
//   publishing and written before the acknowledgement. A duplicate returns the original's
//   position and enqueue time with `duplicate: true`. With a dedup window no longer than
//   JetStream's, no bucket is used. A repeat whose original is older than the window is stored
//   again (JetStream's window is at least 100 ms and swept coarsely, so that is checked here).
// Reads: ephemeral pull consumers (acks none, in memory) kept per partition as cursors; a reader
//   that continues where its last page ended reuses its cursor, one request per page, and a page
//   never waits for messages. Reads see what any gateway stored, not only this process's
//   acknowledged appends. `time` reads binary-search the enqueue times with single-message gets.
//   Streams keep allow_direct off: reads are answered by the stream leader, never a lagging replica.
// onAppend: one ordered, headers-only consumer per partition wakes listeners when any process
//   stores a message (this process's own appends wake them at the PubAck, whichever comes first).
// Horizon: exact for a single writer, as the SQLite log's: the enqueue time of this process's
//   oldest append in flight, else the log's clock, which promises the next stamp no earlier. Other
//   writers stamp with their own clocks and their appends take time to land, so with several
//   gateways the horizon also stays `horizonMarginMs` behind the wall clock. ASSUMPTION: writers'
//   clocks agree (NTP) and an append lands within that margin of its stamp. A message stored
//   below a horizon already handed out is reported through onError (raise the margin).
// Retention: JetStream expires messages itself (max_age = retention + `expiryGraceMs`, a backstop
//   when no process runs retention). applyRetention purges what was enqueued before now − retention
//   by the enqueue times (binary search, then a purge below that sequence number) and returns how
//   many messages retention removed from the streams since this process last asked, whoever
//   removed them (JetStream's max_age, this process, another). Dedup entries expire with the
//   bucket's TTL, on the server.
// close(): waits for appends in flight (their PubAcks, or their deadline), drops the consumers,
//   drains the connection.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream, jetstreamManager, JetStreamApiError, type ConsumerMessages, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { OmniError } from '../core/errors.js';
import type { AuthMethod, NewMessage, PartitionId, StoredMessage } from '../core/message.js';
import type { AppendResult, EventLog, EventLogOptions, MessageVisitor, PartitionInfo, ReadFrom, ReadPage, RetentionResult, ScanResult, SharedFields } from './event-log.js';
import { JetStreamLogAppender, type StoredPosition } from './jetstream-log-appender.js';
import { JetStreamPublisher } from './jetstream-log-publisher.js';
import {
  configDrift, decodeValue, dedupBucket, H, MIN_JETSTREAM_WINDOW_MS, partitionsOf, SharedFieldsCache, STREAM_PREFIX, streamConfig, streamName,
  type StreamLayout,
} from './jetstream-log-layout.js';
import { JetStreamLogReader, readFailure, type Delivered } from './jetstream-log-reader.js';

export interface JetStreamEventLogOptions extends EventLogOptions {
  /** NATS server URL(s), comma-separated for a cluster, e.g. `nats://127.0.0.1:4222`. */
  readonly url: string;
  /** Names the streams (`<prefix>_p<N>`), subjects (`<prefix>.p.<N>`) and dedup bucket (`<prefix>_dedup`). */
  readonly streamPrefix: string;
  /** Stream replicas: 1, or 3 or 5 on a cluster. */
  readonly replicas: number;
  /** `memory` loses the messages, and starts sequence numbers again at 0, when the server (every replica) restarts. */
  readonly storage: 'file' | 'memory';
  /** How long an append keeps sending a message JetStream has not acknowledged before it is refused (default 5 s). */
  readonly appendTimeoutMs?: number;
  /** JetStream's own duplicate window: retries and concurrent repeats (default 2 min; at least 100 ms). */
  readonly publishDedupWindowMs?: number;
  /** How far the horizon stays behind the wall clock for other writers: 0 when this process is the only one (default 1 s). */
  readonly horizonMarginMs?: number;
  /** JetStream's own expiry is retention plus this, a backstop when no process runs retention (default 1 h). */
  readonly expiryGraceMs?: number;
  /** Told about what no request sees: NATS lost and back, a notification consumer failing, late appends of other writers. */
  readonly onError?: (message: string) => void;
  /** A connection to use instead of opening one to `url` (close() leaves it open). */
  readonly connection?: NatsConnection;
}

export const JETSTREAM_LOG_DEFAULTS = {
  appendTimeoutMs: 5_000,
  publishDedupWindowMs: 120_000,
  horizonMarginMs: 1_000,
  expiryGraceMs: 3_600_000,
} as const;

/** What this process knows of a partition, in the log's sequence numbers. */
interface Known {
  first: number;
  next: number;
  lastEnqueuedMs: number;
}

/** An append in flight holds the horizon at the time it was registered. */
interface InFlight {
  readonly floorMs: number;
  done: boolean;
}

const NO_PROPERTIES = '{}';
const LATE_REPORT_INTERVAL_MS = 10_000;

/** A message read from the log; properties are parsed when asked for. */
class JetStreamStoredMessage implements StoredMessage {
  readonly offset: string;
  private parsedProperties: Record<string, string> | undefined;

  constructor(
    readonly partition: PartitionId, readonly sequenceNumber: number, readonly enqueuedTimeUtc: Date, private readonly shared: SharedFields,
    readonly messageId: string | undefined, readonly correlationId: string | undefined, readonly body: Buffer,
  ) {
    this.offset = String(sequenceNumber);
    if (shared.propertiesJson === NO_PROPERTIES) this.parsedProperties = {};
  }

  get deviceId(): string { return this.shared.deviceId; }
  get tenant(): string { return this.shared.tenant; }
  get generationId(): string { return this.shared.generationId; }
  get authMethod(): AuthMethod { return this.shared.authMethod; }
  get contentType(): string | undefined { return this.shared.contentType; }
  get contentEncoding(): string | undefined { return this.shared.contentEncoding; }

  get properties(): Record<string, string> {
    return (this.parsedProperties ??= JSON.parse(this.shared.propertiesJson) as Record<string, string>);
  }

  toJSON(): Record<string, unknown> {
    return {
      partition: this.partition, sequenceNumber: this.sequenceNumber, offset: this.offset, enqueuedTimeUtc: this.enqueuedTimeUtc,
      deviceId: this.deviceId, tenant: this.tenant, generationId: this.generationId, authMethod: this.authMethod,
      messageId: this.messageId, correlationId: this.correlationId, contentType: this.contentType, contentEncoding: this.contentEncoding,
      properties: this.properties, body: this.body,
    };
  }
}

function bytesOf(data: Uint8Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Connects, creates or checks the streams (and the dedup bucket), and starts listening for appends. */
export async function openJetStreamEventLog(options: JetStreamEventLogOptions): Promise<JetStreamEventLog> {
  if (!STREAM_PREFIX.test(options.streamPrefix)) {
    throw new OmniError('invalid_argument', `A stream prefix is 1 to 64 letters, digits, '-' or '_' (got ${JSON.stringify(options.streamPrefix)})`);
  }
  const where = options.url;
  let nc = options.connection;
  if (nc === undefined) {
    try {
      nc = await connect({
        servers: options.url.split(',').map((s) => s.trim()),
        name: `omnistream-log-${options.streamPrefix}`,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        timeout: 3_000,
        // nats.js otherwise makes two errors per request for their stack traces: a third of the CPU of an append.
        noAsyncTraces: true,
      });
    } catch (err) {
      throw new OmniError('internal', `Cannot reach NATS at ${where}: ${message(err)}`, { cause: err });
    }
  }
  const ownConnection = options.connection === undefined;
  try {
    // JetStream requests (stream info, gets, the dedup bucket) wait no longer than an append may.
    const timeout = options.appendTimeoutMs ?? JETSTREAM_LOG_DEFAULTS.appendTimeoutMs;
    let jsm: JetStreamManager;
    try {
      jsm = await jetstreamManager(nc, { timeout });
    } catch (err) {
      throw new OmniError('internal', `NATS at ${where} has no JetStream (start nats-server with -js): ${message(err)}`, { cause: err });
    }
    const retentionMs = options.retentionMs;
    const maxAgeMs = Math.max(MIN_JETSTREAM_WINDOW_MS, retentionMs + (options.expiryGraceMs ?? JETSTREAM_LOG_DEFAULTS.expiryGraceMs));
    const layout: StreamLayout = {
      prefix: options.streamPrefix, partitions: options.partitions, replicas: options.replicas, storage: options.storage, maxAgeMs,
      duplicateWindowMs: Math.min(maxAgeMs, Math.max(MIN_JETSTREAM_WINDOW_MS, options.publishDedupWindowMs ?? JETSTREAM_LOG_DEFAULTS.publishDedupWindowMs)),
    };
    const infos = await ensureStreams(jsm, layout, where);
    let kv: KV | undefined;
    if (options.dedupWindowMs > layout.duplicateWindowMs) {
      try {
        kv = await new Kvm(jetstream(nc, { timeout })).create(dedupBucket(options.streamPrefix), {
          ttl: options.dedupWindowMs, history: 1, replicas: options.replicas,
          storage: options.storage === 'memory' ? 'memory' : 'file',
        });
        // An existing bucket is opened as it is: its TTL and replicas follow the options from now on.
        const stream = `KV_${dedupBucket(options.streamPrefix)}`;
        const { config } = await jsm.streams.info(stream);
        const ttl = Math.round(options.dedupWindowMs * 1_000_000);
        if (config.max_age !== ttl || config.num_replicas !== options.replicas) {
          await jsm.streams.update(stream, { ...config, max_age: ttl, num_replicas: options.replicas });
        }
      } catch (err) {
        throw new OmniError('internal', `Cannot create the log's dedup bucket ${dedupBucket(options.streamPrefix)} on NATS at ${where}: ${message(err)}`, { cause: err });
      }
    }
    const log = new JetStreamEventLog(nc, jsm, kv, options, layout, infos, ownConnection);
    await log.listen(infos);
    return log;
  } catch (err) {
    if (ownConnection) await nc.close().catch(() => {});
    throw err;
  }
}

/** Creates the partitions' streams, or checks existing ones (partition count, storage) and updates what may change. */
async function ensureStreams(jsm: JetStreamManager, layout: StreamLayout, where: string): Promise<StreamInfo[]> {
  return Promise.all(Array.from({ length: layout.partitions }, async (_, p) => {
    const wanted = streamConfig(layout, p);
    let info: StreamInfo | undefined;
    try {
      info = await jsm.streams.info(wanted.name);
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === 10059)) throw new OmniError('internal', `Cannot read stream ${wanted.name} on NATS at ${where}: ${message(err)}`, { cause: err });
    }
    if (info === undefined) {
      try {
        return await jsm.streams.add(wanted);
      } catch (err) {
        // Another gateway starting at the same time created it first: check it as an existing one.
        info = await jsm.streams.info(wanted.name).catch(() => undefined);
        if (info === undefined) throw new OmniError('internal', `Cannot create stream ${wanted.name} on NATS at ${where}: ${message(err)}`, { cause: err });
      }
    }
    const recorded = partitionsOf(info.config.description);
    if (recorded !== undefined && recorded !== layout.partitions) {
      throw new OmniError('invalid_argument', `The log ${layout.prefix} on NATS at ${where} was created with ${recorded} partitions; the partition count cannot change (configured: ${layout.partitions})`);
    }
    if (info.config.storage !== wanted.storage) {
      throw new OmniError('invalid_argument', `Stream ${wanted.name} on NATS at ${where} stores in ${info.config.storage}; its storage cannot change (configured: ${wanted.storage})`);
    }
    if (configDrift(info.config, wanted).length > 0) {
      try {
        return await jsm.streams.update(wanted.name, { ...info.config, ...wanted });
      } catch (err) {
        throw new OmniError('internal', `Cannot update stream ${wanted.name} on NATS at ${where}: ${message(err)}`, { cause: err });
      }
    }
    return info;
  }));
}

export class JetStreamEventLog implements EventLog {
  readonly partitionCount: number;
  private readonly reader: JetStreamLogReader;
  private readonly appender: JetStreamLogAppender;
  private readonly publisher: JetStreamPublisher;
  private readonly shared = new SharedFieldsCache();
  private readonly known: Known[];
  /** Per partition, the sequence number after the last one listeners were told about. */
  private readonly notified: number[];
  /** Per partition, the first sequence number at the last applyRetention (what it counts from). */
  private readonly retentionSeen: number[];
  private readonly listeners = new Set<(partitions: ReadonlySet<PartitionId>) => void>();
  private readonly notifications: ConsumerMessages[] = [];
  private readonly inFlight: InFlight[] = [];
  private readonly appending = new Set<Promise<unknown>>();
  private pendingMessages = 0;
  private floorMs = 0;
  private lastHorizon = 0;
  /** The highest horizon handed out and when: a message stored after it but enqueued before it arrived late. */
  private promised = { horizon: 0, atMs: 0 };
  private late = { count: 0, worstMs: 0, reportedAtMs: 0 };
  private emitScheduled = false;
  private connected = true;
  private reconnectWaiters: Array<() => void> = [];
  private closed = false;
  private readonly margin: number;
  private readonly where: string;

  /** Use openJetStreamEventLog. */
  constructor(
    private readonly nc: NatsConnection, private readonly jsm: JetStreamManager, kv: KV | undefined,
    private readonly options: JetStreamEventLogOptions, private readonly layout: StreamLayout, infos: readonly StreamInfo[],
    private readonly ownConnection: boolean,
  ) {
    this.partitionCount = options.partitions;
    this.where = options.url;
    this.margin = options.horizonMarginMs ?? JETSTREAM_LOG_DEFAULTS.horizonMarginMs;
    this.known = infos.map((i) => ({ first: Math.max(i.state.first_seq, 1) - 1, next: i.state.last_seq, lastEnqueuedMs: 0 }));
    this.notified = this.known.map((k) => k.next);
    this.retentionSeen = this.known.map((k) => k.first);
    const appendTimeoutMs = options.appendTimeoutMs ?? JETSTREAM_LOG_DEFAULTS.appendTimeoutMs;
    this.reader = new JetStreamLogReader(nc, jsm, { prefix: layout.prefix, partitions: options.partitions, timeoutMs: appendTimeoutMs });
    this.publisher = new JetStreamPublisher(nc);
    this.appender = new JetStreamLogAppender(this.publisher, kv, {
      prefix: layout.prefix, partitions: options.partitions, dedupWindowMs: options.dedupWindowMs, appendTimeoutMs, where: this.where,
    }, {
      clock: () => this.clock(),
      connected: () => this.connected,
      whenConnected: (deadline) => this.whenConnected(deadline),
      headersAt: (p, seq) => this.reader.headersAt(p, seq),
    });
  }

  get reachable(): boolean {
    return this.connected && !this.closed;
  }

  /** Starts the notification consumers (from each stream's end as opened) and watches the connection. */
  async listen(infos: readonly StreamInfo[]): Promise<void> {
    const js = jetstream(this.nc);
    await Promise.all(infos.map(async (info, p) => {
      const consumer = await js.consumers.get(info.config.name, {
        deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: info.state.last_seq + 1, headers_only: true,
      });
      const messages = await consumer.consume({
        callback: (m) => this.heard(p, m.seq - 1, Number(m.headers?.get(H.enqueued)), m.info.timestampNanos / 1e6),
      });
      this.notifications.push(messages);
    }));
    void this.watch();
  }

  private async watch(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (this.closed) break;
      switch (s.type) {
        case 'disconnect':
          this.connected = false;
          if (!this.closed) this.options.onError?.(`lost NATS at ${this.where}: appends are refused until it is back`);
          break;
        case 'reconnect': {
          this.connected = true;
          this.reader.invalidate();
          const waiters = this.reconnectWaiters;
          this.reconnectWaiters = [];
          for (const w of waiters) w();
          if (!this.closed) this.options.onError?.(`NATS at ${this.where} is back`);
          break;
        }
        case 'slowConsumer':
          this.options.onError?.(`a NATS subscription of the log fell behind (slow consumer): ${JSON.stringify(s)}`);
          break;
        default:
          break;
      }
    }
  }

  private whenConnected(deadline: number): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
      this.reconnectWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** A message stored by any process (its headers, from the notification consumer). */
  private heard(p: PartitionId, seq: number, enqueuedMs: number, storedMs: number): void {
    this.learn(p, seq, enqueuedMs);
    if (enqueuedMs < this.promised.horizon && storedMs > this.promised.atMs) {
      // Stored after a horizon above its enqueue time was handed out: a job may have gone past it.
      this.late.count++;
      this.late.worstMs = Math.max(this.late.worstMs, this.promised.horizon - enqueuedMs);
      const now = Date.now();
      if (now - this.late.reportedAtMs >= LATE_REPORT_INTERVAL_MS) {
        this.options.onError?.(`${this.late.count} message(s) landed in the log below a horizon already handed out (by up to ${this.late.worstMs} ms): `
          + `writers' clocks disagree or appends take longer than horizonMarginMs (${this.margin} ms)`);
        this.late = { count: 0, worstMs: 0, reportedAtMs: now };
      }
    }
    if (!this.emitScheduled) {
      this.emitScheduled = true;
      setImmediate(() => {
        this.emitScheduled = false;
        this.emit();
      });
    }
  }

  private learn(p: PartitionId, seq: number, enqueuedMs: number): void {
    const k = this.known[p]!;
    if (seq >= k.next) {
      k.next = seq + 1;
      if (Number.isFinite(enqueuedMs)) k.lastEnqueuedMs = enqueuedMs;
    }
  }

  /** Tells listeners about the partitions with messages they have not heard of. */
  private emit(): void {
    let touched: Set<PartitionId> | undefined;
    for (let p = 0; p < this.partitionCount; p++) {
      if (this.known[p]!.next > this.notified[p]!) {
        this.notified[p] = this.known[p]!.next;
        (touched ??= new Set()).add(p);
      }
    }
    if (touched === undefined) return;
    for (const l of this.listeners) {
      try {
        l(touched);
      } catch (err) {
        this.options.onError?.(`a listener of the log's appends failed: ${message(err)}`);
      }
    }
  }

  /** The log's time: the wall clock, never behind a stamp or a horizon handed out, promised to the next stamp as its least. */
  private clock(): number {
    this.floorMs = Math.max(Date.now(), this.floorMs);
    return this.floorMs;
  }

  append(batch: readonly NewMessage[]): Promise<AppendResult[]> {
    if (this.closed) return Promise.reject(new OmniError('shutting_down'));
    if (batch.length === 0) return Promise.resolve([]);
    if (this.pendingMessages + batch.length > this.options.maxPendingMessages) {
      return Promise.reject(new OmniError('overloaded', 'Too many appends are waiting to be committed', { retryAfterSeconds: 1 }));
    }
    if (!this.connected) {
      return Promise.reject(new OmniError('unavailable', `The log (NATS JetStream at ${this.where}) is unreachable; the append was not stored`, { retryAfterSeconds: 1 }));
    }
    const entry: InFlight = { floorMs: this.clock(), done: false };
    this.inFlight.push(entry);
    this.pendingMessages += batch.length;
    const run = this.appender.append(batch).then(({ results, stored }) => {
      this.stored(stored);
      return results;
    }).finally(() => {
      entry.done = true;
      this.pendingMessages -= batch.length;
      this.appending.delete(run);
    });
    this.appending.add(run);
    return run;
  }

  private stored(stored: readonly StoredPosition[]): void {
    if (stored.length === 0) return;
    for (const s of stored) this.learn(s.partition, s.seq, s.enqueuedMs);
    this.emit();
  }

  private checkPartition(partition: number): Known {
    const k = Number.isInteger(partition) ? this.known[partition] : undefined;
    if (!k) throw new OmniError('partition_not_found', `Partition ${partition} does not exist (partitions are 0 to ${this.partitionCount - 1})`);
    return k;
  }

  /** Where a read starts, before retention is taken into account. */
  private async requestedStart(partition: number, from: ReadFrom): Promise<number> {
    switch (from.kind) {
      case 'earliest':
        return this.known[partition]!.first;
      case 'sequence':
        return Number.isFinite(from.sequenceNumber) ? Math.max(0, Math.floor(from.sequenceNumber)) : 0;
      case 'afterOffset':
        if (!/^(-1|\d{1,15})$/.test(from.offset)) throw new OmniError('invalid_argument', `Malformed offset ${JSON.stringify(from.offset)}`);
        return Number(from.offset) + 1;
      case 'time': {
        const state = await this.reader.state(partition);
        return this.reader.firstAtOrAfter(partition, Math.max(state.first_seq, 1) - 1, state.last_seq, from.time.getTime());
      }
    }
  }

  /**
   * Runs a page read: `take` gets each message from the start on. Returns where the page started
   * from the caller's point of view: whether retention had passed the requested position, and the
   * start to report as the next position when the page is empty.
   */
  private async page(partition: number, from: ReadFrom, max: number, take: (d: Delivered) => boolean): Promise<{ startedAtEarliest: boolean; emptyNext: number }> {
    const k = this.checkPartition(partition);
    const requested = await this.requestedStart(partition, from);
    const start = Math.max(requested, k.first);
    let first: number | undefined;
    await this.reader.page(partition, start, max, (d) => {
      first ??= d.seq;
      return take(d);
    });
    if (from.kind === 'earliest') return { startedAtEarliest: false, emptyNext: first ?? start };
    if (first !== undefined) return { startedAtEarliest: requested < first, emptyNext: first };
    // Nothing from `start`: past the end, or retention (here or elsewhere) removed it all.
    let actualFirst = k.first;
    if (requested < k.next) {
      const state = await this.reader.state(partition);
      actualFirst = Math.max(state.first_seq, 1) - 1;
      k.first = Math.max(k.first, actualFirst);
    }
    return { startedAtEarliest: requested < actualFirst, emptyNext: Math.max(start, actualFirst) };
  }

  async read(partition: PartitionId, from: ReadFrom, max: number): Promise<ReadPage> {
    const messages: StoredMessage[] = [];
    const { startedAtEarliest, emptyNext } = await this.page(partition, from, max, (d) => {
      const h = d.headers;
      const enqueuedMs = Number(h.get(H.enqueued));
      this.learn(partition, d.seq, enqueuedMs);
      messages.push(new JetStreamStoredMessage(partition, d.seq, new Date(enqueuedMs), this.shared.of(h),
        decodeValue(h.get(H.messageId)), decodeValue(h.get(H.correlationId)), Buffer.from(d.data)));
      return true;
    });
    const last = messages[messages.length - 1];
    return { messages, startedAtEarliest, nextSequenceNumber: last === undefined ? emptyNext : last.sequenceNumber + 1 };
  }

  async scan(partition: PartitionId, from: ReadFrom, max: number, visit: MessageVisitor): Promise<ScanResult> {
    let count = 0;
    let next = -1;
    const { startedAtEarliest, emptyNext } = await this.page(partition, from, max, (d) => {
      const h = d.headers;
      const enqueuedMs = Number(h.get(H.enqueued));
      this.learn(partition, d.seq, enqueuedMs);
      const shared = this.shared.of(h);
      const body = shared.bodyIsJson === true ? bytesOf(d.data).toString('utf8') : Buffer.from(d.data);
      count++;
      next = d.seq + 1;
      return visit(d.seq, enqueuedMs, shared, decodeValue(h.get(H.messageId)), decodeValue(h.get(H.correlationId)), body) !== false;
    });
    return { count, startedAtEarliest, nextSequenceNumber: count === 0 ? emptyNext : next };
  }

  async partitions(): Promise<PartitionInfo[]> {
    return Promise.all(this.known.map(async (k, p) => {
      const state = await this.reader.state(p);
      const first = Math.max(state.first_seq, 1) - 1;
      const last = state.last_seq - 1;
      k.first = Math.max(k.first, first);
      // The last message's enqueue time, known when this process stored or heard of it; else read.
      let lastMs = k.next - 1 === last && k.lastEnqueuedMs > 0 ? k.lastEnqueuedMs : undefined;
      if (last >= 0 && lastMs === undefined) {
        const h = await this.reader.headersAt(p, last).catch((err: unknown) => { throw readFailure(err); });
        lastMs = h === undefined ? Date.parse(state.last_ts) : Number(h.get(H.enqueued));
        if (last >= k.next - 1) {
          k.next = last + 1;
          k.lastEnqueuedMs = lastMs;
        }
      }
      return {
        partitionId: String(p),
        beginningSequenceNumber: first,
        lastEnqueuedSequenceNumber: last,
        lastEnqueuedOffset: String(last),
        lastEnqueuedOnUtc: last < 0 || lastMs === undefined ? null : new Date(lastMs).toISOString(),
        isEmpty: first > last,
      };
    }));
  }

  async applyRetention(now: Date): Promise<RetentionResult> {
    if (this.closed) return { deletedMessages: 0 };
    const cutoff = now.getTime() - this.options.retentionMs;
    let deletedMessages = 0;
    for (let p = 0; p < this.partitionCount; p++) {
      const state = await this.reader.state(p);
      const first = Math.max(state.first_seq, 1) - 1;
      const keepFrom = await this.reader.firstAtOrAfter(p, first, state.last_seq, cutoff);
      if (keepFrom > first) {
        try {
          await this.jsm.streams.purge(streamName(this.layout.prefix, p), { seq: keepFrom + 1 });
        } catch (err) {
          throw readFailure(err);
        }
      }
      const newFirst = Math.max(first, keepFrom);
      deletedMessages += Math.max(0, newFirst - this.retentionSeen[p]!);
      this.retentionSeen[p] = Math.max(this.retentionSeen[p]!, newFirst);
      this.known[p]!.first = Math.max(this.known[p]!.first, newFirst);
    }
    return { deletedMessages };
  }

  horizon(): number {
    while (this.inFlight.length > 0 && this.inFlight[0]!.done) this.inFlight.shift();
    let h = this.inFlight[0]?.floorMs ?? this.clock();
    if (this.margin > 0) h = Math.min(h, Date.now() - this.margin);
    h = Math.max(h, this.lastHorizon);
    this.lastHorizon = h;
    if (h > this.promised.horizon) this.promised = { horizon: h, atMs: Date.now() };
    return h;
  }

  onAppend(listener: (partitions: ReadonlySet<PartitionId>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.appending]);
    this.publisher.close();
    await Promise.allSettled(this.notifications.map((n) => n.close()));
    await this.reader.close().catch(() => {});
    if (!this.ownConnection) return;
    const drained = this.nc.drain().catch(() => {});
    const timeout = new Promise((resolve) => setTimeout(resolve, 2_000).unref());
    await Promise.race([drained, timeout]);
    if (!this.nc.isClosed()) await this.nc.close().catch(() => {});
  }
}
