// Another job's `log` output as this job's input (jobs chain). Rows are read in commit order; a
// row arrives at the clock of the commit that stored it, and the writing job's latest clock is the
// horizon: every later row is committed at that clock or after.
import { EVENT_METADATA, type Row } from '../query/index.js';
import type { OutputLedger } from '../outputs/output-ledger.js';
import type { BufferedSource, JobEvent } from './job-event.js';

export class StreamSource implements BufferedSource {
  private buffer: JobEvent[] = [];
  private head = 0;
  private readId: number;
  private lastTaken: number;
  exhausted = false;

  constructor(private readonly ledger: OutputLedger, readonly output: string, after: number) {
    this.readId = after;
    this.lastTaken = after;
  }

  horizon(): Promise<number> {
    return this.ledger.clock(this.output);
  }

  /** The id of the last row taken: the checkpoint position. */
  get position(): number {
    return this.lastTaken;
  }

  async fill(below: number, max: number): Promise<void> {
    if (this.head > 0) {
      this.buffer = this.buffer.slice(this.head);
      this.head = 0;
    }
    const room = max - this.buffer.length;
    if (room <= 0) {
      this.exhausted = false;
      return;
    }
    const rows = await this.ledger.rowsAfter(this.output, this.readId, room);
    let taken = 0;
    for (const r of rows) {
      if (r.committedClockMs >= below) break;
      taken++;
      this.readId = r.id;
      const row: Row = { ...(r.row as Row) };
      (row as Row & { [EVENT_METADATA]?: Row })[EVENT_METADATA] = { Tenant: r.tenant, Job: r.job, Timestamp: new Date(r.timestampMs).toISOString() };
      this.buffer.push({
        source: this.output, arrivalMs: r.committedClockMs, partition: 0, position: r.id, tenant: r.tenant, row, failure: null,
        deadLetter: () => ({ output: r.output, id: r.id, job: r.job, row: r.row }),
      });
    }
    this.exhausted = taken < room;
  }

  peek(): JobEvent | undefined {
    return this.buffer[this.head];
  }

  take(): JobEvent {
    const e = this.buffer[this.head++]!;
    this.lastTaken = e.position;
    return e;
  }

  async lag(): Promise<number> {
    const ahead = await this.ledger.rowsAfter(this.output, this.position, 10_000);
    return ahead.length;
  }
}
