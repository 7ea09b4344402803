// A text form of an expression that ignores positions and identifier case, so two spellings of
// one expression (in GROUP BY and in SELECT) are recognised as the same.
import type { Expression } from './ast.js';

export function canonicalText(e: Expression): string {
  return JSON.stringify(e, (key, value: unknown) => {
    if (key === 'position') return undefined;
    if ((key === 'name' || key === 'displayName') && typeof value === 'string') return value.toLowerCase();
    return value;
  });
}
