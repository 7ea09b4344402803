// The rows every job wrote, per output, in commit order: the history a dashboard shows, the
// stream a chained job reads, and the outbox external outputs are delivered from (each output's
// delivery position is kept here too, so a crash redelivers at most what was in flight).
import type { OutputRow } from './output-row.js';

export interface RowQuery {
  /** Only this tenant's rows; all tenants when absent. */
  readonly tenant?: string | undefined;
  /** Only rows this job wrote. */
  readonly job?: string | undefined;
  /** Only rows stamped at or after this time (epoch ms). */
  readonly sinceMs?: number | undefined;
  readonly limit: number;
}

export interface OutputLedger {
  /** Rows of `output` committed after `afterId`, oldest first. */
  rowsAfter(output: string, afterId: number, limit: number): Promise<OutputRow[]>;
  /** The newest rows by timestamp (at most `limit`), returned oldest first. */
  latestRows(output: string, query: RowQuery): Promise<OutputRow[]>;
  /** The id of the last row an output's sink has written (0 before the first). */
  delivered(output: string): Promise<number>;
  markDelivered(output: string, id: number): Promise<void>;
  /** Rows committed but not yet delivered. */
  backlog(output: string): Promise<number>;
  /**
   * The latest clock committed for an output by the job writing it: a chained job's input is final
   * below it, since every later row is committed at this clock or after.
   */
  clock(output: string): Promise<number>;
  /**
   * Deletes rows beyond the newest `rows` or older than `maxAgeMs` (by timestamp, relative to
   * `nowMs`), never one after `keepAfterId` (not yet delivered or read). Returns how many went.
   */
  prune(output: string, keep: { readonly rows: number; readonly maxAgeMs: number; readonly keepAfterId: number }, nowMs: number): Promise<number>;
}
