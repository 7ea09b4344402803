// WHERE before a window, or the part of WHERE that runs before the reference joins: only frames
// satisfying the predicate go on.
import { keepsFrames, type Frame, type FrameSink } from '../dataflow/frame.js';

export class FilterOperator implements FrameSink {
  readonly keepsFrames: boolean;

  constructor(private readonly predicate: (f: Frame) => boolean, private readonly downstream: FrameSink) {
    this.keepsFrames = keepsFrames(downstream);
  }

  push(frame: Frame): void {
    if (this.predicate(frame)) this.downstream.push(frame);
  }

  advance(watermark: number, substream: string | null): void {
    this.downstream.advance(watermark, substream);
  }
}
