// What an ON clause says about a join, read from its AND-ed conditions: the equalities that can
// be hash-lookup keys, and for two streams the time bound DATEDIFF(unit, a, b) puts on a match.
import { timeUnitOf, unitMs } from '../model/time.js';
import { children, type Expression } from '../syntax/ast.js';
import type { EquiKey } from './plan.js';

type Scope = readonly { readonly alias: string; readonly slot: number }[];

/** The AND-ed conditions of an ON clause. */
export function conjuncts(e: Expression): Expression[] {
  return e.kind === 'binary' && e.operator === 'and' ? [...conjuncts(e.left), ...conjuncts(e.right)] : [e];
}

/** The slots an expression reads; -1 stands for an unqualified column or System.Timestamp(). */
function slotsRead(e: Expression, scope: Scope): Set<number> {
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
export function equiKeys(on: Expression, slot: number, scope: Scope): EquiKey[] {
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
export function joinBound(on: Expression, scope: Scope, slot: number): { low: number; high: number } | null {
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
