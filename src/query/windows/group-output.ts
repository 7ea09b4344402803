// Turns a closed window's group into an output row: aggregates resolved, HAVING applied, the
// SELECT list projected, the row stamped with the window end. A group keeps its key values and
// aggregate states only — not its events — unless analytic results must be projected too.
import { frameOf, keepsFrames, type Evaluator, type Frame, type FrameSink } from '../dataflow/frame.js';
import type { Aggregator } from '../functions/aggregate-functions.js';
import type { Projection } from '../operators/projection.js';
import type { EpochMs } from '../model/time.js';
import type { Row, Value } from '../model/values.js';

/**
 * A group, as one array (one allocation, plain data for checkpoints): the aggregate states, then
 * the GROUP BY (and session partition) values — laid out like the aggregate slots the SELECT list
 * reads when the group is emitted — then, only when the SELECT list needs more than keys and
 * aggregates, the group's first frame.
 */
export type Group = unknown[];

interface EmissionFrame {
  ts: EpochMs;
  slots: readonly (Row | null)[];
  slotTimes: null;
  analytics: Value[] | null;
  aggregates: Value[];
  substream: string;
}

type Add = (slots: unknown[], frame: Frame) => void;

const noSlots: readonly null[] = [];

export class GroupOutput {
  /** Reused for every emission: HAVING and the SELECT list only read it while a row is built. */
  private readonly scratch: EmissionFrame;
  /** The frame rows are sent in, reused when nothing downstream keeps frames; null otherwise. */
  private readonly rowFrame: { ts: EpochMs; slots: Row[]; slotTimes: null; analytics: null; aggregates: null; substream: string } | null;
  /** Every aggregator's `add`, chosen once for the number of aggregates. */
  readonly add: Add;
  /**
   * Takes a frame back out of a group, when every aggregate can (JavaScript aggregates with
   * this.deaccumulate) and the group keeps no first frame; null otherwise.
   */
  readonly remove: Add | null;

  constructor(
    readonly aggregators: readonly Aggregator[],
    private readonly keys: readonly Evaluator[],
    /** Whether a group keeps its first frame (the operator then keeps frames pushed to it). */
    readonly keepRepresentative: boolean,
    private readonly having: ((f: Frame) => boolean) | null,
    private readonly project: Projection,
    readonly downstream: FrameSink,
  ) {
    this.scratch = { ts: 0, slots: noSlots, slotTimes: null, analytics: null, aggregates: new Array<Value>(aggregators.length + keys.length), substream: '' };
    this.rowFrame = keepsFrames(downstream) ? null : { ts: 0, slots: [{}], slotTimes: null, analytics: null, aggregates: null, substream: '' };
    this.add = adderOf(aggregators);
    const removes = aggregators.map((a) => a.remove);
    this.remove = !keepRepresentative && removes.length > 0 && removes.every((r) => r !== undefined)
      ? (s, f) => { for (let i = 0; i < removes.length; i++) s[i] = removes[i]!(s[i], f); }
      : null;
  }

  newGroup(first: Frame): Group {
    const { keys, aggregators } = this;
    const n = aggregators.length;
    const group = new Array<unknown>(n + keys.length + (this.keepRepresentative ? 1 : 0));
    for (let i = 0; i < n; i++) group[i] = aggregators[i]!.init();
    for (let i = 0; i < keys.length; i++) group[n + i] = keys[i]!(first);
    if (this.keepRepresentative) group[n + keys.length] = first;
    return group;
  }

  emit(end: EpochMs, group: Group, substream: string): void {
    const { aggregators, scratch } = this;
    const values = scratch.aggregates;
    const n = aggregators.length;
    for (let i = 0; i < n; i++) values[i] = aggregators[i]!.result(group[i]);
    for (let i = n; i < values.length; i++) values[i] = group[i] as Value;
    const rep = this.keepRepresentative ? (group[values.length] as Frame) : null;
    scratch.ts = end;
    scratch.slots = rep ? rep.slots : noSlots;
    scratch.analytics = rep ? rep.analytics : null;
    scratch.substream = substream;
    if (this.having && !this.having(scratch)) return;
    const row = this.project(scratch);
    const reused = this.rowFrame;
    if (reused === null) {
      this.downstream.push(frameOf(end, row, substream));
      return;
    }
    reused.ts = end;
    reused.slots[0] = row;
    reused.substream = substream;
    this.downstream.push(reused);
  }
}

/**
 * Adds a frame to a group's aggregate states: chosen once, unrolled for the usual one to three
 * aggregates, with COUNT(*) counted in place.
 */
function adderOf(aggregators: readonly Aggregator[]): Add {
  type Step = Aggregator['add'];
  const adds: Step[] = aggregators.map((a) => a.add);
  const counts = aggregators.map((a) => a.countsEvents === true);
  switch (adds.length) {
    case 0: return () => {};
    case 1: {
      const [a0] = adds as [Step];
      if (counts[0]) return (s) => { s[0] = (s[0] as number) + 1; };
      return (s, f) => { s[0] = a0(s[0], f); };
    }
    case 2: {
      const [a0, a1] = adds as [Step, Step];
      if (counts[0] && !counts[1]) return (s, f) => { s[0] = (s[0] as number) + 1; s[1] = a1(s[1], f); };
      if (counts[1] && !counts[0]) return (s, f) => { s[0] = a0(s[0], f); s[1] = (s[1] as number) + 1; };
      return (s, f) => { s[0] = a0(s[0], f); s[1] = a1(s[1], f); };
    }
    case 3: {
      const [a0, a1, a2] = adds as [Step, Step, Step];
      return (s, f) => { s[0] = a0(s[0], f); s[1] = a1(s[1], f); s[2] = a2(s[2], f); };
    }
    default:
      return (s, f) => { for (let i = 0; i < adds.length; i++) s[i] = adds[i]!(s[i], f); };
  }
}
