// Session windows. A session starts with an event and grows while each next event comes within
// `timeout` of the previous one; it closes at last event + timeout. Its maximum duration is
// checked on a fixed grid (multiples of maxDuration): at a grid point where the session has
// lasted at least maxDuration it closes there, and activity continuing past that point opens the
// next session at the same grid point. With OVER (PARTITION BY …) each key has its own sessions;
// without it, all groups share the session boundaries.
import type { Frame, FrameSink, StatefulOperator } from '../runtime/frame.js';
import { MinHeap } from '../runtime/min-heap.js';
import { alignUp, type DurationMs, type EpochMs } from '../time.js';
import { groupKeyOf } from './group-key.js';
import type { Evaluator } from '../expressions/compile-expression.js';
import type { Group, GroupOutput } from './group-output.js';
import { Substreams } from './substreams.js';

type Key = string | number | boolean | null;

interface Session {
  readonly id: number;
  readonly partition: Key;
  last: EpochMs;
  /** The grid point where maxDuration ends the session if nothing ends it earlier. */
  readonly maxEnd: EpochMs;
  closeAt: EpochMs;
  /** The session's groups; when every event of a partition is in one group, that group alone. */
  readonly groups: Map<Key, Group> | null;
  group: Group | null;
}

interface Closing {
  readonly closeAt: EpochMs;
  readonly id: number;
  readonly partition: Key;
}

interface SessionState {
  /** The open session of each partition. */
  open: Map<Key, Session>;
  /** Sessions already over (a later event started the next one) but not yet emitted. */
  ended: Map<number, Session>;
  /**
   * Partitions whose session was cut at a grid point, and the last event before the cut; at most
   * one per partition, consumed by the partition's next event.
   */
  cut: Map<Key, { at: EpochMs; last: EpochMs }>;
  closing: MinHeap<Closing>;
  nextId: number;
}

const closingBefore = (a: Closing, b: Closing): boolean => a.closeAt < b.closeAt || (a.closeAt === b.closeAt && a.id < b.id);

export class SessionWindowOperator implements FrameSink, StatefulOperator {
  private readonly substreams = new Substreams<SessionState>(() => ({
    open: new Map(), ended: new Map(), cut: new Map(), closing: MinHeap.create(closingBefore), nextId: 0,
  }));

  constructor(
    private readonly timeout: DurationMs,
    private readonly maxDuration: DurationMs,
    private readonly partitionKeys: readonly Evaluator[],
    private readonly keys: readonly Evaluator[],
    private readonly output: GroupOutput,
    /** GROUP BY adds nothing to the partition (`GROUP BY user … OVER (PARTITION BY user)`). */
    private readonly oneGroupPerSession: boolean,
  ) {}

  push(frame: Frame): void {
    const state = this.substreams.of(frame.substream);
    const t = frame.ts;
    const partition = groupKeyOf(this.partitionKeys, frame);
    let session = state.open.get(partition);
    if (session && t > session.closeAt) {
      // Over: it stays scheduled for the watermark to emit; this event starts the next one.
      if (session.closeAt === session.maxEnd) state.cut.set(partition, { at: session.maxEnd, last: session.last });
      state.ended.set(session.id, session);
      session = undefined;
    }
    if (!session) {
      const cut = state.cut.get(partition);
      if (cut) state.cut.delete(partition);
      const start = cut && t - cut.last <= this.timeout && t > cut.at ? cut.at : t;
      const maxEnd = alignUp(start + this.maxDuration, this.maxDuration, 0);
      session = { id: state.nextId++, partition, last: t, maxEnd, closeAt: Math.min(t + this.timeout, maxEnd), groups: this.oneGroupPerSession ? null : new Map(), group: null };
      state.open.set(partition, session);
      state.closing.push({ closeAt: session.closeAt, id: session.id, partition });
    } else if (t > session.last) {
      // Close times only grow; the scheduled entry is moved lazily when it comes due.
      session.last = t;
      session.closeAt = Math.min(t + this.timeout, session.maxEnd);
    }
    let group: Group | undefined;
    if (session.groups) {
      const key = groupKeyOf(this.keys, frame);
      group = session.groups.get(key);
      if (!group) {
        group = this.output.newGroup(frame);
        session.groups.set(key, group);
      }
    } else group = session.group ??= this.output.newGroup(frame);
    this.output.add(group, frame);
  }

  advance(watermark: EpochMs, substream: string | null): void {
    for (const [key, state] of this.substreams.affected(substream)) {
      while (state.closing.size > 0 && state.closing.peek()!.closeAt < watermark) {
        const { closeAt, id, partition } = state.closing.pop()!;
        const open = state.open.get(partition);
        const session = open?.id === id ? open : state.ended.get(id);
        if (!session) continue;
        if (session.closeAt !== closeAt) {
          state.closing.push({ closeAt: session.closeAt, id, partition });
          continue;
        }
        if (session === open) {
          state.open.delete(partition);
          if (closeAt === session.maxEnd) state.cut.set(partition, { at: closeAt, last: session.last });
        } else state.ended.delete(id);
        if (session.groups) for (const group of session.groups.values()) this.output.emit(closeAt, group, key);
        else if (session.group) this.output.emit(closeAt, session.group, key);
      }
    }
    this.output.downstream.advance(watermark, substream);
  }

  snapshot(): unknown {
    return new Map([...this.substreams.entries()].map(([k, s]) => [k, { ...s, closing: s.closing.toArray() }]));
  }

  restore(state: unknown): void {
    const saved = state as Map<string, Omit<SessionState, 'closing'> & { closing: Closing[] }>;
    this.substreams.replace(new Map([...saved].map(([k, s]) => [k, { ...s, closing: MinHeap.from(s.closing, closingBefore) }])));
  }
}
