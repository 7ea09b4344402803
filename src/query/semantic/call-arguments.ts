// A call's own arguments, checked wherever the call stands: how many there are, which must be
// constants, time units or date parts, and what its OVER clause may hold.
import { QueryError } from '../model/errors.js';
import { datePartNames, isTimeUnit, timeUnitNames, timeUnitOf } from '../model/time.js';
import type { CallExpression } from '../syntax/ast.js';
import { datePartOfCall } from '../expressions/call-kinds.js';
import { orderedAggregates } from '../functions/aggregate-functions.js';
import { scalarFunctions } from '../functions/scalar-functions.js';
import { userFunctionName, type UserFunctionCatalogue } from '../functions/user-functions.js';

export function checkAggregateCall(e: CallExpression): void {
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

/** LAG, LAST, ISFIRST and aggregates OVER (… LIMIT DURATION …). */
export function checkAnalyticCall(e: CallExpression): void {
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
      if (!timeUnitOf(unit.path[0]!.name)) throw new QueryError('INVALID_ARGUMENT', `ISFIRST expects a time unit (${timeUnitNames()})`, unit.position);
      constantArgument(e, 1, (v) => v > 0, 'a positive size');
      if (e.over?.limitDuration) throw new QueryError('SYNTAX_ERROR', 'ISFIRST takes no LIMIT DURATION; its interval is its own argument', e.over.position);
      return;
    }
    default:
      checkAggregateCall({ ...e, over: e.over && orderedAggregates.has(e.name) ? { ...e.over, limitDuration: null } : null });
      if (e.distinct) throw new QueryError('SYNTAX_ERROR', `${e.displayName}(DISTINCT …) cannot be used with OVER`, e.position);
  }
  if (!e.over?.limitDuration) throw new QueryError('MISSING_LIMIT_DURATION', `${e.displayName} needs OVER (… LIMIT DURATION(unit, length))`, e.position);
}

/**
 * A scalar function. `betweenSources`: DATEDIFF's two arguments name two sources of the
 * statement, so it measures the time between their events, which only time units can.
 */
export function checkScalarCall(e: CallExpression, betweenSources: boolean): void {
  const fn = scalarFunctions[e.name]!;
  if (e.args.length < fn.minArgs || e.args.length > fn.maxArgs) {
    const expected = fn.minArgs === fn.maxArgs ? `${fn.minArgs}` : fn.maxArgs === Infinity ? `at least ${fn.minArgs}` : `${fn.minArgs} to ${fn.maxArgs}`;
    throw new QueryError('WRONG_ARGUMENT_COUNT', `${e.displayName} takes ${expected} argument${expected === '1' ? '' : 's'}, found ${e.args.length}`, e.position);
  }
  if (e.over) throw new QueryError('SYNTAX_ERROR', `${e.displayName} takes no OVER clause`, e.over.position);
  if (!fn.datePartFirst) return;
  const part = datePartOfCall(e);
  if (!part) throw new QueryError('INVALID_ARGUMENT', `${e.displayName} expects a date part (${datePartNames()})`, e.args[0]!.position);
  if (betweenSources && !isTimeUnit(part)) {
    throw new QueryError('INVALID_ARGUMENT', `DATEDIFF between sources takes ${timeUnitNames(' or')}`, e.args[0]!.position);
  }
}

/** GetMetadataPropertyValue(alias, 'Property'). */
export function checkMetadataCall(e: CallExpression): void {
  const [source, property] = e.args;
  if (e.args.length !== 2 || source?.kind !== 'column' || property?.kind !== 'literal' || typeof property.value !== 'string') {
    throw new QueryError('INVALID_ARGUMENT', 'GetMetadataPropertyValue takes a source alias and a property name', e.position);
  }
}

function constantArgument(e: CallExpression, i: number, ok: (v: number) => boolean, what: string): void {
  const a = e.args[i];
  if (!a || a.kind !== 'literal' || typeof a.value !== 'number' || !ok(a.value)) {
    throw new QueryError('INVALID_ARGUMENT', `${e.displayName} expects ${what} as a constant`, a?.position ?? e.position);
  }
}

/** udf.NAME(…) and uda.NAME(expr): a function the query was given, called as it can be. */
export function checkUserCall(e: CallExpression, functions: UserFunctionCatalogue): void {
  const aggregate = e.name.startsWith('uda.');
  const name = userFunctionName(e.name);
  const known = aggregate ? functions.uda : functions.udf;
  if (!known.has(name)) {
    const names = aggregate ? functions.udaNames : functions.udfNames;
    const given = names.length > 0 ? `the query was given ${names.map((n) => `${aggregate ? 'uda' : 'udf'}.${n}`).join(', ')}` : `the query was given no JavaScript ${aggregate ? 'aggregate' : 'function'}`;
    throw new QueryError('UNKNOWN_FUNCTION', `unknown ${aggregate ? 'aggregate' : 'function'} ${e.displayName}; ${given}`, e.position);
  }
  if (e.over) throw new QueryError('UNSUPPORTED', `${e.displayName} takes no OVER clause`, e.over.position);
  if (e.distinct) throw new QueryError('UNSUPPORTED', `${e.displayName}(DISTINCT …) is not supported`, e.position);
  const star = e.args.find((a) => a.kind === 'star');
  if (star) throw new QueryError('SYNTAX_ERROR', `${e.displayName} does not take *`, star.position);
  if (aggregate && e.args.length !== 1) throw new QueryError('WRONG_ARGUMENT_COUNT', `${e.displayName} takes one argument, found ${e.args.length}`, e.position);
}
