// The outputs a page follows, and the one stream that follows them all. A browser holds at most 6
// connections to a server across all its tabs, and a stream holds one for as long as the page is
// open: so every output's rows are loaded first (all at once), then ONE Server-Sent Events stream
// carries them all, `GET /api/stream?outputs=A,B,…` — its `rows` events each name their output,
// `status` events give the writing jobs of each, and `reset` events say a job recomputes rows
// (those held are void: dropped, then loaded again).
//
// The stream opens once every output's first load has answered, with only the outputs the server
// has: the stream refuses its whole list (404) for one name it does not know, so an output whose
// load said it does not exist stops its own tiles and stays off the list. Each time the stream
// opens, every output loads what was committed since its newest rows (merging by id drops the
// overlap). EventSource reconnects by itself and resends the last event id — row ids rise across
// outputs, so one id resumes them all and the server replays what each missed. A stream the
// server refused (an error status: EventSource then gives up) is tried again with backoff, after
// loads that tell why: a refused key stops the page and says so, an output gone since is left off
// the list. A hidden page lets go of its stream and takes it up again when shown.
//
// Past 50 outputs (what one stream takes) the list is split over several streams; an output whose
// name has a comma, which a comma-separated list cannot carry, gets its own
// (`/api/outputs/{name}/stream`, the same events). The demo's ten outputs share one.
import { type KeyRefusedError } from '../lib/api-errors.js';
import { apiUrl, segment } from '../lib/api-url.js';
import { parseStreamReset, parseStreamRows, parseStreamStatus } from '../lib/wire.js';
import { OutputFeed, RETRY_MS, type FeedEnvironment, type StreamMessage, type StreamSource } from './output-feed.js';

/** Outputs one stream takes at most (the server's limit). */
export const MAX_STREAM_OUTPUTS = 50;
/** EventSource.CLOSED: the server refused the stream, and EventSource will not try again by itself. */
const CLOSED = 2;

/** A stream to open: the outputs it carries, and its URL. */
export interface StreamPlan {
  readonly outputs: readonly string[];
  readonly url: string;
}

/** The streams that carry `outputs`: one, unless there are more than one takes or names with a comma. */
export function streamPlans(outputs: readonly string[], key: string): StreamPlan[] {
  const listed = outputs.filter((o) => !o.includes(','));
  const plans: StreamPlan[] = [];
  for (let i = 0; i < listed.length; i += MAX_STREAM_OUTPUTS) {
    const part = listed.slice(i, i + MAX_STREAM_OUTPUTS);
    plans.push({ outputs: part, url: apiUrl('/api/stream', key, { outputs: part.join(',') }) });
  }
  for (const o of outputs.filter((x) => x.includes(','))) plans.push({ outputs: [o], url: apiUrl(`/api/outputs/${segment(o)}/stream`, key) });
  return plans;
}

/** The data of an event as JSON, or undefined when it is not. */
function jsonOf(e: StreamMessage): unknown {
  try {
    return JSON.parse(String(e.data));
  } catch {
    return undefined;
  }
}

/** One EventSource carrying some of the page's outputs to their feeds. */
class PageStream {
  private es: StreamSource | null = null;
  private retryMs: number = RETRY_MS.first;
  private cancelRetry: (() => void) | null = null;
  private closed = false;

  constructor(readonly plan: StreamPlan, private readonly feeds: ReadonlyMap<string, OutputFeed>, private readonly env: FeedEnvironment) {}

  private mine(): OutputFeed[] {
    return this.plan.outputs.map((o) => this.feeds.get(o)).filter((f) => f !== undefined);
  }

  /** The feed of an output this stream carries; a stream of one output may leave the name out. */
  private feedOf(output: unknown): OutputFeed | undefined {
    const name = typeof output === 'string' ? output : this.plan.outputs.length === 1 ? this.plan.outputs[0] : undefined;
    return name !== undefined && this.plan.outputs.includes(name) ? this.feeds.get(name) : undefined;
  }

  open(): this {
    if (this.closed) return this;
    const es = this.env.openStream(this.plan.url);
    this.es = es;
    for (const f of this.mine()) f.setStream('connecting');
    es.addEventListener('open', () => {
      if (this.es !== es) return;
      this.retryMs = RETRY_MS.first;
      for (const f of this.mine()) f.streamOpened();
    });
    es.addEventListener('rows', (e) => {
      if (this.es !== es) return;
      const json = jsonOf(e);
      const feed = this.feedOf((json as { output?: unknown } | undefined)?.output);
      if (!feed) return;
      try {
        const { rows, rejected } = parseStreamRows(json);
        feed.takeRows(rows, rejected);
      } catch {
        feed.takeRows([], 1);
      }
    });
    es.addEventListener('status', (e) => {
      if (this.es !== es) return;
      try {
        const status = parseStreamStatus(jsonOf(e));
        if (status.kind === 'one-output') this.feedOf(undefined)?.setWriters(status.writers);
        else for (const [output, writers] of status.writers) this.feedOf(output)?.setWriters(writers);
      } catch {
        // A status that does not parse is skipped: the next comes in 2 s.
      }
    });
    es.addEventListener('reset', (e) => {
      if (this.es !== es) return;
      try {
        const reset = parseStreamReset(jsonOf(e));
        for (const output of reset.outputs) if (this.plan.outputs.includes(output)) this.feeds.get(output)?.reset(reset.job, reset.fromMs);
      } catch {
        // Not a reset this page can read: the rows shown may include some being recomputed until the next load.
      }
    });
    es.addEventListener('error', () => {
      if (this.es !== es) return;
      for (const f of this.mine()) f.streamDropped();
      // Dropped: EventSource reconnects by itself, resending the last id.
      if (es.readyState !== CLOSED) return;
      // Refused with an error status: the loads say why (a refused key, an output gone), then the stream is tried again.
      es.close();
      this.es = null;
      void Promise.all(this.mine().map((f) => f.check())).then(() => {
        if (this.closed) return;
        this.cancelRetry = this.env.later(this.retryMs, () => {
          this.cancelRetry = null;
          this.open();
        });
        this.retryMs = Math.min(RETRY_MS.max, this.retryMs * 2);
      });
    });
    return this;
  }

  close(): void {
    this.closed = true;
    this.es?.close();
    this.es = null;
    this.cancelRetry?.();
    this.cancelRetry = null;
    for (const f of this.mine()) f.setStream('none');
  }
}

export interface FeedRequest {
  readonly output: string;
  /** The range of the line and heatmap tiles reading it, or null when there are none. */
  readonly rangeMs: number | null;
}

export class PageFeeds {
  /** One feed per output, whichever tiles read it. */
  readonly feeds: ReadonlyMap<string, OutputFeed>;
  private streams: PageStream[] = [];
  /** Set once every output's first load has answered: streams open from then on. */
  private streaming = false;
  private suspended = false;
  private stopped = false;

  constructor(outputs: readonly FeedRequest[], private readonly key: string, private readonly onKeyRefused: (e: KeyRefusedError) => void, private readonly env: FeedEnvironment) {
    const hooks = {
      onKeyRefused: (e: KeyRefusedError) => {
        if (this.stopped) return;
        this.stop();
        this.onKeyRefused(e);
      },
      onFailed: () => this.refresh(),
    };
    this.feeds = new Map(outputs.map((o) => [o.output, new OutputFeed(o.output, key, o.rangeMs, env, hooks)]));
  }

  /** The URLs of the streams open now (for tests and the curious). */
  get streamUrls(): string[] {
    return this.streams.map((s) => s.plan.url);
  }

  start(): void {
    const first = [...this.feeds.values()].map((f) => f.start());
    void Promise.all(first).then(() => {
      this.streaming = true;
      this.refresh();
    });
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.streams) s.close();
    this.streams = [];
    for (const f of this.feeds.values()) f.stop();
  }

  /** The page is hidden: its stream is let go (the connection serves other tabs meanwhile). */
  suspend(): void {
    if (this.suspended || this.stopped) return;
    this.suspended = true;
    for (const s of this.streams) s.close();
    this.streams = [];
    for (const f of this.feeds.values()) f.suspend();
  }

  resume(): void {
    if (!this.suspended || this.stopped) return;
    this.suspended = false;
    for (const f of this.feeds.values()) f.resume();
    this.refresh();
  }

  /** Opens the streams the feeds still following need, keeping those open that carry the same outputs. */
  private refresh(): void {
    if (!this.streaming || this.suspended || this.stopped) return;
    const following = [...this.feeds.values()].filter((f) => f.failure === null).map((f) => f.output);
    const plans = streamPlans(following, this.key);
    // Those that go are closed first: an output moving to a new stream is then told it connects.
    const kept = this.streams.filter((s) => plans.some((p) => p.url === s.plan.url));
    for (const s of this.streams) if (!kept.includes(s)) s.close();
    this.streams = plans.map((plan) => kept.find((s) => s.plan.url === plan.url) ?? new PageStream(plan, this.feeds, this.env).open());
  }
}
