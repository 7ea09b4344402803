// Aggregates over a window's group. Each is compiled once into an Aggregator whose state is plain
// data (a number, a value, an object of numbers, a Map), so window state can be checkpointed.
// `add` returns the new state: COUNT and SUM keep a bare number and allocate nothing per group.
import { fieldReadOf, type Evaluator, type Frame } from '../dataflow/frame.js';
import { compareValues, keyOf, newRow, toJson, type Value } from '../model/values.js';
import { toNumber } from '../model/conversions.js';

export type AggregateName =
  | 'count' | 'sum' | 'avg' | 'min' | 'max' | 'stdev' | 'stdevp' | 'var' | 'varp'
  | 'topone' | 'collect' | 'collecttop' | 'percentile_cont' | 'percentile_disc';

export const aggregateNames: ReadonlySet<string> = new Set<AggregateName>([
  'count', 'sum', 'avg', 'min', 'max', 'stdev', 'stdevp', 'var', 'varp',
  'topone', 'collect', 'collecttop', 'percentile_cont', 'percentile_disc',
]);

/** Aggregates that rank events and so need OVER (ORDER BY …). */
export const orderedAggregates: ReadonlySet<string> = new Set(['topone', 'collecttop', 'percentile_cont', 'percentile_disc']);

export type AggregateState = unknown;

export interface Aggregator {
  init(): AggregateState;
  add(state: AggregateState, frame: Frame): AggregateState;
  result(state: AggregateState): Value;
  /**
   * Takes an event's contribution back out (a JavaScript aggregate's this.deaccumulate): a sliding
   * window then keeps one state per group instead of recomputing each window from its events.
   */
  remove?(state: AggregateState, frame: Frame): AggregateState;
  /** COUNT(*): the state is the number of events, so a group can count without calling `add`. */
  readonly countsEvents?: true;
}

export interface OrderKey {
  readonly evaluate: Evaluator;
  readonly descending: boolean;
}

/** What the compiler hands over: the argument(s) already compiled. */
export interface AggregateArguments {
  readonly name: AggregateName;
  /** The value argument; null for COUNT(*) / TopOne() / Collect(), meaning the whole event. */
  readonly value: Evaluator | null;
  readonly distinct: boolean;
  readonly order: readonly OrderKey[];
  /** CollectTop's n, or the percentile's fraction. */
  readonly parameter: number;
}

interface Avg { sum: number; n: number }
interface SumBox { total: number }
interface Moments { n: number; mean: number; m2: number }
interface Distinct { seen: Map<unknown, true> }
interface Ranked { items: { keys: Value[]; value: Value }[] }
interface Collected { items: Value[] }

const wholeEvent: Evaluator = (f) => f.slots[0] ?? null;

/**
 * toNumber(value(f)) where `value` reads field `name` of slot `slot`: a number in a plain record
 * is read here, so it stays unboxed in the caller (small enough for V8 to inline); anything else
 * goes through `value` as before.
 */
function numberAt(f: Frame, slot: number, name: string, value: Evaluator): number | null {
  const rec = f.slots[slot];
  if (rec !== null && rec !== undefined && Object.getPrototypeOf(rec) === Object.prototype) {
    const v = (rec as Record<string, unknown>)[name];
    if (typeof v === 'number') return v;
  }
  return toNumber(value(f));
}

export function createAggregator(a: AggregateArguments): Aggregator {
  const value = a.value ?? wholeEvent;
  const field = fieldReadOf(value);
  switch (a.name) {
    case 'count':
      if (a.distinct) {
        return typed<Distinct>({
          init: () => ({ seen: new Map() }),
          add: (s, f) => { const v = value(f); if (v !== null) s.seen.set(keyOf(v), true); return s; },
          result: (s) => s.seen.size,
        });
      }
      if (a.value === null) return { ...typed<number>({ init: () => 0, add: (n) => n + 1, result: (n) => n }), countsEvents: true };
      return typed<number>({ init: () => 0, add: (n, f) => (value(f) === null ? n : n + 1), result: (n) => n });
    case 'sum':
      if (a.distinct) return distinctOver(value, (vs) => vs.reduce<number | null>((acc, v) => (acc ?? 0) + (toNumber(v) ?? 0), null));
      // NULL until a value arrives: SUM of nothing but NULLs is NULL. A sum that is a small
      // integer is kept as it is; past that it moves into a box updated in place, so that adding
      // fractions does not allocate a number per event.
      return typed<number | SumBox | null>({
        init: () => null,
        add: (sum, f) => {
          const n = field === undefined ? toNumber(value(f)) : numberAt(f, field.slot, field.name, value);
          if (n === null) return sum;
          if (sum !== null && typeof sum === 'object') {
            sum.total += n;
            return sum;
          }
          const total = (sum ?? 0) + n;
          return (total | 0) === total ? total : { total };
        },
        result: (sum) => (sum !== null && typeof sum === 'object' ? sum.total : sum),
      });
    case 'avg':
      return typed<Avg>({
        init: () => ({ sum: 0, n: 0 }),
        add: (s, f) => {
          const n = field === undefined ? toNumber(value(f)) : numberAt(f, field.slot, field.name, value);
          if (n !== null) { s.sum += n; s.n++; }
          return s;
        },
        result: (s) => (s.n > 0 ? s.sum / s.n : null),
      });
    case 'min': case 'max': {
      const sign = a.name === 'min' ? -1 : 1;
      return typed<Value>({
        init: () => null,
        add: (best, f) => {
          const v = value(f);
          if (v === null) return best;
          if (best === null) return v;
          const c = compareValues(v, best);
          return c !== null && c * sign > 0 ? v : best;
        },
        result: (best) => best,
      });
    }
    case 'stdev': case 'stdevp': case 'var': case 'varp': {
      const sample = a.name === 'stdev' || a.name === 'var';
      const root = a.name.startsWith('stdev');
      return typed<Moments>({
        init: () => ({ n: 0, mean: 0, m2: 0 }),
        add: (s, f) => {
          const x = toNumber(value(f));
          if (x === null) return s;
          s.n++;
          const delta = x - s.mean;
          s.mean += delta / s.n;
          s.m2 += delta * (x - s.mean);
          return s;
        },
        result: (s) => {
          const d = sample ? s.n - 1 : s.n;
          if (d <= 0) return null;
          return root ? Math.sqrt(s.m2 / d) : s.m2 / d;
        },
      });
    }
    case 'collect':
      return typed<Collected>({ init: () => ({ items: [] }), add: (s, f) => { s.items.push(value(f)); return s; }, result: (s) => s.items.slice() });
    case 'topone': {
      const rank = ranking(a.order);
      return typed<Ranked>({
        init: () => ({ items: [] }),
        add: (s, f) => {
          const keys = a.order.map((o) => o.evaluate(f));
          const best = s.items[0];
          // Ties keep the earlier event: it was first in time (and arrival) order.
          if (!best || rank(keys, best.keys) < 0) s.items[0] = { keys, value: value(f) };
          return s;
        },
        result: (s) => s.items[0]?.value ?? null,
      });
    }
    case 'collecttop': {
      const rank = ranking(a.order);
      const n = Math.max(0, Math.trunc(a.parameter));
      return typed<Ranked>({
        init: () => ({ items: [] }),
        add: (s, f) => {
          const keys = a.order.map((o) => o.evaluate(f));
          let at = s.items.length;
          while (at > 0 && rank(keys, s.items[at - 1]!.keys) < 0) at--;
          if (at >= n) return s;
          s.items.splice(at, 0, { keys, value: value(f) });
          if (s.items.length > n) s.items.pop();
          return s;
        },
        result: (s) => {
          let rankNo = 0;
          return s.items.map((item, i) => {
            if (i === 0 || rank(item.keys, s.items[i - 1]!.keys) !== 0) rankNo = i + 1;
            const r = newRow();
            r.rank = rankNo;
            r.value = item.value;
            return r;
          });
        },
      });
    }
    case 'percentile_cont': case 'percentile_disc': {
      const order = a.order[0];
      const p = a.parameter;
      const descending = order?.descending ?? false;
      const sortKey = order?.evaluate ?? value;
      return typed<Collected>({
        init: () => ({ items: [] }),
        add: (s, f) => { const v = toNumber(sortKey(f)); if (v !== null) s.items.push(v); return s; },
        result: (s) => {
          const xs = (s.items as number[]).slice().sort((x, y) => (descending ? y - x : x - y));
          if (xs.length === 0) return null;
          if (a.name === 'percentile_disc') return xs[Math.max(0, Math.ceil(p * xs.length) - 1)] ?? null;
          const pos = p * (xs.length - 1);
          const lo = Math.floor(pos);
          const hi = Math.ceil(pos);
          return xs[lo]! + (xs[hi]! - xs[lo]!) * (pos - lo);
        },
      });
    }
  }
}

function typed<S>(agg: { init(): S; add(state: S, frame: Frame): S; result(state: S): Value }): Aggregator {
  return agg as unknown as Aggregator;
}

function distinctOver(value: Evaluator, reduce: (values: Value[]) => Value): Aggregator {
  return typed<{ seen: Map<unknown, Value> }>({
    init: () => ({ seen: new Map() }),
    add: (s, f) => { const v = value(f); if (v !== null) s.seen.set(keyOf(v), v); return s; },
    result: (s) => reduce([...s.seen.values()]),
  });
}

/** Negative when keys `a` rank before `b` under ORDER BY; NULL ranks lowest. */
function ranking(order: readonly OrderKey[]): (a: Value[], b: Value[]) => number {
  return (a, b) => {
    for (let i = 0; i < order.length; i++) {
      const x = a[i] ?? null, y = b[i] ?? null;
      let c: number;
      if (x === null || y === null) c = x === y ? 0 : x === null ? -1 : 1;
      else c = compareValues(x, y) ?? compareText(x, y);
      if (c !== 0) return order[i]!.descending ? -c : c;
    }
    return 0;
  };
}

function compareText(x: Value, y: Value): number {
  const a = JSON.stringify(toJson(x)), b = JSON.stringify(toJson(y));
  return a < b ? -1 : a > b ? 1 : 0;
}
