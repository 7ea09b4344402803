// The embedded log's reading thread, seen from the event loop: a reader going through a partition
// page by page (a job, a consumer group, the recommender) gets its next page read on this thread
// while it works on the current one, so the SQLite scan and the packing of its rows run on another
// core. A page crosses as a few typed arrays and one string of all its JSON bodies, not as an object
// per message: structured cloning costs per object, a long string is one copy.
import type { Worker } from 'node:worker_threads';
import { siblingModule, startModuleThread } from './module-thread.js';

/** The rows of SCAN_COLUMNS from one partition, column by column. */
export interface ScanPage {
  readonly count: number;
  readonly seqs: Float64Array;
  readonly enqueued: Float64Array;
  /** The distinct shared-field keys of the page; `sharedIndex[i]` is row i's. */
  readonly shared: readonly string[];
  readonly sharedIndex: Uint32Array;
  /** Row i's message and correlation ids as JSON; null when no row of the page has any. */
  readonly ids: readonly (string | null)[] | null;
  /** Every text body of the page, one after another; row i's ends at `bodyEnds[i]` (and starts where row i − 1's ended). */
  readonly bodies: string;
  readonly bodyEnds: Uint32Array;
  /** Row i's body when it is not text (not JSON); null when every body of the page is text. */
  readonly binary: readonly (Uint8Array | null)[] | null;
  /**
   * With ScanOptions.fields: a JSON array, element i row i's body cut to the members of those
   * fields (see jsonMembers), or null (not an object, say). One JSON.parse of a page's array costs
   * the event loop less than one per row.
   */
  readonly fields: string | null;
}

export interface ReaderOptions {
  readonly path: string;
  readonly partitions: number;
}

export type ReaderRequest =
  | { readonly type: 'scan'; readonly id: number; readonly partition: number; readonly start: number; readonly max: number; readonly fields: readonly string[] | null }
  | { readonly type: 'close' };

export type ReaderReply =
  | { readonly type: 'page'; readonly id: number; readonly page: ScanPage }
  | { readonly type: 'failed'; readonly id: number; readonly message: string };

const READER = siblingModule(import.meta.url, 'sqlite-log-reader');

/**
 * Started on the first read, so a log nobody reads page by page costs no thread. A read the thread
 * cannot answer (it failed, or the log is closing) resolves to undefined and the caller reads on
 * the event loop as before; after the thread fails, every read does.
 */
export class SqliteLogReaderThread {
  private worker: Worker | undefined;
  private failed = false;
  private closed = false;
  private nextId = 1;
  private readonly waiting = new Map<number, (page: ScanPage | undefined) => void>();

  constructor(private readonly options: ReaderOptions, private readonly onError: (message: string) => void) {}

  /** The rows [start, start + max) of a partition, which the caller knows are committed; with `fields`, their members too. */
  read(partition: number, start: number, max: number, fields: ReadonlySet<string> | undefined): Promise<ScanPage | undefined> {
    const worker = this.started();
    if (worker === undefined) return Promise.resolve(undefined);
    const id = this.nextId++;
    // Only while a read is under way does the thread keep the process alive.
    if (this.waiting.size === 0) worker.ref();
    worker.postMessage({ type: 'scan', id, partition, start, max, fields: fields === undefined ? null : [...fields] } satisfies ReaderRequest);
    return new Promise((resolve) => this.waiting.set(id, resolve));
  }

  private started(): Worker | undefined {
    if (this.worker !== undefined || this.failed || this.closed) return this.worker;
    const worker = startModuleThread(READER, this.options satisfies ReaderOptions);
    worker.unref();
    worker.on('message', (m: ReaderReply) => {
      const resolve = this.waiting.get(m.id);
      if (resolve === undefined) return;
      this.waiting.delete(m.id);
      if (this.waiting.size === 0) worker.unref();
      if (m.type === 'failed') this.onError(`the log's reader thread could not read a page (read on the event loop instead): ${m.message}`);
      resolve(m.type === 'page' ? m.page : undefined);
    });
    worker.on('error', (err) => this.stop(`the log's reader thread failed (pages are read on the event loop from now on): ${err.message}`));
    worker.on('exit', () => this.stop(this.closed ? undefined : "the log's reader thread stopped (pages are read on the event loop from now on)"));
    this.worker = worker;
    return worker;
  }

  private stop(message: string | undefined): void {
    if (this.failed) return;
    this.failed = true;
    if (message !== undefined) this.onError(message);
    for (const resolve of this.waiting.values()) resolve(undefined);
    this.waiting.clear();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const worker = this.worker;
    if (worker === undefined || this.failed) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.ref();
    worker.postMessage({ type: 'close' } satisfies ReaderRequest);
    await exited;
  }
}
