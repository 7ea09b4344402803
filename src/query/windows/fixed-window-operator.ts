// Tumbling, hopping and snapshot windows: windows on a fixed grid, so each event's windows are
// known on arrival. Windows are (start, end]; a window's groups are emitted once, stamped with
// the window end, when the watermark passes the end. Empty windows never exist, so never emit.
import type { Frame, FrameSink, StatefulOperator } from '../runtime/frame.js';
import { MinHeap } from '../runtime/min-heap.js';
import { alignUp, type DurationMs, type EpochMs } from '../time.js';
import { groupKeyOf } from './group-key.js';
import type { Evaluator } from '../expressions/compile-expression.js';
import type { Group, GroupOutput } from './group-output.js';
import { Substreams } from './substreams.js';

/**
 * Where windows lie: periodic (window length, distance between window ends — equal for tumbling
 * windows — and the grid's offset from the epoch), or one window per distinct timestamp.
 */
export type FixedWindowGrid =
  | { readonly kind: 'periodic'; readonly size: DurationMs; readonly hop: DurationMs; readonly offset: DurationMs }
  | { readonly kind: 'snapshot' };

type GroupKey = string | number | boolean | null;

interface WindowState {
  windows: Map<EpochMs, Map<GroupKey, Group>>;
  ends: MinHeap<EpochMs>;
}

const earlier = (a: number, b: number): boolean => a < b;

export class FixedWindowOperator implements FrameSink, StatefulOperator {
  private readonly substreams = new Substreams<WindowState>(() => ({ windows: new Map(), ends: MinHeap.create(earlier) }));

  constructor(
    private readonly grid: FixedWindowGrid,
    private readonly keys: readonly Evaluator[],
    private readonly output: GroupOutput,
  ) {}

  push(frame: Frame): void {
    const state = this.substreams.of(frame.substream);
    const key = groupKeyOf(this.keys, frame);
    const grid = this.grid;
    if (grid.kind === 'snapshot') {
      this.addTo(state, frame.ts, key, frame);
      return;
    }
    // The windows holding t are those whose end lies in [t, t + size).
    const limit = frame.ts + grid.size;
    for (let end = alignUp(frame.ts, grid.hop, grid.offset); end < limit; end += grid.hop) this.addTo(state, end, key, frame);
  }

  private addTo(state: WindowState, end: EpochMs, key: GroupKey, frame: Frame): void {
    let window = state.windows.get(end);
    if (!window) {
      window = new Map();
      state.windows.set(end, window);
      state.ends.push(end);
    }
    let group = window.get(key);
    if (!group) {
      group = this.output.newGroup(frame);
      window.set(key, group);
    }
    this.output.add(group, frame);
  }

  advance(watermark: EpochMs, substream: string | null): void {
    for (const [key, state] of this.substreams.affected(substream)) {
      while (state.ends.size > 0 && state.ends.peek()! < watermark) {
        const end = state.ends.pop()!;
        const window = state.windows.get(end)!;
        state.windows.delete(end);
        for (const group of window.values()) this.output.emit(end, group, key);
      }
    }
    this.output.downstream.advance(watermark, substream);
  }

  snapshot(): unknown {
    return new Map([...this.substreams.entries()].map(([k, s]) => [k, { windows: s.windows, ends: s.ends.toArray() }]));
  }

  restore(state: unknown): void {
    const saved = state as Map<string, { windows: Map<EpochMs, Map<GroupKey, Group>>; ends: EpochMs[] }>;
    this.substreams.replace(new Map([...saved].map(([k, s]) => [k, { windows: s.windows, ends: MinHeap.from(s.ends, earlier) }])));
  }
}
