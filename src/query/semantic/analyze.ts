// Semantic checks and planning: resolves every name (inputs, references, steps, aliases,
// columns of steps), places aggregates, analytic functions and windows, and finds the time
// bound of stream-to-stream joins. Everything reported here carries the position of the fault.
import { QueryError } from '../model/errors.js';
import { durationOf, timeUnitOf, unitMs } from '../model/time.js';
import type { TypeName } from '../model/values.js';
import {
  assertNever, children, type CallExpression, type Expression, type Identifier, type Query, type SelectStatement,
  type SourceReference, type Statement,
} from '../syntax/ast.js';
import { callKind, datePartArgument } from '../expressions/call-kinds.js';
import { canonicalText } from '../syntax/canonical.js';
import { windowFunctionNames } from '../syntax/window-kinds.js';
import { orderedAggregates } from '../functions/aggregate-functions.js';
import { scalarFunctions, tableFunctions, type TableFunctionName } from '../functions/scalar-functions.js';
import type {
  ApplyPlan, EquiKey, Origin, PlannedClause, PlannedSource, QueryPlan, SelectPlan, StatementPlan, StreamJoinPlan,
} from './plan.js';

export interface KnownNames {
  /** Stream inputs the job defines; when absent, any name that is not a reference or step is an input. */
  readonly inputs?: readonly string[];
  /** Reference-data inputs the job defines. */
  readonly references?: readonly string[];
  /** Outputs the job defines; when absent, any INTO name is accepted. */
  readonly outputs?: readonly string[];
}

/** The output a statement without INTO writes to. */
export const defaultOutput = 'output';

const maxJoinSpanMs = 7 * 86_400_000;

export function analyzeQuery(query: Query, known: KnownNames): QueryPlan {
  return new Analyzer(known).analyze(query);
}

interface StepInfo {
  readonly name: string;
  readonly columns: readonly string[] | null;
}

class Analyzer {
  private readonly inputs: Set<string> | null;
  private readonly references: Set<string>;
  private readonly outputs: Set<string> | null;
  private readonly steps = new Map<string, StepInfo>();
  private readonly usedInputs: string[] = [];
  private readonly usedReferences: string[] = [];
  private readonly usedOutputs: string[] = [];

  constructor(known: KnownNames) {
    this.inputs = known.inputs ? new Set(known.inputs.map((n) => n.toLowerCase())) : null;
    this.references = new Set((known.references ?? []).map((n) => n.toLowerCase()));
    this.outputs = known.outputs ? new Set(known.outputs.map((n) => n.toLowerCase())) : null;
  }

  analyze(query: Query): QueryPlan {
    const tables = new Map<string, { name: string; type: TypeName }[]>();
    for (const t of query.tables) {
      tables.set(t.name.name.toLowerCase(), t.columns.map((c) => ({ name: c.name.name, type: c.type })));
    }
    const statements: StatementPlan[] = [];
    for (const step of query.steps) {
      const key = step.name.name.toLowerCase();
      if (this.steps.has(key)) throw new QueryError('DUPLICATE_NAME', `step ${step.name.name} is defined twice`, step.name.position);
      if (this.references.has(key) || this.inputs?.has(key)) {
        throw new QueryError('DUPLICATE_NAME', `step ${step.name.name} has the name of an input`, step.name.position);
      }
      for (const s of selectsOf(step.body)) {
        if (s.into) throw new QueryError('SYNTAX_ERROR', 'INTO is not allowed inside a WITH step', s.into.position);
      }
      const plan = this.statement(step.body, { kind: 'step', name: step.name.name });
      this.steps.set(key, { name: step.name.name, columns: plan.columns });
      statements.push(plan);
    }
    for (const statement of query.statements) {
      const into = selectsOf(statement)[0]!.into;
      const name = into?.name ?? defaultOutput;
      if (into && this.outputs && !this.outputs.has(name.toLowerCase())) {
        throw new QueryError('UNKNOWN_OUTPUT', `unknown output ${name}`, into.position);
      }
      if (!this.usedOutputs.some((o) => o.toLowerCase() === name.toLowerCase())) this.usedOutputs.push(name);
      statements.push(this.statement(statement, { kind: 'output', name }));
    }
    return { inputs: this.usedInputs, references: this.usedReferences, outputs: this.usedOutputs, tables, statements };
  }

  private statement(statement: Statement, target: StatementPlan['target']): StatementPlan {
    const selects = selectsOf(statement).map((s) => this.select(s));
    if (statement.kind === 'union') {
      const width = selects[0]!.columnNames.length;
      for (const s of selects) {
        if (s.statement.into && target.kind === 'output' && s.statement.into.name.toLowerCase() !== target.name.toLowerCase()) {
          throw new QueryError('SYNTAX_ERROR', 'every SELECT of a UNION writes to the same output', s.statement.into.position);
        }
        if (s.columnNames.length !== width) {
          throw new QueryError('SYNTAX_ERROR', 'every SELECT of a UNION has the same number of columns', s.statement.position);
        }
      }
    }
    const names = selects[0]!.columnNames;
    const columns = names.every((n) => n !== null) ? (names as string[]) : null;
    return { target, selects, columns };
  }

  // --- one SELECT -------------------------------------------------------------------------------

  private select(s: SelectStatement): SelectPlan {
    const sources: PlannedSource[] = [];
    const scope: { alias: string; slot: number }[] = [];
    const knownColumns = new Map<number, ReadonlySet<string>>();
    const addAlias = (alias: Identifier, slot: number): string => {
      const key = alias.name.toLowerCase();
      if (scope.some((x) => x.alias === key)) throw new QueryError('DUPLICATE_NAME', `alias ${alias.name} is used twice in one statement`, alias.position);
      scope.push({ alias: key, slot });
      return key;
    };

    const from = this.source(s.from, 0, addAlias);
    if (from.origin.kind === 'reference') {
      throw new QueryError('REFERENCE_NOT_ALLOWED', `${s.from.name.name} is reference data; it can only be joined, on the right of JOIN`, s.from.name.position);
    }
    sources.push(from);
    this.noteStepColumns(from, knownColumns);

    const clauses: PlannedClause[] = [];
    s.clauses.forEach((clause, k) => {
      const slot = k + 1;
      switch (clause.kind) {
        case 'join': {
          const source = this.source(clause.source, slot, addAlias);
          sources.push(source);
          this.noteStepColumns(source, knownColumns);
          const keys = equiKeys(clause.on, slot, scope);
          if (source.origin.kind === 'reference') {
            const rest = conjuncts(clause.on).filter((c) => !keys.some((k) => k.condition === c));
            const residual = rest.reduce<Expression | null>((acc, c) => (acc ? { kind: 'binary', operator: 'and', left: acc, right: c, position: c.position } : c), null);
            clauses.push({ kind: 'referenceJoin', type: clause.type, source, keys, residual });
          } else {
            const bound = joinBound(clause.on, scope, slot);
            if (!bound) {
              throw new QueryError('JOIN_WITHOUT_TIME_BOUND', `a JOIN of two streams needs DATEDIFF(unit, ${scope[0]!.alias}, ${source.alias}) BETWEEN low AND high in its ON clause`, clause.position);
            }
            if (bound.high - bound.low > maxJoinSpanMs) {
              throw new QueryError('INVALID_ARGUMENT', 'the DATEDIFF bound of a JOIN spans at most 7 days', clause.on.position);
            }
            clauses.push({ kind: 'streamJoin', type: clause.type, source, keys, on: clause.on, bound } satisfies StreamJoinPlan);
          }
          break;
        }
        case 'apply': {
          const fn = clause.call.name;
          if (!Object.hasOwn(tableFunctions, fn)) {
            throw new QueryError('UNKNOWN_FUNCTION', `CROSS APPLY takes GetArrayElements(…) or GetRecordProperties(…), not ${clause.call.displayName}`, clause.call.position);
          }
          const [argument] = clause.call.args;
          if (clause.call.args.length !== 1 || !argument || argument.kind === 'star') {
            throw new QueryError('WRONG_ARGUMENT_COUNT', `${clause.call.displayName} takes one argument`, clause.call.position);
          }
          const alias = addAlias(clause.alias, slot);
          knownColumns.set(slot, new Set(fn === 'getarrayelements' ? ['arrayindex', 'arrayvalue'] : ['propertyname', 'propertyvalue']));
          clauses.push({ kind: 'apply', type: clause.type, alias, slot, fn: fn as TableFunctionName, argument } satisfies ApplyPlan);
          break;
        }
        default: assertNever(clause);
      }
    });

    // Every expression of the statement, checked against the scope.
    const checker = new ExpressionChecker(scope, knownColumns);
    for (const src of sources) {
      if (src.reference.timestampBy) checker.check(src.reference.timestampBy, 'timestamp');
      for (const k of src.reference.over) checker.check(k, 'timestamp');
    }
    for (const c of s.clauses) {
      if (c.kind === 'join') checker.check(c.on, 'on');
      else checker.check(c.call.args[0] as Expression, 'scalar');
    }
    if (s.where) checker.check(s.where, 'where');
    const grouped = s.groupBy !== null;
    const window = s.groupBy?.window ?? null;
    if (s.groupBy) {
      if (!window) throw new QueryError('MISSING_WINDOW', `GROUP BY needs a window (${windowFunctionNames()}) or System.Timestamp()`, s.groupBy.position);
      for (const k of s.groupBy.keys) checker.check(k, 'groupBy');
      if (window.kind === 'session') for (const k of window.partitionBy) checker.check(k, 'groupBy');
      validateWindow(window);
    }
    const aliases = new Set<string>();
    for (const item of s.items) {
      if (item.kind === 'expression') {
        checker.check(item.expression, grouped ? 'groupedSelect' : 'select');
        if (item.alias) aliases.add(item.alias.name.toLowerCase());
      } else {
        if (grouped) throw new QueryError('COLUMN_NOT_GROUPED', 'a wildcard cannot be used with GROUP BY; name the grouped columns and aggregates', item.position);
        checkWildcard(item.path, scope);
      }
    }
    if (s.having) checker.check(s.having, grouped ? 'groupedSelect' : 'where', aliases);

    if (grouped) {
      const keys = [...(s.groupBy?.keys ?? []), ...(window?.kind === 'session' ? window.partitionBy : [])];
      for (const item of s.items) if (item.kind === 'expression') checkGrouped(item.expression, keys);
      if (s.having) checkGrouped(s.having, keys, aliases);
    }

    return {
      statement: s,
      from,
      clauses,
      scope,
      analytics: checker.analytics,
      aggregates: checker.aggregates,
      window,
      columnNames: columnNamesOf(s, this.steps, from),
    };
  }

  private source(ref: SourceReference, slot: number, addAlias: (alias: Identifier, slot: number) => string): PlannedSource {
    const key = ref.name.name.toLowerCase();
    let origin: Origin;
    const step = this.steps.get(key);
    if (step) origin = { kind: 'step', name: step.name };
    else if (this.references.has(key)) origin = { kind: 'reference', name: ref.name.name };
    else if (!this.inputs || this.inputs.has(key)) origin = { kind: 'input', name: ref.name.name };
    else throw new QueryError('UNKNOWN_INPUT', `unknown input ${ref.name.name}; the query can read ${[...(this.inputs ?? []), ...this.references, ...[...this.steps.values()].map((s) => s.name)].join(', ') || 'nothing'}`, ref.name.position);

    if (ref.timestampBy && origin.kind === 'reference') {
      throw new QueryError('TIMESTAMP_BY_NOT_ALLOWED', 'reference data has no time; TIMESTAMP BY cannot apply to it', ref.timestampBy.position);
    }
    if (ref.timestampBy && containsSystemTimestamp(ref.timestampBy)) {
      throw new QueryError('TIMESTAMP_BY_NOT_ALLOWED', 'System.Timestamp() cannot be used in TIMESTAMP BY', ref.timestampBy.position);
    }
    const used = origin.kind === 'reference' ? this.usedReferences : origin.kind === 'input' ? this.usedInputs : null;
    if (used && !used.some((n) => n.toLowerCase() === key)) used.push(ref.name.name);
    const alias = addAlias(ref.alias, slot);
    return { alias, slot, origin, reference: ref };
  }

  private noteStepColumns(source: PlannedSource, known: Map<number, ReadonlySet<string>>): void {
    if (source.origin.kind !== 'step') return;
    const columns = this.steps.get(source.origin.name.toLowerCase())?.columns;
    if (columns) known.set(source.slot, new Set(columns.map((c) => c.toLowerCase())));
  }
}

function selectsOf(statement: Statement): readonly SelectStatement[] {
  return statement.kind === 'union' ? statement.selects : [statement];
}

// --- expression checks ---------------------------------------------------------------------------

type Place = 'timestamp' | 'on' | 'where' | 'groupBy' | 'select' | 'groupedSelect' | 'scalar';

class ExpressionChecker {
  readonly analytics: CallExpression[] = [];
  readonly aggregates: CallExpression[] = [];

  constructor(
    private readonly scope: readonly { alias: string; slot: number }[],
    private readonly knownColumns: ReadonlyMap<number, ReadonlySet<string>>,
  ) {}

  check(e: Expression, place: Place, aliases: ReadonlySet<string> = new Set()): void {
    this.walk(e, place, { inAggregate: false, inAnalytic: false, aliases });
  }

  private walk(e: Expression, place: Place, cx: { inAggregate: boolean; inAnalytic: boolean; aliases: ReadonlySet<string> }): void {
    switch (e.kind) {
      case 'column': return this.column(e, cx.aliases, cx.inAnalytic);
      case 'call': return this.call(e, place, cx);
      default: for (const c of children(e)) this.walk(c, place, cx);
    }
  }

  private call(e: CallExpression, place: Place, cx: { inAggregate: boolean; inAnalytic: boolean; aliases: ReadonlySet<string> }): void {
    const kind = callKind(e);
    const args = e.args.filter((a): a is Expression => a.kind !== 'star');
    switch (kind) {
      case 'window':
        throw new QueryError('WINDOW_NOT_ALLOWED', `${e.displayName} is a window; windows belong in GROUP BY`, e.position);
      case 'table':
        throw new QueryError('SYNTAX_ERROR', `${e.displayName} returns rows; use it in CROSS APPLY`, e.position);
      case 'unknown':
        throw new QueryError('UNKNOWN_FUNCTION', `unknown function ${e.displayName}`, e.position);
      case 'user':
        throw new QueryError('UNSUPPORTED', `user-defined functions (${e.displayName}) are not supported`, e.position);
      case 'aggregate': {
        if (place !== 'groupedSelect') {
          if (place === 'select') throw new QueryError('AGGREGATE_WITHOUT_WINDOW', `${e.displayName} is an aggregate; the statement needs GROUP BY with a window`, e.position);
          throw new QueryError('AGGREGATE_NOT_ALLOWED', `${e.displayName} is an aggregate; aggregates belong in SELECT and HAVING`, e.position);
        }
        if (cx.inAggregate) throw new QueryError('AGGREGATE_NOT_ALLOWED', 'an aggregate cannot contain another aggregate', e.position);
        validateAggregate(e);
        this.aggregates.push(e);
        for (const a of args) this.walk(a, 'scalar', { ...cx, inAggregate: true });
        for (const o of e.over?.orderBy ?? []) this.walk(o.expression, 'scalar', { ...cx, inAggregate: true });
        return;
      }
      case 'analytic': {
        if (cx.inAnalytic) throw new QueryError('ANALYTIC_NOT_ALLOWED', `${e.displayName} cannot be nested in another analytic function`, e.position);
        if (place === 'timestamp') throw new QueryError('ANALYTIC_NOT_ALLOWED', `${e.displayName} cannot be used in TIMESTAMP BY`, e.position);
        validateAnalytic(e);
        this.analytics.push(e);
        const inner = { ...cx, inAnalytic: true, inAggregate: false, aliases: new Set<string>() };
        for (let i = 0; i < args.length; i++) if (!(e.name === 'isfirst' && i === 0)) this.walk(args[i]!, 'scalar', inner);
        for (const p of e.over?.partitionBy ?? []) this.walk(p, 'scalar', inner);
        if (e.over?.when) this.walk(e.over.when, 'scalar', inner);
        return;
      }
      case 'metadata':
        return;
      case 'scalar': {
        const fn = scalarFunctions[e.name]!;
        if (e.args.length < fn.minArgs || e.args.length > fn.maxArgs) {
          const expected = fn.minArgs === fn.maxArgs ? `${fn.minArgs}` : fn.maxArgs === Infinity ? `at least ${fn.minArgs}` : `${fn.minArgs} to ${fn.maxArgs}`;
          throw new QueryError('WRONG_ARGUMENT_COUNT', `${e.displayName} takes ${expected} argument${expected === '1' ? '' : 's'}, found ${e.args.length}`, e.position);
        }
        if (e.over) throw new QueryError('SYNTAX_ERROR', `${e.displayName} takes no OVER clause`, e.over.position);
        const part = datePartArgument(e);
        const joinForm = e.name === 'datediff' && place === 'on' && args.slice(1).every((a) => a.kind === 'column' && a.path.length === 1 && this.scope.some((s) => s.alias === a.path[0]!.name.toLowerCase()));
        if (joinForm) return;
        e.args.forEach((a, i) => {
          if (a.kind === 'star') throw new QueryError('SYNTAX_ERROR', `${e.displayName} does not take *`, a.position);
          if (a !== part) this.walk(a, place, cx);
        });
        return;
      }
      default: assertNever(kind);
    }
  }

  private column(e: Extract<Expression, { kind: 'column' }>, aliases: ReadonlySet<string>, inAnalytic: boolean): void {
    const first = e.path[0]!.name.toLowerCase();
    if (e.path.length === 1 && aliases.has(first)) return;
    const qualified = this.scope.find((s) => s.alias === first);
    if (qualified && inAnalytic && qualified.slot !== 0) {
      throw new QueryError('ANALYTIC_NOT_ALLOWED', 'analytic functions read the FROM source only, before any JOIN', e.position);
    }
    const slot = qualified ? qualified.slot : this.scope.length === 1 ? 0 : null;
    const field = qualified ? e.path[1] : e.path[0];
    if (slot === null || !field) return;
    const known = this.knownColumns.get(slot);
    if (known && !known.has(field.name.toLowerCase())) {
      throw new QueryError('UNKNOWN_COLUMN', `unknown column ${field.name}; the source has ${[...known].join(', ')}`, field.position);
    }
  }
}

/** `alias.*` in a statement with several sources must name one of them. */
function checkWildcard(path: readonly Identifier[], scope: readonly { alias: string }[]): void {
  if (path.length === 0) return;
  const first = path[0]!.name.toLowerCase();
  if (path.length === 1 && !scope.some((s) => s.alias === first) && scope.length > 1) {
    throw new QueryError('UNKNOWN_SOURCE', `${path[0]!.name}.* names no source of the statement`, path[0]!.position);
  }
}

function validateAggregate(e: CallExpression): void {
  const ordered = orderedAggregates.has(e.name);
  if (ordered && (!e.over || e.over.orderBy.length === 0)) {
    throw new QueryError('SYNTAX_ERROR', `${e.displayName} needs OVER (ORDER BY …)`, e.position);
  }
  if (!ordered && e.over) throw new QueryError('SYNTAX_ERROR', `${e.displayName} takes OVER only with LIMIT DURATION`, e.over.position);
  const n = e.args.length;
  const bad = (expected: string) => new QueryError('WRONG_ARGUMENT_COUNT', `${e.displayName} takes ${expected}`, e.position);
  switch (e.name) {
    case 'count': if (n !== 1) throw bad('one argument or *'); break;
    case 'topone': case 'collect': if (n > 1) throw bad('at most one argument'); break;
    case 'collecttop': if (n < 1 || n > 2) throw bad('a count and an optional value'); constantArgument(e, 0, (v) => v >= 1, 'a positive count'); break;
    case 'percentile_cont': case 'percentile_disc': if (n !== 1) throw bad('one fraction'); constantArgument(e, 0, (v) => v >= 0 && v <= 1, 'a fraction between 0 and 1'); break;
    default: if (n !== 1 || e.args[0]!.kind === 'star') throw bad('one argument');
  }
}

function constantArgument(e: CallExpression, i: number, ok: (v: number) => boolean, what: string): void {
  const a = e.args[i];
  if (!a || a.kind !== 'literal' || typeof a.value !== 'number' || !ok(a.value)) {
    throw new QueryError('INVALID_ARGUMENT', `${e.displayName} expects ${what} as a constant`, a?.position ?? e.position);
  }
}

function validateAnalytic(e: CallExpression): void {
  const n = e.args.length;
  switch (e.name) {
    case 'lag':
      if (n < 1 || n > 3) throw new QueryError('WRONG_ARGUMENT_COUNT', 'LAG takes an expression, an optional offset and an optional default', e.position);
      if (n >= 2) constantArgument(e, 1, (v) => Number.isInteger(v) && v >= 1, 'an offset of at least 1');
      break;
    case 'last':
      if (n < 1 || n > 2) throw new QueryError('WRONG_ARGUMENT_COUNT', 'LAST takes an expression and an optional default', e.position);
      break;
    case 'isfirst': {
      const unit = e.args[0];
      if (n !== 2 || !unit || unit.kind !== 'column' || unit.path.length !== 1) throw new QueryError('WRONG_ARGUMENT_COUNT', 'ISFIRST takes a time unit and a size', e.position);
      constantArgument(e, 1, (v) => v > 0, 'a positive size');
      if (e.over?.limitDuration) throw new QueryError('SYNTAX_ERROR', 'ISFIRST takes no LIMIT DURATION; its interval is its own argument', e.over.position);
      return;
    }
    default:
      validateAggregate({ ...e, over: e.over && orderedAggregates.has(e.name) ? { ...e.over, limitDuration: null } : null });
      if (e.distinct) throw new QueryError('SYNTAX_ERROR', `${e.displayName}(DISTINCT …) cannot be used with OVER`, e.position);
  }
  if (!e.over?.limitDuration) throw new QueryError('MISSING_LIMIT_DURATION', `${e.displayName} needs OVER (… LIMIT DURATION(unit, length))`, e.position);
}

function validateWindow(w: NonNullable<SelectStatement['groupBy']>['window']): void {
  if (!w) return;
  const sevenDays = 7 * 86_400_000;
  const check = (d: { unit: Parameters<typeof durationOf>[0]; amount: number; position: Expression['position'] }) => {
    const ms = durationOf(d.unit, d.amount);
    if (!(ms >= 1) || ms > sevenDays || !Number.isInteger(ms)) {
      throw new QueryError('INVALID_ARGUMENT', 'a window size is a whole number of milliseconds, at most 7 days', d.position);
    }
    return ms;
  };
  switch (w.kind) {
    case 'tumbling': check(w.size); return;
    case 'hopping': {
      const size = check(w.size), hop = check(w.hop);
      if (hop > size) throw new QueryError('INVALID_ARGUMENT', 'the hop of a hopping window cannot exceed its size', w.hop.position);
      return;
    }
    case 'sliding': check(w.size); return;
    case 'session': {
      const timeout = check(w.timeout), max = check(w.maxDuration);
      if (timeout > max) throw new QueryError('INVALID_ARGUMENT', 'the timeout of a session window cannot exceed its maximum duration', w.timeout.position);
      return;
    }
    case 'snapshot': return;
    default: assertNever(w);
  }
}

// --- grouping --------------------------------------------------------------------------------

/** In a grouped SELECT, a column outside an aggregate must be (part of) a GROUP BY key. */
function checkGrouped(e: Expression, keys: readonly Expression[], aliases: ReadonlySet<string> = new Set()): void {
  if (keys.some((k) => sameExpression(k, e))) return;
  switch (e.kind) {
    case 'column': {
      if (e.path.length === 1 && aliases.has(e.path[0]!.name.toLowerCase())) return;
      throw new QueryError('COLUMN_NOT_GROUPED', `${e.path.map((p) => p.name).join('.')} is neither in GROUP BY nor inside an aggregate`, e.position);
    }
    case 'call': {
      const kind = callKind(e);
      if (kind === 'aggregate' || kind === 'analytic' || kind === 'metadata') return;
      const part = datePartArgument(e);
      for (const c of children(e)) if (c !== part) checkGrouped(c, keys, aliases);
      return;
    }
    default: for (const c of children(e)) checkGrouped(c, keys, aliases);
  }
}

function sameExpression(a: Expression, b: Expression): boolean {
  return canonicalText(a) === canonicalText(b);
}

function containsSystemTimestamp(e: Expression): boolean {
  return e.kind === 'systemTimestamp' || children(e).some(containsSystemTimestamp);
}

// --- joins -----------------------------------------------------------------------------------

function conjuncts(e: Expression): Expression[] {
  return e.kind === 'binary' && e.operator === 'and' ? [...conjuncts(e.left), ...conjuncts(e.right)] : [e];
}

/** The slots an expression reads; -1 stands for an unqualified column or System.Timestamp(). */
function slotsRead(e: Expression, scope: readonly { alias: string; slot: number }[]): Set<number> {
  const out = new Set<number>();
  const visit = (x: Expression): void => {
    if (x.kind === 'column') {
      const s = scope.find((a) => a.alias === x.path[0]!.name.toLowerCase());
      out.add(s ? s.slot : -1);
      return;
    }
    if (x.kind === 'systemTimestamp') out.add(-1);
    for (const c of children(x)) visit(c);
  };
  visit(e);
  return out;
}

/** `left.x = right.y` conjuncts usable as hash keys for the source in `slot`. */
function equiKeys(on: Expression, slot: number, scope: readonly { alias: string; slot: number }[]): EquiKey[] {
  const keys: EquiKey[] = [];
  for (const c of conjuncts(on)) {
    if (c.kind !== 'binary' || c.operator !== '=') continue;
    const l = slotsRead(c.left, scope), r = slotsRead(c.right, scope);
    const onlyRight = (s: Set<number>) => s.size === 1 && s.has(slot);
    const onlyLeft = (s: Set<number>) => s.size > 0 && [...s].every((x) => x >= 0 && x < slot);
    if (onlyLeft(l) && onlyRight(r)) keys.push({ left: c.left, right: c.right, condition: c });
    else if (onlyRight(l) && onlyLeft(r)) keys.push({ left: c.right, right: c.left, condition: c });
  }
  return keys;
}

/**
 * The time bound of a stream join: from DATEDIFF(unit, a, b) compared with constants, the range
 * of (joined source's time − other source's time). Both ends are required.
 */
function joinBound(on: Expression, scope: readonly { alias: string; slot: number }[], slot: number): { low: number; high: number } | null {
  let low = -Infinity, high = Infinity;
  const diffOf = (e: Expression): { sign: number; unitMs: number } | null => {
    if (e.kind !== 'call' || e.name !== 'datediff' || e.args.length !== 3) return null;
    const [u, a, b] = e.args;
    const slotOf = (x: typeof a) => (x && x.kind === 'column' && x.path.length === 1 ? scope.find((s) => s.alias === x.path[0]!.name.toLowerCase())?.slot : undefined);
    const sa = slotOf(a), sb = slotOf(b);
    if (sa === undefined || sb === undefined || u?.kind !== 'column') return null;
    const unit = timeUnitOf(u.path[0]!.name);
    if (unit === undefined) return null;
    const ms = unitMs(unit);
    if (sb === slot && sa < slot) return { sign: 1, unitMs: ms };
    if (sa === slot && sb < slot) return { sign: -1, unitMs: ms };
    return null;
  };
  const constant = (e: Expression): number | null => (e.kind === 'literal' && typeof e.value === 'number' ? e.value : null);
  const apply = (d: { sign: number; unitMs: number }, lo: number, hi: number) => {
    // d.sign = -1 means the DATEDIFF runs from the joined source to the other: negate the range.
    const [a, b] = d.sign > 0 ? [lo, hi] : [-hi, -lo];
    low = Math.max(low, a * d.unitMs);
    high = Math.min(high, b * d.unitMs);
  };
  for (const c of conjuncts(on)) {
    if (c.kind === 'between' && !c.negated) {
      const d = diffOf(c.operand), lo = constant(c.low), hi = constant(c.high);
      if (d && lo !== null && hi !== null) apply(d, lo, hi);
    } else if (c.kind === 'binary') {
      let d = diffOf(c.left), k = constant(c.right), op = c.operator;
      if (!d) {
        d = diffOf(c.right);
        k = constant(c.left);
        op = ({ '<': '>', '<=': '>=', '>': '<', '>=': '<=', '=': '=' } as Record<string, typeof op>)[op] ?? op;
      }
      if (!d || k === null) continue;
      if (op === '=') apply(d, k, k);
      else if (op === '<' || op === '<=') apply(d, -Infinity, k);
      else if (op === '>' || op === '>=') apply(d, k, Infinity);
    }
  }
  return Number.isFinite(low) && Number.isFinite(high) && low <= high ? { low, high } : null;
}

// --- output names ----------------------------------------------------------------------------

/**
 * Column names of a SELECT: the alias, else the last segment of a column path, else the
 * function's name; null for wildcards (known only at run time). The cloud service does not
 * document names of unaliased expressions; see docs/query-language.md.
 */
function columnNamesOf(s: SelectStatement, steps: ReadonlyMap<string, StepInfo>, from: PlannedSource): (string | null)[] {
  return s.items.flatMap((item, i): (string | null)[] => {
    if (item.kind === 'wildcard') {
      if (from.origin.kind === 'step' && (item.path.length === 0 || item.path[0]!.name.toLowerCase() === from.alias) && item.path.length <= 1 && s.clauses.length === 0) {
        return [...(steps.get(from.origin.name.toLowerCase())?.columns ?? [null])];
      }
      return [null];
    }
    return [outputName(item.expression, item.alias, i)];
  });
}

export function outputName(e: Expression, alias: Identifier | null, index: number): string {
  if (alias) return alias.name;
  if (e.kind === 'column') return e.path[e.path.length - 1]!.name;
  if (e.kind === 'call') return e.displayName.split('.').pop()!.toLowerCase();
  return `column${index + 1}`;
}
