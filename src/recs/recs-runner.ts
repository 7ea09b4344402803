// The recommender as one more reader of the log. The model lives on a thread of its own
// (recs-thread.ts); this side, on the server's thread, reads the log from the positions the
// thread's store kept and hands it the events in order, each batch with the positions it reaches,
// so the thread commits the model with exactly the positions it follows from: after a restart (or
// kill -9) it continues where its last checkpoint was, nothing absorbed twice, nothing missed.
// Like jobs (docs/architecture.md), it keeps its positions in its own checkpoint rather than in a
// feed consumer group, which lives in another database and could not join the transaction.
import type { Worker } from 'node:worker_threads';
import { OmniError } from '../core/errors.js';
import type { EventLog } from '../log/event-log.js';
import { IdleWait } from '../log/idle-wait.js';
import { siblingModule, startModuleThread } from '../log/module-thread.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { LogReader, type LogEvent } from './log-reader.js';
import type { FromRecsThread, RecsCounts, RecsOpened, RecsQuery, RecsRequest, RecsThreadData, ToRecsThread } from './recs-messages.js';
import { SKIP_REASONS, type RecsSettings } from './recs-rules.js';
import type { Recommendation } from './recommender.js';

/**
 * Events handed over per batch at most, and the time reading one may hold the event loop. The
 * thread absorbs a batch while this side reads the next (two batches at most are in flight).
 */
const BATCH_EVENTS = 1_000;
const BATCH_MS = 1;
const IN_FLIGHT = 2;
/** How often an idle runner looks again (an append also wakes it). */
const IDLE_MS = 250;
const RETRY_MS = 5_000;

const THREAD = siblingModule(import.meta.url, 'recs-thread');

export interface RecsRunnerDeps {
  readonly log: EventLog;
  readonly settings: RecsSettings;
  readonly storePath: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

type Call = { resolve: (value: unknown) => void; reject: (err: Error) => void };

export class RecsRunner {
  private readonly thread: Worker;
  private readonly calls = new Map<number, Call>();
  private nextId = 0;
  /** Set when the thread has ended: nothing more can be asked. */
  private ended: string | undefined;
  /** A checkpoint failed on the thread; the loop reopens. */
  private failure: string | undefined;
  private reader: LogReader | undefined;
  private inFlight: Promise<unknown>[] = [];
  private running: Promise<void> | undefined;
  private stopping = false;
  private readonly idle = new IdleWait();
  /**
   * Pausing after a failure: appends do not cut the pause short (each would reload the stored
   * model, and a checkpoint that keeps failing would do so at every append); a stop does.
   */
  private retrying = false;
  private counts: RecsCounts = { absorbed: 0, skipped: {} };
  private lagValue = 0;
  lastError: string | null = null;
  private readonly failures: { inc(by?: number): void };

  constructor(private readonly deps: RecsRunnerDeps) {
    const { metrics } = deps;
    this.failures = metrics.counter('omnistream_recs_failures_total', 'Reads or checkpoints of the recommender that failed (it then restarts from its last checkpoint)').with({});
    const skipped = metrics.gauge('omnistream_recs_events_skipped', 'Events the recommender read but could not learn from, by reason');
    for (const reason of SKIP_REASONS) skipped.track({ reason }, () => this.counts.skipped[reason] ?? 0);
    metrics.gauge('omnistream_recs_events_absorbed', 'Events the recommender learned from').track({}, () => this.counts.absorbed);
    metrics.gauge('omnistream_recs_lag', 'Messages in the log the recommender has not read yet').track({}, () => this.lagValue);
    this.thread = startModuleThread(THREAD, { settings: deps.settings, storePath: deps.storePath } satisfies RecsThreadData);
    this.thread.on('message', (m: FromRecsThread) => this.received(m));
    this.thread.on('error', (err) => {
      deps.logger.error('the recommender\'s thread failed', { err });
      this.end(err.message);
    });
    this.thread.on('exit', (code) => this.end(`the recommender's thread exited (code ${code})`));
  }

  private received(m: FromRecsThread): void {
    if (m.type === 'warning') {
      this.deps.logger.warn(m.message);
      return;
    }
    if (m.type === 'failed') {
      this.failure = m.error;
      this.wakeUp();
      return;
    }
    const call = this.calls.get(m.id);
    if (call === undefined) return;
    this.calls.delete(m.id);
    if ('error' in m) call.reject(new Error(m.error));
    else call.resolve(m.value);
  }

  private end(reason: string): void {
    this.ended ??= reason;
    for (const call of this.calls.values()) call.reject(new OmniError('internal', `The recommender is not running: ${this.ended}`));
    this.calls.clear();
    this.wakeUp();
  }

  private request(message: RecsRequest): Promise<unknown> {
    if (this.ended !== undefined) return Promise.reject(new OmniError('internal', `The recommender is not running: ${this.ended}`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      this.thread.postMessage({ ...message, id } satisfies ToRecsThread);
    });
  }

  /** Answered on the recommender's thread, from the model as it is now. */
  async ask(query: RecsQuery): Promise<Recommendation> {
    return (await this.request({ type: 'ask', query })) as Recommendation;
  }

  /** Restores the model and its positions from the store (before the server answers). */
  async open(): Promise<void> {
    const opened = (await this.request({ type: 'open' })) as RecsOpened;
    this.counts = opened;
    this.failure = undefined;
    const positions = opened.positions ?? (await this.deps.log.partitions()).map((p) => p.beginningSequenceNumber);
    this.reader = new LogReader(this.deps.log, positions);
  }

  /** Runs until closed; call after open. */
  start(): void {
    if (this.running || !this.reader) return;
    const unsubscribe = this.deps.log.onAppend(() => {
      if (!this.retrying) this.wakeUp();
    });
    this.running = this.loop().finally(unsubscribe);
  }

  private async loop(): Promise<void> {
    while (!this.stopping && this.ended === undefined) {
      let caughtUp: boolean;
      try {
        if (this.failure !== undefined) throw new Error(this.failure);
        caughtUp = await this.step();
        this.lastError = null;
      } catch (err) {
        // A failed read or checkpoint: what was absorbed since the checkpoint is dropped and read again.
        this.lastError = err instanceof Error ? err.message : String(err);
        this.failures.inc();
        this.deps.logger.error('recommender failed; it restarts from its last checkpoint', { err });
        this.retrying = true;
        try {
          await this.sleep(RETRY_MS);
        } finally {
          this.retrying = false;
        }
        if (this.stopping) return;
        try {
          await this.drain();
          await this.open();
        } catch (reopenErr) {
          this.deps.logger.error('recommender could not reopen its checkpoint', { err: reopenErr });
        }
        continue;
      }
      if (caughtUp) {
        void this.measureLag();
        await this.sleep(IDLE_MS);
      } else {
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    await this.drain();
  }

  /** Hands over up to BATCH_EVENTS events below the horizon; true when caught up with it. */
  private async step(): Promise<boolean> {
    const reader = this.reader!;
    const horizon = this.deps.log.horizon();
    const until = performance.now() + BATCH_MS;
    const events: unknown[] = [];
    let taken = 0;
    while (taken < BATCH_EVENTS && performance.now() < until) {
      await reader.fill(horizon);
      let e: LogEvent | undefined;
      let round = 0;
      while (taken < BATCH_EVENTS && (e = reader.take()) !== undefined) {
        events.push(e.shared.tenant, e.shared.deviceId, jsonTextOf(e), e.enqueuedMs);
        taken++;
        round++;
      }
      if (round === 0 || reader.caughtUp) break;
    }
    if (taken > 0) {
      if (this.inFlight.length >= IN_FLIGHT) await this.inFlight.shift();
      const absorbed = this.request({ type: 'absorb', events, positions: reader.positions() }).then((c) => {
        this.counts = c as RecsCounts;
      });
      // A failure shows at the next step (the thread reports it); the batch is read again after the reopen.
      absorbed.catch(() => undefined);
      this.inFlight.push(absorbed);
    }
    return taken === 0 || reader.caughtUp;
  }

  /** Waits for the batches handed over to be absorbed (or dropped, after a failure). */
  private async drain(): Promise<void> {
    const batches = this.inFlight;
    this.inFlight = [];
    await Promise.allSettled(batches);
  }

  private async measureLag(): Promise<void> {
    try {
      this.lagValue = await this.reader!.lag();
    } catch {
      // The next measurement will do.
    }
  }

  private wakeUp(): void {
    this.idle.wakeUp();
  }

  private sleep(ms: number): Promise<void> {
    return this.idle.sleep(ms);
  }

  /** Finishes the batch under way; the thread commits what it absorbed, closes its store and ends. */
  async close(): Promise<void> {
    this.stopping = true;
    this.wakeUp();
    await this.running;
    if (this.ended === undefined) {
      try {
        await this.request({ type: 'close' });
      } catch (err) {
        this.deps.logger.error('recommender could not commit at shutdown; it continues from its last checkpoint', { err });
      }
    }
    if (this.failure !== undefined) this.deps.logger.error('recommender could not commit at shutdown; it continues from its last checkpoint', { err: this.failure });
    await this.thread.terminate();
  }
}

/** The body's JSON text for the model, or null when the log knows it is not JSON. */
function jsonTextOf(e: LogEvent): string | null {
  if (typeof e.body === 'string') return e.body;
  return e.shared.bodyIsJson === false ? null : e.body.toString('utf8');
}
