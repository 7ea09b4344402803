// The embedded log: one SQLite database in WAL mode, one table per partition keyed by sequence
// number (the rowid, so reads are B-tree seeks and large bodies stay out of the index), appends
// from concurrent requests gathered into one transaction per event-loop turn (group commit).
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Durability } from '../config.js';
import { OmniError } from '../core/errors.js';
import { partitionFor, type AuthMethod, type NewMessage, type PartitionId, type StoredMessage } from '../core/message.js';
import type { AppendResult, EventLog, EventLogOptions, PartitionInfo, ReadFrom, ReadPage, RetentionResult } from './event-log.js';

export interface SqliteEventLogOptions extends EventLogOptions {
  readonly path: string;
  readonly durability: Durability;
}

interface PendingAppend {
  readonly batch: readonly NewMessage[];
  readonly resolve: (results: AppendResult[]) => void;
  readonly reject: (err: unknown) => void;
}

interface PartitionState {
  nextSeq: number;
  firstSeq: number;
  lastEnqueuedMs: number;
}

interface MessageRow {
  seq: number;
  enqueued: number;
  device_id: string;
  tenant: string;
  generation_id: string;
  auth: string;
  message_id: string | null;
  correlation_id: string | null;
  content_type: string | null;
  content_encoding: string | null;
  properties: string | null;
  body: Buffer;
}

const RETENTION_CHUNK = 5_000;
const MESSAGE_COLUMNS = 'seq, enqueued, device_id, tenant, generation_id, auth, message_id, correlation_id, content_type, content_encoding, properties, body';

/** Offsets are opaque to clients; here they are the decimal sequence number. */
function offsetOf(seq: number): string {
  return String(seq);
}

function encodeAuth(a: AuthMethod): string {
  return a.scope === 'hub' ? `hub:${a.policy ?? ''}` : 'device';
}

function decodeAuth(text: string): AuthMethod {
  return text === 'device' ? { scope: 'device', type: 'sas', issuer: 'iothub' } : { scope: 'hub', type: 'sas', issuer: 'iothub', policy: text.slice(4) };
}

export class SqliteEventLog implements EventLog {
  readonly partitionCount: number;
  private readonly db: Database.Database;
  private readonly state: PartitionState[] = [];
  private readonly insert: Database.Statement[] = [];
  private readonly readFrom: Database.Statement<[number, number], MessageRow>[] = [];
  private readonly seqAtTime: Database.Statement<[number], { seq: number }>[] = [];
  private readonly deleteBefore: Database.Statement<[number], void>[] = [];
  private readonly minSeq: Database.Statement<[], { seq: number | null }>[] = [];
  private readonly dedupGet: Database.Statement<[string], { partition: number; seq: number; enqueued: number; expires: number }>;
  private readonly dedupPut: Database.Statement;
  private readonly dedupPrune: Database.Statement<[number, number], void>;
  private readonly saveState: Database.Statement;
  private readonly commitGroup: (group: readonly PendingAppend[]) => AppendResult[][];
  private pending: PendingAppend[] = [];
  private pendingMessages = 0;
  private flushScheduled = false;
  private inFlight = new Set<Promise<void>>();
  private closed = false;
  private wal: Promise<FileHandle> | undefined;
  private readonly listeners = new Set<(partitions: ReadonlySet<PartitionId>) => void>();

  constructor(private readonly options: SqliteEventLogOptions) {
    this.partitionCount = options.partitions;
    mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a commit is in the OS before we acknowledge, so it survives kill -9.
    // Power-loss durability (`fsync`) is added by syncing the WAL off the event loop (flush()).
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS log_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS partitions (partition INTEGER PRIMARY KEY, next_seq INTEGER NOT NULL, last_enqueued INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS dedup (key TEXT PRIMARY KEY, partition INTEGER NOT NULL, seq INTEGER NOT NULL, enqueued INTEGER NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;
    `);
    const stored = this.db.prepare<[], { value: string }>("SELECT value FROM log_meta WHERE name = 'partitions'").get();
    if (stored && Number(stored.value) !== options.partitions) {
      throw new OmniError('invalid_argument', `${options.path} was created with ${stored.value} partitions; the partition count cannot change (configured: ${options.partitions})`);
    }
    this.db.prepare("INSERT OR IGNORE INTO log_meta VALUES ('partitions', ?)").run(String(options.partitions));

    for (let p = 0; p < options.partitions; p++) {
      const t = `messages_${p}`;
      this.db.exec(`CREATE TABLE IF NOT EXISTS ${t} (
        seq INTEGER PRIMARY KEY, enqueued INTEGER NOT NULL, device_id TEXT NOT NULL, tenant TEXT NOT NULL,
        generation_id TEXT NOT NULL, auth TEXT NOT NULL, message_id TEXT, correlation_id TEXT,
        content_type TEXT, content_encoding TEXT, properties TEXT, body BLOB NOT NULL)`);
      this.insert.push(this.db.prepare(`INSERT INTO ${t} (${MESSAGE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`));
      this.readFrom.push(this.db.prepare(`SELECT ${MESSAGE_COLUMNS} FROM ${t} WHERE seq >= ? ORDER BY seq LIMIT ?`));
      // Enqueue times rise with the sequence number, so the first message at or after a time is a range seek.
      this.seqAtTime.push(this.db.prepare(`SELECT seq FROM ${t} WHERE enqueued >= ? ORDER BY seq LIMIT 1`));
      this.deleteBefore.push(this.db.prepare(`DELETE FROM ${t} WHERE seq < ?`));
      this.minSeq.push(this.db.prepare(`SELECT MIN(seq) AS seq FROM ${t}`));
      const row = this.db.prepare<[number], { next_seq: number; last_enqueued: number }>('SELECT next_seq, last_enqueued FROM partitions WHERE partition = ?').get(p);
      const nextSeq = row?.next_seq ?? 0;
      this.state.push({ nextSeq, firstSeq: this.minSeq[p]!.get()?.seq ?? nextSeq, lastEnqueuedMs: row?.last_enqueued ?? 0 });
    }
    this.dedupGet = this.db.prepare('SELECT partition, seq, enqueued, expires FROM dedup WHERE key = ?');
    this.dedupPut = this.db.prepare('INSERT OR REPLACE INTO dedup (key, partition, seq, enqueued, expires) VALUES (?,?,?,?,?)');
    this.dedupPrune = this.db.prepare('DELETE FROM dedup WHERE key IN (SELECT key FROM dedup WHERE expires < ? LIMIT ?)');
    this.saveState = this.db.prepare('INSERT OR REPLACE INTO partitions (partition, next_seq, last_enqueued) VALUES (?,?,?)');
    this.commitGroup = this.db.transaction((group: readonly PendingAppend[]) => this.writeGroup(group));
  }

  append(batch: readonly NewMessage[]): Promise<AppendResult[]> {
    if (this.closed) return Promise.reject(new OmniError('shutting_down'));
    if (batch.length === 0) return Promise.resolve([]);
    if (this.pendingMessages + batch.length > this.options.maxPendingMessages) {
      return Promise.reject(new OmniError('overloaded', 'Too many appends are waiting to be committed', { retryAfterSeconds: 1 }));
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ batch, resolve, reject });
      this.pendingMessages += batch.length;
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // Everything that arrives in this turn of the event loop joins one transaction.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const group = this.pending;
    this.pending = [];
    this.pendingMessages = 0;
    if (group.length === 0) return;
    const saved = this.state.map((s) => ({ ...s }));
    let results: AppendResult[][];
    try {
      results = this.commitGroup(group);
    } catch (cause) {
      // The transaction rolled back: forget the positions it handed out.
      saved.forEach((s, p) => Object.assign(this.state[p]!, s));
      for (const g of group) g.reject(new OmniError('internal', 'The log could not commit the append', { cause }));
      return;
    }
    const touched = new Set<PartitionId>();
    for (const rs of results) for (const r of rs) touched.add(r.partition);
    const done = (): void => {
      group.forEach((g, i) => g.resolve(results[i]!));
      for (const l of this.listeners) l(touched);
    };
    if (this.options.durability === 'fsync') {
      const sync = this.syncWal().then(done, (cause: unknown) => {
        for (const g of group) g.reject(new OmniError('internal', 'The log could not sync to disk', { cause }));
      });
      this.inFlight.add(sync);
      void sync.finally(() => this.inFlight.delete(sync));
    } else {
      done();
    }
  }

  /** fdatasync of the WAL runs on libuv's thread pool, so one disk flush never stalls requests. */
  private async syncWal(): Promise<void> {
    this.wal ??= open(`${this.options.path}-wal`, 'r');
    await (await this.wal).datasync();
  }

  private writeGroup(group: readonly PendingAppend[]): AppendResult[][] {
    const now = Date.now();
    const expires = now + this.options.dedupWindowMs;
    const touched = new Set<number>();
    const out = group.map(({ batch }) =>
      batch.map((m): AppendResult => {
        const partition = partitionFor(m.deviceId, this.partitionCount);
        const dedupKey = m.messageId === undefined ? undefined : `${m.deviceId}\u0000${m.messageId}`;
        if (dedupKey !== undefined) {
          const seen = this.dedupGet.get(dedupKey);
          if (seen && seen.expires >= now) {
            return { partition: seen.partition, sequenceNumber: seen.seq, offset: offsetOf(seen.seq), enqueuedTimeUtc: new Date(seen.enqueued), duplicate: true };
          }
        }
        const st = this.state[partition]!;
        // Enqueue times never go backwards within a partition, even if the wall clock does.
        const enqueued = Math.max(now, st.lastEnqueuedMs);
        const seq = st.nextSeq++;
        st.lastEnqueuedMs = enqueued;
        touched.add(partition);
        const props = Object.keys(m.properties).length === 0 ? null : JSON.stringify(m.properties);
        this.insert[partition]!.run(seq, enqueued, m.deviceId, m.tenant, m.generationId, encodeAuth(m.authMethod), m.messageId ?? null,
          m.correlationId ?? null, m.contentType ?? null, m.contentEncoding ?? null, props, m.body);
        if (dedupKey !== undefined) this.dedupPut.run(dedupKey, partition, seq, enqueued, expires);
        return { partition, sequenceNumber: seq, offset: offsetOf(seq), enqueuedTimeUtc: new Date(enqueued), duplicate: false };
      }),
    );
    for (const p of touched) {
      const st = this.state[p]!;
      this.saveState.run(p, st.nextSeq, st.lastEnqueuedMs);
    }
    return out;
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
    const rows = start >= st.nextSeq ? [] : this.readFrom[partition]!.all(start, max);
    const messages = rows.map((r) => this.toMessage(partition, r));
    const last = messages[messages.length - 1];
    return { messages, startedAtEarliest: requested < st.firstSeq, nextSequenceNumber: last ? last.sequenceNumber + 1 : start };
  }

  private toMessage(partition: number, r: MessageRow): StoredMessage {
    return {
      partition,
      sequenceNumber: r.seq,
      offset: offsetOf(r.seq),
      enqueuedTimeUtc: new Date(r.enqueued),
      deviceId: r.device_id,
      tenant: r.tenant,
      generationId: r.generation_id,
      authMethod: decodeAuth(r.auth),
      messageId: r.message_id ?? undefined,
      correlationId: r.correlation_id ?? undefined,
      contentType: r.content_type ?? undefined,
      contentEncoding: r.content_encoding ?? undefined,
      properties: r.properties === null ? {} : (JSON.parse(r.properties) as Record<string, string>),
      body: r.body,
    };
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
    const cutoff = now.getTime() - this.options.retentionMs;
    let deleted = 0;
    for (let p = 0; p < this.partitionCount; p++) {
      const st = this.state[p]!;
      const keepFrom = this.seqAtTime[p]!.get(cutoff)?.seq ?? st.nextSeq;
      // Bounded chunks, yielding between them, so a large expiry never blocks appends for long.
      while (st.firstSeq < keepFrom && !this.closed) {
        const upTo = Math.min(keepFrom, st.firstSeq + RETENTION_CHUNK);
        deleted += this.deleteBefore[p]!.run(upTo).changes;
        st.firstSeq = this.minSeq[p]!.get()?.seq ?? st.nextSeq;
        await new Promise((r) => setImmediate(r));
      }
    }
    while (!this.closed && this.dedupPrune.run(now.getTime(), RETENTION_CHUNK).changes === RETENTION_CHUNK) {
      await new Promise((r) => setImmediate(r));
    }
    return { deletedMessages: deleted };
  }

  onAppend(listener: (partitions: ReadonlySet<PartitionId>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    await Promise.all(this.inFlight);
    if (this.wal) await (await this.wal).close();
    this.db.close();
  }
}
