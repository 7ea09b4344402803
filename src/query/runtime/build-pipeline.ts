// From the logical plan to connected physical operators: one chain per SELECT, from its sources
// through analytic functions, joins and applies, WHERE, the window, HAVING and the SELECT list
// to an output or a step's readers. Every expression is compiled here, once. The plan has passed
// semantic analysis, so nothing here is a fault of the query: what cannot happen throws an
// InternalError.
import { assertNever, InternalError, type EventDiagnostic } from '../model/errors.js';
import { durationOf, timeUnitOf, type EpochMs } from '../model/time.js';
import { newRow, setField, type Row } from '../model/values.js';
import type { CallExpression, Expression, SelectStatement, WindowSpec } from '../syntax/ast.js';
import { canonicalText } from '../syntax/canonical.js';
import {
  compileExpression, compilePredicate, pathFrom, type CompileOptions, type Reporter, type Scope,
} from '../expressions/compile-expression.js';
import { castValue, ConversionFailure } from '../model/conversions.js';
import { createAggregator, type AggregateName, type Aggregator } from '../functions/aggregate-functions.js';
import { createUserAggregator } from '../functions/user-aggregator.js';
import { userFunctionName } from '../functions/user-functions.js';
import type { PlannedSource, QueryPlan, SelectPlan, StatementPlan } from '../semantic/plan.js';
import { AnalyticOperator, type AnalyticFunction } from '../operators/analytic-operator.js';
import { ApplyOperator } from '../operators/apply-operator.js';
import { FanOut } from '../operators/fan-out.js';
import { FilterOperator } from '../operators/filter-operator.js';
import { InputSource } from '../operators/input-source.js';
import { compileProjection } from '../operators/projection.js';
import { ReferenceJoinOperator, type ReferenceData } from '../operators/reference-join.js';
import { SelectOperator } from '../operators/select-operator.js';
import { StepSource } from '../operators/step-source.js';
import { StreamJoinOperator } from '../operators/stream-join.js';
import { UnionOperator } from '../operators/union-operator.js';
import { MatchRecognizeOperator } from '../match-recognize/match-recognize-operator.js';
import { FixedWindowOperator } from '../windows/fixed-window-operator.js';
import { GroupOutput } from '../windows/group-output.js';
import { SessionWindowOperator } from '../windows/session-window-operator.js';
import { SlidingWindowOperator } from '../windows/sliding-window-operator.js';
import type { EventOrderingPolicy } from '../dataflow/event-ordering.js';
import type { Evaluator, Frame, FrameSink, StatefulOperator } from '../dataflow/frame.js';

export interface PipelineContext {
  readonly plan: QueryPlan;
  /** Reference rows by lower-cased reference name. */
  readonly references: ReadonlyMap<string, ReferenceData>;
  readonly policy: EventOrderingPolicy;
  readonly report: (diagnostic: EventDiagnostic) => void;
  readonly emit: (output: string, row: Row, timestamp: EpochMs) => void;
}

export interface Pipeline {
  /** Every source reading each input (lower-cased name); an input read twice has two. */
  readonly inputs: ReadonlyMap<string, readonly InputSource[]>;
  /** Operators with state, in a fixed order: the order of checkpoints. */
  readonly stateful: readonly StatefulOperator[];
}

export function buildPipeline(context: PipelineContext): Pipeline {
  return new PipelineBuilder(context).build();
}

class PipelineBuilder {
  private readonly inputs = new Map<string, InputSource[]>();
  private readonly stateful: StatefulOperator[] = [];
  private readonly steps = new Map<string, FanOut>();
  /** Outputs (lower-cased) written by several statements: the UNION that merges them, and how many have joined it. */
  private readonly shared = new Map<string, { union: UnionOperator; joined: number }>();
  private readonly reporter: Reporter;

  constructor(private readonly context: PipelineContext) {
    this.reporter = (code, message, position) => context.report({ code, message, position });
  }

  build(): Pipeline {
    for (const statement of this.context.plan.statements) this.statement(statement);
    return { inputs: this.inputs, stateful: this.stateful };
  }

  private statement(statement: StatementPlan): void {
    let sink: FrameSink;
    if (statement.target.kind === 'step') {
      const fanOut = new FanOut();
      this.steps.set(statement.target.name.toLowerCase(), fanOut);
      sink = fanOut;
    } else {
      sink = this.output(statement.target.name);
    }
    if (statement.selects.length === 1) {
      this.select(statement.selects[0]!, sink);
      return;
    }
    const union = new UnionOperator(statement.selects.length, sink);
    this.stateful.push(union);
    statement.selects.forEach((s, i) => this.select(s, union.inputs[i]!));
  }

  /**
   * Where a statement's rows go out. Statements writing one output are merged like the SELECTs of
   * a UNION: in time order, rows at one time in the order the statements are written. Otherwise
   * which statement's rows came first would depend on when each one's watermark moved — and a
   * job names its rows by their order within a timestamp.
   */
  private output(name: string): FrameSink {
    const key = name.toLowerCase();
    const writers = this.context.plan.statements.filter((s) => s.target.kind === 'output' && s.target.name.toLowerCase() === key).length;
    const emit = this.context.emit;
    if (writers === 1) {
      // Hands on the row alone: the frame may be reused.
      return { push: (f) => emit(name, f.slots[0]!, f.ts), advance: () => {}, keepsFrames: false };
    }
    let shared = this.shared.get(key);
    if (!shared) {
      // One name for the output: the spelling of its first use.
      const first = this.context.plan.outputs.find((o) => o.toLowerCase() === key) ?? name;
      shared = { union: new UnionOperator(writers, { push: (f) => emit(first, f.slots[0]!, f.ts), advance: () => {}, keepsFrames: false }), joined: 0 };
      this.shared.set(key, shared);
      this.stateful.push(shared.union);
    }
    return shared.union.inputs[shared.joined++]!;
  }

  private select(plan: SelectPlan, sink: FrameSink): void {
    const s = plan.statement;
    const analytics = new Map<CallExpression, number>(plan.analytics.map((c, i) => [c, i]));
    const scope: Scope = { sources: plan.scope, aggregates: null, analytics, aliases: null };
    const options: CompileOptions = { scope, report: this.reporter, functions: this.context.plan.functions };

    // The end of the chain first: window and output, or filter and output.
    let head: FrameSink;
    if (plan.window) {
      const aggregates = new Map<CallExpression, number>(plan.aggregates.map((c, i) => [c, i]));
      const aliases = selectAliases(s);
      const keyExpressions = [...(s.groupBy?.keys ?? []), ...(plan.window.kind === 'session' ? plan.window.partitionBy : [])];
      const groupKeys = { expressions: keyExpressions, offset: plan.aggregates.length };
      const grouped: CompileOptions = { ...options, scope: { ...scope, aggregates, groupKeys } };
      const output = new GroupOutput(
        plan.aggregates.map((a) => this.aggregator(a, options)),
        keyExpressions.map((k) => compileExpression(k, options)),
        plan.analytics.length > 0,
        s.having ? compilePredicate(s.having, { ...options, scope: { ...scope, aggregates, aliases, groupKeys } }) : null,
        compileProjection(s.items, grouped),
        sink,
      );
      const windowOperator = this.windowOperator(plan.window, s, output, options);
      this.stateful.push(windowOperator);
      const where = plan.where.late;
      head = where ? new FilterOperator(compilePredicate(where, options), windowOperator) : windowOperator;
    } else {
      // Without GROUP BY, HAVING filters like WHERE (and may name SELECT aliases).
      const where = plan.where.late ? compilePredicate(plan.where.late, options) : null;
      const having = s.having ? compilePredicate(s.having, { ...options, scope: { ...scope, aliases: selectAliases(s) } }) : null;
      const filter = where && having ? (f: Frame) => where(f) && having(f) : where ?? having;
      head = new SelectOperator(filter, compileProjection(s.items, options), sink);
    }

    // Joins and applies, last to first, each feeding the stage after it; the part of WHERE that
    // reads only what comes before the reference joins filters ahead of them.
    const { early, at } = plan.where;
    for (let i = plan.clauses.length - 1; i >= 0; i--) {
      const clause = plan.clauses[i]!;
      switch (clause.kind) {
        case 'apply':
          head = new ApplyOperator(clause.slot, clause.type === 'outer', clause.fn, compileExpression(clause.argument, options), head);
          break;
        case 'referenceJoin': {
          const rows = this.context.references.get(clause.source.origin.name.toLowerCase()) ?? [];
          head = new ReferenceJoinOperator({
            slot: clause.source.slot,
            type: clause.type,
            leftKeys: clause.keys.map((k) => compileExpression(k.left, options)),
            rightKeys: clause.keys.map((k) => compileExpression(k.right, options)),
            indexKey: JSON.stringify([clause.source.slot, clause.keys.map((k) => k.right)]),
            residual: clause.residual ? compilePredicate(clause.residual, options) : null,
          }, rows, head);
          break;
        }
        case 'streamJoin': {
          const join = new StreamJoinOperator({
            slot: clause.source.slot,
            type: clause.type,
            leftKeys: clause.keys.map((k) => compileExpression(k.left, options)),
            rightKeys: clause.keys.map((k) => compileExpression(k.right, options)),
            on: compilePredicate(clause.on, options),
            low: clause.bound.low,
            high: clause.bound.high,
          }, head);
          this.stateful.push(join);
          this.source(clause.source, join.right, 1);
          head = join.left;
          break;
        }
        default: assertNever(clause);
      }
      if (early && i === at) head = new FilterOperator(compilePredicate(early, options), head);
    }

    if (plan.analytics.length > 0) {
      const analytic = new AnalyticOperator(plan.analytics.map((c) => this.analytic(c, options)), head);
      this.stateful.push(analytic);
      head = analytic;
    }
    if (plan.matchRecognize) {
      const functions = this.context.plan.functions;
      const own: CompileOptions = { scope: { sources: [{ alias: plan.from.alias, slot: 0 }], aggregates: null, analytics: null, aliases: null }, report: this.reporter, functions };
      const match = new MatchRecognizeOperator(plan.matchRecognize, {
        partitionBy: plan.matchRecognize.partitionBy.map((p) => compileExpression(p, own)),
        slotCount: plan.scope.length,
        report: this.context.report,
        functions,
      }, head);
      this.stateful.push(match);
      head = match;
    }
    this.source(plan.from, head, plan.scope.length);
  }

  private windowOperator(w: WindowSpec, s: SelectStatement, output: GroupOutput, options: CompileOptions): FrameSink & StatefulOperator {
    const keys = (s.groupBy?.keys ?? []).map((k) => compileExpression(k, options));
    switch (w.kind) {
      case 'tumbling': {
        const size = durationOf(w.size.unit, w.size.amount);
        return new FixedWindowOperator({ kind: 'periodic', size, hop: size, offset: w.offset }, keys, output);
      }
      case 'hopping': {
        const size = durationOf(w.size.unit, w.size.amount);
        // JavaScript aggregates that deaccumulate: one state per group moved along the grid.
        if (output.remove) return new SlidingWindowOperator(size, keys, output, { hop: durationOf(w.hop.unit, w.hop.amount), offset: w.offset });
        return new FixedWindowOperator({ kind: 'periodic', size, hop: durationOf(w.hop.unit, w.hop.amount), offset: w.offset }, keys, output);
      }
      case 'snapshot':
        return new FixedWindowOperator({ kind: 'snapshot' }, keys, output);
      case 'sliding':
        return new SlidingWindowOperator(durationOf(w.size.unit, w.size.amount), keys, output);
      case 'session': {
        // GROUP BY the partition key alone: one group per session, no map of groups needed.
        const partitionTexts = new Set(w.partitionBy.map(canonicalText));
        const oneGroup = (s.groupBy?.keys ?? []).every((k) => partitionTexts.has(canonicalText(k)));
        return new SessionWindowOperator(
          durationOf(w.timeout.unit, w.timeout.amount), durationOf(w.maxDuration.unit, w.maxDuration.amount),
          w.partitionBy.map((k) => compileExpression(k, options)), keys, output, oneGroup,
        );
      }
      default: return assertNever(w);
    }
  }

  /** Connects a FROM or JOIN source to the operator that reads it. */
  private source(source: PlannedSource, downstream: FrameSink, slotCount: number): void {
    const { origin, reference } = source;
    const fanOut = origin.kind === 'step' ? this.steps.get(origin.name.toLowerCase()) : undefined;
    if (origin.kind === 'step' && !fanOut) throw new InternalError(`step ${origin.name} is read before it is defined`);
    if (fanOut && !reference.timestampBy) {
      fanOut.connect(new StepSource(downstream));
      return;
    }
    // The source's own expressions see its record in slot 0, whatever its slot in the statement.
    const own: CompileOptions = { scope: { sources: [{ alias: source.alias, slot: 0 }], aggregates: null, analytics: null, aliases: null }, report: this.reporter, functions: this.context.plan.functions };
    const input = new InputSource({
      timestampBy: reference.timestampBy ? compileExpression(reference.timestampBy, own) : null,
      substreamKeys: reference.over.length > 0 ? reference.over.map((k) => compileExpression(k, own)) : null,
      policy: this.context.policy,
      conform: this.conformer(origin.name),
      report: this.context.report,
      slotCount,
    }, downstream);
    this.stateful.push(input);
    if (fanOut) {
      // A step stamped anew: its rows arrive at their step time, its watermark is their clock.
      fanOut.connect({
        push: (f) => input.receive(f.slots[0]!, f.ts),
        advance: (watermark, substream) => {
          if (substream !== null) return;
          if (watermark === Infinity) input.finish();
          else input.advanceArrival(watermark);
        },
      });
      return;
    }
    const key = origin.name.toLowerCase();
    const list = this.inputs.get(key);
    if (list) list.push(input);
    else this.inputs.set(key, [input]);
  }

  /** CREATE TABLE: declared columns are converted to their type; an event that fails is dropped. */
  private conformer(input: string): ((row: Row) => Row | null) | null {
    const columns = this.context.plan.tables.get(input.toLowerCase());
    if (!columns) return null;
    const report = this.context.report;
    const readers = columns.map((c) => ({ name: c.name, type: c.type, read: pathFrom(0, [c.name]) }));
    return (row) => {
      const frame = { ts: 0, slots: [row], slotTimes: null, analytics: null, aggregates: null, substream: '' };
      const out = newRow();
      for (const k in row) if (Object.hasOwn(row, k)) setField(out, k, row[k] ?? null);
      for (const c of readers) {
        const v = castValue(c.read(frame), c.type);
        if (v instanceof ConversionFailure) {
          report({ code: 'CONVERSION_FAILED', message: `column ${c.name}: ${v.message}; the event is dropped (CREATE TABLE ${input})` });
          return null;
        }
        const existing = Object.keys(row).find((k) => k.toLowerCase() === c.name.toLowerCase()) ?? c.name;
        setField(out, existing, v);
      }
      return out;
    };
  }

  private aggregator(call: CallExpression, options: CompileOptions): Aggregator {
    const args = call.args;
    const name = call.name as AggregateName;
    const order = (call.over?.orderBy ?? []).map((o) => ({ evaluate: compileExpression(o.expression, options), descending: o.descending }));
    const compiled = (i: number): Evaluator | null => {
      const a = args[i];
      return a && a.kind !== 'star' ? compileExpression(a, options) : null;
    };
    const constant = (i: number): number => {
      const a = args[i];
      return a && a.kind === 'literal' && typeof a.value === 'number' ? a.value : 0;
    };
    if (call.name.startsWith('uda.')) {
      const uda = this.context.plan.functions.uda.get(userFunctionName(call.name));
      if (!uda) throw new InternalError(`unknown aggregate ${call.displayName} at ${call.position.line}:${call.position.column} passed semantic analysis`);
      return createUserAggregator(uda, compiled(0)!, (code, message) => this.reporter(code, `${call.displayName}: ${message}`, call.position));
    }
    switch (name) {
      case 'collecttop': return createAggregator({ name, value: compiled(1), distinct: false, order, parameter: constant(0) });
      case 'percentile_cont': case 'percentile_disc': return createAggregator({ name, value: null, distinct: false, order, parameter: constant(0) });
      default: return createAggregator({ name, value: compiled(0), distinct: call.distinct, order, parameter: 0 });
    }
  }

  private analytic(call: CallExpression, options: CompileOptions): AnalyticFunction {
    const over = call.over;
    const partitionBy = (over?.partitionBy ?? []).map((p) => compileExpression(p, options));
    const when = over?.when ? compileExpression(over.when, options) : null;
    const argument = (i: number): Evaluator | null => {
      const a = call.args[i];
      if (!a) return null;
      return a.kind === 'star' ? pathFrom(0, []) : compileExpression(a, options);
    };
    if (call.name === 'isfirst') {
      const [unitArg, sizeArg] = call.args;
      const unitName = unitArg?.kind === 'column' ? unitArg.path[0]!.name : '';
      const amount = sizeArg?.kind === 'literal' && typeof sizeArg.value === 'number' ? sizeArg.value : 0;
      const unit = timeUnitOf(unitName);
      if (!unit) throw new InternalError(`the unit of ISFIRST at ${call.position.line}:${call.position.column} passed semantic analysis`);
      return { kind: 'isfirst', interval: durationOf(unit, amount), partitionBy, when };
    }
    const limit = over!.limitDuration!;
    const window = { partitionBy, when, duration: durationOf(limit.unit, limit.amount) };
    switch (call.name) {
      case 'lag': {
        const offsetArg = call.args[1];
        const offset = offsetArg?.kind === 'literal' && typeof offsetArg.value === 'number' ? offsetArg.value : 1;
        return { kind: 'lag', value: argument(0)!, offset, fallback: argument(2), window };
      }
      case 'last':
        return { kind: 'last', value: argument(0)!, fallback: argument(1), window };
      default: {
        // An aggregate OVER a time range: the remembered values sit in the aggregate slots.
        const name = call.name as AggregateName;
        const valueIndex = name === 'collecttop' ? 1 : 0;
        const hasValue = call.args[valueIndex] !== undefined && call.args[valueIndex]!.kind !== 'star';
        const orderBy = over?.orderBy ?? [];
        const inputs: Evaluator[] = [hasValue ? argument(valueIndex)! : pathFrom(0, []), ...orderBy.map((o) => compileExpression(o.expression, options))];
        const slot = (i: number): Evaluator => (f) => f.aggregates![i] ?? null;
        const parameterArg = call.args[0];
        const parameter = parameterArg?.kind === 'literal' && typeof parameterArg.value === 'number' ? parameterArg.value : 0;
        const countsEvents = name === 'count' && !hasValue;
        const aggregator = createAggregator({
          name,
          value: countsEvents || name.startsWith('percentile') ? null : slot(0),
          distinct: false,
          order: orderBy.map((o, i) => ({ evaluate: slot(i + 1), descending: o.descending })),
          parameter,
        });
        return { kind: 'aggregate', aggregator, inputs, window };
      }
    }
  }
}

function selectAliases(s: SelectStatement): Map<string, Expression> {
  const aliases = new Map<string, Expression>();
  for (const item of s.items) if (item.kind === 'expression' && item.alias) aliases.set(item.alias.name.toLowerCase(), item.expression);
  return aliases;
}
