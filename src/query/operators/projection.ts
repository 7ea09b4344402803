// Builds an output row from a frame: the SELECT list, compiled once.
import type { Evaluator, Frame } from '../dataflow/frame.js';
import { isRecord, newRow, setField, type Row } from '../model/values.js';
import type { SelectItem } from '../syntax/ast.js';
import { compileExpression, pathFrom, type CompileOptions } from '../expressions/compile-expression.js';
import { outputName } from '../semantic/column-names.js';

export type Projection = (frame: Frame) => Row;

type ColumnWriter = (row: Row, frame: Frame) => void;

export function compileProjection(items: readonly SelectItem[], options: CompileOptions): Projection {
  const writers: ColumnWriter[] = items.map((item, index): ColumnWriter => {
    if (item.kind === 'expression') {
      const name = outputName(item.expression, item.alias, index);
      const ev = compileExpression(item.expression, options);
      if (name === '__proto__') return (row, f) => setField(row, name, ev(f));
      return (row, f) => { row[name] = ev(f); };
    }
    if (item.path.length === 0) {
      // SELECT *: every source's fields, the earlier source winning a name clash.
      const slots = options.scope.sources.map((s) => s.slot);
      return (row, f) => { for (const slot of slots) copyInto(row, f.slots[slot] ?? null); };
    }
    const first = item.path[0]!.name.toLowerCase();
    const source = options.scope.sources.find((s) => s.alias === first);
    const names = item.path.map((p) => p.name);
    const read: Evaluator = source ? pathFrom(source.slot, names.slice(1)) : pathFrom(options.scope.sources[0]?.slot ?? 0, names);
    return (row, f) => copyInto(row, read(f));
  });
  return (f) => {
    const row = newRow();
    for (const w of writers) w(row, f);
    return row;
  };
}

function copyInto(row: Row, from: unknown): void {
  if (!isRecord(from as Row)) return;
  const rec = from as Row;
  for (const k in rec) if (Object.hasOwn(rec, k) && !Object.hasOwn(row, k)) setField(row, k, rec[k] ?? null);
}
