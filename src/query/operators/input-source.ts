// Where events enter a statement: stamps each with its event time (TIMESTAMP BY, or arrival
// time), applies the event-ordering policy, and keeps the watermark of each substream.
//
// The watermark of a substream is max(latest event time − out-of-order tolerance,
// latest arrival time − late-arrival tolerance). Events are held until the watermark reaches
// them and released in time order, so every operator downstream sees time-ordered frames; an
// event behind the watermark is adjusted to it or dropped.
import { keepsFrames, type DiagnosticSink, type Evaluator, type Frame, type FrameSink, type StatefulOperator } from '../dataflow/frame.js';
import { earlyArrivalLimitMs, type EventOrderingPolicy } from '../dataflow/event-ordering.js';
import { MinHeap } from '../dataflow/min-heap.js';
import type { EpochMs } from '../model/time.js';
import { compositeKeyOf, toEpochMs, type Row, type Value } from '../model/values.js';

export interface InputSourceConfig {
  /** TIMESTAMP BY; null stamps events with their arrival time. */
  readonly timestampBy: Evaluator | null;
  /** TIMESTAMP BY … OVER keys; null when the input has one clock. */
  readonly substreamKeys: readonly Evaluator[] | null;
  readonly policy: EventOrderingPolicy;
  /** CREATE TABLE conversion; null drops the event. */
  readonly conform: ((row: Row) => Row | null) | null;
  readonly report: DiagnosticSink;
  /** How many sources (FROM, JOINs, APPLYs) the reading statement has. */
  readonly slotCount: number;
}

interface Pending {
  readonly ts: EpochMs;
  readonly seq: number;
  readonly row: Row;
}

interface Substream {
  maxEventTime: EpochMs;
  watermark: EpochMs;
  pending: MinHeap<Pending>;
}

const pendingBefore = (a: Pending, b: Pending): boolean => a.ts < b.ts || (a.ts === b.ts && a.seq < b.seq);

export class InputSource implements StatefulOperator {
  private arrivalClock = -Infinity;
  private arrivals = 0;
  private globalWatermark = -Infinity;
  private seq = 0;
  private substreams = new Map<string, Substream>();
  /** Substreams holding events, so a rising global watermark visits only those. */
  private waiting = new Set<string>();
  /** The one substream of an input without TIMESTAMP BY … OVER, once it exists. */
  private single: Substream | null = null;
  private readonly scratch: { ts: number; slots: (Row | null)[]; slotTimes: null; analytics: null; aggregates: null; substream: string } =
    { ts: 0, slots: [null], slotTimes: null, analytics: null, aggregates: null, substream: '' };

  /** The frame pushed for every event when nothing downstream keeps frames; null otherwise. */
  private readonly reused: { ts: number; slots: (Row | null)[]; slotTimes: null; analytics: null; aggregates: null; substream: string } | null;

  constructor(private readonly config: InputSourceConfig, private readonly downstream: FrameSink) {
    this.reused = keepsFrames(downstream)
      ? null
      : { ts: 0, slots: new Array<Row | null>(config.slotCount).fill(null), slotTimes: null, analytics: null, aggregates: null, substream: '' };
  }

  /** One event; `arrival` is its arrival time, or undefined to take it as arriving on time, in order. */
  receive(event: Row, arrival: EpochMs | undefined): void {
    const { config } = this;
    const row = config.conform ? config.conform(event) : event;
    if (row === null) return;
    const ordinal = this.arrivals++;
    // `arrival ?? x` merges undefined with a number, and V8 boxes the result: a heap number per
    // event. Tested once, with `+` marking `at` as a number, every time below stays unboxed.
    const known = arrival !== undefined;
    const at = known ? +arrival : 0;
    if (!config.timestampBy) {
      const ts = Math.max(this.arrivalClock, known ? at : ordinal);
      this.arrivalClock = ts;
      this.downstream.push(this.frame(ts, row, ''));
      if (ts > this.globalWatermark) {
        this.globalWatermark = ts;
        this.downstream.advance(ts, null);
      }
      return;
    }

    const scratch = this.scratch;
    scratch.ts = known ? at : this.arrivalClock;
    scratch.slots[0] = row;
    const stamped = toEpochMs(config.timestampBy(scratch as Frame));
    if (stamped === null || !Number.isFinite(stamped)) {
      config.report({ code: 'INVALID_TIMESTAMP', message: 'TIMESTAMP BY gave no datetime; the event is dropped' });
      return;
    }
    let ts = stamped;
    const arrivedAt = known ? at : Math.max(this.arrivalClock, ts);
    this.arrivalClock = Math.max(this.arrivalClock, arrivedAt);
    const { lateArrivalToleranceMs: late, outOfOrderToleranceMs: outOfOrder, outOfOrderAction: action } = config.policy;

    if (ts - arrivedAt > earlyArrivalLimitMs) {
      config.report({ code: 'EARLY_EVENT_DROPPED', message: 'event time is more than 5 minutes ahead of its arrival; the event is dropped' });
      return;
    }
    if (late >= 0 && arrivedAt - ts > late) {
      if (action === 'drop') {
        config.report({ code: 'LATE_EVENT_DROPPED', message: 'event arrived later than the late-arrival tolerance; the event is dropped' });
        return;
      }
      ts = arrivedAt - late;
    }
    const substream = config.substreamKeys ? substreamOf(config.substreamKeys.map((k) => k(scratch as Frame))) : '';
    const s = config.substreamKeys ? this.substreamOf(substream) : (this.single ??= this.substreamOf(''));
    const globalWatermark = late >= 0 ? this.arrivalClock - late : -Infinity;
    const watermark = Math.max(s.maxEventTime - outOfOrder, globalWatermark);
    if (ts < watermark) {
      if (action === 'drop') {
        config.report({ code: 'OUT_OF_ORDER_EVENT_DROPPED', message: 'event is behind the watermark by more than the out-of-order tolerance; the event is dropped' });
        return;
      }
      ts = watermark;
    }
    // With keyed clocks, arrival time moves every substream before this event moves its own: what
    // an advanceTo(arrival) just before it would have done, so it makes no difference whether one did.
    if (config.substreamKeys) this.raiseGlobalWatermark(globalWatermark);
    if (ts > s.maxEventTime) s.maxEventTime = ts;
    const released = Math.max(s.maxEventTime - outOfOrder, globalWatermark);
    if (s.pending.size === 0 && ts <= released) {
      // In order and within the watermark: no need to hold it.
      this.downstream.push(this.frame(ts, row, config.substreamKeys ? substream : ''));
    } else {
      s.pending.push({ ts, seq: this.seq++, row });
      this.waiting.add(substream);
    }
    if (s.pending.size > 0 || released > s.watermark) this.release(substream, s, released);
    // With one clock, that release already covered the arrival-time part of the watermark.
    if (!config.substreamKeys && globalWatermark > this.globalWatermark) this.globalWatermark = globalWatermark;
  }

  /** The input has been idle up to `arrival`: its watermark moves to arrival − late tolerance. */
  advanceArrival(arrival: EpochMs): void {
    if (!(arrival > this.arrivalClock)) return;
    this.arrivalClock = arrival;
    if (!this.config.timestampBy) {
      this.globalWatermark = arrival;
      this.downstream.advance(arrival, null);
      return;
    }
    const late = this.config.policy.lateArrivalToleranceMs;
    if (late >= 0) this.raiseGlobalWatermark(arrival - late);
  }

  /** End of input: everything held is released and every window may close. */
  finish(): void {
    if (this.config.substreamKeys) this.releaseMerged(Infinity);
    else for (const [key, s] of this.substreams) this.release(key, s, Infinity);
    if (this.globalWatermark < Infinity) {
      this.globalWatermark = Infinity;
      this.downstream.advance(Infinity, null);
    }
  }

  /** A frame with a slot for every source of the statement, so joins fill slots without regrowing. */
  private frame(ts: EpochMs, row: Row, substream: string): Frame {
    const reused = this.reused;
    if (reused !== null) {
      // Operators fill in the slots of the sources they join: reset them all.
      const slots = reused.slots;
      slots[0] = row;
      for (let i = 1; i < slots.length; i++) slots[i] = null;
      reused.ts = ts;
      reused.substream = substream;
      return reused;
    }
    const slots: (Row | null)[] = [row];
    for (let i = 1; i < this.config.slotCount; i++) slots.push(null);
    return { ts, slots, slotTimes: null, analytics: null, aggregates: null, substream };
  }

  private raiseGlobalWatermark(watermark: EpochMs): void {
    if (!(watermark > this.globalWatermark)) return;
    this.globalWatermark = watermark;
    const outOfOrder = this.config.policy.outOfOrderToleranceMs;
    if (!this.config.substreamKeys) {
      const s = this.substreamOf('');
      this.release('', s, Math.max(s.maxEventTime - outOfOrder, watermark));
      return;
    }
    this.releaseMerged(watermark);
    this.downstream.advance(watermark, null);
  }

  /**
   * Releases the events of every substream up to `watermark` (their own clocks released theirs
   * when they arrived) as one sequence in (time, arrival) order, so that it does not matter
   * whether arrival time reached `watermark` in one step or in several.
   */
  private releaseMerged(watermark: EpochMs): void {
    const ready: { key: string; s: Substream }[] = [];
    for (const key of this.waiting) {
      const s = this.substreams.get(key)!;
      if (s.pending.peek()!.ts <= watermark) ready.push({ key, s });
    }
    if (ready.length === 0) return;
    // The substreams by their earliest held event: a k-way merge of their heaps.
    const heads = MinHeap.create<{ key: string; s: Substream }>((a, b) => pendingBefore(a.s.pending.peek()!, b.s.pending.peek()!));
    for (const r of ready) heads.push(r);
    while (heads.size > 0) {
      const head = heads.pop()!;
      const p = head.s.pending.pop()!;
      this.downstream.push(this.frame(p.ts, p.row, head.key));
      if (head.s.pending.size > 0 && head.s.pending.peek()!.ts <= watermark) heads.push(head);
    }
    for (const { key, s } of ready) if (s.pending.size === 0) this.waiting.delete(key);
  }

  private substreamOf(key: string): Substream {
    let s = this.substreams.get(key);
    if (!s) {
      s = { maxEventTime: -Infinity, watermark: -Infinity, pending: MinHeap.create(pendingBefore) };
      this.substreams.set(key, s);
    }
    return s;
  }

  private release(key: string, s: Substream, watermark: EpochMs): void {
    const keyed = this.config.substreamKeys !== null;
    while (s.pending.size > 0 && s.pending.peek()!.ts <= watermark) {
      const p = s.pending.pop()!;
      this.downstream.push(this.frame(p.ts, p.row, keyed ? key : ''));
    }
    if (s.pending.size === 0 && this.waiting.size > 0) this.waiting.delete(key);
    if (watermark > s.watermark) {
      s.watermark = watermark;
      this.downstream.advance(watermark, keyed ? key : null);
    }
  }

  snapshot(): unknown {
    return {
      arrivalClock: this.arrivalClock,
      arrivals: this.arrivals,
      globalWatermark: this.globalWatermark,
      seq: this.seq,
      substreams: new Map([...this.substreams].map(([k, s]) => [k, { maxEventTime: s.maxEventTime, watermark: s.watermark, pending: s.pending.toArray() }])),
    };
  }

  restore(state: unknown): void {
    const s = state as { arrivalClock: number; arrivals: number; globalWatermark: number; seq: number; substreams: Map<string, { maxEventTime: number; watermark: number; pending: Pending[] }> };
    this.arrivalClock = s.arrivalClock;
    this.arrivals = s.arrivals;
    this.globalWatermark = s.globalWatermark;
    this.seq = s.seq;
    this.substreams = new Map();
    this.single = null;
    this.waiting = new Set();
    for (const [k, v] of s.substreams) {
      this.substreams.set(k, { maxEventTime: v.maxEventTime, watermark: v.watermark, pending: MinHeap.from(v.pending, pendingBefore) });
      if (v.pending.length > 0) this.waiting.add(k);
    }
  }
}

/** A substream's name from its OVER values; types stay apart (1 and '1' are two substreams). */
function substreamOf(values: Value[]): string {
  const key = compositeKeyOf(values);
  return typeof key === 'string' ? key : `\u0000${typeof key}:${String(key)}`;
}
