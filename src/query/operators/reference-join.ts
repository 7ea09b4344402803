// JOIN with reference data: no time bound, the reference snapshot indexed once by the equality
// keys of ON (type-sensitive, as in the cloud service: 1 and '1' do not match). The rest of
// ON is checked on each candidate pair. LEFT JOIN keeps events without a match.
import { keepsFrames, type Evaluator, type Frame, type FrameSink } from '../dataflow/frame.js';
import { compositeKeyOf, keyOf, type Row, type Value, type Key } from '../model/values.js';

export interface ReferenceJoinConfig {
  readonly slot: number;
  readonly type: 'inner' | 'left';
  readonly leftKeys: readonly Evaluator[];
  /** Evaluated on a frame holding only the reference row, in `slot`. */
  readonly rightKeys: readonly Evaluator[];
  /** The rest of ON, beyond the keys; null when the keys are all of it. */
  readonly residual: ((frame: Frame) => boolean) | null;
}

export class ReferenceJoinOperator implements FrameSink {
  private readonly index = new Map<Key, Row[]>();
  private readonly all: readonly Row[];
  /** A single match is filled into the frame and forwarded; several go in copies. */
  readonly keepsFrames: boolean;

  constructor(private readonly config: ReferenceJoinConfig, rows: readonly Row[], private readonly downstream: FrameSink) {
    this.all = rows;
    this.keepsFrames = keepsFrames(downstream);
    if (config.rightKeys.length === 0) return;
    const slots: (Row | null)[] = [];
    for (const row of rows) {
      slots[config.slot] = row;
      const values = config.rightKeys.map((k) => k({ ts: 0, slots, slotTimes: null, analytics: null, aggregates: null, substream: '' }));
      if (values.some((v) => v === null)) continue;
      const key = compositeKeyOf(values);
      const bucket = this.index.get(key);
      if (bucket) bucket.push(row);
      else this.index.set(key, [row]);
    }
  }

  push(frame: Frame): void {
    const { config } = this;
    const keys = config.leftKeys;
    let candidates: readonly Row[] | undefined;
    if (keys.length === 0) candidates = this.all;
    else if (keys.length === 1) {
      const v = keys[0]!(frame);
      candidates = v === null ? undefined : this.index.get(keyOf(v));
    } else {
      const values: Value[] = keys.map((k) => k(frame));
      candidates = values.includes(null) ? undefined : this.index.get(compositeKeyOf(values));
    }
    if (candidates && candidates.length === 1 && !config.residual) {
      // One match and nothing more to check: the frame is ours to fill in (see Frame).
      (frame.slots as (Row | null)[])[config.slot] = candidates[0]!;
      this.downstream.push(frame);
      return;
    }
    let matched = false;
    if (candidates) {
      for (const row of candidates) {
        const joined = withSlot(frame, config.slot, row);
        if (config.residual && !config.residual(joined)) continue;
        matched = true;
        this.downstream.push(joined);
      }
    }
    if (!matched && config.type === 'left') this.downstream.push(withSlot(frame, config.slot, null));
  }

  advance(watermark: number, substream: string | null): void {
    this.downstream.advance(watermark, substream);
  }
}

/** The frame with one more source record. */
export function withSlot(frame: Frame, slot: number, row: Row | null): Frame {
  const slots = frame.slots.slice();
  slots[slot] = row;
  return { ts: frame.ts, slots, slotTimes: frame.slotTimes, analytics: frame.analytics, aggregates: frame.aggregates, substream: frame.substream };
}
