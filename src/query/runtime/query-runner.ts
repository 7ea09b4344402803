// Runs a compiled query over events pushed to it. Time is only what it is told: each event's
// arrival time, `advanceTo` for idle inputs, `end` to close everything. The same pushes always
// produce the same rows, wherever `advanceTo` calls fall (see there), and the whole state can
// be checkpointed and restored.
import { QueryError, type EventDiagnostic } from '../model/errors.js';
import { buildPipeline, type Pipeline } from './build-pipeline.js';
import type { InputSource } from '../operators/input-source.js';
import type { ReferenceData } from '../operators/reference-join.js';
import { defaultEventOrderingPolicy, type EventOrderingPolicy } from '../dataflow/event-ordering.js';
import { decodeState, encodeState, type EncodedState } from '../dataflow/state-codec.js';
import type { QueryPlan } from '../semantic/plan.js';
import type { EpochMs } from '../model/time.js';
import { isRecord, type Row } from '../model/values.js';

export interface RunnerOptions {
  /**
   * Reference data by reference input name: a snapshot, or versions over time (a live job's
   * catalogue), from which each event joins the rows valid at its timestamp.
   */
  readonly references?: Readonly<Record<string, ReferenceData>>;
  /** Event ordering; unset fields take the cloud service's defaults. */
  readonly policy?: Partial<EventOrderingPolicy>;
  /** Each output row, in emission order, with its System.Timestamp(). */
  readonly onRow: (output: string, row: Row, timestamp: EpochMs) => void;
  /** Problems with single events; they never stop the query. */
  readonly onDiagnostic?: (diagnostic: EventDiagnostic) => void;
}

/** A runner's state as JSON-safe data, for a checkpoint. */
export interface QueryCheckpoint {
  readonly version: 1;
  /** Identifies the query the state belongs to. */
  readonly fingerprint: string;
  readonly operators: readonly EncodedState[];
}

export class QueryRunner {
  private readonly pipeline: Pipeline;
  private ended = false;
  /** The sources of the input pushed last: consecutive events usually share their input. */
  private lastInput: string | null = null;
  private lastSources: readonly InputSource[] | undefined;

  constructor(plan: QueryPlan, private readonly fingerprint: string, options: RunnerOptions) {
    const references = new Map<string, ReferenceData>();
    for (const [name, rows] of Object.entries(options.references ?? {})) references.set(name.toLowerCase(), rows);
    const report = options.onDiagnostic ?? (() => {});
    this.pipeline = buildPipeline({
      plan,
      references,
      policy: { ...defaultEventOrderingPolicy, ...options.policy },
      report,
      emit: options.onRow,
    });
  }

  /** The input names events can be pushed to. */
  get inputs(): string[] {
    return [...this.pipeline.inputs.keys()];
  }

  /**
   * One event of an input. `arrivalTimeMs` is when it arrived (the enqueued time); leave it out
   * and the event counts as arriving in order, on time.
   */
  push(input: string, event: Row, arrivalTimeMs?: EpochMs): void {
    let sources = input === this.lastInput ? this.lastSources : undefined;
    if (!sources) {
      sources = this.pipeline.inputs.get(input.toLowerCase());
      if (!sources) throw new QueryError('UNKNOWN_RUNNER_INPUT', `the query does not read an input named ${input}`);
      this.lastInput = input;
      this.lastSources = sources;
    }
    // A plain object (a decoded JSON object) is a record; anything else is checked in full.
    const plain = typeof event === 'object' && event !== null && Object.getPrototypeOf(event) === Object.prototype;
    if (!plain && !isRecord(event)) throw new QueryError('INVALID_EVENT', `an event of ${input} must be a JSON object`);
    for (let i = 0; i < sources.length; i++) sources[i]!.receive(event, arrivalTimeMs);
  }

  /**
   * Arrival time has reached `arrivalTimeMs` on every input, events or not: no event pushed after
   * this call arrives earlier. Watermarks move on (arrival time − late-arrival tolerance, or
   * arrival time itself without TIMESTAMP BY), so windows of quiet inputs close without waiting
   * for their next event.
   *
   * What callers may rely on: advanceTo changes when rows are emitted, never which rows nor their
   * order within a timestamp. Push the same events in the same order, each with its arrival time;
   * call advanceTo never or often, between any two pushes, each time with a time no later than
   * the arrival of the next event pushed (any time after the last); snapshot and restore into a
   * new runner anywhere in between. After `end()`, every output has the same rows, and the rows
   * of an output sharing a System.Timestamp() come in the same order, as for the pushes alone
   * (test/query/determinism.test.ts holds the engine to it). So a job may identify a row by
   * (output, timestamp, place among the output's rows at that timestamp) across restarts.
   *
   * A time no later than an input's latest arrival (or advanceTo) changes nothing for that input:
   * a repeated or stale call is ignored. A time later than an event pushed afterwards breaks the
   * promise: watermarks have then passed what that event's own arrival allows, so it may be
   * adjusted or dropped as late or out of order. The promise also needs every event's arrival
   * time: one pushed without counts as arriving no earlier than the latest time its input was
   * told, so an advanceTo before it changes its time.
   */
  advanceTo(arrivalTimeMs: EpochMs): void {
    for (const sources of this.pipeline.inputs.values()) for (const s of sources) s.advanceArrival(arrivalTimeMs);
  }

  /** No more events: every pending window closes and is emitted. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const sources of this.pipeline.inputs.values()) for (const s of sources) s.finish();
  }

  snapshot(): QueryCheckpoint {
    return { version: 1, fingerprint: this.fingerprint, operators: this.pipeline.stateful.map((op) => encodeState(op.snapshot())) };
  }

  restore(checkpoint: QueryCheckpoint): void {
    if (checkpoint.version !== 1 || checkpoint.fingerprint !== this.fingerprint || checkpoint.operators.length !== this.pipeline.stateful.length) {
      throw new QueryError('INVALID_STATE', 'the checkpoint was taken from a different query');
    }
    this.pipeline.stateful.forEach((op, i) => op.restore(decodeState(checkpoint.operators[i])));
  }
}
