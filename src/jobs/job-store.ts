// Where continuous jobs keep what makes them exactly once: each job's checkpoint (input positions,
// operator state, row counters) and the rows it emitted, committed together. Every backend (the
// embedded jobs.db now, PostgreSQL for scale-out) passes test/jobs/job-store.contract.ts.
import type { OutputLedger } from '../outputs/output-ledger.js';
import type { NewOutputRow, OutputRow } from '../outputs/output-row.js';

/** A job's checkpoint, opaque to the store (a JSON-safe object). */
export type JobCheckpoint = object;

export interface JobStore extends OutputLedger {
  checkpoint(job: string): Promise<JobCheckpoint | undefined>;
  /**
   * Stores rows and the checkpoint that follows them in one transaction, and the job's clock as
   * the clock of each output in `clocks`. Rows repeating an identity (job, output, tenant,
   * timestamp, n) replace the earlier row. Returns the stored rows, ids assigned.
   */
  commit(job: string, checkpoint: JobCheckpoint, rows: readonly NewOutputRow[], clockMs: number, clocks: readonly string[]): Promise<OutputRow[]>;
  /**
   * Starts a job over: removes its checkpoint and the rows it wrote stamped at or after `fromMs`
   * (every row when null), in one transaction.
   */
  reset(job: string, fromMs: number | null): Promise<void>;
  close(): Promise<void>;
}

/** The lease a job worker holds while it runs `job` (shared coordination, docs/scale-out.md). */
export function jobLeaseName(job: string): string {
  return `job:${job}`;
}

/** The lease of an output's delivery to its sink. */
export function outputLeaseName(output: string): string {
  return `output:${output}`;
}
