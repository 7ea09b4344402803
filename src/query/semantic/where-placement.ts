// Where WHERE runs. A statement that ends in joins with reference data would otherwise probe
// every event before WHERE drops most of them; the conjuncts of WHERE that read only what is
// there before those joins run ahead of them instead. Nothing observable may change: the rows,
// their order and the diagnostics stay those of WHERE after the joins.
//
// A conjunct reading only sources filled in before the joins has the same value on every row the
// joins make of an event (a LEFT JOIN's miss included), so dropping the event early drops exactly
// those rows. What else changes is which events are evaluated: early conjuncts see events an
// inner join would have dropped, and the joins, and the conjuncts left for after them, no longer
// see the events dropped early. So nothing in WHERE or in those joins may be able to report a
// diagnostic (or throw), or the set of diagnostics would change with the placement.
import { assertNever } from '../model/errors.js';
import { children, type Expression } from '../syntax/ast.js';
import { callKind } from '../expressions/call-kinds.js';
import { isConstant } from '../expressions/compile-expression.js';
import { conjuncts } from './join-conditions.js';
import type { PlannedClause } from './plan.js';

type Scope = readonly { readonly alias: string; readonly slot: number }[];

export interface WherePlacement {
  /** Conjuncts of WHERE evaluated just before clause `at`; null when none are. */
  readonly early: Expression | null;
  readonly at: number;
  /** The rest of WHERE, after every clause. */
  readonly late: Expression | null;
}

/** WHERE as written: all of it after the clauses. */
export function whereAfterClauses(where: Expression | null, clauses: readonly PlannedClause[]): WherePlacement {
  return { early: null, at: clauses.length, late: where };
}

export function placeWhere(where: Expression | null, from: number, clauses: readonly PlannedClause[], scope: Scope): WherePlacement {
  // Only past the reference joins that end the clauses: a stream join keeps state and an apply
  // evaluates its argument, both of which would see other events.
  let at = clauses.length;
  while (at > 0 && clauses[at - 1]!.kind === 'referenceJoin') at--;
  if (!where || at === clauses.length) return whereAfterClauses(where, clauses);
  const joined = clauses.slice(at).flatMap((c) => (c.kind === 'referenceJoin' ? [...c.keys.flatMap((k) => [k.left, k.right]), ...(c.residual ? [c.residual] : [])] : []));
  if (!quiet(where) || !joined.every(quiet)) return whereAfterClauses(where, clauses);

  const filled = new Set<number>([from]);
  for (const c of clauses.slice(0, at)) filled.add(c.kind === 'apply' ? c.slot : c.source.slot);
  const early: Expression[] = [], late: Expression[] = [];
  for (const c of conjuncts(where)) (readsOnly(c, filled, scope) ? early : late).push(c);
  if (early.length === 0) return whereAfterClauses(where, clauses);
  return { early: and(early), at, late: late.length > 0 ? and(late) : null };
}

function and(parts: readonly Expression[]): Expression {
  return parts.reduce((acc, c) => ({ kind: 'binary', operator: 'and', left: acc, right: c, position: c.position }));
}

/**
 * Whether evaluating `e` on an event can neither report a diagnostic nor throw: no arithmetic,
 * CAST, scalar or JavaScript function. Constant parts are evaluated once, when compiled, whatever runs.
 */
function quiet(e: Expression): boolean {
  if (isConstant(e)) return true;
  switch (e.kind) {
    case 'literal': case 'column': case 'systemTimestamp': case 'isNull': case 'between': case 'in': case 'case': case 'like':
      break;
    case 'unary':
      if (e.operator === 'negate') return false;
      break;
    case 'binary':
      if (e.operator === '+' || e.operator === '-' || e.operator === '*' || e.operator === '/' || e.operator === '%') return false;
      break;
    case 'cast':
      if (!e.lenient) return false;
      break;
    case 'call':
      // LAG, LAST and the like were computed before any join; GetMetadataPropertyValue reads a field.
      return callKind(e) === 'analytic' || callKind(e) === 'metadata';
    default: return assertNever(e);
  }
  return children(e).every(quiet);
}

/**
 * Whether `e` reads nothing but the sources in `slots`. An unqualified column in a statement with
 * several sources is the first source's that has the field, so it may be the reference data's.
 */
function readsOnly(e: Expression, slots: ReadonlySet<number>, scope: Scope): boolean {
  if (isConstant(e)) return true;
  const slotOf = (alias: string): number | undefined => scope.find((s) => s.alias === alias.toLowerCase())?.slot;
  switch (e.kind) {
    case 'column': {
      const slot = slotOf(e.path[0]!.name);
      return slot !== undefined && slots.has(slot);
    }
    case 'call':
      if (callKind(e) === 'analytic') return true;
      if (callKind(e) === 'metadata') {
        const source = e.args[0];
        return source?.kind === 'column' && slots.has(slotOf(source.path[0]!.name) ?? 0);
      }
      return false;
    default:
      return children(e).every((c) => readsOnly(c, slots, scope));
  }
}
