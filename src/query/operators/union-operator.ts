// UNION (ALL): the rows of several SELECTs as one stream, merged in time order up to the lowest
// of their watermarks so that readers of the union still see time-ordered frames.
import type { Frame, FrameSink, StatefulOperator } from '../dataflow/frame.js';
import { MinHeap } from '../dataflow/min-heap.js';
import type { EpochMs } from '../model/time.js';

interface Held {
  readonly ts: EpochMs;
  readonly seq: number;
  readonly frame: Frame;
}

const heldBefore = (a: Held, b: Held): boolean => a.ts < b.ts || (a.ts === b.ts && a.seq < b.seq);

export class UnionOperator implements StatefulOperator {
  private held = MinHeap.create(heldBefore);
  private seq = 0;
  private watermarks: EpochMs[];
  private merged = -Infinity;
  readonly inputs: readonly FrameSink[];

  constructor(count: number, private readonly downstream: FrameSink) {
    this.watermarks = new Array<EpochMs>(count).fill(-Infinity);
    this.inputs = this.watermarks.map((_, i): FrameSink => ({
      push: (frame) => this.held.push({ ts: frame.ts, seq: this.seq++, frame }),
      advance: (watermark, substream) => {
        if (substream !== null || !(watermark > this.watermarks[i]!)) return;
        this.watermarks[i] = watermark;
        this.release(Math.min(...this.watermarks));
      },
    }));
  }

  private release(watermark: EpochMs): void {
    if (!(watermark > this.merged)) return;
    this.merged = watermark;
    while (this.held.size > 0 && this.held.peek()!.ts <= watermark) this.downstream.push(this.held.pop()!.frame);
    this.downstream.advance(watermark, null);
  }

  snapshot(): unknown {
    return { held: this.held.toArray(), seq: this.seq, watermarks: this.watermarks, merged: this.merged };
  }

  restore(state: unknown): void {
    const s = state as { held: Held[]; seq: number; watermarks: EpochMs[]; merged: EpochMs };
    this.held = MinHeap.from(s.held, heldBefore);
    this.seq = s.seq;
    this.watermarks = s.watermarks;
    this.merged = s.merged;
  }
}
