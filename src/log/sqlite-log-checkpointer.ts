// The embedded log's writer thread: it owns every write to the log database, so SQLite's work,
// WAL checkpoints and (with durability: fsync) disk flushes never run on the event loop.
import Database from 'better-sqlite3';
import { closeSync, fdatasyncSync, openSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { configureConnection, isJsonBody, loadPartitionState, messageTable, MESSAGE_COLUMNS, type WireMessage, type WriterOptions, type WriterReply, type WriterRequest } from './sqlite-log-schema.js';
import { partitionFor } from '../core/message.js';

const RETENTION_CHUNK = 5_000;

const options = workerData as WriterOptions;
const port = parentPort!;
const db = new Database(options.path);
configureConnection(db);
const state = loadPartitionState(db, options.partitions);
const insert = state.map((_, p) => db.prepare(`INSERT INTO ${messageTable(p)} (${MESSAGE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`));
const seqAtTime = state.map((_, p) => db.prepare<[number], { seq: number }>(`SELECT seq FROM ${messageTable(p)} WHERE enqueued >= ? ORDER BY seq LIMIT 1`));
const deleteBefore = state.map((_, p) => db.prepare(`DELETE FROM ${messageTable(p)} WHERE seq < ?`));
const minSeq = state.map((_, p) => db.prepare<[], { seq: number | null }>(`SELECT MIN(seq) AS seq FROM ${messageTable(p)}`));
const dedupGet = db.prepare<[string], { partition: number; seq: number; enqueued: number; expires: number }>('SELECT partition, seq, enqueued, expires FROM dedup WHERE key = ?');
const dedupPut = db.prepare('INSERT OR REPLACE INTO dedup (key, partition, seq, enqueued, expires) VALUES (?,?,?,?,?)');
const dedupPrune = db.prepare('DELETE FROM dedup WHERE key IN (SELECT key FROM dedup WHERE expires < ? LIMIT ?)');
const saveState = db.prepare('INSERT OR REPLACE INTO partitions (partition, next_seq, last_enqueued) VALUES (?,?,?)');
const partitionCache = new Map<string, number>();
let walFd: number | undefined;

function partitionOf(deviceId: string): number {
  let p = partitionCache.get(deviceId);
  if (p === undefined) {
    if (partitionCache.size >= 100_000) partitionCache.clear();
    partitionCache.set(deviceId, (p = partitionFor(deviceId, options.partitions)));
  }
  return p;
}

const writeGroup = db.transaction((messages: WireMessage[], bodies: Buffer): number[] => {
  const now = Date.now();
  const expires = now + options.dedupWindowMs;
  const positions: number[] = [];
  for (const m of messages) {
    const [deviceId, tenant, generationId, auth, messageId, correlationId, contentType, contentEncoding, properties, bodyStart, bodyEnd] = m;
    const partition = partitionOf(deviceId);
    const dedupKey = messageId === null ? undefined : `${deviceId}\u0000${messageId}`;
    if (dedupKey !== undefined) {
      const seen = dedupGet.get(dedupKey);
      if (seen && seen.expires >= now) {
        positions.push(seen.partition, seen.seq, seen.enqueued, 1);
        continue;
      }
    }
    const st = state[partition]!;
    // Enqueue times never go backwards within a partition, even if the wall clock does.
    const enqueued = Math.max(now, st.lastEnqueuedMs);
    const seq = st.nextSeq++;
    st.lastEnqueuedMs = enqueued;
    const body = bodies.subarray(bodyStart, bodyEnd);
    // Decided here, off the event loop, once per message rather than on every read of it.
    const bodyJson = isJsonBody(body, contentType, contentEncoding) ? 1 : 0;
    insert[partition]!.run(seq, enqueued, deviceId, tenant, generationId, auth, messageId, correlationId, contentType, contentEncoding, properties, body, bodyJson);
    if (dedupKey !== undefined) dedupPut.run(dedupKey, partition, seq, enqueued, expires);
    positions.push(partition, seq, enqueued, 0);
  }
  return positions;
});

function append(messages: WireMessage[], bodies: string): number[] {
  const saved = state.map((s) => ({ ...s }));
  try {
    const positions = writeGroup(messages, Buffer.from(bodies, 'latin1'));
    if (options.fsync) {
      walFd ??= openSync(`${options.path}-wal`, 'r');
      fdatasyncSync(walFd);
    }
    return positions;
  } catch (err) {
    // The transaction rolled back: forget the positions it handed out.
    saved.forEach((s, p) => Object.assign(state[p]!, s));
    throw err;
  }
}

function retain(cutoffMs: number, nowMs: number): { deleted: number; firstSeqs: number[] } {
  let deleted = 0;
  state.forEach((st, p) => {
    const keepFrom = seqAtTime[p]!.get(cutoffMs)?.seq ?? st.nextSeq;
    if (keepFrom <= st.firstSeq) return;
    // Remember the position first: once every row is gone, only this table knows it.
    saveState.run(p, st.nextSeq, st.lastEnqueuedMs);
    // Bounded chunks, one transaction each, so appends queued meanwhile are not held up long.
    while (st.firstSeq < keepFrom) {
      deleted += deleteBefore[p]!.run(Math.min(keepFrom, st.firstSeq + RETENTION_CHUNK)).changes;
      st.firstSeq = minSeq[p]!.get()?.seq ?? st.nextSeq;
    }
  });
  while (dedupPrune.run(nowMs, RETENTION_CHUNK).changes === RETENTION_CHUNK) { /* next chunk */ }
  return { deleted, firstSeqs: state.map((s) => s.firstSeq) };
}

function checkpoint(): void {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    reply({ type: 'warning', message: `WAL checkpoint failed: ${String(err)}` });
  }
}

function reply(r: WriterReply): void {
  port.postMessage(r);
}

const timer = setInterval(checkpoint, options.checkpointIntervalMs);

port.on('message', (req: WriterRequest) => {
  try {
    switch (req.type) {
      case 'append': {
        // A typed array crosses threads as one block; an array of numbers is cloned number by number.
        const positions = Float64Array.from(append(JSON.parse(req.messages) as WireMessage[], req.bodies));
        port.postMessage({ type: 'appended', id: req.id, positions } satisfies WriterReply, [positions.buffer]);
        break;
      }
      case 'retain':
        reply({ type: 'retained', id: req.id, ...retain(req.cutoffMs, req.nowMs) });
        break;
      case 'close':
        clearInterval(timer);
        checkpoint();
        if (walFd !== undefined) closeSync(walFd);
        db.close();
        reply({ type: 'closed', id: req.id });
        port.close();
        break;
    }
  } catch (err) {
    reply({ type: 'failed', id: req.id, message: err instanceof Error ? err.message : String(err) });
  }
});
