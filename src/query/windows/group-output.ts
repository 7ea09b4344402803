// Turns a closed window's group into an output row: aggregates resolved, HAVING applied, the
// SELECT list projected, the row stamped with the window end. A group keeps its key values and
// aggregate states only — not its events — unless analytic results must be projected too.
import { frameOf, type Frame, type FrameSink } from '../runtime/frame.js';
import type { Aggregator } from '../functions/aggregate-functions.js';
import type { Evaluator } from '../expressions/compile-expression.js';
import type { Projection } from '../operators/projection.js';
import type { EpochMs } from '../time.js';
import type { Row, Value } from '../values.js';

export interface Group {
  /**
   * The aggregate states, then the GROUP BY (and session partition) values: one array, laid out
   * like the aggregate slots the SELECT list reads when the group is emitted.
   */
  readonly slots: unknown[];
  /** The group's first event, kept only when the SELECT list needs more than keys and aggregates. */
  readonly representative: Frame | null;
}

interface EmissionFrame {
  ts: EpochMs;
  slots: readonly (Row | null)[];
  slotTimes: null;
  analytics: Value[] | null;
  aggregates: Value[];
  substream: string;
}

const noSlots: readonly null[] = [];

export class GroupOutput {
  /** Reused for every emission: HAVING and the SELECT list only read it while a row is built. */
  private readonly scratch: EmissionFrame;

  constructor(
    readonly aggregators: readonly Aggregator[],
    private readonly keys: readonly Evaluator[],
    private readonly keepRepresentative: boolean,
    private readonly having: ((f: Frame) => boolean) | null,
    private readonly project: Projection,
    readonly downstream: FrameSink,
  ) {
    this.scratch = { ts: 0, slots: noSlots, slotTimes: null, analytics: null, aggregates: new Array<Value>(aggregators.length + keys.length), substream: '' };
  }

  newGroup(first: Frame): Group {
    const { keys, aggregators } = this;
    const n = aggregators.length;
    const slots = new Array<unknown>(n + keys.length);
    for (let i = 0; i < n; i++) slots[i] = aggregators[i]!.init();
    for (let i = 0; i < keys.length; i++) slots[n + i] = keys[i]!(first);
    return { slots, representative: this.keepRepresentative ? first : null };
  }

  add(group: Group, frame: Frame): void {
    const { aggregators } = this;
    const slots = group.slots;
    for (let i = 0; i < aggregators.length; i++) slots[i] = aggregators[i]!.add(slots[i], frame);
  }

  emit(end: EpochMs, group: Group, substream: string): void {
    const { aggregators, scratch } = this;
    const values = scratch.aggregates;
    const n = aggregators.length;
    for (let i = 0; i < n; i++) values[i] = aggregators[i]!.result(group.slots[i]);
    for (let i = n; i < values.length; i++) values[i] = group.slots[i] as Value;
    const rep = group.representative;
    scratch.ts = end;
    scratch.slots = rep ? rep.slots : noSlots;
    scratch.analytics = rep ? rep.analytics : null;
    scratch.substream = substream;
    if (this.having && !this.having(scratch)) return;
    this.downstream.push(frameOf(end, this.project(scratch), substream));
  }
}
