// Where a statement reads a WITH step: the step's rows become this statement's FROM (or JOIN)
// records, keeping their timestamps and substreams.
import { frameOf, type Frame, type FrameSink } from '../dataflow/frame.js';

export class StepSource implements FrameSink {
  constructor(private readonly downstream: FrameSink) {}

  push(frame: Frame): void {
    this.downstream.push(frameOf(frame.ts, frame.slots[0]!, frame.substream));
  }

  advance(watermark: number, substream: string | null): void {
    this.downstream.advance(watermark, substream);
  }
}
