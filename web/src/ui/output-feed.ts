// One output's rows on a page, shared by every tile reading it: its current rows loaded, then
// followed live over the output's SSE stream — or polled, for outputs past the streams a page may
// hold (a browser opens at most 6 connections to a server, and a stream holds one for good).
//
// The rows are loaded first — every output's at once, before streams hold the page's connections —
// then the stream opened; each time it opens, the rows since the newest held are loaded again, so
// none committed in between is missed (merging by id drops the overlap). EventSource reconnects by
// itself and resends the last row id, which the server answers with the rows missed; the load on
// opening covers a stream that dropped before its first row, which has no id to resend. A stream the server
// refused (an error status: EventSource then gives up) is retried with backoff, after a load that
// tells why — a refused key or an output that does not exist stop the feed and say so.
import { apiUrl, segment } from '../lib/api-url.js';
import { MAX_ROWS_PER_OUTPUT, OutputRows, withoutPartialOldest } from '../lib/output-rows.js';
import { parseOutputRows, parseRows, parseWriters, type OutputRow, type WriterStatus } from '../lib/wire.js';
import { ApiError, getJson, KeyRefusedError } from './api-client.js';

/** Rows asked for when the output has line or heatmap tiles (their whole range), and when it has not (its newest timestamps). */
const LOAD_LIMIT = { range: MAX_ROWS_PER_OUTPUT, latest: 2_000 } as const;
/** Rows asked for by each poll: the newest, from each tenant's newest timestamp held. */
const POLL_LIMIT = 2_000;
export const POLL_MS = 3_000;
const RETRY_MS = { first: 1_000, max: 30_000 } as const;
/** Old rows are dropped at least this often, also when no rows arrive. */
const PRUNE_MS = 30_000;

export type Transport = 'stream' | 'poll';

/**
 * `loading` before the first rows; `live` streaming; `polling`; `reconnecting` while the stream
 * (or the polls) fail; `failed` when the feed stopped for good (`failure` says why);
 * `suspended` while the page is hidden.
 */
export type FeedPhase = 'loading' | 'live' | 'polling' | 'reconnecting' | 'failed' | 'suspended';

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
  private es: EventSource | null = null;
  private streamDown = false;
  private pollFailing = false;
  private loaded = false;
  private suspended = false;
  private stopped = false;
  private loading: Promise<void> | null = null;
  private loadAgain = false;
  private retryMs: number = RETRY_MS.first;
  /** Counts connects: a poll or a retry of an earlier connection does not go on after a reconnect. */
  private generation = 0;
  private loadRetryPending = false;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private pruneTimer: ReturnType<typeof setInterval> | null = null;
  private readonly abort = new AbortController();
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly output: string,
    private readonly key: string,
    readonly transport: Transport,
    /** The range of the line and heatmap tiles reading the output, or null when there are none. */
    rangeMs: number | null,
    private readonly onKeyRefused: (e: KeyRefusedError) => void,
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
    if (!this.loaded) return this.streamDown || this.pollFailing ? 'reconnecting' : 'loading';
    if (this.transport === 'poll') return this.pollFailing ? 'reconnecting' : 'polling';
    return this.streamDown ? 'reconnecting' : 'live';
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  start(): void {
    this.pruneTimer = setInterval(() => {
      if (this.prune() > 0) this.changed();
    }, PRUNE_MS);
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort();
    this.disconnect();
    if (this.pruneTimer !== null) clearInterval(this.pruneTimer);
    this.listeners.clear();
  }

  /** Stops streaming and polling while the page is hidden (its connections serve other tabs meanwhile). */
  suspend(): void {
    if (this.suspended || this.stopped) return;
    this.suspended = true;
    this.disconnect();
  }

  resume(): void {
    if (!this.suspended || this.stopped) return;
    this.suspended = false;
    this.connect();
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

  private connect(): void {
    if (this.failure !== null) return;
    if (this.transport === 'stream') {
      if (this.loaded) return this.openStream();
      const generation = this.generation;
      // Opened after the first load, failed or not (a failed one is retried meanwhile).
      void this.load().then(() => {
        if (generation === this.generation && this.failure === null && this.es === null) this.openStream();
      });
    } else {
      void this.poll(this.generation);
    }
  }

  private disconnect(): void {
    this.generation++;
    this.es?.close();
    this.es = null;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.loadRetryPending = false;
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped && !this.suspended) fn();
    }, ms);
    this.timers.add(t);
  }

  private openStream(): void {
    const es = new EventSource(apiUrl(`/api/outputs/${segment(this.output)}/stream`, this.key));
    this.es = es;
    es.addEventListener('open', () => {
      this.streamDown = false;
      this.retryMs = RETRY_MS.first;
      // What was committed between the last load (or the last connection) and this one.
      void this.load(this.loaded);
      this.changed();
    });
    es.addEventListener('rows', (e) => {
      try {
        const { rows, rejected } = parseRows(JSON.parse((e as MessageEvent<string>).data));
        this.rejected += rejected;
        this.take(rows);
      } catch {
        this.rejected++;
        this.changed();
      }
    });
    es.addEventListener('status', (e) => {
      try {
        this.writers = parseWriters((JSON.parse((e as MessageEvent<string>).data) as { writers?: unknown }).writers);
        this.changed();
      } catch {
        // A status that does not parse is skipped: the next comes in 2 s.
      }
    });
    es.addEventListener('error', () => {
      if (this.es !== es) return;
      this.streamDown = true;
      if (es.readyState === EventSource.CLOSED) {
        // The server answered the stream with an error: EventSource does not try again by itself.
        es.close();
        this.es = null;
        const generation = this.generation;
        void this.load().then(() => {
          if (this.failure === null && generation === this.generation && this.es === null) {
            this.later(this.retryMs, () => this.openStream());
            this.retryMs = Math.min(RETRY_MS.max, this.retryMs * 2);
          }
        });
      } else if (!this.loaded) {
        void this.load();
      }
      this.changed();
    });
  }

  private async poll(generation: number): Promise<void> {
    await this.load(this.loaded);
    if (this.failure !== null || generation !== this.generation) return;
    this.later(this.pollFailing ? this.retryMs : POLL_MS, () => void this.poll(generation));
    this.retryMs = this.pollFailing ? Math.min(RETRY_MS.max, this.retryMs * 2) : RETRY_MS.first;
  }

  /** Loads rows (one load at a time; a load asked for meanwhile runs once after it). */
  private load(incremental = false): Promise<void> {
    if (this.loading) {
      this.loadAgain = true;
      return this.loading;
    }
    this.loading = this.loadOnce(incremental).finally(() => {
      this.loading = null;
      if (this.loadAgain && !this.stopped) {
        this.loadAgain = false;
        void this.load();
      }
    });
    return this.loading;
  }

  private async loadOnce(incremental: boolean): Promise<void> {
    const now = Date.now();
    let since: number | null = this.rangeMs === null ? null : now - this.rangeMs;
    let limit: number = this.rangeMs === null ? LOAD_LIMIT.latest : LOAD_LIMIT.range;
    if (incremental && this.rows.size > 0) {
      // A poll: what came since each tenant's newest timestamp (the oldest of those), merged by id.
      const newest = new Map<string, number>();
      for (const r of this.rows.all) newest.set(r.tenant, Math.max(newest.get(r.tenant) ?? -Infinity, r.timestampMs));
      since = Math.min(...newest.values());
      limit = POLL_LIMIT;
    }
    const url = apiUrl(`/api/outputs/${segment(this.output)}`, this.key, { limit, since: since === null ? null : new Date(since).toISOString() });
    try {
      const answer = parseOutputRows(await getJson(url, this.abort.signal));
      this.pollFailing = false;
      this.trouble = null;
      this.writers = answer.writers;
      this.rejected += answer.rejected;
      this.loaded = true;
      this.take(withoutPartialOldest(answer.rows, limit), true);
    } catch (e) {
      if (this.stopped) return;
      if (e instanceof KeyRefusedError) {
        this.stop();
        this.onKeyRefused(e);
        return;
      }
      if (e instanceof ApiError && e.code === 'output_not_found') {
        this.failure = `The output ${this.output} does not exist on the server: ${e.message}`;
        this.disconnect();
      } else if (e instanceof ApiError && e.status >= 400 && e.status < 500 && e.status !== 408 && e.status !== 429) {
        // The server will answer the same again: said in the tiles rather than retried forever.
        this.failure = `The server refused the rows of ${this.output}: ${e.message}`;
        this.disconnect();
      } else {
        // Unreachable, a 5xx, a malformed answer: the next load (poll, reconnect, retry) may do better.
        this.pollFailing = true;
        this.trouble = e instanceof Error ? e.message : String(e);
        if (this.transport === 'stream' && !this.loaded && !this.loadRetryPending) {
          this.loadRetryPending = true;
          this.later(this.retryMs, () => {
            this.loadRetryPending = false;
            void this.load();
          });
          this.retryMs = Math.min(RETRY_MS.max, this.retryMs * 2);
        }
      }
      this.changed();
    }
  }

  private take(rows: readonly OutputRow[], fromLoad = false): void {
    const added = this.rows.merge(rows);
    if (added > 0 || (fromLoad && this.lastUpdateMs === null)) this.lastUpdateMs = Date.now();
    this.prune();
    this.changed();
  }

  private prune(): number {
    return this.rows.prune({ rangeMs: this.rangeMs, latestPerTenant: 2, maxRows: MAX_ROWS_PER_OUTPUT }, Date.now());
  }

  private changed(): void {
    for (const fn of this.listeners) fn();
  }
}
