// GROUP BY's rule for the SELECT list and HAVING: outside aggregates, only grouped expressions.
import { QueryError } from '../model/errors.js';
import { children, type Expression } from '../syntax/ast.js';
import { canonicalText } from '../syntax/canonical.js';
import { callKind, datePartArgument } from '../expressions/call-kinds.js';

/** In a grouped SELECT, a column outside an aggregate must be (part of) a GROUP BY key. */
export function checkGrouped(e: Expression, keys: readonly Expression[], aliases: ReadonlySet<string> = new Set()): void {
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
