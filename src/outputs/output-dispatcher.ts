// Delivers an external output's rows from the ledger, in commit order, one batch at a time. A
// failed batch is retried with backoff (the output's error and backlog are visible meanwhile);
// nothing here blocks a job or ingestion, and nothing is skipped: the delivery position moves only
// past rows the sink took.
import type { Logger } from '../telemetry/logger.js';
import type { Counter } from '../telemetry/metrics.js';
import type { OutputLedger } from './output-ledger.js';
import type { OutputSink } from './output-sink.js';

export interface DispatcherOptions {
  readonly output: string;
  readonly sink: OutputSink;
  readonly ledger: OutputLedger;
  readonly batchRows: number;
  readonly logger: Logger;
  readonly delivered: Counter;
  readonly failures: Counter;
}

export interface DeliveryStatus {
  readonly deliveredId: number;
  readonly lastDeliveredAt: string | null;
  /** Attempts failed in a row (0 when the last one succeeded). */
  readonly failures: number;
  readonly lastError: { readonly message: string; readonly at: string } | null;
  /** When the next attempt is due after a failure. */
  readonly retryAt: string | null;
}

const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 60_000;
/** A quiet output looks for rows this often even without being told (rows committed by another process). */
const POLL_MS = 1_000;

export class OutputDispatcher {
  private deliveredId = 0;
  private lastDeliveredAt: number | null = null;
  private failures = 0;
  private lastError: { message: string; at: number } | null = null;
  private retryAt: number | null = null;
  private closed = false;
  private suspended = false;
  /** The wait under way: new rows end it unless it is a backoff after a failure. */
  private sleeping: { readonly done: () => void; readonly onNewRows: boolean } | null = null;
  private running: Promise<void> | undefined;
  private paused: Promise<void> | null = null;
  /** The delivery attempt under way, which a pause waits for. */
  private attempt: Promise<void> = Promise.resolve();

  constructor(private readonly options: DispatcherOptions) {}

  start(): void {
    this.running ??= this.loop();
  }

  /** New rows were committed. */
  notify(): void {
    if (this.sleeping?.onNewRows) this.sleeping.done();
  }

  status(): DeliveryStatus {
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      deliveredId: this.deliveredId,
      lastDeliveredAt: iso(this.lastDeliveredAt),
      failures: this.failures,
      lastError: this.lastError && { message: this.lastError.message, at: new Date(this.lastError.at).toISOString() },
      retryAt: iso(this.retryAt),
    };
  }

  /** Runs `body` with delivery stopped (a replay clears what the sink holds before redelivery). */
  async whilePaused<T>(body: () => Promise<T>): Promise<T> {
    let resume!: () => void;
    const previous = this.paused;
    this.paused = new Promise<void>((resolve) => { resume = resolve; });
    try {
      await previous;
      await this.attempt;
      return await body();
    } finally {
      resume();
      this.paused = null;
      this.notify();
    }
  }

  /**
   * Stops delivering without closing the sink (another process delivers this output now); start()
   * goes on from the ledger's mark, wherever the other process left it.
   */
  async suspend(): Promise<void> {
    this.suspended = true;
    this.sleeping?.done();
    await this.running?.catch(() => {});
    this.running = undefined;
    this.suspended = false;
  }

  private async loop(): Promise<void> {
    this.deliveredId = await this.options.ledger.delivered(this.options.output);
    while (!this.closed && !this.suspended) {
      if (this.paused) await this.paused;
      this.attempt = this.deliverOnce();
      await this.attempt;
    }
  }

  /** One batch, or a wait when there is none; a failure backs off before it returns. */
  private async deliverOnce(): Promise<void> {
    const { output, sink, ledger, logger } = this.options;
    try {
      const rows = await ledger.rowsAfter(output, this.deliveredId, this.options.batchRows);
      if (rows.length === 0) {
        // An idle wait is no attempt: a pause need not wait for it to end.
        this.attempt = Promise.resolve();
        await this.sleep(POLL_MS);
        return;
      }
      await sink.write(rows);
      const last = rows[rows.length - 1]!.id;
      await ledger.markDelivered(output, last);
      this.deliveredId = last;
      this.lastDeliveredAt = Date.now();
      this.options.delivered.inc({ output }, rows.length);
      if (this.failures > 0) logger.info('output delivering again', { output, after: this.failures });
      this.failures = 0;
      this.lastError = null;
      this.retryAt = null;
    } catch (err) {
      await this.failed(err);
    }
  }

  private async failed(err: unknown): Promise<void> {
    const { output, logger } = this.options;
    this.failures++;
    const message = err instanceof Error ? err.message : String(err);
    if (this.lastError?.message !== message) logger.warn('output delivery failed; retrying with backoff', { output, error: message, failures: this.failures });
    this.lastError = { message, at: Date.now() };
    this.options.failures.inc({ output });
    // Full jitter: many outputs failing together do not retry together.
    const wait = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(this.failures - 1, 10)) * (0.5 + Math.random() / 2);
    this.retryAt = Date.now() + wait;
    await this.sleep(wait, false);
  }

  private sleep(ms: number, onNewRows = true): Promise<void> {
    if (this.closed || this.suspended) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(), ms);
      const done = (): void => {
        clearTimeout(timer);
        this.sleeping = null;
        resolve();
      };
      this.sleeping = { done, onNewRows };
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.sleeping?.done();
    await this.running;
    await this.options.sink.close();
  }
}
