// The expressions of MEASURES and DEFINE, turned into ordinary expressions the engine's compiler
// takes. A column qualified by a pattern variable (`Viewed.productId`) becomes a column of a
// source per variable, holding that variable's last event (in DEFINE, the variable being defined
// holds the event under test). A bare column name (`price`) reads any event, as the standard's
// universal pattern variable: the event under test in DEFINE, the match's last event in MEASURES,
// and every event of the match inside an aggregate or First/Last. A qualified path whose first name
// is no pattern variable is an error, so a misspelt or undefined variable never reads NULL quietly.
// Navigation functions and aggregates — First(V.x), Last(V.x), Count(*), Sum(V.x)… — become
// columns of one more source that holds their values, computed from the match before the
// expression is evaluated.
import { assertNever, QueryError } from '../model/errors.js';
import type { CallExpression, Expression, Identifier } from '../syntax/ast.js';
import { aggregateNames, orderedAggregates, type AggregateName } from '../functions/aggregate-functions.js';
import { datePartArgument } from '../expressions/call-kinds.js';

/** The source of navigation and aggregate values (a name no query can write). */
export const navigationAlias = '\u0001match';
/** The source holding pattern variable `i`'s event; `anyAlias` holds the current or last event. */
export const variableAlias = (i: number): string => `\u0001var${i}`;
/** The one event a navigation's argument is evaluated on. */
export const eventAlias = '\u0001event';
export const anyAlias = '\u0001any';

export interface Navigation {
  readonly kind: 'first' | 'last' | 'aggregate';
  readonly aggregate: AggregateName | null;
  readonly distinct: boolean;
  /** The variable whose events are read; null for every event of the match. */
  readonly variable: number | null;
  /** Evaluated on one event (eventAlias); null for COUNT(*). */
  readonly argument: Expression | null;
  /** Its value's field in the navigation source. */
  readonly field: string;
}

export interface MatchExpression {
  readonly expression: Expression;
  readonly navigations: readonly Navigation[];
  /** Variables read directly (not through a navigation). */
  readonly reads: ReadonlySet<number>;
}

/** Names of pattern variables, lower-cased, to their index. */
export type VariableIndex = ReadonlyMap<string, number>;

export function rewriteMatchExpression(e: Expression, variables: VariableIndex, navigationStart = 0): MatchExpression {
  const navigations: Navigation[] = [];
  const reads = new Set<number>();
  const expression = rewrite(e, (column) => {
    if (isUniversal(column, variables)) return qualify(column, anyAlias, 0);
    const v = variableOf(column.path[0]!, variables);
    reads.add(v);
    return qualify(column, variableAlias(v));
  }, (call) => {
    const nav = navigationOf(call, variables, `n${navigationStart + navigations.length}`);
    if (!nav) return null;
    navigations.push(nav);
    return { kind: 'column', path: [{ name: navigationAlias, position: call.position }, { name: nav.field, position: call.position }], position: call.position };
  });
  return { expression, navigations, reads };
}

function variableOf(name: Identifier, variables: VariableIndex): number {
  const v = variables.get(name.name.toLowerCase());
  if (v === undefined) {
    throw new QueryError('UNDEFINED_PATTERN_VARIABLE', `${name.name} is not a pattern variable; inside MATCH_RECOGNIZE a column is qualified by one (${[...variables.keys()].join(', ')})`, name.position);
  }
  return v;
}

/** A bare name that is no pattern variable: a column of any event. */
function isUniversal(column: Extract<Expression, { kind: 'column' }>, variables: VariableIndex): boolean {
  return column.path.length === 1 && !variables.has(column.path[0]!.name.toLowerCase());
}

/** The column under another source: `drop` leading names (the variable) replaced by `alias`. */
function qualify(column: Extract<Expression, { kind: 'column' }>, alias: string, drop = 1): Expression {
  return { kind: 'column', path: [{ name: alias, position: column.path[0]!.position }, ...column.path.slice(drop)], position: column.position };
}

/** First/Last/an aggregate over one variable's events (or all the match's), or null for any other call. */
function navigationOf(call: CallExpression, variables: VariableIndex, field: string): Navigation | null {
  const isNavigation = call.name === 'first' || call.name === 'last';
  if (!isNavigation && !aggregateNames.has(call.name)) {
    if (call.name === 'lag' || call.name === 'isfirst' || call.over) {
      throw new QueryError('UNSUPPORTED', `${call.displayName} is not available inside MATCH_RECOGNIZE; use First, Last or an aggregate over a pattern variable`, call.position);
    }
    return null;
  }
  if (call.over) throw new QueryError('UNSUPPORTED', `${call.displayName} … OVER is not available inside MATCH_RECOGNIZE`, call.over.position);
  if (orderedAggregates.has(call.name)) {
    throw new QueryError('UNSUPPORTED', `${call.displayName} is not available inside MATCH_RECOGNIZE; use First, Last, Count, Sum, Avg, Min, Max, StDev, Var or Collect`, call.position);
  }
  const [arg, ...rest] = call.args;
  if (!arg || rest.length > 0) throw new QueryError('WRONG_ARGUMENT_COUNT', `${call.displayName} takes one argument here, as in ${call.displayName}(variable.column)`, call.position);
  if (arg.kind === 'star') {
    if (call.name !== 'count') throw new QueryError('SYNTAX_ERROR', `${call.displayName} does not take *`, arg.position);
    return { kind: 'aggregate', aggregate: 'count', distinct: false, variable: null, argument: null, field };
  }
  let variable: number | null = null;
  const argument = rewrite(arg, (column) => {
    if (isUniversal(column, variables)) return qualify(column, eventAlias, 0);
    const v = variableOf(column.path[0]!, variables);
    if (variable !== null && variable !== v) {
      throw new QueryError('INVALID_ARGUMENT', `${call.displayName} reads one pattern variable; this argument names two`, column.position);
    }
    variable = v;
    return qualify(column, eventAlias);
  }, (inner) => {
    if (inner.name === 'first' || inner.name === 'last' || aggregateNames.has(inner.name)) {
      throw new QueryError('AGGREGATE_NOT_ALLOWED', `${inner.displayName} cannot be nested in ${call.displayName}`, inner.position);
    }
    return null;
  });
  return {
    kind: isNavigation ? (call.name as 'first' | 'last') : 'aggregate',
    aggregate: isNavigation ? null : (call.name as AggregateName),
    distinct: call.distinct,
    variable,
    argument,
    field,
  };
}

type ColumnRewrite = (c: Extract<Expression, { kind: 'column' }>) => Expression;
type CallRewrite = (c: CallExpression) => Expression | null;

/** A copy of `e` with its columns, and the calls `onCall` takes, replaced. */
function rewrite(e: Expression, onColumn: ColumnRewrite, onCall: CallRewrite): Expression {
  const r = (x: Expression): Expression => rewrite(x, onColumn, onCall);
  switch (e.kind) {
    case 'literal': case 'systemTimestamp': return e;
    case 'column': return onColumn(e);
    case 'unary': return { ...e, operand: r(e.operand) };
    case 'isNull': return { ...e, operand: r(e.operand) };
    case 'cast': return { ...e, operand: r(e.operand) };
    case 'binary': return { ...e, left: r(e.left), right: r(e.right) };
    case 'between': return { ...e, operand: r(e.operand), low: r(e.low), high: r(e.high) };
    case 'in': return { ...e, operand: r(e.operand), list: e.list.map(r) };
    case 'like': return { ...e, operand: r(e.operand), pattern: r(e.pattern) };
    case 'case': return {
      ...e,
      operand: e.operand ? r(e.operand) : null,
      branches: e.branches.map((b) => ({ when: r(b.when), then: r(b.then) })),
      otherwise: e.otherwise ? r(e.otherwise) : null,
    };
    case 'call': {
      const replaced = onCall(e);
      if (replaced) return replaced;
      // DATEDIFF(minute, …): the date part is a keyword written like a column.
      const part = datePartArgument(e);
      return { ...e, args: e.args.map((a) => (a.kind === 'star' || a === part ? a : r(a))) };
    }
    default: return assertNever(e);
  }
}
