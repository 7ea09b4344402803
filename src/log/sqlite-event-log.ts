// The embedded log: one SQLite database in WAL mode, read and written on the event loop's own
// connection. Appends that arrive in one turn of the event loop share one transaction (group
// commit), so a group grows with the load. What waits for the disk runs off the event loop: WAL
// checkpoints on a thread of their own (sqlite-log-checkpointer.ts) and, with durability `fsync`,
// the WAL's fdatasync on libuv's pool, pipelined with the next group's commit.
import Database from 'better-sqlite3';
import { closeSync, fdatasync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { Durability } from './durability.js';
import { isDiskFull, OmniError } from '../core/errors.js';
import type { AuthMethod, NewMessage, PartitionId, StoredMessage } from '../core/message.js';
import type { AppendResult, EventLog, EventLogOptions, MessageVisitor, PartitionInfo, ReadFrom, ReadPage, RetentionResult, ScanOptions, ScanResult, SharedFields } from './event-log.js';
import { LogAppender } from './sqlite-log-appender.js';
import { siblingModule, startModuleThread } from './module-thread.js';
import {
  configureConnection, createSchema, firstSeqAtOrAfter, messageTable, MESSAGE_COLUMNS, rowAtOrAfterSql, scanSql,
  type CheckpointerMessage, type CheckpointerOptions, type PartitionState, type ScanRow,
} from './sqlite-log-schema.js';
import { SqliteLogReaderThread, type ScanPage } from './sqlite-log-reader-thread.js';

export interface SqliteEventLogOptions extends EventLogOptions {
  readonly path: string;
  readonly durability: Durability;
  /** Told about background failures (checkpoints, the checkpointer thread) that no request sees. */
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
  properties: string | null, body: Buffer | string,
];

/**
 * What a read selects: MESSAGE_COLUMNS, except that a body known to be JSON (so valid UTF-8) comes
 * as text, and its JSON-ness no further. A Buffer per row was half the cost of reading a page; a string is a fraction of it.
 * `body` makes the Buffer only when someone asks.
 */
const READ_COLUMNS = MESSAGE_COLUMNS.replace(/, body, body_json$/, ', CASE WHEN body_json = 1 THEN CAST(body AS TEXT) ELSE body END');

/** Distinct shared fields kept; past it the cache starts afresh (a bound, not an expected size). */
const MAX_SHARED = 10_000;

const NO_PROPERTIES = '{}';

/**
 * A message read from the log. `properties` is parsed from its stored JSON text only when someone
 * asks for it, so a page of 1,000 messages does not parse 1,000 property objects nobody uses.
 */
class ReadMessage implements StoredMessage {
  readonly offset: string;
  readonly messageId: string | undefined;
  readonly correlationId: string | undefined;
  readonly contentType: string | undefined;
  readonly contentEncoding: string | undefined;
  /** A JSON body comes as text (see READ_COLUMNS); its Buffer is made when asked for. */
  private readonly bodyText: string | undefined;
  private bodyBytes: Buffer | undefined;
  private parsedProperties: Record<string, string> | undefined;

  constructor(
    readonly partition: PartitionId, readonly sequenceNumber: number, readonly enqueuedTimeUtc: Date,
    readonly deviceId: string, readonly tenant: string, readonly generationId: string, readonly authMethod: AuthMethod,
    messageId: string | null, correlationId: string | null, contentType: string | null, contentEncoding: string | null,
    private readonly propertiesJson: string, body: Buffer | string,
  ) {
    this.offset = offsetOf(sequenceNumber);
    this.messageId = messageId ?? undefined;
    this.correlationId = correlationId ?? undefined;
    this.contentType = contentType ?? undefined;
    this.contentEncoding = contentEncoding ?? undefined;
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

  /** JSON.stringify sees the message's fields, properties and body included, and none of its caches. */
  toJSON(): Record<string, unknown> {
    return {
      partition: this.partition, sequenceNumber: this.sequenceNumber, offset: this.offset, enqueuedTimeUtc: this.enqueuedTimeUtc,
      deviceId: this.deviceId, tenant: this.tenant, generationId: this.generationId, authMethod: this.authMethod,
      messageId: this.messageId, correlationId: this.correlationId, contentType: this.contentType, contentEncoding: this.contentEncoding,
      properties: this.properties, body: this.body,
    };
  }
}

const CHECKPOINT_INTERVAL_MS = 250;

/** Offsets are opaque to clients; here they are the decimal sequence number. */
function offsetOf(seq: number): string {
  return String(seq);
}

/** The sequence number after a page's last row (both row shapes start with it). */
function nextAfter(rows: ReadonlyArray<readonly [number, ...unknown[]]>, start: number): number {
  const last = rows[rows.length - 1];
  return last === undefined ? start : last[0] + 1;
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

const CHECKPOINTER = siblingModule(import.meta.url, 'sqlite-log-checkpointer');

/** A group committed to the WAL, waiting (durability fsync) for an fdatasync that began after its commit. */
interface UnsyncedGroup {
  readonly group: PendingAppend[];
  readonly positions: number[];
  /** The group's enqueue time. */
  readonly enqueuedMs: number;
}

export class SqliteEventLog implements EventLog {
  readonly partitionCount: number;
  private readonly db: Database.Database;
  private readonly state: PartitionState[];
  private readonly readFrom: Database.Statement<[number, number], MessageRow>[] = [];
  private readonly scanFrom: Database.Statement<[number, number], ScanRow>[] = [];
  private readonly shared = new Map<string, SharedFields>();
  private readonly rowAtOrAfter: Database.Statement<[number], { seq: number; enqueued: number }>[] = [];
  private readonly appender: LogAppender;
  private readonly checkpointer: Worker;
  private readonly checkpointerClosed: Promise<void>;
  private pending: PendingAppend[] = [];
  private pendingMessages = 0;
  private flushScheduled = false;
  private unsynced: UnsyncedGroup[] = [];
  /** The groups the running fdatasync covers. */
  private inSync: UnsyncedGroup[] = [];
  private syncing = false;
  /** Called when no fdatasync is running or due (close waits for this). */
  private syncIdle: Array<() => void> = [];
  private walFd: number | undefined;
  private closed = false;
  private failure: string | undefined;
  private readonly listeners = new Set<(partitions: ReadonlySet<PartitionId>) => void>();
  /** Per partition: the rows read ahead (see pageRows), the pending read-ahead, where the last read ended. */
  private readonly ahead: Array<{ statement: Database.Statement; start: number; max: number; rows: unknown[] } | undefined> = [];
  private readonly aheadTimer: Array<NodeJS.Immediate | undefined> = [];
  private readonly lastEnd: number[] = [];
  /** Per partition: the scan page being read ahead on the reader thread, and where the last scan ended. */
  private readonly scanAhead: Array<{ start: number; max: number; fields: ReadonlySet<string> | undefined; page: Promise<ScanPage | undefined> } | undefined> = [];
  private readonly lastScanEnd: number[] = [];
  private readonly reader: SqliteLogReaderThread;
  /** Scan pages the reader thread read ahead and a scan used (the rest were read on the event loop). */
  pagesReadAhead = 0;

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
    this.appender = new LogAppender(this.db, options.partitions, options.dedupWindowMs);
    // What readers see: acknowledged appends only (the appender runs ahead while a group awaits its fsync).
    this.state = this.appender.state.map((s) => ({ ...s }));
    for (let p = 0; p < options.partitions; p++) {
      this.readFrom.push(this.db.prepare<[number, number], MessageRow>(`SELECT ${READ_COLUMNS} FROM ${messageTable(p)} WHERE seq >= ? ORDER BY seq LIMIT ?`).raw(true) as unknown as Database.Statement<[number, number], MessageRow>);
      this.scanFrom.push(this.db.prepare<[number, number], ScanRow>(scanSql(p)).raw(true) as unknown as Database.Statement<[number, number], ScanRow>);
      this.rowAtOrAfter.push(this.db.prepare(rowAtOrAfterSql(p)));
    }
    this.reader = new SqliteLogReaderThread({ path: options.path, partitions: options.partitions }, (message) => options.onError?.(message));
    this.checkpointer = startModuleThread(CHECKPOINTER, { path: options.path, intervalMs: CHECKPOINT_INTERVAL_MS } satisfies CheckpointerOptions);
    this.checkpointer.unref();
    this.checkpointer.on('message', (m: CheckpointerMessage) => {
      if (m.type === 'warning') options.onError?.(m.message);
    });
    this.checkpointer.on('error', (err) => options.onError?.(`the log's checkpointer failed: ${err.message}`));
    this.checkpointerClosed = new Promise((resolve) => this.checkpointer.once('exit', () => {
      // Appends still work without it, but the WAL then grows until the next start.
      if (!this.closed) options.onError?.("the log's checkpointer stopped; the WAL grows until a restart");
      resolve();
    }));
  }

  private fail(message: string): void {
    this.failure ??= message;
    this.options.onError?.(message);
    const err = new OmniError('internal', `The log cannot accept writes: ${message}`);
    for (const g of this.pending) g.reject(err);
    this.pending = [];
    this.pendingMessages = 0;
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
      this.scheduleFlush();
    });
  }

  /** Everything that arrives in this turn of the event loop joins the next group. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Commits the waiting appends as one group. */
  private flush(): void {
    if (this.pending.length === 0 || this.failure) return;
    const group = this.pending;
    this.pending = [];
    this.pendingMessages = 0;
    let positions: number[];
    try {
      positions = this.appender.append(group);
    } catch (cause) {
      const err = isDiskFull(cause)
        ? new OmniError('storage_full', 'The log could not commit the append: its disk is full', { cause, retryAfterSeconds: 5 })
        : new OmniError('internal', `The log could not commit the append: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
      for (const g of group) g.reject(err);
      return;
    }
    if (this.options.durability !== 'fsync') {
      this.settle(group, positions);
      return;
    }
    this.unsynced.push({ group, positions, enqueuedMs: this.appender.lastGroupMs });
    if (!this.syncing) this.sync();
  }

  /**
   * Flushes the WAL to disk for every group committed so far. Groups committed while it runs wait
   * for the next one, so each fdatasync covers everything that arrived during the last.
   */
  private sync(): void {
    const waiting = this.unsynced;
    this.unsynced = [];
    this.inSync = waiting;
    this.syncing = true;
    try {
      this.walFd ??= openSync(`${this.options.path}-wal`, 'r');
    } catch (err) {
      this.syncFailed(waiting, err);
      return;
    }
    fdatasync(this.walFd, (err) => {
      if (err) {
        this.syncFailed(waiting, err);
        return;
      }
      this.syncing = false;
      this.inSync = [];
      for (const u of waiting) this.settle(u.group, u.positions);
      if (this.unsynced.length > 0) this.sync();
      else this.whenSyncIdle();
    });
  }

  /**
   * What failed to reach the disk may be gone, and a later fsync cannot say (the kernel may have
   * dropped the dirty pages), so the log stops taking writes rather than acknowledge on top of it.
   */
  private syncFailed(waiting: UnsyncedGroup[], cause: unknown): void {
    this.syncing = false;
    this.inSync = [];
    this.fail(`fdatasync of the write-ahead log failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    const err = new OmniError('internal', `The log could not make the append durable: ${this.failure}`, { cause });
    for (const u of [...waiting, ...this.unsynced]) for (const g of u.group) g.reject(err);
    this.unsynced = [];
    this.whenSyncIdle();
  }

  private whenSyncIdle(): void {
    const waiters = this.syncIdle;
    this.syncIdle = [];
    for (const w of waiters) w();
  }

  private settle(group: PendingAppend[], positions: number[]): void {
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
        return firstSeqAtOrAfter(st.firstSeq, st.nextSeq, from.time.getTime(), (seq) => this.rowAtOrAfter[partition]!.get(seq));
    }
  }

  async read(partition: PartitionId, from: ReadFrom, max: number): Promise<ReadPage> {
    const st = this.checkPartition(partition);
    const requested = this.resolveStart(partition, from);
    const start = Math.max(requested, st.firstSeq);
    const rows = this.pageRows(this.readFrom[partition]!, partition, start, max);
    const messages: StoredMessage[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      messages[i] = new ReadMessage(partition, r[0], new Date(r[1]), r[2], r[3], r[4], decodeAuth(r[5]), r[6], r[7], r[8], r[9], r[10] ?? NO_PROPERTIES, r[11]);
    }
    return { messages, startedAtEarliest: requested < st.firstSeq, nextSequenceNumber: nextAfter(rows, start) };
  }

  async scan(partition: PartitionId, from: ReadFrom, max: number, visit: MessageVisitor, options?: ScanOptions): Promise<ScanResult> {
    const st = this.checkPartition(partition);
    const requested = this.resolveStart(partition, from);
    const start = Math.max(requested, st.firstSeq);
    const rows = await this.scanRows(partition, start, max, options?.fields);
    let count = 0;
    let next = start;
    if (Array.isArray(rows)) {
      while (count < rows.length) {
        const r = rows[count++]!;
        const ids = r[3] === null ? null : JSON.parse(r[3]) as [string | null, string | null];
        next = r[0] + 1;
        if (visit(r[0], r[1], this.sharedFields(r[2]), ids?.[0] ?? undefined, ids?.[1] ?? undefined, r[4]) === false) break;
      }
    } else {
      const { seqs, enqueued, sharedIndex, bodies, bodyEnds, binary } = rows;
      const shared: (SharedFields | undefined)[] = new Array(rows.shared.length);
      const cut = rows.fields === null ? null : JSON.parse(rows.fields) as (Record<string, unknown> | null)[];
      let bodyStart = 0;
      while (count < rows.count) {
        const i = count++;
        const k = sharedIndex[i]!;
        const f = (shared[k] ??= this.sharedFields(rows.shared[k]!));
        const idsJson = rows.ids?.[i] ?? null;
        const ids = idsJson === null ? null : JSON.parse(idsJson) as [string | null, string | null];
        const bytes = binary?.[i] ?? null;
        const body = bytes === null ? bodies.slice(bodyStart, bodyEnds[i]) : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        bodyStart = bodyEnds[i]!;
        next = seqs[i]! + 1;
        if (visit(seqs[i]!, enqueued[i]!, f, ids?.[0] ?? undefined, ids?.[1] ?? undefined, body, cut?.[i] ?? undefined) === false) break;
      }
    }
    return { count, startedAtEarliest: requested < st.firstSeq, nextSequenceNumber: next };
  }

  /**
   * The rows of a scan's page from `start`, at most `max`, bounded by what this process knows is
   * committed. A reader going through a partition page by page (this scan continues the last one,
   * and got a full page) has its next full page read on the reader thread while it works on this
   * one; only when a full page is already committed, so the rows read ahead are the ones a later
   * scan gets (stored rows never change, and retention moving past them would have moved `start`).
   * A page the thread did not read in full (retention ran meanwhile) is read again here. The
   * members of `fields` come with a page read ahead for the same fields (the same set), never
   * with one read here: they are a hint.
   */
  private async scanRows(partition: PartitionId, start: number, max: number, fields: ReadonlySet<string> | undefined): Promise<ScanRow[] | ScanPage> {
    const st = this.state[partition]!;
    const limit = Math.min(max, st.nextSeq - start);
    const ahead = this.scanAhead[partition];
    this.scanAhead[partition] = undefined;
    let rows: ScanRow[] | ScanPage | undefined;
    if (ahead !== undefined && ahead.start === start && ahead.max === max) {
      const page = await ahead.page;
      if (page !== undefined && page.count === limit) {
        rows = ahead.fields === fields ? page : { ...page, fields: null };
        this.pagesReadAhead++;
      }
    }
    if (this.closed) throw new OmniError('shutting_down');
    rows ??= limit > 0 ? this.scanFrom[partition]!.all(start, limit) : [];
    const count = Array.isArray(rows) ? rows.length : rows.count;
    const end = start + count;
    if (this.lastScanEnd[partition] === start && count === max && max > 0 && st.nextSeq - end >= max) {
      this.scanAhead[partition] = { start: end, max, fields, page: this.reader.read(partition, end, max, fields) };
    }
    this.lastScanEnd[partition] = end;
    return rows;
  }

  /** One frozen object per distinct value of the shared fields (the key is their JSON array). */
  private sharedFields(key: string): SharedFields {
    let f = this.shared.get(key);
    if (f === undefined) {
      const [deviceId, tenant, generationId, auth, contentType, contentEncoding, properties, bodyJson] =
        JSON.parse(key) as [string, string, string, string, string | null, string | null, string | null, number | null];
      f = Object.freeze({
        deviceId, tenant, generationId, authMethod: decodeAuth(auth), contentType: contentType ?? undefined, contentEncoding: contentEncoding ?? undefined,
        propertiesJson: properties ?? NO_PROPERTIES, bodyIsJson: bodyJson === null ? undefined : bodyJson === 1,
      });
      if (this.shared.size >= MAX_SHARED) this.shared.clear();
      this.shared.set(key, f);
    }
    return f;
  }

  /**
   * The rows of a page from `start`, at most `max`. Bounded by what this process knows is
   * committed, so a page never runs ahead of the acks. A reader going through a partition page by
   * page (this read continues the last one, and returned a full page) gets its next full page read
   * ahead while the event loop would be idle (a client parses the page meanwhile); only when a full
   * page is already committed, so the rows read ahead are the ones a later read gets (stored rows
   * never change, and retention moving past them would have moved `start`). Readers interleaving
   * elsewhere, or reading another size or through the other statement, get none.
   */
  private pageRows<R>(statement: Database.Statement<[number, number], R>, partition: PartitionId, start: number, max: number): R[] {
    const st = this.state[partition]!;
    const limit = Math.min(max, st.nextSeq - start);
    const timer = this.aheadTimer[partition];
    if (timer !== undefined) clearImmediate(timer);
    this.aheadTimer[partition] = undefined;
    const ahead = this.ahead[partition];
    this.ahead[partition] = undefined;
    const rows = ahead !== undefined && ahead.statement === statement && ahead.start === start && ahead.max === max && ahead.rows.length === limit
      ? ahead.rows as R[]
      : limit > 0 ? statement.all(start, limit) : [];
    const end = start + rows.length;
    if (this.lastEnd[partition] === start && rows.length === max && max > 0 && st.nextSeq - end >= max) {
      this.aheadTimer[partition] = setImmediate(() => {
        this.aheadTimer[partition] = undefined;
        if (!this.closed) this.ahead[partition] = { statement, start: end, max, rows: statement.all(end, max) };
      });
    }
    this.lastEnd[partition] = end;
    return rows;
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
    const keepFrom = this.closed || this.failure ? [] : this.appender.retentionBounds(now.getTime() - this.options.retentionMs);
    let deletedMessages = 0;
    while (!this.closed && !this.failure) {
      const step = this.appender.retentionStep(keepFrom, now.getTime());
      deletedMessages += step.deleted;
      this.appender.state.forEach((s, p) => { this.state[p]!.firstSeq = s.firstSeq; });
      if (step.done) break;
      // Requests and appends run between steps: retention never holds the event loop for long.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return { deletedMessages };
  }

  horizon(): number {
    // A group committed but still waiting for its fsync is not readable: the horizon stops at it.
    // Otherwise the log's clock, which also promises the next commit a time no earlier.
    return this.inSync[0]?.enqueuedMs ?? this.unsynced[0]?.enqueuedMs ?? this.appender.clock();
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
    this.scanAhead.length = 0;
    await this.reader.close();
    // Commit what is waiting and let its fdatasync finish, then the checkpointer's last checkpoint.
    this.flush();
    if (this.syncing) await new Promise<void>((resolve) => this.syncIdle.push(resolve));
    if (this.walFd !== undefined) closeSync(this.walFd);
    this.checkpointer.ref();
    this.checkpointer.postMessage('close');
    await this.checkpointerClosed;
    this.db.close();
  }
}
