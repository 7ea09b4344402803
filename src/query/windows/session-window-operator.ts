// Session windows. A session starts with an event and grows while each next event comes within
// `timeout` of the previous one; it closes at last event + timeout. Its maximum duration is
// checked on a fixed grid (multiples of maxDuration): at a grid point where the session has
// lasted at least maxDuration it closes there, and activity continuing past that point opens the
// next session at the same grid point. With OVER (PARTITION BY …) each key has its own sessions;
// without it, all groups share the session boundaries.
//
// State per substream: one map from partition to its latest session (extended in place), and the
// sessions waiting for the watermark in close-time order. Frames arrive in time order, so a session
// that an event extends gets the latest close time of all: it moves to the tail of a linked list,
// in O(1), and the head is always the next to close. Sessions capped by the maximum duration have
// a fixed close time on the grid, earlier than their last event + timeout; they wait in a small
// heap, pushed once. Rows are emitted in (close time, session id) order.
import type { Evaluator, Frame, FrameSink, StatefulOperator } from '../dataflow/frame.js';
import { MinHeap } from '../dataflow/min-heap.js';
import { alignUp, type DurationMs, type EpochMs } from '../model/time.js';
import { groupKeyOf } from '../operators/group-key.js';
import type { Group, GroupOutput } from './group-output.js';
import { Substreams } from './substreams.js';
import type { Key } from '../model/values.js';

interface Session {
  readonly id: number;
  readonly partition: Key;
  /** The latest event time. */
  last: EpochMs;
  /** The grid point where maxDuration ends the session if nothing ends it earlier. */
  readonly maxEnd: EpochMs;
  closeAt: EpochMs;
  /** The session's groups; null when every event of a partition is in one group, `group`. */
  groups: Map<Key, Group> | null;
  group: Group | null;
  /** Neighbours in the close-time list; null at the ends, or when capped or emitted. */
  prev: Session | null;
  next: Session | null;
  /**
   * Emitted, but still the partition's latest session: to remember a cut at the grid point for
   * the partition's next event, or (not cut) just to keep the partition's map entry.
   */
  done: boolean;
  /** Still the partition's latest session, its entry in `open`. */
  current: boolean;
}

/**
 * A new session. An object literal, not a class with declared fields: its times are numbers from
 * the start, so V8 keeps them as doubles updated in place instead of allocating one per update.
 */
function newSession(id: number, partition: Key, last: EpochMs, maxEnd: EpochMs, closeAt: EpochMs, groups: Map<Key, Group> | null, group: Group | null): Session {
  return { id, partition, last, maxEnd, closeAt, groups, group, prev: null, next: null, done: false, current: true };
}

interface SessionState {
  /**
   * The latest session of each partition: open, over but not yet emitted, or emitted. Entries of
   * emitted sessions are kept (the partition's next session reuses the entry, which is cheaper
   * than a new one) and swept when they outnumber the others.
   */
  open: Map<Key, Session>;
  /** Entries of `open` whose session was emitted and not cut: nothing but a reusable entry. */
  idle: number;
  /** Uncapped sessions not yet emitted, in close-time order (ties in any order). */
  head: Session | null;
  tail: Session | null;
  /** Sessions whose close time is their grid point (closeAt = maxEnd): it no longer moves. */
  capped: MinHeap<Session>;
  nextId: number;
}

/** A session as checkpointed: plain data, no links. */
interface SavedSession {
  id: number;
  partition: Key;
  last: EpochMs;
  maxEnd: EpochMs;
  closeAt: EpochMs;
  groups: Map<Key, Group> | null;
  group: Group | null;
  done: boolean;
}

interface SavedState {
  /** Every session not yet emitted, in emission order, then the emitted ones remembered for a cut. */
  sessions: SavedSession[];
  nextId: number;
}

const closingBefore = (a: Session, b: Session): boolean => a.closeAt < b.closeAt || (a.closeAt === b.closeAt && a.id < b.id);
const emissionOrder = (a: Session, b: Session): number => a.closeAt - b.closeAt || a.id - b.id;

export class SessionWindowOperator implements FrameSink, StatefulOperator {
  private readonly substreams = new Substreams<SessionState>(newState);
  readonly keepsFrames: boolean;

  constructor(
    private readonly timeout: DurationMs,
    private readonly maxDuration: DurationMs,
    private readonly partitionKeys: readonly Evaluator[],
    private readonly keys: readonly Evaluator[],
    private readonly output: GroupOutput,
    /** GROUP BY adds nothing to the partition (`GROUP BY user … OVER (PARTITION BY user)`). */
    private readonly oneGroupPerSession: boolean,
  ) {
    this.keepsFrames = output.keepRepresentative;
  }

  push(frame: Frame): void {
    const state = this.substreams.of(frame.substream);
    const t = frame.ts;
    const partition = groupKeyOf(this.partitionKeys, frame);
    let session = state.open.get(partition);
    if (session !== undefined && !session.done && t <= session.closeAt) {
      if (t > session.last) {
        // Extended in place: the close time only grows.
        session.last = t;
        const closeAt = Math.min(t + this.timeout, session.maxEnd);
        if (closeAt !== session.closeAt) {
          session.closeAt = closeAt;
          unlink(state, session);
          if (closeAt === session.maxEnd) state.capped.push(session);
          else append(state, session);
        }
      }
    } else {
      // No session, or the last one is over (it stays scheduled for the watermark to emit, or
      // has been emitted): this event starts the next one, at the grid point if it was cut there.
      let start = t;
      if (session !== undefined && session.closeAt === session.maxEnd && t - session.last <= this.timeout && t > session.maxEnd) start = session.maxEnd;
      const maxEnd = alignUp(start + this.maxDuration, this.maxDuration, 0);
      const closeAt = Math.min(t + this.timeout, maxEnd);
      if (session !== undefined) {
        session.current = false;
        if (session.done && session.closeAt !== session.maxEnd) state.idle--;
      }
      session = newSession(state.nextId++, partition, t, maxEnd, closeAt, this.oneGroupPerSession ? null : new Map(), null);
      state.open.set(partition, session);
      if (closeAt === maxEnd) state.capped.push(session);
      else append(state, session);
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
    const affected = this.substreams.affected(substream);
    // Several substreams closing sessions at once emit them in time order (at one time, in the
    // order the substreams appeared), so one advance or several in its steps give one sequence.
    let merged: { session: Session; order: number; key: string; state: SessionState }[] | null = null;
    for (let i = 0; i < affected.length; i++) {
      const key = affected[i]![0], state = affected[i]![1];
      const head = state.head, top = state.capped.peek();
      if ((head === null || !(head.closeAt < watermark)) && (top === undefined || !(top.closeAt < watermark))) continue;
      // The sessions closing before the watermark, in (close time, id) order.
      const due: Session[] = [];
      for (let s = state.head; s !== null && s.closeAt < watermark; s = state.head) {
        unlink(state, s);
        due.push(s);
      }
      while (state.capped.size > 0 && state.capped.peek()!.closeAt < watermark) due.push(state.capped.pop()!);
      if (due.length > 1) due.sort(emissionOrder);
      if (affected.length > 1) for (const session of due) (merged ??= []).push({ session, order: i, key, state });
      else for (const session of due) this.emit(state, session, key);
    }
    if (merged !== null) {
      merged.sort((a, b) => a.session.closeAt - b.session.closeAt || a.order - b.order || a.session.id - b.session.id);
      for (const { session, key, state } of merged) this.emit(state, session, key);
    }
    this.output.downstream.advance(watermark, substream);
  }

  private emit(state: SessionState, session: Session, substream: string): void {
    const closeAt = session.closeAt;
    if (session.current) {
      // Cut at its grid point, the partition's next event may continue from there; otherwise the
      // entry stays only to be reused.
      session.done = true;
      if (closeAt !== session.maxEnd && ++state.idle > 1024 && state.idle * 2 > state.open.size) sweep(state);
    }
    const { groups, group } = session;
    session.groups = null;
    session.group = null;
    if (groups) for (const g of groups.values()) this.output.emit(closeAt, g, substream);
    else if (group) this.output.emit(closeAt, group, substream);
  }

  snapshot(): unknown {
    return new Map([...this.substreams.entries()].map(([k, s]): [string, SavedState] => {
      const pending: Session[] = [];
      for (let x = s.head; x !== null; x = x.next) pending.push(x);
      pending.push(...s.capped.toArray());
      pending.sort(emissionOrder);
      for (const x of s.open.values()) if (x.done && x.closeAt === x.maxEnd) pending.push(x);
      const sessions = pending.map((x): SavedSession => ({
        id: x.id, partition: x.partition, last: x.last, maxEnd: x.maxEnd, closeAt: x.closeAt, groups: x.groups, group: x.group, done: x.done,
      }));
      return [k, { sessions, nextId: s.nextId }];
    }));
  }

  restore(state: unknown): void {
    const saved = state as Map<string, SavedState>;
    this.substreams.replace(new Map([...saved].map(([k, saved]): [string, SessionState] => {
      const s = newState();
      s.nextId = saved.nextId;
      for (const x of saved.sessions) {
        const session = newSession(x.id, x.partition, x.last, x.maxEnd, x.closeAt, x.groups, x.group);
        session.done = x.done;
        // Sessions come in id order within a partition, so the latest one wins.
        const current = s.open.get(x.partition);
        if (current === undefined || current.id < x.id) {
          if (current !== undefined) current.current = false;
          s.open.set(x.partition, session);
        } else session.current = false;
        if (x.done) continue;
        if (x.closeAt === x.maxEnd) s.capped.push(session);
        else append(s, session);
      }
      return [k, s];
    })));
  }
}

function newState(): SessionState {
  return { open: new Map(), idle: 0, head: null, tail: null, capped: MinHeap.create(closingBefore), nextId: 0 };
}

/** Drops the entries of partitions whose last session was emitted and not cut. */
function sweep(state: SessionState): void {
  for (const [partition, session] of state.open) if (session.done && session.closeAt !== session.maxEnd) state.open.delete(partition);
  state.idle = 0;
}

/** Adds a session to the close-time list: at the tail, unless frames came out of time order. */
function append(state: SessionState, session: Session): void {
  let after = state.tail;
  while (after !== null && after.closeAt > session.closeAt) after = after.prev;
  session.prev = after;
  session.next = after === null ? state.head : after.next;
  if (session.next === null) state.tail = session;
  else session.next.prev = session;
  if (after === null) state.head = session;
  else after.next = session;
}

function unlink(state: SessionState, session: Session): void {
  const { prev, next } = session;
  if (prev === null) {
    if (state.head !== session) return; // not in the list (capped)
    state.head = next;
  } else prev.next = next;
  if (next === null) state.tail = prev;
  else next.prev = prev;
  session.prev = null;
  session.next = null;
}
