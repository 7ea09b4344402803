// Every expression of a statement, checked where it stands: columns against the sources in
// scope, aggregates, analytic functions and windows against their place, each call's arguments,
// and every constant evaluated once, so one that cannot be (CAST('x' AS bigint), 1/0) is a query
// error here rather than when a runner is built.
import { assertNever, QueryError } from '../model/errors.js';
import { children, type CallExpression, type ColumnExpression, type Expression } from '../syntax/ast.js';
import { callKind, datePartArgument } from '../expressions/call-kinds.js';
import { evaluateConstant, isConstant } from '../expressions/compile-expression.js';
import { checkAggregateCall, checkAnalyticCall, checkMetadataCall, checkScalarCall, checkUserCall } from './call-arguments.js';
import type { UserFunctionCatalogue } from '../functions/user-functions.js';

/** Where an expression stands, which decides what it may contain. */
export type Place = 'timestamp' | 'on' | 'where' | 'groupBy' | 'select' | 'groupedSelect' | 'scalar';

interface Context {
  readonly inAggregate: boolean;
  readonly inAnalytic: boolean;
  /** SELECT aliases HAVING may name instead of columns. */
  readonly aliases: ReadonlySet<string>;
  /** Inside a constant already being evaluated as a whole. */
  readonly inConstant: boolean;
}

export class ExpressionChecker {
  /** Every analytic function and aggregate met, in order: the slots the plan gives them. */
  readonly analytics: CallExpression[] = [];
  readonly aggregates: CallExpression[] = [];

  constructor(
    private readonly scope: readonly { alias: string; slot: number }[],
    private readonly knownColumns: ReadonlyMap<number, ReadonlySet<string>>,
    private readonly functions: UserFunctionCatalogue,
  ) {}

  check(e: Expression, place: Place, aliases: ReadonlySet<string> = new Set()): void {
    this.walk(e, place, { inAggregate: false, inAnalytic: false, aliases, inConstant: false });
  }

  private walk(e: Expression, place: Place, cx: Context): void {
    // The compiler folds the largest constant subtrees; each is evaluated here, after its parts
    // are checked, so that any fault in it is reported with its position now.
    const folded = !cx.inConstant && e.kind !== 'literal' && isConstant(e);
    const inner = folded ? { ...cx, inConstant: true } : cx;
    switch (e.kind) {
      case 'column': this.column(e, inner.aliases, inner.inAnalytic); break;
      case 'call': this.call(e, place, inner); break;
      default: for (const c of children(e)) this.walk(c, place, inner);
    }
    if (folded) evaluateConstant(e);
  }

  private call(e: CallExpression, place: Place, cx: Context): void {
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
        checkUserCall(e, this.functions);
        for (const a of args) this.walk(a, place, cx);
        return;
      case 'aggregate': {
        if (place !== 'groupedSelect') {
          if (place === 'select') throw new QueryError('AGGREGATE_WITHOUT_WINDOW', `${e.displayName} is an aggregate; the statement needs GROUP BY with a window`, e.position);
          throw new QueryError('AGGREGATE_NOT_ALLOWED', `${e.displayName} is an aggregate; aggregates belong in SELECT and HAVING`, e.position);
        }
        if (cx.inAggregate) throw new QueryError('AGGREGATE_NOT_ALLOWED', 'an aggregate cannot contain another aggregate', e.position);
        if (e.name.startsWith('uda.')) checkUserCall(e, this.functions);
        else checkAggregateCall(e);
        this.aggregates.push(e);
        for (const a of args) this.walk(a, 'scalar', { ...cx, inAggregate: true });
        for (const o of e.over?.orderBy ?? []) this.walk(o.expression, 'scalar', { ...cx, inAggregate: true });
        return;
      }
      case 'analytic': {
        if (cx.inAnalytic) throw new QueryError('ANALYTIC_NOT_ALLOWED', `${e.displayName} cannot be nested in another analytic function`, e.position);
        if (place === 'timestamp') throw new QueryError('ANALYTIC_NOT_ALLOWED', `${e.displayName} cannot be used in TIMESTAMP BY`, e.position);
        checkAnalyticCall(e);
        this.analytics.push(e);
        // Evaluated on the FROM source's events alone, before WHERE, JOIN and SELECT aliases.
        const inner = { ...cx, inAnalytic: true, inAggregate: false, aliases: new Set<string>() };
        for (let i = 0; i < args.length; i++) if (!(e.name === 'isfirst' && i === 0)) this.walk(args[i]!, 'scalar', inner);
        for (const p of e.over?.partitionBy ?? []) this.walk(p, 'scalar', inner);
        for (const o of e.over?.orderBy ?? []) this.walk(o.expression, 'scalar', inner);
        if (e.over?.when) this.walk(e.over.when, 'scalar', inner);
        return;
      }
      case 'metadata':
        checkMetadataCall(e);
        return;
      case 'scalar': {
        const betweenSources = e.name === 'datediff' && this.namesTwoSources(e);
        checkScalarCall(e, betweenSources);
        // DATEDIFF(unit, alias1, alias2) in ON is the join's time bound: its aliases are no columns.
        if (betweenSources && place === 'on') return;
        const part = datePartArgument(e);
        for (const a of e.args) {
          if (a.kind === 'star') throw new QueryError('SYNTAX_ERROR', `${e.displayName} does not take *`, a.position);
          if (a !== part) this.walk(a, place, cx);
        }
        return;
      }
      default: assertNever(kind);
    }
  }

  /** DATEDIFF(unit, alias1, alias2): the time between the events of two sources of the statement. */
  private namesTwoSources(e: CallExpression): boolean {
    return e.args.length === 3 && e.args.slice(1).every((a) => a.kind === 'column' && a.path.length === 1 && this.scope.some((s) => s.alias === a.path[0]!.name.toLowerCase()));
  }

  private column(e: ColumnExpression, aliases: ReadonlySet<string>, inAnalytic: boolean): void {
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
