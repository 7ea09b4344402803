// Builds the configured jobs, references and outputs, runs them, and answers for them. A job whose
// query does not compile, or that names an input, reference or output nobody configured, is
// refused with the file, line and column; the other jobs and the rest of the server run.
import type { EventLog } from '../log/event-log.js';
import { FileSink } from '../outputs/file-sink.js';
import { LiveRows } from '../outputs/live-rows.js';
import { OutputDispatcher, type DeliveryStatus } from '../outputs/output-dispatcher.js';
import type { OutputLedger } from '../outputs/output-ledger.js';
import type { OutputRow } from '../outputs/output-row.js';
import type { OutputSink } from '../outputs/output-sink.js';
import { PostgresSink } from '../outputs/postgres-sink.js';
import { WebhookSink } from '../outputs/webhook-sink.js';
import { compileQuery, QueryError, type CompiledQuery } from '../query/index.js';
import { FileReferenceSource } from '../reference/file-reference-source.js';
import { PostgresReferenceSource } from '../reference/postgres-reference-source.js';
import { ReferenceCatalog, type ReferenceStatus } from '../reference/reference-catalog.js';
import type { ReferenceSource } from '../reference/reference-source.js';
import type { ReferenceVersionStore } from '../reference/reference-version-store.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { Job, type InputBinding, type JobSpec, type JobStatus, type StartPosition } from './job.js';
import { JobMetrics } from './job-metrics.js';
import { jobLeaseName, outputLeaseName, type JobStore } from './job-store.js';
import { OwnershipLoop, type JobOwnership, type OwnedWork } from './job-ownership.js';
import { DEAD_LETTERS_OUTPUT, type JobConfig, type JobsConfig, type Keep, type OutputConfig, type OutputKind } from './jobs-config.js';

/** A job refused at start, and why. */
export interface JobProblem {
  readonly job: string;
  readonly message: string;
  /** `file:line:column` when the query says where. */
  readonly at: string | null;
}

export interface OutputStatus {
  readonly name: string;
  readonly kind: OutputKind;
  /** Jobs writing it. */
  readonly jobs: readonly string[];
  readonly delivery: (DeliveryStatus & { readonly backlog: number }) | null;
}

export interface JobManagerDeps {
  readonly log: EventLog;
  readonly store: JobStore;
  readonly referenceStore: ReferenceVersionStore;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Reference versions are kept this long (the log's retention: nothing older can be replayed). */
  readonly keepReferencesMs: number;
  /** Several job workers share the jobs: each job and each output's delivery runs where it is claimed. */
  readonly ownership?: JobOwnership | undefined;
}

const DEAD_LETTERS_KEEP: Keep = { rows: 100_000, maxAgeMs: 7 * 86_400_000 };
/** How often a gateway reads the shared ledger for rows other processes committed (follow()). */
const FOLLOW_MS = 1_000;
const FOLLOW_ROWS = 1_000;
const PRUNE_EVERY_MS = 60_000;

export class JobManager {
  readonly live = new LiveRows();
  readonly problems: JobProblem[] = [];
  private readonly closer = new AbortController();
  /** Aborted when the manager closes: live streams end then. */
  readonly closing: AbortSignal = this.closer.signal;
  private readonly jobs = new Map<string, Job>();
  private readonly outputs = new Map<string, OutputConfig>();
  private readonly writers = new Map<string, Set<string>>();
  private readonly dispatchers = new Map<string, OutputDispatcher>();
  private readonly sinks = new Map<string, OutputSink>();
  private readonly references: ReferenceCatalog;
  private readonly jobMetrics: JobMetrics;
  private readonly lags = new Map<string, number>();
  private pruneTimer: NodeJS.Timeout | undefined;
  private lagTimer: NodeJS.Timeout | undefined;
  private ownershipLoop: OwnershipLoop | undefined;
  private followTimer: NodeJS.Timeout | undefined;

  constructor(config: JobsConfig, private readonly deps: JobManagerDeps, refused: readonly JobProblem[] = []) {
    this.problems.push(...refused);
    this.jobMetrics = new JobMetrics(deps.metrics);
    const sources = new Map<string, ReferenceSource>();
    for (const r of config.references) {
      sources.set(r.name, r.kind === 'file'
        ? new FileReferenceSource(r.path)
        : new PostgresReferenceSource({ url: r.url, query: r.query, refreshMs: r.refreshMs, timeoutMs: r.timeoutMs }));
    }
    this.references = new ReferenceCatalog({ sources, store: deps.referenceStore, clock: () => deps.log.horizon(), keepMs: deps.keepReferencesMs, logger: deps.logger, metrics: deps.metrics });
    for (const o of config.outputs) this.outputs.set(o.name.toLowerCase(), o);
    this.outputs.set(DEAD_LETTERS_OUTPUT, { name: DEAD_LETTERS_OUTPUT, kind: 'log', keep: DEAD_LETTERS_KEEP });
    for (const j of config.jobs) {
      try {
        const spec = this.specOf(j);
        this.jobs.set(j.name, new Job(spec, {
          log: deps.log, store: deps.store, references: this.references, publish: (rows) => this.publish(rows),
          forget: (job, fromMs) => this.forget(job, fromMs), metrics: this.jobMetrics, logger: deps.logger.child({ job: j.name }),
        }));
        for (const o of new Set([...spec.outputs.values(), spec.deadLetters])) this.writersOf(o).add(j.name);
      } catch (err) {
        this.refuse(j, err);
      }
    }
    this.refuseCycles();
    const delivered = deps.metrics.counter('omnistream_output_rows_delivered_total', 'Rows an external output wrote');
    const failures = deps.metrics.counter('omnistream_output_failures_total', 'Failed deliveries of an external output (retried)');
    for (const o of this.outputs.values()) {
      const sink = sinkOf(o);
      if (!sink) continue;
      this.sinks.set(o.name, sink);
      this.dispatchers.set(o.name, new OutputDispatcher({
        output: o.name, sink, ledger: deps.store, batchRows: o.kind === 'webhook' ? o.batchRows : 500, logger: deps.logger, delivered, failures,
      }));
    }
    for (const job of this.jobs.values()) {
      this.jobMetrics.track(job.name, { lag: () => this.lags.get(job.name) ?? 0, watermarkMs: () => { const w = job.status(0).watermark; return w === null ? null : Date.parse(w); } });
    }
  }

  /**
   * Loads the references, then starts jobs and outputs (a job waits for its references). Jobs
   * start first: one that restarts from a position clears its rows before any are delivered.
   */
  async start(): Promise<void> {
    await this.references.open();
    for (const o of this.outputs.values()) {
      if (o.kind === 'dashboard') this.live.prime(o.name, await this.deps.store.latestRows(o.name, { limit: 1_000 }));
    }
    const { ownership } = this.deps;
    if (ownership) {
      const work: OwnedWork[] = [
        ...[...this.jobs.values()].map((job) => ({ lease: jobLeaseName(job.name), run: () => job.start(), halt: () => job.stop(false) })),
        ...[...this.dispatchers].map(([output, d]) => ({ lease: outputLeaseName(output), run: async () => d.start(), halt: () => d.suspend() })),
      ];
      this.ownershipLoop = new OwnershipLoop(ownership, work, (message, err) => this.deps.logger.warn(message, { err }));
      this.ownershipLoop.start();
    } else {
      for (const job of this.jobs.values()) await job.start();
      for (const d of this.dispatchers.values()) d.start();
    }
    this.pruneTimer = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
    this.pruneTimer.unref();
    this.lagTimer = setInterval(() => void this.measureLag(), 1_000);
    this.lagTimer.unref();
  }

  /**
   * Where no job runs (a gateway): rows the job workers commit reach this process's live streams
   * and dashboards by reading the shared ledger every second, from the rows stored at start on.
   * A replay elsewhere is not announced here (no `reset` event): its rows arrive as new rows.
   */
  async follow(): Promise<void> {
    const after = new Map<string, number>();
    for (const o of this.outputs.values()) {
      const latest = await this.deps.store.latestRows(o.name, { limit: FOLLOW_ROWS });
      if (o.kind === 'dashboard') this.live.prime(o.name, latest);
      after.set(o.name, latest.reduce((max, r) => Math.max(max, r.id), 0));
    }
    const tick = async (): Promise<void> => {
      const found: OutputRow[] = [];
      for (const [output, id] of after) {
        const rows = await this.deps.store.rowsAfter(output, id, FOLLOW_ROWS);
        if (rows.length > 0) after.set(output, rows[rows.length - 1]!.id);
        found.push(...rows);
      }
      if (found.length > 0) this.live.publish(found.sort((a, b) => a.id - b.id));
    };
    const schedule = (): void => {
      if (this.closing.aborted) return;
      this.followTimer = setTimeout(() => {
        tick().catch((err: unknown) => this.deps.logger.warn('could not read new output rows', { err })).finally(schedule);
      }, FOLLOW_MS);
      this.followTimer.unref();
    };
    schedule();
  }

  private writersOf(output: string): Set<string> {
    const key = this.outputs.get(output.toLowerCase())?.name ?? output;
    let set = this.writers.get(key);
    if (!set) this.writers.set(key, (set = new Set()));
    return set;
  }

  private specOf(j: JobConfig): JobSpec {
    const inputs = new Map<string, InputBinding>();
    for (const [input, from] of Object.entries(j.inputs)) {
      if (from.toLowerCase() === 'log') {
        inputs.set(input.toLowerCase(), { kind: 'log' });
        continue;
      }
      const o = this.outputs.get(from.toLowerCase());
      if (!o) throw new Error(`input ${input} reads from '${from}', which is neither 'log' nor a configured output`);
      if (o.kind !== 'log') throw new Error(`input ${input} reads from output '${o.name}', which is a ${o.kind} output; a job can read only 'log' outputs`);
      inputs.set(input.toLowerCase(), { kind: 'stream', output: o.name });
    }
    const query: CompiledQuery = compileQuery(j.queryText, {
      inputs: Object.keys(j.inputs),
      references: this.references.names(),
      outputs: [...this.outputs.values()].filter((o) => o.name !== DEAD_LETTERS_OUTPUT).map((o) => o.name),
      functions: j.functions,
    });
    const outputs = new Map<string, string>();
    for (const name of query.outputs) outputs.set(name.toLowerCase(), this.outputs.get(name.toLowerCase())!.name);
    const references = new Map<string, string>();
    for (const name of query.references) references.set(name.toLowerCase(), this.references.get(name)!.name);
    let deadLetters = DEAD_LETTERS_OUTPUT;
    if (j.deadLetters !== null) {
      const o = this.outputs.get(j.deadLetters.toLowerCase());
      if (!o) throw new Error(`deadLetters names '${j.deadLetters}', which is not a configured output`);
      deadLetters = o.name;
    }
    const streamOutputs = [...new Set([...outputs.values(), deadLetters])].filter((name) => this.outputs.get(name.toLowerCase())?.kind === 'log');
    for (const name of streamOutputs) {
      const others = [...this.writersOf(name)].filter((w) => w !== j.name);
      if (others.length > 0 && name !== DEAD_LETTERS_OUTPUT) throw new Error(`output ${name} is a stream other jobs read, and job ${others[0]} already writes it: a log output has one writer`);
    }
    return {
      name: j.name, query, inputs, outputs, references, tenants: j.tenants, startFrom: j.startFrom, policy: j.policy,
      deadLetters, streamOutputs, checkpointIntervalMs: j.checkpointIntervalMs,
    };
  }

  private refuse(j: JobConfig, err: unknown): void {
    let at: string | null = null;
    let message = err instanceof Error ? err.message : String(err);
    if (err instanceof QueryError) {
      message = `${err.code}: ${err.detail}`;
      at = err.position ? `${j.queryFile ?? `job ${j.name}'s query`}:${err.position.line}:${err.position.column}` : j.queryFile;
    }
    this.problems.push({ job: j.name, message, at });
    this.deps.logger.error('job refused', { job: j.name, at, error: message });
  }

  /** Jobs that read each other's streams in a circle would each wait for the other's clock. */
  private refuseCycles(): void {
    const readsFrom = (job: Job): string[] => [...job.spec.inputs.values()].flatMap((b) => (b.kind === 'stream' ? [...this.writersOf(b.output)] : []));
    const inCircle = [...this.jobs.values()].filter((start) => {
      const seen = new Set<string>();
      const stack = readsFrom(start);
      while (stack.length > 0) {
        const name = stack.pop()!;
        if (name === start.name) return true;
        if (seen.has(name)) continue;
        seen.add(name);
        const next = this.jobs.get(name);
        if (next) stack.push(...readsFrom(next));
      }
      return false;
    });
    for (const job of inCircle) {
      this.jobs.delete(job.name);
      for (const writers of this.writers.values()) writers.delete(job.name);
      this.problems.push({ job: job.name, message: 'the job reads, through other jobs\' streams, what it writes itself: chained jobs may not form a circle', at: null });
    }
  }

  private publish(rows: readonly OutputRow[]): void {
    this.live.publish(rows);
    const touched = new Set(rows.map((r) => r.output));
    for (const o of touched) this.dispatchers.get(o)?.notify();
  }

  // --- answers ------------------------------------------------------------------------------

  /** Every output's rows, in commit order. */
  get ledger(): OutputLedger {
    return this.deps.store;
  }

  /** The jobs writing an output, with how far their clocks have come. */
  writerStatuses(output: string): { job: string; state: string; clock: string | null; watermark: string | null }[] {
    return [...(this.writers.get(output) ?? [])].flatMap((name) => {
      const s = this.jobStatus(name);
      return s ? [{ job: name, state: s.state, clock: s.clock, watermark: s.watermark }] : [];
    });
  }

  job(name: string): Job | undefined {
    return this.jobs.get(name);
  }

  jobStatuses(): JobStatus[] {
    return [...this.jobs.values()].map((j) => j.status(this.lags.get(j.name) ?? 0));
  }

  jobStatus(name: string): JobStatus | undefined {
    const job = this.jobs.get(name);
    return job?.status(this.lags.get(name) ?? 0);
  }

  referenceStatuses(): ReferenceStatus[] {
    return this.references.status();
  }

  /** Every output's name, as configured (built-in ones included). */
  outputNames(): string[] {
    return [...this.outputs.values()].map((o) => o.name);
  }

  /** The configured output of that name (case-insensitive), built-in ones included. */
  output(name: string): OutputConfig | undefined {
    return this.outputs.get(name.toLowerCase());
  }

  async outputStatuses(): Promise<OutputStatus[]> {
    return Promise.all([...this.outputs.values()].map(async (o) => {
      const d = this.dispatchers.get(o.name);
      return {
        name: o.name,
        kind: o.kind,
        jobs: [...(this.writers.get(o.name) ?? [])],
        delivery: d ? { ...d.status(), backlog: await this.deps.store.backlog(o.name) } : null,
      };
    }));
  }

  /** A job's most recent dead letters, oldest first. */
  deadLetters(output: string, job: string, limit: number): Promise<OutputRow[]> {
    return this.deps.store.latestRows(output, { job, limit });
  }

  async stop(name: string): Promise<void> {
    await this.jobs.get(name)?.stop(true);
  }

  async startJob(name: string): Promise<void> {
    await this.jobs.get(name)?.start(true);
  }

  /** Recomputes a job from `from`: its rows for that range are replaced, in every output that can. */
  async replay(name: string, from: StartPosition): Promise<void> {
    const job = this.jobs.get(name);
    if (!job) return;
    const sinks = [...job.spec.outputs.values()].flatMap((o) => {
      const d = this.dispatchers.get(o);
      return d ? [d] : [];
    });
    // Deliveries of this job's outputs wait, so a sink is cleared before the recomputed rows reach it.
    const pauseAll = sinks.reduceRight<() => Promise<void>>((inner, d) => () => d.whilePaused(inner), () => job.replay(from));
    await pauseAll();
  }

  /** A job recomputes its rows from `fromMs`: the live view and the sinks that can drop rows do. */
  private async forget(name: string, fromMs: number | null): Promise<void> {
    const job = this.jobs.get(name);
    this.live.reset(name, job ? [...new Set([...job.spec.outputs.values(), job.spec.deadLetters])] : [], fromMs);
    for (const o of job?.spec.outputs.values() ?? []) await this.sinks.get(o)?.forget(name, fromMs);
  }

  private async measureLag(): Promise<void> {
    for (const job of this.jobs.values()) {
      try {
        this.lags.set(job.name, await job.lag());
      } catch {
        // The next measurement will do.
      }
    }
  }

  /** Keeps each output's ledger within its limits, never dropping rows not yet delivered or read. */
  private async prune(): Promise<void> {
    const now = Date.now();
    for (const o of this.outputs.values()) {
      let keepAfterId = Number.MAX_SAFE_INTEGER;
      const d = this.dispatchers.get(o.name);
      if (d) keepAfterId = d.status().deliveredId;
      for (const job of this.jobs.values()) {
        const position = job.streamPosition(o.name);
        if (position !== undefined) keepAfterId = Math.min(keepAfterId, position);
      }
      try {
        await this.deps.store.prune(o.name, { rows: o.keep.rows, maxAgeMs: o.keep.maxAgeMs, keepAfterId }, now);
      } catch (err) {
        this.deps.logger.warn('could not prune an output', { output: o.name, err });
      }
    }
  }

  /** What /readyz adds: jobs refused at start and jobs that failed, so an operator sees them. */
  health(): Record<string, unknown> {
    const failed = [...this.jobs.values()].filter((j) => j.currentState === 'failed').map((j) => j.status(0));
    return {
      jobs: {
        running: [...this.jobs.values()].filter((j) => j.currentState === 'running').length,
        ...(this.ownershipLoop ? { owned: this.ownershipLoop.running } : {}),
        refused: this.problems,
        failed: failed.map((s) => ({ job: s.name, error: s.lastError })),
      },
    };
  }

  /** Ends live streams; call before the HTTP server waits for its requests. */
  release(): void {
    this.closer.abort();
  }

  async close(): Promise<void> {
    this.closer.abort();
    clearInterval(this.pruneTimer);
    clearInterval(this.lagTimer);
    clearTimeout(this.followTimer);
    await this.ownershipLoop?.stopClaiming();
    await Promise.all([...this.jobs.values()].map((j) => j.stop(false)));
    await Promise.all([...this.dispatchers.values()].map((d) => d.close()));
    // Stopped and committed: another worker may take them now rather than after the lease.
    await this.ownershipLoop?.releaseAll();
    await this.references.close();
  }
}

function sinkOf(o: OutputConfig): OutputSink | undefined {
  switch (o.kind) {
    case 'dashboard':
    case 'log':
      return undefined;
    case 'postgres':
      return new PostgresSink({ url: o.url, table: o.table, columns: o.columns });
    case 'webhook':
      return new WebhookSink({ url: o.url, headers: o.headers, timeoutMs: o.timeoutMs });
    case 'file':
      return new FileSink({ path: o.path, maxBytes: o.maxBytes, maxFiles: o.maxFiles });
  }
}
