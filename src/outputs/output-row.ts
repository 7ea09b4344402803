// A row a job wrote to an output, as every output and reader sees it.

/** The tenant of rows from a job that runs over every tenant together (`tenants: shared`). */
export const ALL_TENANTS = '*';

/** A row as a job emits it, before it is stored. */
export interface NewOutputRow {
  readonly output: string;
  readonly job: string;
  /** The brand whose events made the row, or ALL_TENANTS. */
  readonly tenant: string;
  /** System.Timestamp() of the row (a window's end), epoch ms. */
  readonly timestampMs: number;
  /**
   * The row's place among the rows of one job, output, tenant and timestamp, in emission order.
   * With the timestamp it identifies the row: a rerun of the same input makes the same rows with
   * the same identities, which is what makes writes idempotent.
   */
  readonly n: number;
  /** The row's columns as JSON values. */
  readonly row: Readonly<Record<string, unknown>>;
}

/** A stored row: its id orders the rows of an output as they were committed. */
export interface OutputRow extends NewOutputRow {
  readonly id: number;
  /**
   * The writing job's clock when the row was committed (epoch ms): a job that reads this output
   * as a stream takes it as the row's arrival time. Rises with id.
   */
  readonly committedClockMs: number;
}

/** The identity of a row across reruns, for sinks that need a single key (a webhook's receiver). */
export function rowKey(r: NewOutputRow): string {
  return `${r.job}/${r.output}/${r.tenant}/${r.timestampMs}/${r.n}`;
}
