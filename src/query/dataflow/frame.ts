// What flows between operators: one event (or joined events, or a window's group) at one
// moment of event time. A frame pushed to an operator belongs to it: nothing upstream touches
// it again, so an operator may fill in the slot of the source it joins instead of copying.
import type { EventDiagnostic } from '../model/errors.js';
import type { EpochMs } from '../model/time.js';
import type { Row, Value } from '../model/values.js';

export interface Frame {
  /** System.Timestamp(): event time, adjusted by the ordering policy, or a window's end. */
  readonly ts: EpochMs;
  /** One record per source of the statement: FROM, each JOIN and each APPLY, in order. */
  readonly slots: readonly (Row | null)[];
  /** The event time of each slot, needed by DATEDIFF(unit, alias1, alias2) in a JOIN. */
  readonly slotTimes: readonly EpochMs[] | null;
  /** Results of LAG, LAST, ISFIRST and OVER aggregates, computed before WHERE and JOIN. */
  readonly analytics: Value[] | null;
  /** Results of the aggregates, while a group's row is projected. */
  readonly aggregates: readonly Value[] | null;
  /** The substream (TIMESTAMP BY … OVER key) the event belongs to; '' without OVER. */
  readonly substream: string;
}

/** A compiled expression: its value for a frame. */
export type Evaluator = (frame: Frame) => Value;

/**
 * What a column reference with one name reads: a field of one source's record. A number read
 * through an Evaluator comes back boxed (a heap number per call, when the record holds it as a
 * double); SUM and AVG read such a field themselves to add it unboxed.
 */
export interface FieldRead {
  readonly slot: number;
  readonly name: string;
}

const fieldReads = new WeakMap<Evaluator, FieldRead>();

/** Marks `evaluate` as reading `read` (it must give the field's value for a plain record). */
export function markFieldRead(evaluate: Evaluator, read: FieldRead): Evaluator {
  fieldReads.set(evaluate, read);
  return evaluate;
}

export function fieldReadOf(evaluate: Evaluator): FieldRead | undefined {
  return fieldReads.get(evaluate);
}

/** Where a statement's operators send their results. */
export interface FrameSink {
  push(frame: Frame): void;
  /**
   * No frame with a timestamp below `watermark` will follow, in `substream` or, when it is
   * null, in every substream. Operators finalise state whose end lies before it.
   */
  advance(watermark: EpochMs, substream: string | null): void;
  /**
   * False when neither this sink nor anything it forwards a frame to keeps a pushed frame (or its
   * `slots`) once `push` returns: the caller may then push one reused frame for every event.
   * Unset means it may keep them.
   */
  readonly keepsFrames?: boolean;
}

/** Whether frames pushed to `sink` may be kept after the push (see FrameSink.keepsFrames). */
export function keepsFrames(sink: FrameSink): boolean {
  return sink.keepsFrames !== false;
}

/** Operators that keep state between events expose it for checkpoints. */
export interface StatefulOperator {
  snapshot(): unknown;
  restore(state: unknown): void;
}

export type DiagnosticSink = (diagnostic: EventDiagnostic) => void;

export function frameOf(ts: EpochMs, row: Row, substream: string): Frame {
  return { ts, slots: [row], slotTimes: null, analytics: null, aggregates: null, substream };
}
