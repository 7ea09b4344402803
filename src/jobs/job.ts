// One continuous job: its query run over the hub's log (and other jobs' streams), once per tenant
// unless shared, checkpointed together with the rows it emits, so a restart neither loses nor
// repeats a row. Time is the log's: events arrive at their enqueue time, and when every input is
// caught up the query's clock moves to the inputs' horizon, so windows close when the store is quiet.
import type { EventLog } from '../log/event-log.js';
import { ALL_TENANTS, type NewOutputRow, type OutputRow } from '../outputs/output-row.js';
import { toJson, type CompiledQuery, type EventDiagnostic, type EventOrderingPolicy, type QueryCheckpoint, type QueryRunner, type Row } from '../query/index.js';
import type { ReferenceCatalog } from '../reference/reference-catalog.js';
import type { Logger } from '../telemetry/logger.js';
import { LOG_SOURCE, takeNext, type BufferedSource, type JobEvent } from './job-event.js';
import type { JobMetrics } from './job-metrics.js';
import type { JobStore } from './job-store.js';
import { LogSource } from './log-source.js';
import { StreamSource } from './stream-source.js';
import { IdleWait } from '../log/idle-wait.js';

/** Where a query input's events come from. */
export type InputBinding = { readonly kind: 'log' } | { readonly kind: 'stream'; readonly output: string };

/** Where a job starts when it has no checkpoint, or when it is replayed. */
export type StartPosition =
  | { readonly kind: 'earliest' }
  | { readonly kind: 'latest' }
  | { readonly kind: 'time'; readonly time: Date }
  /** Per partition, the first sequence number to read. */
  | { readonly kind: 'sequence'; readonly partitions: readonly number[] };

export interface JobSpec {
  readonly name: string;
  readonly query: CompiledQuery;
  /** Query input name (lower case) → its source. */
  readonly inputs: ReadonlyMap<string, InputBinding>;
  /** Query output name (lower case) → the configured output's name. */
  readonly outputs: ReadonlyMap<string, string>;
  /** Query reference name (lower case) → the configured reference's name. */
  readonly references: ReadonlyMap<string, string>;
  /** `per-tenant`: one run of the query per tenant, state apart; `shared`: one run over every tenant. */
  readonly tenants: 'per-tenant' | 'shared';
  /** Where the job starts each time it starts; `checkpoint` resumes (from the earliest message the first time). */
  readonly startFrom: StartPosition | { readonly kind: 'checkpoint' };
  readonly policy: Partial<EventOrderingPolicy>;
  /** The output that receives events the job cannot read. */
  readonly deadLetters: string;
  /** Outputs other jobs read as streams: their clock is committed with every checkpoint. */
  readonly streamOutputs: readonly string[];
  /** A checkpoint is written at least this often while events flow (and with every emitted row). */
  readonly checkpointIntervalMs: number;
}

export interface JobDeps {
  readonly log: EventLog;
  readonly store: JobStore;
  readonly references: ReferenceCatalog;
  /** Rows just committed: for live subscribers and output delivery. */
  readonly publish: (rows: readonly OutputRow[]) => void;
  /**
   * The job is about to recompute its rows stamped at or after `fromMs` (all when null): outputs
   * beyond the store forget them (the store's are already gone).
   */
  readonly forget: (job: string, fromMs: number | null) => Promise<void>;
  readonly metrics: JobMetrics;
  readonly logger: Logger;
}

export type JobState = 'starting' | 'waiting-for-reference-data' | 'running' | 'stopped' | 'failed';

export interface JobStatus {
  readonly name: string;
  readonly state: JobState;
  readonly tenants: 'per-tenant' | 'shared';
  /** Arrival time the query has reached (ISO), and the watermark below it (clock − late-arrival tolerance). */
  readonly clock: string | null;
  readonly watermark: string | null;
  /** Messages in the log (and rows in chained streams) not yet read. */
  readonly inputLag: number;
  readonly eventsIn: number;
  readonly rowsOut: number;
  readonly deadLetters: number;
  /** Messages retention deleted before the job read them. */
  readonly skipped: number;
  /** Per-event problems by code (conversions, dropped late events…). */
  readonly diagnostics: Readonly<Record<string, number>>;
  readonly lastCheckpoint: string | null;
  readonly lastError: { readonly message: string; readonly at: string } | null;
  readonly references: readonly { readonly name: string; readonly validFrom: string | null; readonly rows: number; readonly error: string | null }[];
}

/** What a checkpoint holds (JSON): enough to continue as if the process had never stopped. */
interface Checkpoint {
  readonly version: 1;
  readonly log: readonly number[];
  /** Per chained output, the id of the last row taken. */
  readonly streams: Readonly<Record<string, number>>;
  /** Per tenant, the query's state. */
  readonly runners: Readonly<Record<string, QueryCheckpoint>>;
  /** Per output and tenant: per timestamp, how many rows were emitted (row identities continue from here). */
  readonly ordinals: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly clockMs: number | null;
  readonly stats: { readonly eventsIn: number; readonly rowsOut: number; readonly deadLetters: number };
  readonly diagnostics: Readonly<Record<string, number>>;
  /** Stopped on purpose: stays stopped across restarts until started. */
  readonly stopped: boolean;
}

/** Events taken per step before the job yields the event loop to ingestion. */
const STEP_EVENTS = 4_000;
/** How often an idle job looks at the clock, so windows close when the store is quiet. */
const IDLE_TICK_MS = 50;
/** Timestamps remembered per output and tenant for row identities (the oldest are forgotten first). */
const MAX_ORDINALS = 4_096;
const FAILED_RETRY_MS = 5_000;

export class Job {
  private state: JobState = 'stopped';
  private runners = new Map<string, QueryRunner>();
  private sources: { log: LogSource | null; streams: Map<string, StreamSource> } = { log: null, streams: new Map() };
  private ordered: BufferedSource[] = [];
  private ordinals = new Map<string, Map<number, number>>();
  private pendingRows: NewOutputRow[] = [];
  private clockMs: number | null = null;
  private stats = { eventsIn: 0, rowsOut: 0, deadLetters: 0 };
  private diagnostics: Record<string, number> = {};
  private lastCommitAt = 0;
  private lastCheckpointAt: number | null = null;
  private lastError: { message: string; at: number } | null = null;
  private dirty = false;
  /** The event being pushed, for diagnostics that drop it. */
  private current: JobEvent | null = null;
  private running: Promise<void> | null = null;
  private readonly idle = new IdleWait();
  private unsubscribe: (() => void) | null = null;
  private stopRequested = false;
  /** Resolves when a stop is asked for: a job waiting for its reference data stops waiting. */
  private stopping: Promise<void> = Promise.resolve();
  private stopNow: () => void = () => {};
  /** Called when opening is done, or has come to wait for reference data: a start resolves then. */
  private opened: () => void = () => {};

  /** Per source (LOG_SOURCE or a stream's output), the query inputs its events go to. */
  private readonly inputsBySource = new Map<string, string[]>();
  /** Events taken since the counter was last told: it is told once per step, not per event. */
  private uncounted = 0;

  constructor(readonly spec: JobSpec, private readonly deps: JobDeps) {
    for (const [input, binding] of spec.inputs) {
      const source = binding.kind === 'log' ? LOG_SOURCE : binding.output;
      const inputs = this.inputsBySource.get(source);
      if (inputs) inputs.push(input);
      else this.inputsBySource.set(source, [input]);
    }
  }

  get name(): string {
    return this.spec.name;
  }

  /**
   * Starts from the checkpoint (or the start position); stays stopped if it was stopped on purpose
   * unless `force`. Resolves once the job is under way: waiting for its reference data happens in
   * the background (state `waiting-for-reference-data`), so one slow source holds up nothing else.
   */
  async start(force = false): Promise<void> {
    if (this.running) return;
    let saved: Checkpoint | undefined;
    try {
      saved = (await this.deps.store.checkpoint(this.name)) as Checkpoint | undefined;
    } catch (err) {
      this.fail(err);
      return;
    }
    if (saved?.stopped && !force) {
      this.restore(saved);
      this.state = 'stopped';
      return;
    }
    await this.run(async () => {
      const from = this.spec.startFrom;
      if (from.kind === 'checkpoint') await this.open(saved, saved ? undefined : { kind: 'earliest' });
      else await this.restartFrom(from);
      // Started again on purpose: a crash before the next checkpoint must not find it stopped.
      if (saved?.stopped && !this.stopRequested) await this.commit(false);
    });
  }

  /** Finishes the step under way, commits, and stops; `remember` keeps it stopped across restarts. */
  async stop(remember = true): Promise<void> {
    this.stopRequested = true;
    this.stopNow();
    this.idle.wakeUp();
    if (this.running) await this.running;
    this.running = null;
    if (remember && this.sources.log) await this.commit(true);
    this.state = 'stopped';
  }

  /** Recomputes from `from`: the rows written for that range are removed, and written again as the job runs over it. */
  async replay(from: StartPosition): Promise<void> {
    await this.stop(false);
    await this.run(() => this.restartFrom(from));
  }

  /**
   * Opens the job (retrying a failure after a pause), then runs it until stopped. Resolves when it
   * is running, waiting for its reference data, or has failed to open (and will retry).
   */
  private run(opening: () => Promise<void>): Promise<void> {
    this.state = 'starting';
    this.stopRequested = false;
    this.lastError = null;
    this.stopping = new Promise((resolve) => { this.stopNow = resolve; });
    const opened = new Promise<void>((resolve) => { this.opened = resolve; });
    this.running = (async () => {
      for (;;) {
        try {
          await opening();
          break;
        } catch (err) {
          this.fail(err);
          this.opened();
          await this.sleep(FAILED_RETRY_MS);
          if (this.stopRequested) return;
        }
      }
      this.opened();
      if (!this.stopRequested) await this.loop();
    })();
    return opened;
  }

  private async restartFrom(from: StartPosition): Promise<void> {
    const fromMs = await this.timeOf(from);
    await this.deps.store.reset(this.name, fromMs);
    await this.deps.forget(this.name, fromMs);
    await this.open(undefined, from);
  }

  status(lag: number): JobStatus {
    const late = this.spec.policy.lateArrivalToleranceMs ?? 5_000;
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    const statuses = this.deps.references.status();
    return {
      name: this.name,
      state: this.state,
      tenants: this.spec.tenants,
      clock: iso(this.clockMs),
      watermark: this.clockMs === null || late < 0 ? null : iso(this.clockMs - late),
      inputLag: lag,
      eventsIn: this.stats.eventsIn,
      rowsOut: this.stats.rowsOut,
      deadLetters: this.stats.deadLetters,
      skipped: this.sources.log?.skipped ?? 0,
      diagnostics: { ...this.diagnostics },
      lastCheckpoint: iso(this.lastCheckpointAt),
      lastError: this.lastError && { message: this.lastError.message, at: new Date(this.lastError.at).toISOString() },
      references: [...this.spec.references.values()].map((name) => {
        const s = statuses.find((r) => r.name.toLowerCase() === name.toLowerCase());
        return { name, validFrom: s?.validFrom ?? null, rows: s?.rows ?? 0, error: s?.error?.message ?? null };
      }),
    };
  }

  /** The id of the last row taken from a chained stream, when this job reads it and runs. */
  streamPosition(output: string): number | undefined {
    return this.sources.streams.get(output)?.position;
  }

  /** Messages and rows not yet read by this job. */
  async lag(): Promise<number> {
    let n = this.sources.log ? await this.sources.log.lag() : 0;
    for (const s of this.sources.streams.values()) n += await s.lag();
    return n;
  }

  get currentState(): JobState {
    return this.state;
  }

  // --- opening ------------------------------------------------------------------------------

  /** Opens the inputs at the checkpoint, or at `from` without one, and waits for the reference data. */
  private async open(saved: Checkpoint | undefined, from?: StartPosition): Promise<void> {
    this.runners.clear();
    this.ordinals.clear();
    this.pendingRows = [];
    this.clockMs = null;
    this.dirty = false;
    if (!saved) {
      this.stats = { eventsIn: 0, rowsOut: 0, deadLetters: 0 };
      this.diagnostics = {};
    }
    const positions = saved ? [...saved.log] : await this.positionsAt(from ?? { kind: 'earliest' });
    this.sources = { log: null, streams: new Map() };
    const bindings = [...this.spec.inputs.values()];
    if (bindings.some((b) => b.kind === 'log')) this.sources.log = new LogSource(this.deps.log, positions, this.spec.query.eventFields);
    for (const b of bindings) {
      if (b.kind === 'stream' && !this.sources.streams.has(b.output)) {
        const after = saved?.streams[b.output] ?? (from?.kind === 'latest' ? await this.lastRowId(b.output) : 0);
        this.sources.streams.set(b.output, new StreamSource(this.deps.store, b.output, after));
      }
    }
    this.ordered = [...(this.sources.log ? [this.sources.log] : []), ...this.sources.streams.values()];
    if (saved) this.restore(saved);
    const needed = [...this.spec.references.values()];
    if (!this.deps.references.isReady(needed)) {
      this.state = 'waiting-for-reference-data';
      this.opened();
      await Promise.race([this.deps.references.whenReady(needed), this.stopping]);
      if (this.stopRequested) return;
    }
    this.state = 'running';
    this.lastCommitAt = Date.now();
  }

  private restore(saved: Checkpoint): void {
    this.runners.clear();
    for (const [tenant, state] of Object.entries(saved.runners)) this.runnerFor(tenant).restore(state);
    this.ordinals = new Map(Object.entries(saved.ordinals).map(([k, v]) => [k, new Map(Object.entries(v).map(([ts, n]) => [Number(ts), n]))]));
    this.clockMs = saved.clockMs;
    this.stats = { ...saved.stats };
    this.diagnostics = { ...saved.diagnostics };
  }

  private async positionsAt(from: StartPosition): Promise<number[]> {
    const infos = await this.deps.log.partitions();
    switch (from.kind) {
      case 'earliest':
        return infos.map((p) => p.beginningSequenceNumber);
      case 'latest':
        return infos.map((p) => p.lastEnqueuedSequenceNumber + 1);
      case 'sequence':
        return infos.map((p, i) => Math.max(p.beginningSequenceNumber, from.partitions[i] ?? p.beginningSequenceNumber));
      case 'time':
        return Promise.all(infos.map(async (_, p) => (await this.deps.log.read(p, { kind: 'time', time: from.time }, 1)).messages[0]?.sequenceNumber ?? infos[p]!.lastEnqueuedSequenceNumber + 1));
    }
  }

  /** The time a replay starts at: rows stamped from then on are recomputed. */
  private async timeOf(from: StartPosition): Promise<number | null> {
    switch (from.kind) {
      case 'earliest':
        return null;
      case 'latest':
        return this.deps.log.horizon();
      case 'time':
        return from.time.getTime();
      case 'sequence': {
        let min = Infinity;
        for (let p = 0; p < from.partitions.length; p++) {
          const m = (await this.deps.log.read(p, { kind: 'sequence', sequenceNumber: from.partitions[p]! }, 1)).messages[0];
          if (m) min = Math.min(min, m.enqueuedTimeUtc.getTime());
        }
        return Number.isFinite(min) ? min : this.deps.log.horizon();
      }
    }
  }

  private async lastRowId(output: string): Promise<number> {
    const rows = await this.deps.store.latestRows(output, { limit: 1 });
    return rows[0]?.id ?? 0;
  }

  // --- running ------------------------------------------------------------------------------

  private async loop(): Promise<void> {
    this.unsubscribe = this.sources.log ? this.sources.log.onData(() => this.idle.wakeUp()) : null;
    try {
      while (!this.stopRequested) {
        let caughtUp: boolean;
        try {
          caughtUp = await this.step();
          if (this.lastError && this.state === 'running') this.lastError = null;
        } catch (err) {
          // A failed commit or read: nothing after the last checkpoint is kept, so start over from it.
          this.fail(err);
          await this.sleep(FAILED_RETRY_MS);
          if (this.stopRequested) break;
          try {
            await this.open((await this.deps.store.checkpoint(this.name)) as Checkpoint | undefined);
          } catch (reopenErr) {
            this.fail(reopenErr);
          }
          continue;
        }
        if (caughtUp) await this.sleep(IDLE_TICK_MS);
        else await new Promise((resolve) => setImmediate(resolve));
      }
      await this.commit(false);
    } finally {
      this.unsubscribe?.();
      this.unsubscribe = null;
    }
  }

  private sleep(ms: number): Promise<void> {
    return this.idle.sleep(ms);
  }

  /** Takes what the inputs hold below their horizon; returns true when caught up with it. */
  private async step(): Promise<boolean> {
    const horizon = await this.horizon();
    for (const s of this.ordered) await s.fill(horizon, STEP_EVENTS);
    let taken = 0;
    while (taken < STEP_EVENTS) {
      const e = takeNext(this.ordered);
      if (e === undefined) break;
      taken++;
      this.process(e);
    }
    if (this.uncounted > 0) {
      this.deps.metrics.eventsIn(this.name, this.uncounted);
      this.uncounted = 0;
    }
    const caughtUp = this.ordered.every((s) => s.exhausted && s.peek() === undefined);
    if (caughtUp && (this.clockMs === null || horizon > this.clockMs)) {
      // Every input has given everything before the horizon: the query's clock may move there.
      this.clockMs = horizon;
      for (const r of this.runners.values()) r.advanceTo(horizon);
      // A quiet job need not checkpoint its clock (a restart reaches the same state by advancing
      // again), unless jobs chained to it wait for that clock to move.
      if (this.spec.streamOutputs.length > 0) this.dirty = true;
    }
    const due = Date.now() - this.lastCommitAt >= this.spec.checkpointIntervalMs;
    if (this.pendingRows.length > 0 || (this.dirty && due)) await this.commit(false);
    return caughtUp;
  }

  /** The time below which every input is final. */
  private async horizon(): Promise<number> {
    let h = this.sources.log ? this.sources.log.horizon() : Infinity;
    for (const s of this.sources.streams.values()) h = Math.min(h, await s.horizon());
    return Number.isFinite(h) ? h : 0;
  }

  private process(e: JobEvent): void {
    this.stats.eventsIn++;
    this.uncounted++;
    this.dirty = true;
    if (e.row === null) {
      this.deadLetter(e, e.failure ?? 'unreadable event');
      return;
    }
    const runner = this.runnerFor(this.spec.tenants === 'shared' ? ALL_TENANTS : e.tenant);
    const inputs = this.inputsBySource.get(e.source);
    if (inputs !== undefined) {
      this.current = e;
      try {
        for (let i = 0; i < inputs.length; i++) runner.push(inputs[i]!, e.row, e.arrivalMs);
      } finally {
        this.current = null;
      }
    }
    if (this.clockMs === null || e.arrivalMs > this.clockMs) this.clockMs = e.arrivalMs;
  }

  private runnerFor(tenant: string): QueryRunner {
    let runner = this.runners.get(tenant);
    if (runner === undefined) {
      const references: Record<string, { rowsAt(timeMs: number): readonly Row[] }> = {};
      for (const [queryName, configured] of this.spec.references) {
        const versions = this.deps.references.get(configured);
        if (versions) references[queryName] = versions;
      }
      runner = this.spec.query.createRunner({
        references,
        policy: this.spec.policy,
        onRow: (output, row, timestamp) => this.emit(tenant, output, row, timestamp),
        onDiagnostic: (d) => this.diagnostic(d),
      });
      this.runners.set(tenant, runner);
    }
    return runner;
  }

  private emit(tenant: string, queryOutput: string, row: Row, timestampMs: number): void {
    const output = this.spec.outputs.get(queryOutput.toLowerCase()) ?? queryOutput;
    this.pendingRows.push({ output, job: this.name, tenant, timestampMs, n: this.ordinal(output, tenant, timestampMs), row: toJson(row) as Record<string, unknown> });
    this.stats.rowsOut++;
    // Rows are few beside events (a window's worth at a time): counted as they come.
    this.deps.metrics.rowsOut(this.name, output);
  }

  /** The row's place among rows of one output, tenant and timestamp: with the timestamp, its identity. */
  private ordinal(output: string, tenant: string, timestampMs: number): number {
    const key = `${output}\u0000${tenant}`;
    let counts = this.ordinals.get(key);
    if (counts === undefined) this.ordinals.set(key, (counts = new Map()));
    const n = counts.get(timestampMs) ?? 0;
    if (n === 0 && counts.size >= MAX_ORDINALS) counts.delete(counts.keys().next().value!);
    counts.set(timestampMs, n + 1);
    return n;
  }

  private diagnostic(d: EventDiagnostic): void {
    this.diagnostics[d.code] = (this.diagnostics[d.code] ?? 0) + 1;
    this.deps.metrics.diagnostic(this.name, d.code);
    // A timestamp that does not parse makes the event unusable: it is kept, with the reason.
    if (d.code === 'INVALID_TIMESTAMP' && this.current) this.deadLetter(this.current, d.message);
  }

  private deadLetter(e: JobEvent, reason: string): void {
    const output = this.spec.deadLetters;
    const tenant = e.tenant;
    this.pendingRows.push({ output, job: this.name, tenant, timestampMs: e.arrivalMs, n: this.ordinal(output, tenant, e.arrivalMs), row: { reason, ...e.deadLetter() } });
    this.stats.deadLetters++;
    this.deps.metrics.deadLetter(this.name);
  }

  /** Rows emitted since the last checkpoint and the state that follows them, in one transaction. */
  private async commit(stopped: boolean): Promise<void> {
    if (!this.sources.log && this.sources.streams.size === 0) return;
    const rows = this.pendingRows;
    const checkpoint: Checkpoint = {
      version: 1,
      log: this.sources.log?.positions() ?? [],
      streams: Object.fromEntries([...this.sources.streams].map(([name, s]) => [name, s.position])),
      runners: Object.fromEntries([...this.runners].map(([tenant, r]) => [tenant, r.snapshot()])),
      ordinals: Object.fromEntries([...this.ordinals].map(([k, counts]) => [k, Object.fromEntries(counts)])),
      clockMs: this.clockMs,
      stats: { ...this.stats },
      diagnostics: { ...this.diagnostics },
      stopped,
    };
    const started = performance.now();
    const stored = await this.deps.store.commit(this.name, checkpoint, rows, this.clockMs ?? 0, this.spec.streamOutputs);
    // Only now: a failed commit leaves the rows pending, and the loop restarts from the last checkpoint.
    this.pendingRows = [];
    this.dirty = false;
    this.lastCommitAt = Date.now();
    this.lastCheckpointAt = this.lastCommitAt;
    this.deps.metrics.checkpoint(this.name, (performance.now() - started) / 1000);
    if (stored.length > 0) this.deps.publish(stored);
  }

  private fail(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.state = 'failed';
    this.lastError = { message, at: Date.now() };
    this.pendingRows = [];
    this.deps.metrics.failure(this.name);
    this.deps.logger.error('job failed; it restarts from its last checkpoint', { job: this.name, err });
  }
}
