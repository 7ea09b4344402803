// The recommender as one more reader of the log: it restores the model and its positions from its
// store, absorbs what the log holds past them, and commits the changed records with the new
// positions in one transaction — so after a restart (or kill -9) it continues exactly where its
// last checkpoint was: nothing absorbed twice, nothing missed. Like jobs (docs/architecture.md),
// it keeps its positions in its own checkpoint rather than in a feed consumer group, which lives
// in another database and could not join the transaction.
import type { EventLog } from '../log/event-log.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { LogReader, type LogEvent } from './log-reader.js';
import type { Recommender } from './recommender.js';
import { SKIP_REASONS } from './recs-rules.js';
import type { RecsStore } from './recs-store.js';
import { IdleWait } from '../log/idle-wait.js';

/** Events absorbed per step at most, and the time a step may hold the event loop before it yields to requests. */
const STEP_EVENTS = 4_000;
const STEP_MS = 5;
/** How often an idle runner looks again (an append also wakes it). */
const IDLE_MS = 250;
const RETRY_MS = 5_000;

export interface RecsRunnerDeps {
  readonly log: EventLog;
  readonly store: RecsStore;
  readonly recommender: Recommender;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly checkpointIntervalMs: number;
}

export class RecsRunner {
  private reader: LogReader | undefined;
  private running: Promise<void> | undefined;
  private stopping = false;
  private readonly idle = new IdleWait();
  /** Events taken since the last commit. */
  private pending = 0;
  private lastCommitAt = 0;
  private lagValue = 0;
  lastError: string | null = null;

  constructor(private readonly deps: RecsRunnerDeps) {
    const { metrics, recommender } = deps;
    const skipped = metrics.gauge('omnistream_recs_events_skipped', 'Events the recommender read but could not learn from, by reason');
    for (const reason of SKIP_REASONS) skipped.track({ reason }, () => recommender.skippedCounts()[reason]);
    metrics.gauge('omnistream_recs_events_absorbed', 'Events the recommender learned from').track({}, () => recommender.absorbed);
    metrics.gauge('omnistream_recs_lag', 'Messages in the log the recommender has not read yet').track({}, () => this.lagValue);
  }

  /** Restores the model and its positions from the store (before the server answers). */
  async open(): Promise<void> {
    const stored = await this.deps.store.load();
    for (const [tenant, records] of stored.tenants) this.deps.recommender.restore(tenant, records);
    if (stored.checkpoint) this.deps.recommender.restoreCounts(stored.checkpoint.absorbed, stored.checkpoint.skipped);
    let positions = stored.checkpoint?.positions;
    if (positions === undefined) positions = (await this.deps.log.partitions()).map((p) => p.beginningSequenceNumber);
    this.reader = new LogReader(this.deps.log, positions);
    this.pending = 0;
  }

  /** Runs until closed; call after open. */
  start(): void {
    if (this.running || !this.reader) return;
    this.lastCommitAt = Date.now();
    const unsubscribe = this.deps.log.onAppend(() => this.wakeUp());
    this.running = this.loop().finally(unsubscribe);
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let caughtUp: boolean;
      try {
        caughtUp = await this.step();
        if (this.pending > 0 && Date.now() - this.lastCommitAt >= this.deps.checkpointIntervalMs) await this.commit();
        this.lastError = null;
      } catch (err) {
        // A failed read or commit: what was absorbed since the checkpoint is dropped and read again.
        this.lastError = err instanceof Error ? err.message : String(err);
        this.deps.logger.error('recommender failed; it restarts from its last checkpoint', { err });
        await this.sleep(RETRY_MS);
        if (this.stopping) return;
        try {
          await this.reopen();
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
  }

  private async reopen(): Promise<void> {
    // Forget everything since the checkpoint, then take the stored state.
    this.deps.recommender.clear();
    await this.open();
  }

  /** Absorbs up to STEP_EVENTS events below the horizon; true when caught up with it. */
  private async step(): Promise<boolean> {
    const reader = this.reader!;
    const horizon = this.deps.log.horizon();
    const until = performance.now() + STEP_MS;
    let taken = 0;
    while (taken < STEP_EVENTS && performance.now() < until) {
      await reader.fill(horizon);
      let e: LogEvent | undefined;
      let round = 0;
      while (taken < STEP_EVENTS && (e = reader.take()) !== undefined) {
        this.absorb(e);
        taken++;
        round++;
        if ((taken & 127) === 0 && performance.now() >= until) break;
      }
      if (round === 0 || reader.caughtUp) break;
    }
    this.pending += taken;
    return taken === 0 || reader.caughtUp;
  }

  private absorb(e: LogEvent): void {
    let body: unknown;
    if (typeof e.body === 'string' || e.shared.bodyIsJson !== false) {
      try {
        body = JSON.parse(typeof e.body === 'string' ? e.body : e.body.toString('utf8'));
      } catch {
        body = undefined;
      }
    }
    this.deps.recommender.absorb(e.shared.tenant, e.shared.deviceId, body, e.enqueuedMs);
  }

  private async commit(): Promise<void> {
    const { recommender, store } = this.deps;
    // Made in slices between which requests are answered; the loop absorbs nothing meanwhile.
    const changes = await recommender.takeChangesInSteps(() => new Promise((resolve) => setImmediate(resolve)));
    await store.commit({ positions: this.reader!.positions(), absorbed: recommender.absorbed, skipped: recommender.skippedCounts() }, changes);
    this.pending = 0;
    this.lastCommitAt = Date.now();
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

  /** Finishes the step under way and commits what it absorbed. */
  async close(): Promise<void> {
    this.stopping = true;
    this.wakeUp();
    await this.running;
    if (this.reader && this.pending > 0) {
      try {
        await this.commit();
      } catch (err) {
        this.deps.logger.error('recommender could not commit at shutdown; it continues from its last checkpoint', { err });
      }
    }
  }
}
