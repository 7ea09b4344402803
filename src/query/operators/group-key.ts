// The key of a group (or partition) from its GROUP BY expressions: type-sensitive, NULL equal
// to NULL, and no allocation for the usual single key.
import type { Evaluator, Frame } from '../dataflow/frame.js';
import { compositeKeyOf, keyOf, type Key } from '../model/values.js';

export function groupKeyOf(keys: readonly Evaluator[], frame: Frame): Key {
  switch (keys.length) {
    case 0: return null;
    case 1: return keyOf(keys[0]!(frame));
    default: return compositeKeyOf(keys.map((k) => k(frame)));
  }
}
