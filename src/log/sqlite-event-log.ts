// The embedded log: one SQLite database in WAL mode. Reads run on the event loop's own connection;
// every write goes to a writer thread (sqlite-log-writer.ts) in groups: appends that arrive while
// the writer is busy wait and then share one transaction (group commit), so the group grows with
// the load and the event loop never spends time in SQLite's writes, checkpoints or fsync.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Durability } from '../config.js';
import { OmniError } from '../core/errors.js';
import type { AuthMethod, NewMessage, PartitionId, StoredMessage } from '../core/message.js';
import type { AppendResult, EventLog, EventLogOptions, PartitionInfo, ReadFrom, ReadPage, RetentionResult } from './event-log.js';
import {
  configureConnection, createSchema, loadPartitionState, messageTable, MESSAGE_COLUMNS,
  type PartitionState, type WireMessage, type WriterOptions, type WriterReply, type WriterRequest,
} from './sqlite-log-schema.js';

export interface SqliteEventLogOptions extends EventLogOptions {
  readonly path: string;
  readonly durability: Durability;
  /** Told about background failures (checkpoints, the writer thread) that no request sees. */
  readonly onError?: (message: string) => void;
}

interface PendingAppend {
  readonly batch: readonly NewMessage[];
  readonly resolve: (results: AppendResult[]) => void;
  readonly reject: (err: unknown) => void;
}

/** A row of MESSAGE_COLUMNS as the read statements return it (`.raw()`: an array, no object per row). */
type MessageRow = [
  seq: number, enqueued: number, deviceId: string, tenant: string, generationId: string, auth: string,
  messageId: string | null, correlationId: string | null, contentType: string | null, contentEncoding: string | null,
  properties: string | null, body: Buffer | string, bodyJson: number | null,
];

/**
 * What a read selects: MESSAGE_COLUMNS, except that a body known to be JSON (so valid UTF-8) comes
 * as text. A Buffer per row was half the cost of reading a page; a string is a fraction of it, and
 * the feed writes the JSON from it directly. `body` makes the Buffer only when someone asks.
 */
const READ_COLUMNS = MESSAGE_COLUMNS.replace(/, body, body_json$/, ', CASE WHEN body_json = 1 THEN CAST(body AS TEXT) ELSE body END, body_json');

const NO_PROPERTIES = '{}';

/**
 * A message read from the log. `properties` is parsed from its stored JSON text only when someone
 * asks for it: the feed copies `propertiesJson` to the wire as is, so a page of 1,000 messages
 * no longer parses (and re-stringifies) 1,000 property objects.
 */
class ReadMessage implements StoredMessage {
  readonly offset: string;
  readonly messageId: string | undefined;
  readonly correlationId: string | undefined;
  readonly contentType: string | undefined;
  readonly contentEncoding: string | undefined;
  readonly bodyIsJson: boolean | undefined;
  readonly bodyText: string | undefined;
  private bodyBytes: Buffer | undefined;
  private parsedProperties: Record<string, string> | undefined;

  constructor(
    readonly partition: PartitionId, readonly sequenceNumber: number, readonly enqueuedTimeUtc: Date,
    readonly deviceId: string, readonly tenant: string, readonly generationId: string, readonly authMethod: AuthMethod,
    messageId: string | null, correlationId: string | null, contentType: string | null, contentEncoding: string | null,
    readonly propertiesJson: string, body: Buffer | string, bodyJson: number | null,
  ) {
    this.offset = offsetOf(sequenceNumber);
    this.messageId = messageId ?? undefined;
    this.correlationId = correlationId ?? undefined;
    this.contentType = contentType ?? undefined;
    this.contentEncoding = contentEncoding ?? undefined;
    this.bodyIsJson = bodyJson === null ? undefined : bodyJson === 1;
    if (typeof body === 'string') this.bodyText = body;
    else this.bodyBytes = body;
    this.parsedProperties = propertiesJson === NO_PROPERTIES ? {} : undefined;
  }

  get properties(): Record<string, string> {
    return (this.parsedProperties ??= JSON.parse(this.propertiesJson) as Record<string, string>);
  }

  /** A JSON body's text is valid UTF-8 (checked when stored), so its bytes are exactly the stored ones. */
  get body(): Buffer {
    return (this.bodyBytes ??= Buffer.from(this.bodyText!, 'utf8'));
  }

  /** JSON.stringify sees the message as before: properties and body included, caches left out. */
  toJSON(): Record<string, unknown> {
    return { ...this, parsedProperties: undefined, bodyBytes: undefined, bodyText: undefined, properties: this.properties, body: this.body };
  }
}

const CHECKPOINT_INTERVAL_MS = 250;
// One group in flight: while the writer commits it, the next one gathers everything that arrives.
// Measured against two in flight (bench/ingest.ts, single events): larger groups won by ~15 %.
const MAX_GROUPS_IN_FLIGHT = 1;

/** Offsets are opaque to clients; here they are the decimal sequence number. */
function offsetOf(seq: number): string {
  return String(seq);
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

function encodeAuth(a: AuthMethod): string {
  return a.scope === 'hub' ? `hub:${a.policy ?? ''}` : 'device';
}

const DEVICE_AUTH: AuthMethod = Object.freeze({ scope: 'device', type: 'sas', issuer: 'iothub' });
const hubAuths = new Map<string, AuthMethod>();

/** Auth methods are a handful of values: each is decoded once and shared (frozen) by the messages. */
function decodeAuth(text: string): AuthMethod {
  if (text === 'device') return DEVICE_AUTH;
  let a = hubAuths.get(text);
  if (a === undefined) {
    if (hubAuths.size >= 1_000) hubAuths.clear();
    hubAuths.set(text, (a = Object.freeze({ scope: 'hub', type: 'sas', issuer: 'iothub', policy: text.slice(4) })));
  }
  return a;
}

const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WRITER = new URL(FROM_SOURCE ? './sqlite-log-writer.ts' : './sqlite-log-writer.js', import.meta.url);

/** The writer thread. Run from source (tests, tsx), the thread registers tsx itself: workers do not inherit loader hooks. */
function startWriter(workerData: WriterOptions): Worker {
  if (!FROM_SOURCE) return new Worker(WRITER, { workerData });
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(WRITER.href)}); })`;
  return new Worker(boot, { eval: true, workerData });
}

export class SqliteEventLog implements EventLog {
  readonly partitionCount: number;
  private readonly db: Database.Database;
  private readonly state: PartitionState[];
  private readonly readFrom: Database.Statement<[number, number], MessageRow>[] = [];
  private readonly seqAtTime: Database.Statement<[number], { seq: number }>[] = [];
  private readonly writer: Worker;
  private readonly writerExited: Promise<void>;
  private readonly requests = new Map<number, (reply: WriterReply) => void>();
  private nextRequestId = 0;
  private pending: PendingAppend[] = [];
  private pendingMessages = 0;
  private flushScheduled = false;
  /** Groups sent to the writer and not yet committed. */
  private writing = 0;
  private closed = false;
  private failure: string | undefined;
  private readonly listeners = new Set<(partitions: ReadonlySet<PartitionId>) => void>();
  /** Per partition: the page read ahead (see read), the pending read-ahead, where the last read ended. */
  private readonly ahead: Array<{ start: number; max: number; messages: StoredMessage[] } | undefined> = [];
  private readonly aheadTimer: Array<NodeJS.Immediate | undefined> = [];
  private readonly lastEnd: number[] = [];

  constructor(private readonly options: SqliteEventLogOptions) {
    this.partitionCount = options.partitions;
    mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path);
    configureConnection(this.db);
    createSchema(this.db, options.partitions);
    const stored = this.db.prepare<[], { value: string }>("SELECT value FROM log_meta WHERE name = 'partitions'").get();
    if (stored && Number(stored.value) !== options.partitions) {
      this.db.close();
      throw new OmniError('invalid_argument', `${options.path} was created with ${stored.value} partitions; the partition count cannot change (configured: ${options.partitions})`);
    }
    this.db.prepare("INSERT OR IGNORE INTO log_meta VALUES ('partitions', ?)").run(String(options.partitions));
    this.state = loadPartitionState(this.db, options.partitions);
    for (let p = 0; p < options.partitions; p++) {
      this.readFrom.push(this.db.prepare<[number, number], MessageRow>(`SELECT ${READ_COLUMNS} FROM ${messageTable(p)} WHERE seq >= ? ORDER BY seq LIMIT ?`).raw(true) as unknown as Database.Statement<[number, number], MessageRow>);
      // Enqueue times rise with the sequence number, so the first message at or after a time is a range seek.
      this.seqAtTime.push(this.db.prepare(`SELECT seq FROM ${messageTable(p)} WHERE enqueued >= ? ORDER BY seq LIMIT 1`));
    }
    const writerOptions: WriterOptions = {
      path: options.path, partitions: options.partitions, dedupWindowMs: options.dedupWindowMs,
      fsync: options.durability === 'fsync', checkpointIntervalMs: CHECKPOINT_INTERVAL_MS,
    };
    this.writer = startWriter(writerOptions);
    this.writer.unref();
    this.writer.on('message', (reply: WriterReply) => this.onReply(reply));
    this.writer.on('error', (err) => this.fail(`the log writer failed: ${err.message}`));
    this.writerExited = new Promise((resolve) => this.writer.once('exit', () => {
      if (!this.closed) this.fail('the log writer stopped');
      resolve();
    }));
  }

  private onReply(reply: WriterReply): void {
    if (reply.type === 'warning') {
      this.options.onError?.(reply.message);
      return;
    }
    const handler = this.requests.get(reply.id);
    this.requests.delete(reply.id);
    handler?.(reply);
  }

  private fail(message: string): void {
    this.failure ??= message;
    this.options.onError?.(message);
    const err = new OmniError('internal', `The log cannot accept writes: ${message}`);
    for (const g of this.pending) g.reject(err);
    this.pending = [];
    this.pendingMessages = 0;
    for (const handler of this.requests.values()) handler({ type: 'failed', id: -1, message });
    this.requests.clear();
  }

  private request(req: WriterRequest, transfer: ArrayBuffer[] = []): Promise<WriterReply> {
    return new Promise((resolve) => {
      this.requests.set(req.id, resolve);
      // Referenced while a request is outstanding, so a process waiting on the log stays alive.
      this.writer.ref();
      this.writer.postMessage(req, transfer);
    }).finally(() => {
      if (this.requests.size === 0 && !this.closed) this.writer.unref();
    }) as Promise<WriterReply>;
  }

  append(batch: readonly NewMessage[]): Promise<AppendResult[]> {
    if (this.closed) return Promise.reject(new OmniError('shutting_down'));
    if (this.failure) return Promise.reject(new OmniError('internal', `The log cannot accept writes: ${this.failure}`));
    if (batch.length === 0) return Promise.resolve([]);
    if (this.pendingMessages + batch.length > this.options.maxPendingMessages) {
      return Promise.reject(new OmniError('overloaded', 'Too many appends are waiting to be committed', { retryAfterSeconds: 1 }));
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ batch, resolve, reject });
      this.pendingMessages += batch.length;
      if (this.writing < MAX_GROUPS_IN_FLIGHT) this.scheduleFlush();
    });
  }

  /** Everything that arrives in this turn of the event loop joins the next group. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      void this.flush();
    });
  }

  /** Sends one group to the writer; the next group forms while this one commits. */
  private async flush(): Promise<void> {
    if (this.writing >= MAX_GROUPS_IN_FLIGHT || this.pending.length === 0) return;
    const group = this.pending;
    this.pending = [];
    this.pendingMessages = 0;
    this.writing++;
    // Metadata travels as one JSON string and the bodies as one latin1 string: strings clone with
    // a memcpy, where a graph of small arrays or a transferred buffer costs far more per message.
    const messages: WireMessage[] = [];
    const bodies: string[] = [];
    let at = 0;
    for (const g of group) {
      for (const m of g.batch) {
        const body = m.body.toString('latin1');
        bodies.push(body);
        messages.push([m.deviceId, m.tenant, m.generationId, encodeAuth(m.authMethod), m.messageId ?? null, m.correlationId ?? null,
          m.contentType ?? null, m.contentEncoding ?? null, hasKeys(m.properties) ? JSON.stringify(m.properties) : null, at, at + body.length]);
        at += body.length;
      }
    }
    const reply = await this.request({ type: 'append', id: this.nextRequestId++, messages: JSON.stringify(messages), bodies: bodies.join('') });
    this.writing--;
    if (reply.type !== 'appended') {
      const err = new OmniError('internal', `The log could not commit the append: ${reply.type === 'failed' ? reply.message : reply.type}`);
      for (const g of group) g.reject(err);
    } else {
      this.settle(group, reply.positions);
    }
    void this.flush();
  }

  private settle(group: PendingAppend[], positions: Float64Array): void {
    const touched = new Set<PartitionId>();
    // A group usually shares one enqueue time: one Date for all of them (results are read-only).
    let time = new Date(NaN);
    let i = 0;
    for (const g of group) {
      const results: AppendResult[] = [];
      for (let k = 0; k < g.batch.length; k++, i += 4) {
        const partition = positions[i]!;
        const seq = positions[i + 1]!;
        const enqueued = positions[i + 2]!;
        const duplicate = positions[i + 3] === 1;
        if (!duplicate) {
          const st = this.state[partition]!;
          st.nextSeq = Math.max(st.nextSeq, seq + 1);
          st.lastEnqueuedMs = Math.max(st.lastEnqueuedMs, enqueued);
          touched.add(partition);
        }
        if (time.getTime() !== enqueued) time = new Date(enqueued);
        results.push({ partition, sequenceNumber: seq, offset: offsetOf(seq), enqueuedTimeUtc: time, duplicate });
      }
      g.resolve(results);
    }
    if (touched.size > 0) for (const l of this.listeners) l(touched);
  }

  private checkPartition(partition: number): PartitionState {
    const st = Number.isInteger(partition) ? this.state[partition] : undefined;
    if (!st) throw new OmniError('partition_not_found', `Partition ${partition} does not exist (partitions are 0 to ${this.partitionCount - 1})`);
    return st;
  }

  private resolveStart(partition: number, from: ReadFrom): number {
    const st = this.state[partition]!;
    switch (from.kind) {
      case 'earliest':
        return st.firstSeq;
      case 'sequence':
        return from.sequenceNumber;
      case 'afterOffset': {
        if (!/^(-1|\d{1,15})$/.test(from.offset)) throw new OmniError('invalid_argument', `Malformed offset ${JSON.stringify(from.offset)}`);
        return Number(from.offset) + 1;
      }
      case 'time':
        return this.seqAtTime[partition]!.get(from.time.getTime())?.seq ?? st.nextSeq;
    }
  }

  async read(partition: PartitionId, from: ReadFrom, max: number): Promise<ReadPage> {
    const st = this.checkPartition(partition);
    const requested = this.resolveStart(partition, from);
    const start = Math.max(requested, st.firstSeq);
    // Bounded by what this process knows is committed, so a page never runs ahead of the acks.
    const limit = Math.min(max, st.nextSeq - start);
    const timer = this.aheadTimer[partition];
    if (timer !== undefined) clearImmediate(timer);
    this.aheadTimer[partition] = undefined;
    const ahead = this.ahead[partition];
    this.ahead[partition] = undefined;
    // A full page read ahead from the same place is exactly what this read would return: stored
    // rows never change, and retention moving past it would have moved `start`.
    const messages = ahead !== undefined && ahead.start === start && ahead.max === max && ahead.messages.length === limit
      ? ahead.messages
      : this.readRows(partition, start, limit);
    // A reader going through a partition page by page (this read continues the last one, and
    // returned a full page) gets its next full page read ahead while the event loop would be idle
    // (a client parses the page meanwhile). Only when a full page is already committed, so the
    // page read ahead is the one a later read would get; readers interleaving elsewhere get none.
    const end = start + messages.length;
    if (this.lastEnd[partition] === start && messages.length === max && max > 0 && st.nextSeq - end >= max) {
      this.aheadTimer[partition] = setImmediate(() => {
        this.aheadTimer[partition] = undefined;
        if (!this.closed) this.ahead[partition] = { start: end, max, messages: this.readRows(partition, end, max) };
      });
    }
    this.lastEnd[partition] = end;
    const last = messages[messages.length - 1];
    return { messages, startedAtEarliest: requested < st.firstSeq, nextSequenceNumber: last ? last.sequenceNumber + 1 : start };
  }

  private readRows(partition: PartitionId, start: number, limit: number): StoredMessage[] {
    const rows = limit <= 0 ? [] : this.readFrom[partition]!.all(start, limit);
    const messages: StoredMessage[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      messages[i] = new ReadMessage(partition, r[0], new Date(r[1]), r[2], r[3], r[4], decodeAuth(r[5]), r[6], r[7], r[8], r[9], r[10] ?? NO_PROPERTIES, r[11], r[12]);
    }
    return messages;
  }

  async partitions(): Promise<PartitionInfo[]> {
    return this.state.map((st, p) => {
      const last = st.nextSeq - 1;
      return {
        partitionId: String(p),
        beginningSequenceNumber: st.firstSeq,
        lastEnqueuedSequenceNumber: last,
        lastEnqueuedOffset: last < 0 ? '-1' : offsetOf(last),
        lastEnqueuedOnUtc: last < 0 ? null : new Date(st.lastEnqueuedMs).toISOString(),
        isEmpty: st.firstSeq >= st.nextSeq,
      };
    });
  }

  async applyRetention(now: Date): Promise<RetentionResult> {
    if (this.closed || this.failure) return { deletedMessages: 0 };
    const reply = await this.request({ type: 'retain', id: this.nextRequestId++, cutoffMs: now.getTime() - this.options.retentionMs, nowMs: now.getTime() });
    if (reply.type !== 'retained') throw new OmniError('internal', `Retention failed: ${reply.type === 'failed' ? reply.message : reply.type}`);
    reply.firstSeqs.forEach((seq, p) => { this.state[p]!.firstSeq = seq; });
    return { deletedMessages: reply.deleted };
  }

  onAppend(listener: (partitions: ReadonlySet<PartitionId>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.aheadTimer) if (t !== undefined) clearImmediate(t);
    this.ahead.length = 0;
    // Commit what is waiting, then let the writer checkpoint and close.
    while (!this.failure && (this.writing > 0 || this.pending.length > 0)) {
      await this.flush();
      if (this.writing > 0) await new Promise((r) => setImmediate(r));
    }
    if (!this.failure) await this.request({ type: 'close', id: this.nextRequestId++ });
    // Held until the thread is gone, so the process waits for its last checkpoint.
    this.writer.ref();
    await this.writerExited;
    this.db.close();
  }
}
