// WHERE before a window: only frames satisfying the predicate reach the groups.
import type { Frame, FrameSink } from '../runtime/frame.js';

export class FilterOperator implements FrameSink {
  constructor(private readonly predicate: (f: Frame) => boolean, private readonly downstream: FrameSink) {}

  push(frame: Frame): void {
    if (this.predicate(frame)) this.downstream.push(frame);
  }

  advance(watermark: number, substream: string | null): void {
    this.downstream.advance(watermark, substream);
  }
}
