// JOIN with reference data: no time bound, each snapshot indexed once by the equality keys of ON
// (type-sensitive, as in the cloud service: 1 and '1' do not match). The rest of ON is checked on
// each candidate pair. LEFT JOIN keeps events without a match. Reference data that changes over
// time (a live job's catalogue) gives the rows valid at the event's timestamp, so a replay joins
// what was valid then.
import { keepsFrames, type Evaluator, type Frame, type FrameSink } from '../dataflow/frame.js';
import type { EpochMs } from '../model/time.js';
import { compositeKeyOf, keyOf, type Row, type Value, type Key } from '../model/values.js';

export interface ReferenceJoinConfig {
  readonly slot: number;
  readonly type: 'inner' | 'left';
  readonly leftKeys: readonly Evaluator[];
  /** Evaluated on a frame holding only the reference row, in `slot`. */
  readonly rightKeys: readonly Evaluator[];
  /**
   * Names what `slot` and `rightKeys` compute: operators with the same one over the same rows
   * share an index (a job's per-tenant runs all join one catalogue: indexed once, held once).
   */
  readonly indexKey: string;
  /** The rest of ON, beyond the keys; null when the keys are all of it. */
  readonly residual: ((frame: Frame) => boolean) | null;
}

/** Reference data as a snapshot, or as versions over time: the rows valid at a time (the same array for one version). */
export type ReferenceData = readonly Row[] | { rowsAt(timeMs: EpochMs): readonly Row[] };

/** The rows of one join key: the row itself when it is the only one (no array to reach through). */
type Matches = Row | Row[];

/**
 * A snapshot's rows by their join key. String keys (nearly all: SKUs, ids, codes) are the
 * properties of a dictionary object: V8 finds a property by its interned name several times faster
 * than a Map finds a string it has to hash and compare character by character (a 100k-row
 * catalogue probed with keys fresh from JSON.parse: ~0.9 µs per probe through a Map, the largest
 * cost of a join, mostly waiting for memory). A property name is any string, `__proto__` included,
 * on an object without a prototype; numbers, booleans and the rest stay in a Map, so 1 and '1'
 * still differ. A row is a record, never an array, so a lone row needs no bucket.
 */
class KeyIndex {
  private readonly strings: Record<string, Matches> = Object.create(null) as Record<string, Matches>;
  private readonly others = new Map<Key, Matches>();

  get(key: Key): Matches | undefined {
    return typeof key === 'string' ? this.strings[key] : this.others.get(key);
  }

  add(key: Key, row: Row): void {
    const known = this.get(key);
    if (Array.isArray(known)) known.push(row);
    else if (typeof key === 'string') this.strings[key] = known === undefined ? row : [known, row];
    else this.others.set(key, known === undefined ? row : [known, row]);
  }
}

/** Per snapshot, per indexKey: the indexes every operator joining that snapshot shares. */
const sharedIndexes = new WeakMap<readonly Row[], Map<string, KeyIndex>>();

export class ReferenceJoinOperator implements FrameSink {
  /** The snapshot last joined against and its index: consecutive events nearly always share it. */
  private rows: readonly Row[] | null = null;
  private index = new KeyIndex();
  /** A single match is filled into the frame and forwarded; several go in copies. */
  readonly keepsFrames: boolean;

  constructor(private readonly config: ReferenceJoinConfig, private readonly data: ReferenceData, private readonly downstream: FrameSink) {
    this.keepsFrames = keepsFrames(downstream);
    if (Array.isArray(data)) this.use(data as readonly Row[]);
  }

  /** Makes `rows` the snapshot joined against, indexing it by the ON keys unless done before. */
  private use(rows: readonly Row[]): void {
    if (rows === this.rows) return;
    this.rows = rows;
    const { config } = this;
    let byKey = sharedIndexes.get(rows);
    if (!byKey) sharedIndexes.set(rows, (byKey = new Map()));
    const known = byKey.get(config.indexKey);
    if (known) {
      this.index = known;
      return;
    }
    this.index = new KeyIndex();
    byKey.set(config.indexKey, this.index);
    if (config.rightKeys.length === 0) return;
    const slots: (Row | null)[] = [];
    for (const row of rows) {
      slots[config.slot] = row;
      const values = config.rightKeys.map((k) => k({ ts: 0, slots, slotTimes: null, analytics: null, aggregates: null, substream: '' }));
      if (values.some((v) => v === null)) continue;
      this.index.add(compositeKeyOf(values), row);
    }
  }

  push(frame: Frame): void {
    const { config } = this;
    if (!Array.isArray(this.data)) this.use((this.data as { rowsAt(timeMs: EpochMs): readonly Row[] }).rowsAt(frame.ts));
    const keys = config.leftKeys;
    let candidates: Matches | undefined;
    if (keys.length === 0) candidates = this.rows as Row[];
    else if (keys.length === 1) {
      const v = keys[0]!(frame);
      candidates = v === null ? undefined : this.index.get(keyOf(v));
    } else {
      const values: Value[] = keys.map((k) => k(frame));
      candidates = values.includes(null) ? undefined : this.index.get(compositeKeyOf(values));
    }
    if (candidates !== undefined && !config.residual && (!Array.isArray(candidates) || candidates.length === 1)) {
      // One match and nothing more to check: the frame is ours to fill in (see Frame).
      (frame.slots as (Row | null)[])[config.slot] = Array.isArray(candidates) ? candidates[0]! : candidates;
      this.downstream.push(frame);
      return;
    }
    let matched = false;
    if (candidates !== undefined) {
      if (!Array.isArray(candidates)) candidates = [candidates];
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
