// An external output: where a job's rows go beyond Omnistream (a PostgreSQL table, a webhook, a
// file). Rows are delivered from the ledger in commit order, retried until written; a sink makes
// a second write of the same row harmless, which is what makes delivery effectively once.
import type { OutputRow } from './output-row.js';

export interface OutputSink {
  /** Writes rows; rejects to have the whole batch retried. Writing a row again leaves one copy where the sink allows. */
  write(rows: readonly OutputRow[]): Promise<void>;
  /**
   * A replay recomputes a job's rows stamped at or after `fromMs` (every row when null): the sink
   * removes what it holds of them, where it can (a table can; a webhook cannot unsend).
   */
  forget(job: string, fromMs: number | null): Promise<void>;
  close(): Promise<void>;
}
