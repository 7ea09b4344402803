// Tumbling, hopping and snapshot windows: windows on a fixed grid, so each event's windows are
// known on arrival. Windows are (start, end]; a window's groups are emitted once, stamped with
// the window end, when the watermark passes the end. Empty windows never exist, so never emit.
import type { Evaluator, Frame, FrameSink, StatefulOperator } from '../dataflow/frame.js';
import { MinHeap } from '../dataflow/min-heap.js';
import { alignUp, type DurationMs, type EpochMs } from '../model/time.js';
import { groupKeyOf } from '../operators/group-key.js';
import type { Group, GroupOutput } from './group-output.js';
import { Substreams } from './substreams.js';
import type { Key } from '../model/values.js';

/**
 * Where windows lie: periodic (window length, distance between window ends — equal for tumbling
 * windows — and the grid's offset from the epoch), or one window per distinct timestamp.
 */
export type FixedWindowGrid =
  | { readonly kind: 'periodic'; readonly size: DurationMs; readonly hop: DurationMs; readonly offset: DurationMs }
  | { readonly kind: 'snapshot' };

interface WindowState {
  windows: Map<EpochMs, Map<Key, Group>>;
  /** One entry per window end, pushed when the window gets its first group. */
  ends: MinHeap<EpochMs>;
  /**
   * The windows of the latest event, from the end `runStart` on. Consecutive events usually
   * share them, and then find them without a lookup per window. Not checkpointed.
   */
  runStart: EpochMs;
  run: Map<Key, Group>[];
}

function newState(windows: Map<EpochMs, Map<Key, Group>>, ends: MinHeap<EpochMs>): WindowState {
  return { windows, ends, runStart: NaN, run: [] };
}

const earlier = (a: number, b: number): boolean => a < b;

export class FixedWindowOperator implements FrameSink, StatefulOperator {
  private readonly substreams = new Substreams<WindowState>(() => newState(new Map(), MinHeap.create(earlier)));
  readonly keepsFrames: boolean;
  /** Whether every event lies in the same number of windows (size a multiple of hop). */
  private readonly regular: boolean;

  constructor(
    private readonly grid: FixedWindowGrid,
    private readonly keys: readonly Evaluator[],
    private readonly output: GroupOutput,
  ) {
    this.keepsFrames = output.keepRepresentative;
    this.regular = grid.kind === 'snapshot' || grid.size % grid.hop === 0;
  }

  push(frame: Frame): void {
    const state = this.substreams.of(frame.substream);
    const key = groupKeyOf(this.keys, frame);
    const grid = this.grid;
    // The windows holding t are those whose end lies in [t, t + size); a snapshot window ends at t.
    const first = grid.kind === 'snapshot' ? frame.ts : alignUp(frame.ts, grid.hop, grid.offset);
    if (first === state.runStart) {
      const run = state.run;
      for (let i = 0; i < run.length; i++) this.addTo(run[i]!, key, frame);
      return;
    }
    const run: Map<Key, Group>[] = [];
    if (grid.kind === 'snapshot') run.push(this.windowAt(state, first));
    else for (let end = first, limit = frame.ts + grid.size; end < limit; end += grid.hop) run.push(this.windowAt(state, end));
    for (let i = 0; i < run.length; i++) this.addTo(run[i]!, key, frame);
    // With a regular grid every event whose first window ends at `first` has the same windows.
    state.runStart = this.regular ? first : NaN;
    state.run = run;
  }

  /** The window ending at `end`, created if need be. */
  private windowAt(state: WindowState, end: EpochMs): Map<Key, Group> {
    let window = state.windows.get(end);
    if (!window) {
      window = new Map();
      state.windows.set(end, window);
      state.ends.push(end);
    }
    return window;
  }

  private addTo(window: Map<Key, Group>, key: Key, frame: Frame): void {
    let group = window.get(key);
    if (!group) {
      group = this.output.newGroup(frame);
      window.set(key, group);
    }
    this.output.add(group, frame);
  }

  advance(watermark: EpochMs, substream: string | null): void {
    const affected = this.substreams.affected(substream);
    // Several substreams closing windows at once emit them in time order (at one time, in the
    // order the substreams appeared), so one advance or several in its steps give one sequence.
    let due: { end: EpochMs; order: number; key: string; window: Map<Key, Group> }[] | null = null;
    for (let i = 0; i < affected.length; i++) {
      const key = affected[i]![0], state = affected[i]![1];
      while (state.ends.size > 0 && state.ends.peek()! < watermark) {
        const end = state.ends.pop()!;
        const window = state.windows.get(end)!;
        state.windows.delete(end);
        state.runStart = NaN;
        if (affected.length > 1) (due ??= []).push({ end, order: i, key, window });
        else for (const group of window.values()) this.output.emit(end, group, key);
      }
    }
    if (due !== null) {
      due.sort((a, b) => a.end - b.end || a.order - b.order);
      for (const { end, key, window } of due) for (const group of window.values()) this.output.emit(end, group, key);
    }
    this.output.downstream.advance(watermark, substream);
  }

  snapshot(): unknown {
    return new Map([...this.substreams.entries()].map(([k, s]) => [k, { windows: s.windows, ends: s.ends.toArray() }]));
  }

  restore(state: unknown): void {
    const saved = state as Map<string, { windows: Map<EpochMs, Map<Key, Group>>; ends: EpochMs[] }>;
    this.substreams.replace(new Map([...saved].map(([k, s]) => [k, newState(s.windows, MinHeap.from(s.ends, earlier))])));
  }
}
