// Sliding windows: logically every window of the given size, but output only when the content
// changes — when an event enters (a window ending at the event) and when one leaves (a window
// ending `size` after it, which no longer holds it). Candidates whose window is empty are skipped.
import type { Evaluator, Frame, FrameSink, StatefulOperator } from '../dataflow/frame.js';
import { MinHeap } from '../dataflow/min-heap.js';
import { alignUp, type DurationMs, type EpochMs } from '../model/time.js';
import { groupKeyOf } from '../operators/group-key.js';
import type { Group, GroupOutput } from './group-output.js';
import { Substreams } from './substreams.js';
import { InternalError } from '../model/errors.js';
import type { Key } from '../model/values.js';

interface Candidate {
  readonly end: EpochMs;
  readonly seq: number;
  readonly key: Key;
}

interface SlidingGroup {
  /** The group's events still inside some future window, in time order. */
  frames: Frame[];
  /** Window ends already scheduled, so an entry and an exit at one instant emit once. */
  scheduled: EpochMs[];
  /**
   * When the aggregates can take events back out (GroupOutput.remove): one state holding the
   * first `added` frames, moved along as windows close instead of recomputed per window.
   */
  running?: Group | null;
  added?: number;
  /** On a hopping grid: the last window end scheduled (events come in time order, so ends only grow). */
  lastEnd?: EpochMs;
}

interface SlidingState {
  groups: Map<Key, SlidingGroup>;
  candidates: MinHeap<Candidate>;
  seq: number;
}

const candidateBefore = (a: Candidate, b: Candidate): boolean => a.end < b.end || (a.end === b.end && a.seq < b.seq);

export class SlidingWindowOperator implements FrameSink, StatefulOperator {
  private readonly substreams = new Substreams<SlidingState>(() => ({ groups: new Map(), candidates: MinHeap.create(candidateBefore), seq: 0 }));

  constructor(
    private readonly size: DurationMs,
    private readonly keys: readonly Evaluator[],
    private readonly output: GroupOutput,
    /**
     * A hopping window's grid, when its aggregates can take events back out (GroupOutput.remove):
     * then each group's window moves along the grid with one state — an event accumulated once and
     * deaccumulated once, instead of once into each of the size / hop windows holding it — and the
     * windows, their rows and their order are those of FixedWindowOperator.
     */
    private readonly grid: { readonly hop: DurationMs; readonly offset: DurationMs } | null = null,
  ) {
    if (grid && !output.remove) throw new InternalError('a hopping window moved along needs aggregates that deaccumulate');
  }

  push(frame: Frame): void {
    const state = this.substreams.of(frame.substream);
    const key = groupKeyOf(this.keys, frame);
    let group = state.groups.get(key);
    if (!group) {
      group = { frames: [], scheduled: [] };
      state.groups.set(key, group);
    }
    group.frames.push(frame);
    const grid = this.grid;
    if (grid) {
      // The windows holding t end in [t, t + size) on the grid; those not yet scheduled, in order.
      let end = alignUp(frame.ts, grid.hop, grid.offset);
      if (group.lastEnd !== undefined && end <= group.lastEnd) end = group.lastEnd + grid.hop;
      for (const limit = frame.ts + this.size; end < limit; end += grid.hop) {
        group.scheduled.push(end);
        state.candidates.push({ end, seq: state.seq++, key });
        group.lastEnd = end;
      }
      return;
    }
    this.schedule(state, group, key, frame.ts);
    this.schedule(state, group, key, frame.ts + this.size);
  }

  private schedule(state: SlidingState, group: SlidingGroup, key: Key, end: EpochMs): void {
    if (group.scheduled.includes(end)) return;
    group.scheduled.push(end);
    state.candidates.push({ end, seq: state.seq++, key });
  }

  advance(watermark: EpochMs, substream: string | null): void {
    const affected = this.substreams.affected(substream);
    // Several substreams with windows due at once emit them in time order (at one time, in the
    // order the substreams appeared), so one advance or several in its steps give one sequence.
    let merged: { candidate: Candidate; order: number; substream: string; state: SlidingState }[] | null = null;
    for (let i = 0; i < affected.length; i++) {
      const substreamKey = affected[i]![0], state = affected[i]![1];
      while (state.candidates.size > 0 && state.candidates.peek()!.end < watermark) {
        const candidate = state.candidates.pop()!;
        if (affected.length > 1) (merged ??= []).push({ candidate, order: i, substream: substreamKey, state });
        else this.close(state, candidate, substreamKey);
      }
    }
    if (merged !== null) {
      // Stable: each substream's candidates stay in their (end, seq) order.
      merged.sort((a, b) => a.candidate.end - b.candidate.end || a.order - b.order);
      for (const { candidate, substream: key, state } of merged) this.close(state, candidate, key);
    }
    this.output.downstream.advance(watermark, substream);
  }

  /** Emits the window of one candidate (unless empty) and forgets what no later window holds. */
  private close(state: SlidingState, { end, key }: Candidate, substream: string): void {
    const group = state.groups.get(key)!;
    group.scheduled.splice(group.scheduled.indexOf(end), 1);
    const start = end - this.size;
    if (this.output.remove) {
      this.slide(group, start, end, substream);
      if (group.frames.length === 0 && group.scheduled.length === 0) state.groups.delete(key);
      return;
    }
    // Events at or before this window's start are in no later window either.
    while (group.frames.length > 0 && group.frames[0]!.ts <= start) group.frames.shift();
    let aggregate = null;
    for (const f of group.frames) {
      if (f.ts > end) break;
      aggregate ??= this.output.newGroup(f);
      this.output.add(aggregate, f);
    }
    if (aggregate) this.output.emit(end, aggregate, substream);
    if (group.frames.length === 0 && group.scheduled.length === 0) state.groups.delete(key);
  }

  /** The window (start, end] by taking out the events that left and adding those that entered. */
  private slide(group: SlidingGroup, start: EpochMs, end: EpochMs, substream: string): void {
    const output = this.output;
    let running = group.running ?? null;
    let added = group.added ?? 0;
    while (group.frames.length > 0 && group.frames[0]!.ts <= start) {
      const gone = group.frames.shift()!;
      if (added > 0) {
        output.remove!(running!, gone);
        added--;
      }
    }
    while (added < group.frames.length && group.frames[added]!.ts <= end) {
      const f = group.frames[added]!;
      running ??= output.newGroup(f);
      output.add(running, f);
      added++;
    }
    if (added > 0) output.emit(end, running!, substream);
    else running = null;
    group.running = running;
    group.added = added;
  }

  snapshot(): unknown {
    return new Map([...this.substreams.entries()].map(([k, s]) => [k, { groups: s.groups, candidates: s.candidates.toArray(), seq: s.seq }]));
  }

  restore(state: unknown): void {
    const saved = state as Map<string, { groups: Map<Key, SlidingGroup>; candidates: Candidate[]; seq: number }>;
    this.substreams.replace(new Map([...saved].map(([k, s]) => [k, { groups: s.groups, candidates: MinHeap.from(s.candidates, candidateBefore), seq: s.seq }])));
  }
}
