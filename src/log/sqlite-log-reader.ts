// The embedded log's reader thread: scans a partition's page on its own connection (WAL: readers
// never wait for the writer) and packs the rows into columns (see ScanPage) for the event loop.
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import type { ReaderOptions, ReaderReply, ReaderRequest, ScanPage } from './sqlite-log-reader-thread.js';
import { scanSql, type ScanRow } from './sqlite-log-schema.js';
import { jsonMembers } from './json-members.js';

const options = workerData as ReaderOptions;
const port = parentPort!;
const db = new Database(options.path, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 5000');
const scans = Array.from({ length: options.partitions }, (_, p) => db.prepare<[number, number], ScanRow>(scanSql(p)).raw(true) as unknown as Database.Statement<[number, number], ScanRow>);

/** The last field list asked for, as a set (a reader asks with the same list page after page). */
let lastFields: { list: readonly string[]; set: ReadonlySet<string> } | null = null;

function fieldSet(list: readonly string[]): ReadonlySet<string> {
  if (lastFields === null || lastFields.list.length !== list.length || lastFields.list.some((f, i) => f !== list[i])) lastFields = { list, set: new Set(list) };
  return lastFields.set;
}

function pack(rows: readonly ScanRow[], fields: ReadonlySet<string> | null): ScanPage {
  const n = rows.length;
  const seqs = new Float64Array(n);
  const enqueued = new Float64Array(n);
  const sharedIndex = new Uint32Array(n);
  const bodyEnds = new Uint32Array(n);
  const shared: string[] = [];
  const sharedAt = new Map<string, number>();
  const texts: string[] = [];
  let ids: (string | null)[] | null = null;
  let binary: (Uint8Array | null)[] | null = null;
  let length = 0;
  const members: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    seqs[i] = r[0];
    enqueued[i] = r[1];
    let k = sharedAt.get(r[2]);
    if (k === undefined) {
      k = shared.length;
      shared.push(r[2]);
      sharedAt.set(r[2], k);
    }
    sharedIndex[i] = k;
    if (r[3] !== null) (ids ??= new Array<string | null>(n).fill(null))[i] = r[3];
    const body = r[4];
    if (typeof body === 'string') {
      texts.push(body);
      length += body.length;
      if (fields !== null) members.push(jsonMembers(body, fields) ?? 'null');
    } else {
      if (fields !== null) members.push('null');
      // A copy of exactly the body: cloning a Buffer would clone all of the memory it views.
      (binary ??= new Array<Uint8Array | null>(n).fill(null))[i] = new Uint8Array(body);
    }
    bodyEnds[i] = length;
  }
  return { count: n, seqs, enqueued, shared, sharedIndex, ids, bodies: texts.join(''), bodyEnds, binary, fields: fields === null ? null : `[${members.join(',')}]` };
}

port.on('message', (m: ReaderRequest) => {
  if (m.type === 'close') {
    db.close();
    port.close();
    return;
  }
  try {
    const page = pack(scans[m.partition]!.all(m.start, m.max), m.fields === null ? null : fieldSet(m.fields));
    // The typed arrays move (their memory changes hands); the strings are copied.
    const columns = [page.seqs, page.enqueued, page.sharedIndex, page.bodyEnds].map((a) => a.buffer as ArrayBuffer);
    port.postMessage({ type: 'page', id: m.id, page } satisfies ReaderReply, columns);
  } catch (err) {
    port.postMessage({ type: 'failed', id: m.id, message: err instanceof Error ? err.message : String(err) } satisfies ReaderReply);
  }
});
