// CROSS APPLY / OUTER APPLY GetArrayElements(…) or GetRecordProperties(…): one frame per element,
// keeping the parent event's timestamp. OUTER APPLY keeps an event with no elements, NULL-filled.
import type { Evaluator, Frame, FrameSink } from '../dataflow/frame.js';
import { tableFunctions, type TableFunctionName } from '../functions/scalar-functions.js';
import type { Row, Value } from '../model/values.js';
import { withSlot } from './reference-join.js';

export class ApplyOperator implements FrameSink {
  /** Every element goes downstream in a copy of the frame. */
  readonly keepsFrames = false;
  private readonly expand: (v: Value) => Value[];

  constructor(
    private readonly slot: number,
    private readonly outer: boolean,
    fn: TableFunctionName,
    private readonly argument: Evaluator,
    private readonly downstream: FrameSink,
  ) {
    this.expand = tableFunctions[fn];
  }

  push(frame: Frame): void {
    const elements = this.expand(this.argument(frame));
    if (elements.length === 0 && this.outer) {
      this.downstream.push(withSlot(frame, this.slot, null));
      return;
    }
    for (const element of elements) this.downstream.push(withSlot(frame, this.slot, element as Row));
  }

  advance(watermark: number, substream: string | null): void {
    this.downstream.advance(watermark, substream);
  }
}
