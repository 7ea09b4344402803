// Writes to the embedded log: one transaction per group of appends (dedup included), and retention
// in bounded steps. It runs on the event loop's connection: a group commit there costs less CPU
// than handing the group to a thread (bench/ingest.ts), and in WAL mode with synchronous = NORMAL a
// commit never waits for the disk — checkpoints and fsyncs are what wait, and they run elsewhere
// (sqlite-log-checkpointer.ts, and fdatasync on libuv's pool in sqlite-event-log.ts).
import type Database from 'better-sqlite3';
import { isJsonBody } from '../core/json-body.js';
import { partitionFor, type AuthMethod, type NewMessage } from '../core/message.js';
import { firstSeqAtOrAfter, loadPartitionState, messageTable, MESSAGE_COLUMNS, rowAtOrAfterSql, type PartitionState } from './sqlite-log-schema.js';

/** One step of retention: rows deleted, and whether anything is left to delete. */
export interface RetentionStep {
  readonly deleted: number;
  readonly done: boolean;
}

type Row = [
  seq: number, enqueued: number, deviceId: string, tenant: string, generationId: string, auth: string,
  messageId: string | null, correlationId: string | null, contentType: string | null, contentEncoding: string | null,
  properties: string | null, body: Buffer, bodyJson: number,
];

/** Rows deleted per retention step: each step is one short transaction between appends. */
const RETENTION_STEP_ROWS = 2_000;
const MAX_CACHED_PARTITIONS = 100_000;

function encodeAuth(a: AuthMethod): string {
  return a.scope === 'hub' ? `hub:${a.policy ?? ''}` : 'device';
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

export class LogAppender {
  /**
   * Where the next append goes, per partition: ahead of what readers see while a group waits for
   * its fsync, so this is kept apart from the event log's own (acknowledged) state.
   */
  readonly state: PartitionState[];
  private readonly insert: Database.Statement<Row>[];
  private readonly rowAtOrAfter: Database.Statement<[number], { seq: number; enqueued: number }>[];
  private readonly deleteRange: Database.Statement<[number, number]>[];
  private readonly minSeq: Database.Statement<[], { seq: number | null }>[];
  private readonly dedupGet: Database.Statement<[string], { partition: number; seq: number; enqueued: number; expires: number }>;
  private readonly dedupPut: Database.Statement<[string, number, number, number, number]>;
  private readonly dedupPrune: Database.Statement<[number, number]>;
  private readonly saveState: Database.Statement<[number, number, number]>;
  private readonly writeGroup: (group: readonly { readonly batch: readonly NewMessage[] }[]) => number[];
  private readonly partitionOf = new Map<string, number>();
  /**
   * No message is ever enqueued before this: the newest enqueue time, or a later time promised to
   * a reader (`clock`). One floor for every partition, so enqueue times rise across the whole log
   * in commit order, even if the wall clock steps back.
   */
  private floorMs: number;
  /** The enqueue time of the last group committed. */
  lastGroupMs = 0;

  constructor(private readonly db: Database.Database, private readonly partitions: number, private readonly dedupWindowMs: number) {
    this.state = loadPartitionState(db, partitions);
    this.floorMs = Math.max(0, ...this.state.map((s) => s.lastEnqueuedMs));
    const each = <T>(make: (table: string) => T): T[] => this.state.map((_, p) => make(messageTable(p)));
    this.insert = each((t) => db.prepare<Row>(`INSERT INTO ${t} (${MESSAGE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`));
    this.rowAtOrAfter = this.state.map((_, p) => db.prepare<[number], { seq: number; enqueued: number }>(rowAtOrAfterSql(p)));
    this.deleteRange = each((t) => db.prepare<[number, number]>(`DELETE FROM ${t} WHERE seq >= ? AND seq < ?`));
    this.minSeq = each((t) => db.prepare<[], { seq: number | null }>(`SELECT MIN(seq) AS seq FROM ${t}`));
    this.dedupGet = db.prepare('SELECT partition, seq, enqueued, expires FROM dedup WHERE key = ?');
    this.dedupPut = db.prepare('INSERT OR REPLACE INTO dedup (key, partition, seq, enqueued, expires) VALUES (?,?,?,?,?)');
    this.dedupPrune = db.prepare('DELETE FROM dedup WHERE key IN (SELECT key FROM dedup WHERE expires < ? LIMIT ?)');
    this.saveState = db.prepare('INSERT OR REPLACE INTO partitions (partition, next_seq, last_enqueued) VALUES (?,?,?)');
    this.writeGroup = db.transaction((group) => this.write(group));
  }

  /**
   * Commits every batch of a group in one transaction, in order, and returns four numbers per
   * message (a flat array: one allocation per group): partition, sequence number, enqueue time in
   * ms, and 1 when it repeated an earlier message (the position is then the original's) else 0.
   * All or nothing: on failure the transaction rolls back and the positions it handed out are taken back.
   */
  /** The log's time: the wall clock, never behind an enqueue time, and promised to the next commit as its least. */
  clock(): number {
    this.floorMs = Math.max(Date.now(), this.floorMs);
    return this.floorMs;
  }

  append(group: readonly { readonly batch: readonly NewMessage[] }[]): number[] {
    const saved = this.state.map((s) => ({ ...s }));
    try {
      return this.writeGroup(group);
    } catch (err) {
      saved.forEach((s, p) => Object.assign(this.state[p]!, s));
      throw err;
    }
  }

  private write(group: readonly { readonly batch: readonly NewMessage[] }[]): number[] {
    // The whole group shares one enqueue time.
    const now = this.clock();
    this.lastGroupMs = now;
    const expires = now + this.dedupWindowMs;
    const positions: number[] = [];
    for (const { batch } of group) {
      for (const m of batch) {
        const partition = this.partitionFor(m.deviceId);
        const dedupKey = m.messageId === undefined ? undefined : `${m.deviceId}\u0000${m.messageId}`;
        if (dedupKey !== undefined) {
          const seen = this.dedupGet.get(dedupKey);
          if (seen && seen.expires >= now) {
            positions.push(seen.partition, seen.seq, seen.enqueued, 1);
            continue;
          }
        }
        const st = this.state[partition]!;
        const enqueued = now;
        const seq = st.nextSeq++;
        st.lastEnqueuedMs = enqueued;
        const contentType = m.contentType ?? null;
        const contentEncoding = m.contentEncoding ?? null;
        // Decided once when stored rather than on every read of the message.
        const bodyJson = isJsonBody(m.body, contentType, contentEncoding) ? 1 : 0;
        this.insert[partition]!.run(seq, enqueued, m.deviceId, m.tenant, m.generationId, encodeAuth(m.authMethod), m.messageId ?? null,
          m.correlationId ?? null, contentType, contentEncoding, hasKeys(m.properties) ? JSON.stringify(m.properties) : null, m.body, bodyJson);
        if (dedupKey !== undefined) this.dedupPut.run(dedupKey, partition, seq, enqueued, expires);
        positions.push(partition, seq, enqueued, 0);
      }
    }
    return positions;
  }

  private partitionFor(deviceId: string): number {
    let p = this.partitionOf.get(deviceId);
    if (p === undefined) {
      if (this.partitionOf.size >= MAX_CACHED_PARTITIONS) this.partitionOf.clear();
      this.partitionOf.set(deviceId, (p = partitionFor(deviceId, this.partitions)));
    }
    return p;
  }

  /** Per partition, the first sequence number to keep: messages before it were enqueued before `cutoffMs`. */
  retentionBounds(cutoffMs: number): number[] {
    return this.state.map((st, p) => firstSeqAtOrAfter(st.firstSeq, st.nextSeq, cutoffMs, (seq) => this.rowAtOrAfter[p]!.get(seq)));
  }

  /**
   * Deletes up to RETENTION_STEP_ROWS messages before `keepFrom` (then expired dedup entries) in
   * one transaction, so appends waiting meanwhile are held up for one short step only.
   */
  retentionStep(keepFrom: readonly number[], nowMs: number): RetentionStep {
    return this.db.transaction((): RetentionStep => {
      for (let p = 0; p < this.partitions; p++) {
        const st = this.state[p]!;
        if (keepFrom[p]! <= st.firstSeq) continue;
        // Remember the position first: once every row is gone, only this table knows it.
        this.saveState.run(p, st.nextSeq, st.lastEnqueuedMs);
        const deleted = this.deleteRange[p]!.run(st.firstSeq, Math.min(keepFrom[p]!, st.firstSeq + RETENTION_STEP_ROWS)).changes;
        st.firstSeq = this.minSeq[p]!.get()?.seq ?? st.nextSeq;
        return { deleted, done: false };
      }
      return { deleted: 0, done: this.dedupPrune.run(nowMs, RETENTION_STEP_ROWS).changes < RETENTION_STEP_ROWS };
    })();
  }
}
