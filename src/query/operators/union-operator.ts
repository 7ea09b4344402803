// UNION (ALL): the rows of several SELECTs as one stream, merged in time order (at one time, in
// the order the SELECTs are written) up to the lowest of their watermarks, so that readers of
// the union still see time-ordered frames.
import type { Frame, FrameSink, StatefulOperator } from '../dataflow/frame.js';
import { MinHeap } from '../dataflow/min-heap.js';
import type { EpochMs } from '../model/time.js';

interface Held {
  readonly ts: EpochMs;
  /** Which SELECT of the union gave the frame. */
  readonly input: number;
  readonly seq: number;
  readonly frame: Frame;
}

/**
 * Time order; at one time, the SELECTs in the order written, each in the order it gave its rows.
 * Never the order the SELECTs happened to deliver in: that depends on when their watermarks moved.
 */
const heldBefore = (a: Held, b: Held): boolean =>
  a.ts < b.ts || (a.ts === b.ts && (a.input < b.input || (a.input === b.input && a.seq < b.seq)));

export class UnionOperator implements StatefulOperator {
  private held = MinHeap.create(heldBefore);
  private seq = 0;
  private watermarks: EpochMs[];
  private merged = -Infinity;
  readonly inputs: readonly FrameSink[];

  constructor(count: number, private readonly downstream: FrameSink) {
    this.watermarks = new Array<EpochMs>(count).fill(-Infinity);
    this.inputs = this.watermarks.map((_, i): FrameSink => ({
      push: (frame) => this.held.push({ ts: frame.ts, input: i, seq: this.seq++, frame }),
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
    // Only rows before the watermark: a SELECT may still give one at exactly the watermark.
    while (this.held.size > 0 && this.held.peek()!.ts < watermark) this.downstream.push(this.held.pop()!.frame);
    this.downstream.advance(watermark, null);
  }

  snapshot(): unknown {
    return { held: this.held.toArray(), seq: this.seq, watermarks: this.watermarks, merged: this.merged };
  }

  restore(state: unknown): void {
    const s = state as { held: (Omit<Held, 'input'> & { input?: number })[]; seq: number; watermarks: EpochMs[]; merged: EpochMs };
    // Pushed anew, not taken as a heap: a checkpoint written before ties were ordered by SELECT
    // is not in this heap's order.
    this.held = MinHeap.create(heldBefore);
    for (const h of s.held) this.held.push({ ...h, input: h.input ?? 0 });
    this.seq = s.seq;
    this.watermarks = s.watermarks;
    this.merged = s.merged;
  }
}
