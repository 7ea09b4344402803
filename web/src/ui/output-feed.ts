// One output's rows on a page, shared by every tile reading it: its current rows loaded, then kept
// up to date by the page's stream (page-feeds.ts), which hands it the output's rows as they are
// committed, its writing jobs' status, and resets (a job recomputing its rows: the rows held of
// that job are void). It loads again when told to: each time the stream opens (what was committed
// in between; merging by id drops the overlap), when the range grows, and after a reset.
//
// A load that fails says why: a refused key stops the page, an output the server does not have
// (or refuses to give) stops the feed for good and its tiles say so, anything else — unreachable,
// a 5xx, a malformed answer — is retried with backoff until the rows are there.
//
// It touches no browser global: the page hands it fetch, EventSource and timers
// (FeedEnvironment), so tests drive it under Node with fakes.
import { ApiError, KeyRefusedError } from '../lib/api-errors.js';
import { apiUrl, segment } from '../lib/api-url.js';
import { MAX_ROWS_PER_OUTPUT, OutputRows, withoutPartialOldest } from '../lib/output-rows.js';
import { parseOutputRows, type OutputRow, type WriterStatus } from '../lib/wire.js';

/** Rows asked for when the output has line or heatmap tiles (their whole range), and when it has not (its newest timestamps). */
const LOAD_LIMIT = { range: MAX_ROWS_PER_OUTPUT, latest: 2_000 } as const;
/** Rows asked for when catching up (the stream opened): the newest, from each tenant's newest timestamp held. */
const CATCH_UP_LIMIT = 2_000;
export const RETRY_MS = { first: 1_000, max: 30_000 } as const;
/** Old rows are dropped at least this often, also when no rows arrive. */
const PRUNE_MS = 30_000;
/**
 * A reset's reload waits this long: the server tells its streams before its storage has dropped
 * the rows being recomputed, and a load at once could bring them back.
 */
export const RESET_RELOAD_MS = 1_000;

/** An event of the stream, as much of a MessageEvent as is read. */
export interface StreamMessage {
  readonly data?: unknown;
}

/** The part of an EventSource the page's stream uses. */
export interface StreamSource {
  /** 0 connecting, 1 open, 2 closed (EventSource.CLOSED: it gave up and will not reconnect by itself). */
  readonly readyState: number;
  addEventListener(type: string, listener: (e: StreamMessage) => void): void;
  close(): void;
}

/** What the feeds need from the browser; tests give fakes. */
export interface FeedEnvironment {
  /** GET a JSON answer, failing with the errors of lib/api-errors.ts. */
  getJson(url: string, signal: AbortSignal): Promise<unknown>;
  /** An EventSource on `url`. */
  openStream(url: string): StreamSource;
  /** Runs `fn` in `ms`; the function returned cancels it. */
  later(ms: number, fn: () => void): () => void;
  now(): number;
}

/** What a feed tells the page: a refused key (the page shows how to get one), and a feed stopped for good (its output leaves the stream). */
export interface FeedHooks {
  onKeyRefused(e: KeyRefusedError): void;
  onFailed(feed: OutputFeed): void;
}

/** Where the page's stream is, for this output: not opened yet (or closed while hidden), opening, open, or dropped and reconnecting. */
export type StreamState = 'none' | 'connecting' | 'open' | 'down';

/**
 * `loading` before the first rows; `connecting` loaded, the stream not open yet; `live` streaming;
 * `reconnecting` while the stream (or the first load) fails; `failed` when the feed stopped for
 * good (`failure` says why); `suspended` while the page is hidden.
 */
export type FeedPhase = 'loading' | 'connecting' | 'live' | 'reconnecting' | 'failed' | 'suspended';

export class OutputFeed {
  readonly rows = new OutputRows();
  writers: readonly WriterStatus[] = [];
  /** When rows last arrived (the page's clock), or null. */
  lastUpdateMs: number | null = null;
  /** Rows left out because they were malformed. */
  rejected = 0;
  /** Why the feed stopped for good (no such output), or null. */
  failure: string | null = null;
  /** Why the last load failed while it is retried (the server is unreachable, say), or null. */
  trouble: string | null = null;

  private rangeMs: number | null;
  private stream: StreamState = 'none';
  private loaded = false;
  private suspended = false;
  private stopped = false;
  private loading: Promise<void> | null = null;
  private loadAgain = false;
  private retryMs: number = RETRY_MS.first;
  private loadRetryPending = false;
  private resetReloadPending = false;
  /** Cancels the timers pending (retries, a reset's reload); cleared while the page is hidden. */
  private readonly timers = new Set<() => void>();
  private cancelPrune: (() => void) | null = null;
  private readonly abort = new AbortController();
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly output: string,
    private readonly key: string,
    /** The range of the line and heatmap tiles reading the output, or null when there are none. */
    rangeMs: number | null,
    private readonly env: FeedEnvironment,
    private readonly hooks: FeedHooks,
  ) {
    this.rangeMs = rangeMs;
  }

  /** Whether the output's rows have been loaded once. */
  get isLoaded(): boolean {
    return this.loaded;
  }

  get phase(): FeedPhase {
    if (this.failure !== null) return 'failed';
    if (this.suspended) return 'suspended';
    if (!this.loaded) return this.trouble !== null || this.stream === 'down' ? 'reconnecting' : 'loading';
    switch (this.stream) {
      case 'open': return 'live';
      case 'down': return 'reconnecting';
      case 'none':
      case 'connecting': return 'connecting';
    }
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Loads the rows; the promise settles when this first load has answered, rows or not (a failed one is retried meanwhile). */
  start(): Promise<void> {
    const prune = (): void => {
      this.cancelPrune = this.env.later(PRUNE_MS, () => {
        if (this.stopped) return;
        if (this.prune() > 0) this.changed();
        prune();
      });
    };
    prune();
    return this.load();
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort();
    this.cancelTimers();
    this.cancelPrune?.();
    this.listeners.clear();
  }

  /** The page is hidden: no retries meanwhile (the page's stream is closed too). */
  suspend(): void {
    if (this.suspended || this.stopped) return;
    this.suspended = true;
    this.stream = 'none';
    this.cancelTimers();
  }

  resume(): void {
    if (!this.suspended || this.stopped) return;
    this.suspended = false;
    this.changed();
  }

  /** The dashboard's range changed: a longer one loads the rows it adds, a shorter one drops some. */
  setRange(rangeMs: number | null): void {
    const longer = rangeMs !== null && (this.rangeMs === null || rangeMs > this.rangeMs);
    this.rangeMs = rangeMs;
    this.prune();
    this.changed();
    if (longer) void this.load();
  }

  // ---- told by the page's stream ----

  setStream(state: StreamState): void {
    if (this.stream === state) return;
    this.stream = state;
    this.changed();
  }

  /** The stream opened: what was committed since the last load (or the last connection) is loaded. */
  streamOpened(): void {
    this.stream = 'open';
    void this.load(this.loaded);
    this.changed();
  }

  /** The stream dropped (EventSource reconnects) or was refused; a feed not loaded yet tries its load again meanwhile. */
  streamDropped(): void {
    this.stream = 'down';
    if (!this.loaded) void this.load();
    this.changed();
  }

  /** The stream was refused: a load tells why (a refused key, an output gone) or finds nothing wrong. */
  check(): Promise<void> {
    return this.load();
  }

  takeRows(rows: readonly OutputRow[], rejected: number): void {
    this.rejected += rejected;
    this.take(rows);
  }

  setWriters(writers: readonly WriterStatus[]): void {
    this.writers = writers;
    this.changed();
  }

  /** `job` recomputes its rows stamped at or after `fromMs` (all when null): they are dropped, and loaded again in a moment. */
  reset(job: string, fromMs: number | null): void {
    if (this.rows.drop((r) => r.job === job && (fromMs === null || r.timestampMs >= fromMs)) > 0) this.changed();
    if (this.resetReloadPending) return;
    this.resetReloadPending = true;
    this.later(RESET_RELOAD_MS, () => {
      this.resetReloadPending = false;
      void this.load();
    });
  }

  // ---- loading ----

  private cancelTimers(): void {
    for (const cancel of this.timers) cancel();
    this.timers.clear();
    this.loadRetryPending = false;
    this.resetReloadPending = false;
  }

  private later(ms: number, fn: () => void): void {
    const cancel = this.env.later(ms, () => {
      this.timers.delete(cancel);
      if (!this.stopped && !this.suspended) fn();
    });
    this.timers.add(cancel);
  }

  /** Loads rows (one load at a time; a load asked for meanwhile runs once after it, in full). */
  private load(incremental = false): Promise<void> {
    if (this.loading) {
      this.loadAgain = true;
      return this.loading;
    }
    this.loading = this.loadOnce(incremental).finally(() => {
      this.loading = null;
      if (this.loadAgain && !this.stopped && this.failure === null) {
        this.loadAgain = false;
        void this.load();
      }
    });
    return this.loading;
  }

  private async loadOnce(incremental: boolean): Promise<void> {
    if (this.stopped || this.failure !== null) return;
    const now = this.env.now();
    let since: number | null = this.rangeMs === null ? null : now - this.rangeMs;
    let limit: number = this.rangeMs === null ? LOAD_LIMIT.latest : LOAD_LIMIT.range;
    if (incremental && this.rows.size > 0) {
      // What came since each tenant's newest timestamp (the oldest of those), merged by id.
      const newest = new Map<string, number>();
      for (const r of this.rows.all) newest.set(r.tenant, Math.max(newest.get(r.tenant) ?? -Infinity, r.timestampMs));
      since = Math.min(...newest.values());
      limit = CATCH_UP_LIMIT;
    }
    const url = apiUrl(`/api/outputs/${segment(this.output)}`, this.key, { limit, since: since === null ? null : new Date(since).toISOString() });
    try {
      const answer = parseOutputRows(await this.env.getJson(url, this.abort.signal));
      if (this.stopped) return;
      this.trouble = null;
      this.retryMs = RETRY_MS.first;
      this.writers = answer.writers;
      this.rejected += answer.rejected;
      this.loaded = true;
      this.take(withoutPartialOldest(answer.rows, limit), true);
    } catch (e) {
      if (this.stopped) return;
      if (e instanceof KeyRefusedError) {
        this.stop();
        this.hooks.onKeyRefused(e);
        return;
      }
      if (e instanceof ApiError && e.code === 'output_not_found') {
        return this.fail(`The output ${this.output} does not exist on the server: ${e.message}`);
      }
      if (e instanceof ApiError && e.status >= 400 && e.status < 500 && e.status !== 408 && e.status !== 429) {
        // The server will answer the same again: said in the tiles rather than retried forever.
        return this.fail(`The server refused the rows of ${this.output}: ${e.message}`);
      }
      // Unreachable, a 5xx, a malformed answer: the next load (a retry, the stream reopening) may do better.
      this.trouble = e instanceof Error ? e.message : String(e);
      if (!this.loaded && !this.loadRetryPending) {
        this.loadRetryPending = true;
        this.later(this.retryMs, () => {
          this.loadRetryPending = false;
          void this.load();
        });
        this.retryMs = Math.min(RETRY_MS.max, this.retryMs * 2);
      }
      this.changed();
    }
  }

  private fail(why: string): void {
    this.failure = why;
    this.cancelTimers();
    this.changed();
    this.hooks.onFailed(this);
  }

  private take(rows: readonly OutputRow[], fromLoad = false): void {
    const added = this.rows.merge(rows);
    if (added > 0 || (fromLoad && this.lastUpdateMs === null)) this.lastUpdateMs = this.env.now();
    this.prune();
    this.changed();
  }

  private prune(): number {
    return this.rows.prune({ rangeMs: this.rangeMs, latestPerTenant: 2, maxRows: MAX_ROWS_PER_OUTPUT }, this.env.now());
  }

  private changed(): void {
    for (const fn of this.listeners) fn();
  }
}
