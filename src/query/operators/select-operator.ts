// WHERE and the SELECT list of a statement without GROUP BY: filter, then project.
import { frameOf, type Frame, type FrameSink } from '../dataflow/frame.js';
import type { Projection } from './projection.js';

export class SelectOperator implements FrameSink {
  /** Rows are projected into new frames; the frame pushed is read only. */
  readonly keepsFrames = false;

  constructor(
    private readonly where: ((f: Frame) => boolean) | null,
    private readonly project: Projection,
    private readonly downstream: FrameSink,
  ) {}

  push(frame: Frame): void {
    if (this.where && !this.where(frame)) return;
    this.downstream.push(frameOf(frame.ts, this.project(frame), frame.substream));
  }

  advance(watermark: number, substream: string | null): void {
    this.downstream.advance(watermark, substream);
  }
}
