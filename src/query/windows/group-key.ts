// The key of a group (or partition) from its GROUP BY expressions: type-sensitive, NULL equal
// to NULL, and no allocation for the usual single key.
import type { Frame } from '../runtime/frame.js';
import { compositeKeyOf, keyOf, type Key } from '../values.js';
import type { Evaluator } from '../expressions/compile-expression.js';

export function groupKeyOf(keys: readonly Evaluator[], frame: Frame): Key {
  switch (keys.length) {
    case 0: return null;
    case 1: return keyOf(keys[0]!(frame));
    default: return compositeKeyOf(keys.map((k) => k(frame)));
  }
}
