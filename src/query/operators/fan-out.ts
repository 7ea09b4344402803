// A step's rows go to every statement that reads the step.
import type { Frame, FrameSink } from '../dataflow/frame.js';
import type { EpochMs } from '../model/time.js';

export class FanOut implements FrameSink {
  private readonly readers: FrameSink[] = [];

  connect(reader: FrameSink): void {
    this.readers.push(reader);
  }

  push(frame: Frame): void {
    for (const r of this.readers) r.push(frame);
  }

  advance(watermark: EpochMs, substream: string | null): void {
    for (const r of this.readers) r.advance(watermark, substream);
  }
}
