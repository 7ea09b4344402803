// Which kind of function a call names. One place, so the semantic checks, the planner and the
// expression compiler agree.
import { datePartOf, type DatePart } from '../model/time.js';
import type { CallExpression, Expression } from '../syntax/ast.js';
import { isWindowCall } from '../syntax/window-kinds.js';
import { aggregateNames } from '../functions/aggregate-functions.js';
import { scalarFunctions, tableFunctions } from '../functions/scalar-functions.js';

export type CallKind = 'scalar' | 'aggregate' | 'analytic' | 'window' | 'table' | 'metadata' | 'user' | 'unknown';

const analyticNames: ReadonlySet<string> = new Set(['lag', 'last', 'isfirst']);

export function callKind(e: CallExpression): CallKind {
  if (analyticNames.has(e.name)) return 'analytic';
  // A JavaScript aggregate stands wherever an aggregate may; a JavaScript function is scalar, but
  // never folded as a constant (it may not be deterministic) nor known to the scalar library.
  if (e.name.startsWith('uda.')) return 'aggregate';
  if (aggregateNames.has(e.name)) return e.over?.limitDuration ? 'analytic' : 'aggregate';
  if (Object.hasOwn(scalarFunctions, e.name)) return 'scalar';
  if (isWindowCall(e.name)) return 'window';
  if (Object.hasOwn(tableFunctions, e.name)) return 'table';
  if (e.name === 'getmetadatapropertyvalue') return 'metadata';
  if (e.name.startsWith('udf.')) return 'user';
  return 'unknown';
}

/**
 * The date-part keyword of DATEADD, DATEDIFF, DATEPART and DATENAME (`minute` in
 * DATEADD(minute, …)): written like a column, but a keyword, never read from an event.
 */
export function datePartArgument(e: CallExpression): Expression | null {
  const first = e.args[0];
  return scalarFunctions[e.name]?.datePartFirst === true && first !== undefined && first.kind !== 'star' ? first : null;
}

/** The date part a call's keyword names; undefined when it names none, or the call takes none. */
export function datePartOfCall(e: CallExpression): DatePart | undefined {
  const a = datePartArgument(e);
  return a?.kind === 'column' && a.path.length === 1 ? datePartOf(a.path[0]!.name) : undefined;
}
