// JOIN between two streams, bounded in time by DATEDIFF in ON. Events of both sides are merged
// in time order (at one time, left before right) up to the lower of the two watermarks; each
// side is remembered for as long as the bound lets a later event of the other side match it. A
// match is stamped with the later of the two times; with LEFT JOIN, an event that found no match
// is emitted (right side NULL) at its time + the upper bound, once the watermark has passed that
// moment.
import type { Evaluator, Frame, FrameSink, StatefulOperator } from '../dataflow/frame.js';
import { MinHeap } from '../dataflow/min-heap.js';
import type { DurationMs, EpochMs } from '../model/time.js';
import type { Row, Key } from '../model/values.js';
import { groupKeyOf } from './group-key.js';

export interface StreamJoinConfig {
  readonly slot: number;
  readonly type: 'inner' | 'left';
  readonly leftKeys: readonly Evaluator[];
  /** Evaluated on the right event's frame, its record in `slot`. */
  readonly rightKeys: readonly Evaluator[];
  readonly on: (frame: Frame) => boolean;
  /** right.ts − left.ts lies within [low, high] for any match. */
  readonly low: DurationMs;
  readonly high: DurationMs;
}

interface Arrival {
  readonly ts: EpochMs;
  readonly seq: number;
  readonly side: 'left' | 'right';
  readonly frame: Frame;
}

interface LeftEntry {
  readonly ts: EpochMs;
  readonly frame: Frame;
  matched: boolean;
}

interface RightEntry {
  readonly ts: EpochMs;
  readonly row: Row;
}

interface Expiry {
  readonly at: EpochMs;
  readonly id: number;
}

/**
 * Time order; at one time, left before right, then each side in the order it gave them. Never the
 * order the two sides happened to deliver in: that depends on when their watermarks moved.
 */
const arrivalBefore = (a: Arrival, b: Arrival): boolean =>
  a.ts < b.ts || (a.ts === b.ts && (a.side === b.side ? a.seq < b.seq : a.side === 'left'));
const expiryBefore = (a: Expiry, b: Expiry): boolean => a.at < b.at || (a.at === b.at && a.id < b.id);

export class StreamJoinOperator implements StatefulOperator {
  private queue = MinHeap.create(arrivalBefore);
  private seq = 0;
  private watermarks = { left: -Infinity, right: -Infinity };
  private merged = -Infinity;
  private lefts = new Map<number, LeftEntry>();
  private leftIds = new Map<Key, number[]>();
  private rights = new Map<Key, RightEntry[]>();
  private expiries = MinHeap.create(expiryBefore);
  private nextId = 0;
  private sweptAt = -Infinity;

  /** Sinks for the two inputs of the join. */
  readonly left: FrameSink;
  readonly right: FrameSink;

  constructor(private readonly config: StreamJoinConfig, private readonly downstream: FrameSink) {
    this.left = this.sideSink('left');
    this.right = this.sideSink('right');
  }

  private sideSink(side: 'left' | 'right'): FrameSink {
    return {
      push: (frame) => this.queue.push({ ts: frame.ts, seq: this.seq++, side, frame }),
      advance: (watermark, substream) => {
        // Substream clocks do not govern a join; it waits for the input-wide watermark.
        if (substream !== null || !(watermark > this.watermarks[side])) return;
        this.watermarks[side] = watermark;
        this.process(Math.min(this.watermarks.left, this.watermarks.right));
      },
    };
  }

  private process(watermark: EpochMs): void {
    if (!(watermark > this.merged)) return;
    this.merged = watermark;
    // Only events before the watermark: either side may still deliver one at exactly the
    // watermark, and it may belong before one already queued there.
    while (this.queue.size > 0 && this.queue.peek()!.ts < watermark) {
      const next = this.queue.pop()!;
      this.expireBefore(next.ts);
      if (next.side === 'left') this.handleLeft(next.frame);
      else this.handleRight(next.frame);
    }
    this.expireBefore(watermark);
    this.evict(watermark);
    this.downstream.advance(watermark, null);
  }

  private handleLeft(frame: Frame): void {
    const { config } = this;
    const key = keyOf(config.leftKeys, frame);
    const id = this.nextId++;
    const entry: LeftEntry = { ts: frame.ts, frame, matched: false };
    this.lefts.set(id, entry);
    const ids = this.leftIds.get(key);
    if (ids) ids.push(id);
    else this.leftIds.set(key, [id]);
    if (config.type === 'left') this.expiries.push({ at: frame.ts + config.high, id });
    for (const r of this.rights.get(key) ?? []) {
      const d = r.ts - frame.ts;
      if (d >= config.low && d <= config.high && this.emitPair(entry, r.row, r.ts)) entry.matched = true;
    }
  }

  private handleRight(frame: Frame): void {
    const { config } = this;
    const row = frame.slots[0] ?? null;
    if (row === null) return;
    const probe = this.placed(frame, row);
    const key = keyOf(config.rightKeys, probe);
    const entry: RightEntry = { ts: frame.ts, row };
    const bucket = this.rights.get(key);
    if (bucket) bucket.push(entry);
    else this.rights.set(key, [entry]);
    for (const id of this.leftIds.get(key) ?? []) {
      const l = this.lefts.get(id);
      if (!l) continue;
      const d = frame.ts - l.ts;
      if (d >= config.low && d <= config.high && this.emitPair(l, row, frame.ts)) l.matched = true;
    }
  }

  /** The right event's frame with its record moved to the join's slot, for its key expressions. */
  private placed(frame: Frame, row: Row): Frame {
    const slots: (Row | null)[] = [];
    slots[this.config.slot] = row;
    return { ...frame, slots };
  }

  private emitPair(left: LeftEntry, row: Row, rightTs: EpochMs): boolean {
    const { slot } = this.config;
    const slots = left.frame.slots.slice();
    slots[slot] = row;
    const slotTimes = left.frame.slotTimes ? left.frame.slotTimes.slice() : new Array<number>(slot).fill(left.ts);
    slotTimes[slot] = rightTs;
    const joined: Frame = { ...left.frame, ts: Math.max(left.ts, rightTs), slots, slotTimes };
    if (!this.config.on(joined)) return false;
    this.downstream.push(joined);
    return true;
  }

  /** LEFT JOIN: events whose last chance of a match lies before `t` are emitted unmatched. */
  private expireBefore(t: EpochMs): void {
    while (this.expiries.size > 0 && this.expiries.peek()!.at < t) {
      const { at, id } = this.expiries.pop()!;
      const l = this.lefts.get(id);
      if (!l || l.matched) continue;
      const slots = l.frame.slots.slice();
      slots[this.config.slot] = null;
      this.downstream.push({ ...l.frame, ts: at, slots });
    }
  }

  /** Forgets events no later event can match, once per span of the bound. */
  private evict(watermark: EpochMs): void {
    const span = this.config.high - this.config.low;
    if (!Number.isFinite(watermark) || watermark - this.sweptAt < Math.max(span, 1)) return;
    this.sweptAt = watermark;
    const leftLimit = watermark - this.config.high;
    for (const [key, ids] of this.leftIds) {
      const kept = ids.filter((id) => {
        const l = this.lefts.get(id);
        if (l && l.ts >= leftLimit) return true;
        this.lefts.delete(id);
        return false;
      });
      if (kept.length > 0) this.leftIds.set(key, kept);
      else this.leftIds.delete(key);
    }
    const rightLimit = watermark + this.config.low;
    for (const [key, entries] of this.rights) {
      const kept = entries.filter((r) => r.ts >= rightLimit);
      if (kept.length > 0) this.rights.set(key, kept);
      else this.rights.delete(key);
    }
  }

  snapshot(): unknown {
    return {
      queue: this.queue.toArray(), seq: this.seq, watermarks: this.watermarks, merged: this.merged,
      lefts: this.lefts, leftIds: this.leftIds, rights: this.rights, expiries: this.expiries.toArray(),
      nextId: this.nextId, sweptAt: this.sweptAt,
    };
  }

  restore(state: unknown): void {
    const s = state as {
      queue: Arrival[]; seq: number; watermarks: { left: number; right: number }; merged: number;
      lefts: Map<number, LeftEntry>; leftIds: Map<Key, number[]>; rights: Map<Key, RightEntry[]>; expiries: Expiry[];
      nextId: number; sweptAt: number;
    };
    // Pushed anew, not taken as a heap: a checkpoint written before ties were ordered by side is
    // not in this heap's order.
    this.queue = MinHeap.create(arrivalBefore);
    for (const a of s.queue) this.queue.push(a);
    this.seq = s.seq;
    this.watermarks = { left: s.watermarks.left, right: s.watermarks.right };
    this.merged = s.merged;
    this.lefts = s.lefts;
    this.leftIds = s.leftIds;
    this.rights = s.rights;
    this.expiries = MinHeap.from(s.expiries, expiryBefore);
    this.nextId = s.nextId;
    this.sweptAt = s.sweptAt;
  }
}

const keyOf = groupKeyOf;
