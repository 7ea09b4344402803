// LAG, LAST, ISFIRST and aggregates OVER (… LIMIT DURATION …). They are evaluated first, on every
// event of the statement's input in time order (ties in arrival order), before WHERE, JOIN and
// GROUP BY, so those clauses never hide an event from them.
import { keepsFrames, type Evaluator, type Frame, type FrameSink, type StatefulOperator } from '../dataflow/frame.js';
import type { DurationMs, EpochMs } from '../model/time.js';
import { alignUp } from '../model/time.js';
import { isTrue, type Value, type Key } from '../model/values.js';
import { groupKeyOf } from './group-key.js';
import type { Aggregator } from '../functions/aggregate-functions.js';

export type AnalyticFunction =
  | { readonly kind: 'lag'; readonly value: Evaluator; readonly offset: number; readonly fallback: Evaluator | null; readonly window: HistoryWindow }
  | { readonly kind: 'last'; readonly value: Evaluator; readonly fallback: Evaluator | null; readonly window: HistoryWindow }
  | { readonly kind: 'isfirst'; readonly interval: DurationMs; readonly partitionBy: readonly Evaluator[]; readonly when: Evaluator | null }
  | { readonly kind: 'aggregate'; readonly aggregator: Aggregator; readonly inputs: readonly Evaluator[]; readonly window: HistoryWindow };

/** Which earlier events an analytic function considers. */
export interface HistoryWindow {
  readonly partitionBy: readonly Evaluator[];
  readonly duration: DurationMs;
  /** Evaluated on each candidate event; only those satisfying it are remembered. */
  readonly when: Evaluator | null;
}

/** A remembered event: its time and the values the function needs of it. */
interface Remembered {
  readonly ts: EpochMs;
  readonly values: Value[];
}

type FunctionState = Map<Key, Remembered[]> | Map<Key, EpochMs>;

export class AnalyticOperator implements FrameSink, StatefulOperator {
  private states: FunctionState[];
  private longest: DurationMs;
  private sweptAt = -Infinity;
  /** The frame sent on shares the pushed frame's slots. */
  readonly keepsFrames: boolean;

  constructor(private readonly functions: readonly AnalyticFunction[], private readonly downstream: FrameSink) {
    this.keepsFrames = keepsFrames(downstream);
    this.states = functions.map(() => new Map());
    this.longest = Math.max(0, ...functions.map((f) => (f.kind === 'isfirst' ? f.interval : f.window.duration)));
  }

  push(frame: Frame): void {
    const results: Value[] = new Array(this.functions.length);
    for (let i = 0; i < this.functions.length; i++) results[i] = this.evaluate(this.functions[i]!, this.states[i]!, frame);
    this.downstream.push({ ...frame, analytics: results });
  }

  private evaluate(fn: AnalyticFunction, state: FunctionState, frame: Frame): Value {
    if (fn.kind === 'isfirst') {
      const intervals = state as Map<Key, EpochMs>;
      if (fn.when && !isTrue(fn.when(frame))) return 0;
      const key = partitionOf(fn.partitionBy, frame);
      const end = alignUp(frame.ts, fn.interval, 0);
      if (intervals.get(key) === end) return 0;
      intervals.set(key, end);
      return 1;
    }
    const history = state as Map<Key, Remembered[]>;
    const { window } = fn;
    const key = partitionOf(window.partitionBy, frame);
    let events = history.get(key);
    if (!events) {
      events = [];
      history.set(key, events);
    }
    const oldest = frame.ts - window.duration;
    let drop = 0;
    while (drop < events.length && events[drop]!.ts < oldest) drop++;
    if (drop > 0) events.splice(0, drop);
    const qualifies = !window.when || isTrue(window.when(frame));
    switch (fn.kind) {
      case 'lag': {
        const found = events[events.length - fn.offset];
        if (qualifies) events.push({ ts: frame.ts, values: [fn.value(frame)] });
        return found ? found.values[0]! : fn.fallback ? fn.fallback(frame) : null;
      }
      case 'last': {
        // LAST is LAG with offset 0: the current event counts when it qualifies.
        if (qualifies) events.push({ ts: frame.ts, values: [fn.value(frame)] });
        const found = events[events.length - 1];
        return found ? found.values[0]! : fn.fallback ? fn.fallback(frame) : null;
      }
      case 'aggregate': {
        if (qualifies) events.push({ ts: frame.ts, values: fn.inputs.map((e) => e(frame)) });
        let acc = fn.aggregator.init();
        for (const e of events) acc = fn.aggregator.add(acc, { ts: e.ts, slots: [], slotTimes: null, analytics: null, aggregates: e.values, substream: '' });
        return fn.aggregator.result(acc);
      }
    }
  }

  advance(watermark: EpochMs, substream: string | null): void {
    // Forget partitions whose whole history has expired, once per longest duration. Only on the
    // input-wide watermark: one substream's clock says nothing of the others' events, which share
    // the partitions (a partition forgotten too early would change later results).
    if (substream === null && watermark - this.sweptAt > this.longest && Number.isFinite(watermark)) {
      this.sweptAt = watermark;
      this.functions.forEach((fn, i) => {
        if (fn.kind === 'isfirst') {
          for (const [k, end] of this.states[i] as Map<Key, EpochMs>) if (end < watermark) (this.states[i] as Map<Key, EpochMs>).delete(k);
          return;
        }
        // Every event, not just the last: a step's rows from keyed clocks need not be in time order.
        const history = this.states[i] as Map<Key, Remembered[]>;
        const limit = watermark - fn.window.duration;
        for (const [k, events] of history) if (events.every((e) => e.ts < limit)) history.delete(k);
      });
    }
    this.downstream.advance(watermark, substream);
  }

  snapshot(): unknown {
    return { states: this.states, sweptAt: this.sweptAt };
  }

  restore(state: unknown): void {
    const s = state as { states: FunctionState[]; sweptAt: number };
    this.states = s.states;
    this.sweptAt = s.sweptAt;
  }
}

const partitionOf = groupKeyOf;
