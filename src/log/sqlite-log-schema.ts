// The embedded log's tables, shared by the event loop's connection and the checkpointer and reader threads.
import type Database from 'better-sqlite3';

/**
 * `body_json`: whether the body is JSON by the feed's rule (core/json-body.ts), decided once when
 * the message is stored: 1 or 0, NULL for rows written before the column existed (readers check then).
 */
export const MESSAGE_COLUMNS = 'seq, enqueued, device_id, tenant, generation_id, auth, message_id, correlation_id, content_type, content_encoding, properties, body, body_json';

/** A row of SCAN_COLUMNS: what varies per message, and the shared fields as one JSON array (a cache key). */
export type ScanRow = [seq: number, enqueued: number, shared: string, ids: string | null, body: Buffer | string];

/**
 * What a scan selects: five values per row rather than thirteen, since better-sqlite3's cost is
 * mostly per value. The shared fields come as one JSON array, which is both the cache key of their
 * SharedFields (json_array quotes each field, so distinct fields never make the same key) and,
 * on a miss, their source; message and correlation ids, usually absent, come as one NULL; a body
 * known to be JSON (so valid UTF-8) comes as text.
 */
export const SCAN_COLUMNS = `seq, enqueued,
  json_array(device_id, tenant, generation_id, auth, content_type, content_encoding, properties, body_json),
  CASE WHEN message_id IS NULL AND correlation_id IS NULL THEN NULL ELSE json_array(message_id, correlation_id) END,
  CASE WHEN body_json = 1 THEN CAST(body AS TEXT) ELSE body END`;

/** The statement of a scan of one partition's table: (first sequence number, how many). */
export function scanSql(partition: number): string {
  return `SELECT ${SCAN_COLUMNS} FROM ${messageTable(partition)} WHERE seq >= ? ORDER BY seq LIMIT ?`;
}

export function messageTable(partition: number): string {
  return `messages_${partition}`;
}

/** WAL, and no automatic checkpoints: the checkpointer thread runs them, so no request waits on their fsync. */
export function configureConnection(db: Database.Database): void {
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode: a commit is in the OS before we acknowledge, so it survives kill -9.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('wal_autocheckpoint = 0');
  db.pragma('journal_size_limit = 67108864');
}

export function createSchema(db: Database.Database, partitions: number): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS log_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS partitions (partition INTEGER PRIMARY KEY, next_seq INTEGER NOT NULL, last_enqueued INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS dedup (key TEXT PRIMARY KEY, partition INTEGER NOT NULL, seq INTEGER NOT NULL, enqueued INTEGER NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;
  `);
  // One table per partition with the sequence number as rowid: reads are B-tree seeks and large
  // bodies stay out of any index.
  for (let p = 0; p < partitions; p++) {
    db.exec(`CREATE TABLE IF NOT EXISTS ${messageTable(p)} (
      seq INTEGER PRIMARY KEY, enqueued INTEGER NOT NULL, device_id TEXT NOT NULL, tenant TEXT NOT NULL,
      generation_id TEXT NOT NULL, auth TEXT NOT NULL, message_id TEXT, correlation_id TEXT,
      content_type TEXT, content_encoding TEXT, properties TEXT, body BLOB NOT NULL, body_json INTEGER)`);
    // Databases from before body_json: add it (NULL for the old rows, which readers check themselves).
    const columns = db.prepare<[], { name: string }>(`PRAGMA table_info(${messageTable(p)})`).all();
    if (!columns.some((c) => c.name === 'body_json')) db.exec(`ALTER TABLE ${messageTable(p)} ADD COLUMN body_json INTEGER`);
  }
}

export interface PartitionState {
  nextSeq: number;
  firstSeq: number;
  lastEnqueuedMs: number;
}

/**
 * Where each partition stands. The newest row says it; the partitions table remembers it only for
 * a partition that retention emptied, so commits never have to write it.
 */
export function loadPartitionState(db: Database.Database, partitions: number): PartitionState[] {
  const saved = db.prepare<[number], { next_seq: number; last_enqueued: number }>('SELECT next_seq, last_enqueued FROM partitions WHERE partition = ?');
  const out: PartitionState[] = [];
  for (let p = 0; p < partitions; p++) {
    const s = saved.get(p);
    const newest = db.prepare<[], { seq: number; enqueued: number }>(`SELECT seq, enqueued FROM ${messageTable(p)} ORDER BY seq DESC LIMIT 1`).get();
    const oldest = db.prepare<[], { seq: number | null }>(`SELECT MIN(seq) AS seq FROM ${messageTable(p)}`).get();
    const nextSeq = Math.max(newest ? newest.seq + 1 : 0, s?.next_seq ?? 0);
    out.push({ nextSeq, firstSeq: oldest?.seq ?? nextSeq, lastEnqueuedMs: Math.max(newest?.enqueued ?? 0, s?.last_enqueued ?? 0) });
  }
  return out;
}

/** The row with the lowest sequence number at or after `seq`, if any. */
export type RowAtOrAfter = (seq: number) => { seq: number; enqueued: number } | undefined;

/**
 * The first sequence number in [lo, hi) whose message was enqueued at or after `timeMs`, or `hi`
 * when there is none. Enqueue times rise with the sequence number, so this is a binary search of
 * point seeks: a partition holding days of messages is never scanned on the event loop.
 */
export function firstSeqAtOrAfter(lo: number, hi: number, timeMs: number, rowAtOrAfter: RowAtOrAfter): number {
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const row = rowAtOrAfter(mid);
    if (row === undefined || row.enqueued >= timeMs) hi = mid;
    else lo = row.seq + 1;
  }
  return lo;
}

/** The statement behind RowAtOrAfter, for one partition's table. */
export function rowAtOrAfterSql(partition: number): string {
  return `SELECT seq, enqueued FROM ${messageTable(partition)} WHERE seq >= ? ORDER BY seq LIMIT 1`;
}

export interface CheckpointerOptions {
  readonly path: string;
  readonly intervalMs: number;
}

/** What the checkpointer thread tells the event log. */
export type CheckpointerMessage =
  | { readonly type: 'warning'; readonly message: string }
  | { readonly type: 'closed' };
