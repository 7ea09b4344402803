// The names of a statement's output columns, as the analysis knows them for steps' readers and
// the projection writes them.
import type { Expression, Identifier, SelectStatement } from '../syntax/ast.js';
import type { PlannedSource } from './plan.js';

/**
 * Column names of a SELECT: the alias, else the last segment of a column path, else the
 * function's name; null for wildcards (known only at run time). The cloud service does not
 * document names of unaliased expressions; see docs/query-language.md.
 */
export function columnNamesOf(s: SelectStatement, steps: ReadonlyMap<string, { readonly columns: readonly string[] | null }>, from: PlannedSource): (string | null)[] {
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

/** The name of one SELECT item's column. */
export function outputName(e: Expression, alias: Identifier | null, index: number): string {
  if (alias) return alias.name;
  if (e.kind === 'column') return e.path[e.path.length - 1]!.name;
  if (e.kind === 'call') return e.displayName.split('.').pop()!.toLowerCase();
  return `column${index + 1}`;
}
