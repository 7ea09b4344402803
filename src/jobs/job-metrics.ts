// Per-job metrics in /metrics: what flows through each job and how its checkpoints go.
import type { Metrics } from '../telemetry/metrics.js';

export class JobMetrics {
  private readonly events;
  private readonly rows;
  private readonly deadLetters;
  private readonly diagnostics;
  private readonly failures;
  private readonly checkpoints;
  private readonly checkpointSeconds;
  /** Hot-path counters bound to their labels once. */
  private readonly bound = new Map<string, { inc(by?: number): void }>();

  constructor(private readonly metrics: Metrics) {
    this.events = metrics.counter('omnistream_job_events_total', 'Events a job read from its inputs');
    this.rows = metrics.counter('omnistream_job_rows_total', 'Rows a job emitted, by output');
    this.deadLetters = metrics.counter('omnistream_job_dead_letters_total', 'Events a job could not read, kept in its dead-letter output');
    this.diagnostics = metrics.counter('omnistream_job_event_diagnostics_total', 'Per-event problems (conversions, dropped late events…), by code');
    this.failures = metrics.counter('omnistream_job_failures_total', 'Times a job failed and restarted from its checkpoint');
    this.checkpoints = metrics.counter('omnistream_job_checkpoints_total', 'Checkpoints a job committed');
    this.checkpointSeconds = metrics.counter('omnistream_job_checkpoint_seconds_total', 'Time spent committing checkpoints and rows');
  }

  private counter(key: string, make: () => { inc(by?: number): void }): { inc(by?: number): void } {
    let c = this.bound.get(key);
    if (c === undefined) this.bound.set(key, (c = make()));
    return c;
  }

  eventsIn(job: string, count: number): void {
    this.counter(`e\u0000${job}`, () => this.events.with({ job })).inc(count);
  }

  rowsOut(job: string, output: string): void {
    this.counter(`r\u0000${job}\u0000${output}`, () => this.rows.with({ job, output })).inc();
  }

  deadLetter(job: string): void {
    this.deadLetters.inc({ job });
  }

  diagnostic(job: string, code: string): void {
    this.diagnostics.inc({ job, code });
  }

  failure(job: string): void {
    this.failures.inc({ job });
  }

  checkpoint(job: string, seconds: number): void {
    this.checkpoints.inc({ job });
    this.checkpointSeconds.inc({ job }, seconds);
  }

  /** Gauges read when scraped: the job's lag and watermark. */
  track(job: string, read: { lag(): number; watermarkMs(): number | null }): void {
    this.metrics.gauge('omnistream_job_input_lag', 'Messages in the log not yet read by a job (as of its last step)').track({ job }, read.lag);
    this.metrics.gauge('omnistream_job_watermark_seconds', 'A job\'s watermark, seconds since the epoch').track({ job }, () => (read.watermarkMs() ?? 0) / 1000);
  }
}
