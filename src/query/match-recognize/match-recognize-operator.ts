// MATCH_RECOGNIZE as an operator: the input's events in, one row per match out (the partition
// columns, then the measures), stamped with the time of the match's last event.
//
// A match can be final long after its last event (a greedy quantifier waits for LIMIT DURATION
// to pass, a match waits for the older attempts of its partition), while other partitions have
// moved on; rows are therefore held and sent in time order, and the watermark sent on is held back
// to the earliest time a row still to come can have: the earliest match found but not yet final,
// else the input's watermark (a match not yet found ends with an event still to come). Operators
// after this one see time-ordered frames and a watermark they can trust, as after any input; a
// match that nothing can extend goes out as soon as the input's watermark passes it.
import type { DiagnosticSink, Evaluator, Frame, FrameSink, StatefulOperator } from '../dataflow/frame.js';
import { MinHeap } from '../dataflow/min-heap.js';
import type { EventDiagnostic } from '../model/errors.js';
import type { EpochMs } from '../model/time.js';
import { compositeKeyOf, isTrue, newRow, setField, type Key, type Row, type Value } from '../model/values.js';
import { compileExpression, type CompileOptions, type Reporter } from '../expressions/compile-expression.js';
import { createAggregator, type Aggregator } from '../functions/aggregate-functions.js';
import type { Expression } from '../syntax/ast.js';
import { anyAlias, eventAlias, navigationAlias, variableAlias, type MatchExpression, type Navigation } from './match-expressions.js';
import type { MatchRecognizePlan } from './match-plan.js';
import {
  historyToList, loadAttempts, PatternMatcher, saveAttempts, type History, type MatchEvent, type PartitionState, type SavedAttempts,
} from './pattern-matcher.js';

/** Alternative paths one attempt keeps when DEFINE reads the match so far (see MatcherConfig). */
const maxThreadsPerAttempt = 1_000;

export interface MatchRecognizeOptions {
  /** Evaluated on the input's events (the source's own scope). */
  readonly partitionBy: readonly Evaluator[];
  /** How many sources the reading statement has: the width of the frames sent on. */
  readonly slotCount: number;
  readonly report: DiagnosticSink;
  /** The JavaScript functions MEASURES and DEFINE may call (udf.NAME). */
  readonly functions?: CompileOptions['functions'];
}

interface Partition extends PartitionState {
  readonly key: Key;
  readonly values: readonly Value[];
  /** This partition's entry in `heads`; older entries are stale. */
  head: Head | null;
  /** Its entry in `candidates`, keyed by its earliest match not yet final. */
  candidate: Head | null;
}

interface Head {
  readonly ts: EpochMs;
  readonly partition: Partition;
}

interface Ready {
  readonly ts: EpochMs;
  /** The match's first event: among rows at one time, the order rows go out in. */
  readonly seq: number;
  readonly row: Row;
}

interface Substream {
  readonly partitions: Map<Key, Partition>;
  /** Each partition with open attempts, by its oldest attempt's start: the next to expire. */
  readonly heads: MinHeap<Head>;
  /** Each partition with a match found but not final, by the earliest such match's time. */
  readonly candidates: MinHeap<Head>;
  /**
   * Rows of final matches not yet sent, in (time, first event). Not in the order found: when a
   * match becomes final depends on when the watermark moved, its first event does not.
   */
  readonly ready: MinHeap<Ready>;
}

const headBefore = (a: Head, b: Head): boolean => a.ts < b.ts;
const readyBefore = (a: Ready, b: Ready): boolean => a.ts < b.ts || (a.ts === b.ts && a.seq < b.seq);

interface SavedState {
  seq: number;
  substreams: [string, { partitions: [Key, Value[], SavedAttempts][]; ready: [EpochMs, number, Row][] }][];
}

export class MatchRecognizeOperator implements FrameSink, StatefulOperator {
  /** Only the event's record is kept, never the frame or its slots: the input may reuse them. */
  readonly keepsFrames = false;
  private substreams = new Map<string, Substream>();
  /** Orders events across partitions (the matcher compares events by it). */
  private seq = 0;
  private readonly defines: CompiledMatchExpression[];
  private readonly measures: { readonly name: string; readonly expression: CompiledMatchExpression }[];
  private readonly scratch: { ts: EpochMs; slots: (Row | null)[]; slotTimes: null; analytics: null; aggregates: null; substream: string };
  private readonly matcher: PatternMatcher;
  /** The partition key of the event being pushed. */
  private readonly keyValues: Value[];

  constructor(private readonly plan: MatchRecognizePlan, private readonly options: MatchRecognizeOptions, private readonly downstream: FrameSink) {
    const report: Reporter = (code, message, position) => options.report({ code, message, position });
    const width = plan.variables.length;
    this.defines = plan.defines.map((d) => new CompiledMatchExpression(d, width, report, options.functions));
    this.measures = plan.measures.map((m) => ({ name: m.name, expression: new CompiledMatchExpression(m.expression, width, report, options.functions) }));
    this.scratch = { ts: 0, slots: new Array<Row | null>(width + 2).fill(null), slotTimes: null, analytics: null, aggregates: null, substream: '' };
    this.keyValues = new Array<Value>(options.partitionBy.length).fill(null);
    this.matcher = new PatternMatcher({
      program: plan.program,
      limit: plan.limit,
      skip: plan.skip,
      historyDependent: plan.historyDependent,
      maxThreads: plan.historyDependent ? maxThreadsPerAttempt : Infinity,
      accepts: plan.historyDependent ? (e, v, h) => this.acceptsWithHistory(e, v, h) : (e, v) => this.accepts(e, v),
    });
  }

  push(frame: Frame): void {
    const row = frame.slots[0];
    if (!row) return;
    const sub = this.substreamOf(frame.substream);
    const values = this.keyValues;
    for (let i = 0; i < values.length; i++) values[i] = this.options.partitionBy[i]!(frame);
    const key = compositeKeyOf(values);
    const event: MatchEvent = { row, ts: frame.ts, seq: this.seq++ };
    const p = sub.partitions.get(key);
    if (p) {
      this.collect(sub, p, this.matcher.push(p, event), frame.substream);
      this.track(sub, p);
      return;
    }
    // A partition exists only while it has open attempts: most events of an idle key start none.
    const fresh: Partition = { key, values: [...values], attempts: [], head: null, candidate: null };
    const matches = this.matcher.push(fresh, event);
    if (fresh.attempts.length === 0 && matches.length === 0) return;
    sub.partitions.set(key, fresh);
    this.collect(sub, fresh, matches, frame.substream);
    this.track(sub, fresh);
  }

  advance(watermark: EpochMs, substream: string | null): void {
    let held = watermark;
    if (substream === null) {
      for (const [name, sub] of this.substreams) held = Math.min(held, this.advanceSubstream(name, sub, watermark));
    } else {
      const sub = this.substreams.get(substream);
      if (sub) held = Math.min(held, this.advanceSubstream(substream, sub, watermark));
    }
    this.downstream.advance(held, substream);
  }

  /** Ends what the watermark puts out of reach, sends the rows now in order; returns the hold. */
  private advanceSubstream(name: string, sub: Substream, watermark: EpochMs): EpochMs {
    this.expire(sub, watermark, name);
    const hold = this.hold(sub);
    const bound = Math.min(watermark, hold);
    // Strictly before: a row still to come may have the bound's time and an earlier first event.
    while (sub.ready.size > 0 && (sub.ready.peek()!.ts < bound || bound === Infinity)) this.send(sub.ready.pop()!, name);
    if (sub.partitions.size === 0 && sub.ready.size === 0) this.substreams.delete(name);
    return hold;
  }

  snapshot(): unknown {
    const state: SavedState = {
      seq: this.seq,
      substreams: [...this.substreams].map(([name, sub]) => [name, {
        partitions: [...sub.partitions.values()].map((p): [Key, Value[], SavedAttempts] => [p.key, [...p.values], saveAttempts(p.attempts)]),
        ready: sub.ready.toArray().map((r): [EpochMs, number, Row] => [r.ts, r.seq, r.row]),
      }]),
    };
    return state;
  }

  restore(state: unknown): void {
    const s = state as SavedState;
    this.seq = s.seq;
    this.substreams = new Map();
    for (const [name, saved] of s.substreams) {
      const sub = this.substreamOf(name);
      for (const [key, values, attempts] of saved.partitions) {
        const p: Partition = { key, values, attempts: loadAttempts(attempts), head: null, candidate: null };
        sub.partitions.set(key, p);
        this.track(sub, p);
      }
      for (const [ts, seq, row] of saved.ready) sub.ready.push({ ts, seq, row });
    }
  }

  // --- internals -------------------------------------------------------------------------------

  /** DEFINE reading only the event under test: one reused frame, nothing allocated. */
  private accepts(event: MatchEvent, variable: number): boolean {
    const f = this.scratch;
    f.ts = event.ts;
    f.slots[variable + 1] = event.row;
    f.slots[f.slots.length - 1] = event.row;
    return isTrue(this.defines[variable]!.evaluate(f));
  }

  private acceptsWithHistory(event: MatchEvent, variable: number, history: History | null): boolean {
    const list = history ? historyToList(history) : [];
    list.push({ event, variable });
    return isTrue(this.defines[variable]!.evaluateOn(list, event.ts, ''));
  }

  private substreamOf(name: string): Substream {
    let sub = this.substreams.get(name);
    if (!sub) {
      sub = { partitions: new Map(), heads: MinHeap.create(headBefore), candidates: MinHeap.create(headBefore), ready: MinHeap.create(readyBefore) };
      this.substreams.set(name, sub);
    }
    return sub;
  }

  /** Keeps `heads` right after `p`'s attempts changed; forgets a partition with none open. */
  private track(sub: Substream, p: Partition): void {
    if (this.matcher.truncated) {
      this.matcher.truncated = false;
      this.options.report({ code: 'PATTERN_PATHS_DROPPED', message: `a match attempt kept its ${maxThreadsPerAttempt} most preferred paths and dropped the others` } satisfies EventDiagnostic);
    }
    const start = this.matcher.oldestStart(p);
    if (start === Infinity) {
      p.head = null;
      p.candidate = null;
      sub.partitions.delete(p.key);
      return;
    }
    if (!p.head || p.head.ts !== start) {
      p.head = { ts: start, partition: p };
      sub.heads.push(p.head);
    }
    let found = Infinity;
    for (const a of p.attempts) if (a.match && a.match.event.ts < found) found = a.match.event.ts;
    if (found === Infinity) p.candidate = null;
    else if (!p.candidate || p.candidate.ts !== found) {
      p.candidate = { ts: found, partition: p };
      sub.candidates.push(p.candidate);
    }
  }

  /** The earliest match found but not final: no row still to come is earlier, but for new events'. */
  private hold(sub: Substream): EpochMs {
    for (;;) {
      const top = sub.candidates.peek();
      if (!top) return Infinity;
      if (top.partition.candidate === top) return top.ts;
      sub.candidates.pop();
    }
  }

  /** Ends the attempts the watermark has put out of reach of any later event. */
  private expire(sub: Substream, watermark: EpochMs, name: string): void {
    const limit = this.plan.limit;
    for (;;) {
      const top = sub.heads.peek();
      if (!top) return;
      if (top.partition.head !== top) { sub.heads.pop(); continue; }
      if (!(watermark > top.ts + limit)) return;
      sub.heads.pop();
      const p = top.partition;
      p.head = null;
      this.collect(sub, p, this.matcher.expire(p, watermark), name);
      this.track(sub, p);
    }
  }

  private collect(sub: Substream, p: Partition, matches: readonly History[], substream: string): void {
    for (const h of matches) {
      const list = historyToList(h);
      const ts = list[list.length - 1]!.event.ts;
      const row = newRow();
      this.plan.partitionNames.forEach((name, i) => setField(row, name, p.values[i] ?? null));
      for (const m of this.measures) setField(row, m.name, m.expression.evaluateOn(list, ts, substream));
      sub.ready.push({ ts, seq: list[0]!.event.seq, row });
    }
  }

  private send(r: Ready, substream: string): void {
    const slots: (Row | null)[] = new Array<Row | null>(this.options.slotCount).fill(null);
    slots[0] = r.row;
    this.downstream.push({ ts: r.ts, slots, slotTimes: null, analytics: null, aggregates: null, substream });
  }
}

/** A MEASURES or DEFINE expression, with its navigations, compiled once. */
class CompiledMatchExpression {
  readonly evaluate: Evaluator;
  private readonly navigations: { readonly nav: Navigation; readonly argument: Evaluator | null; readonly aggregator: Aggregator | null }[];

  constructor(e: MatchExpression, private readonly width: number, report: Reporter, functions: CompileOptions['functions']) {
    const sources = [{ alias: navigationAlias, slot: 0 }];
    for (let i = 0; i < width; i++) sources.push({ alias: variableAlias(i), slot: i + 1 });
    sources.push({ alias: anyAlias, slot: width + 1 });
    this.evaluate = compileExpression(e.expression, { scope: { sources, aggregates: null, analytics: null, aliases: null }, report, functions });
    const eventScope: CompileOptions = { scope: { sources: [{ alias: eventAlias, slot: 0 }], aggregates: null, analytics: null, aliases: null }, report, functions };
    const compile = (a: Expression | null): Evaluator | null => (a ? compileExpression(a, eventScope) : null);
    this.navigations = e.navigations.map((nav) => {
      const argument = compile(nav.argument);
      const aggregator = nav.aggregate ? createAggregator({ name: nav.aggregate, value: argument, distinct: nav.distinct, order: [], parameter: 0 }) : null;
      return { nav, argument, aggregator };
    });
  }

  /** The value over a match (or a match so far), its events in order. */
  evaluateOn(list: readonly { event: MatchEvent; variable: number }[], ts: EpochMs, substream: string): Value {
    const slots: (Row | null)[] = new Array<Row | null>(this.width + 2).fill(null);
    for (const { event, variable } of list) slots[variable + 1] = event.row;
    slots[this.width + 1] = list[list.length - 1]!.event.row;
    if (this.navigations.length > 0) {
      const values = newRow();
      for (const n of this.navigations) setField(values, n.nav.field, this.navigate(n, list, substream));
      slots[0] = values;
    }
    return this.evaluate({ ts, slots, slotTimes: null, analytics: null, aggregates: null, substream });
  }

  private navigate(
    n: CompiledMatchExpression['navigations'][number],
    list: readonly { event: MatchEvent; variable: number }[],
    substream: string,
  ): Value {
    const { nav } = n;
    const frameOf = (e: MatchEvent): Frame => ({ ts: e.ts, slots: [e.row], slotTimes: null, analytics: null, aggregates: null, substream });
    if (nav.kind === 'first' || nav.kind === 'last') {
      const step = nav.kind === 'first' ? 1 : -1;
      for (let i = step === 1 ? 0 : list.length - 1; i >= 0 && i < list.length; i += step) {
        if (nav.variable === null || list[i]!.variable === nav.variable) return n.argument!(frameOf(list[i]!.event));
      }
      return null;
    }
    const agg = n.aggregator!;
    let state = agg.init();
    for (const { event, variable } of list) {
      if (nav.variable === null || variable === nav.variable) state = agg.add(state, frameOf(event));
    }
    return agg.result(state);
  }
}
