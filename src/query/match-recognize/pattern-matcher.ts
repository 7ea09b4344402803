// The streaming matcher of one partition: events in time order, matches out, as a Pike-style NFA.
//
// Every event may start a match, so each event opens an *attempt* (the SQL standard's "try the
// pattern from this row"). An attempt holds threads — program positions with the events they
// have assigned to variables — in preference order. When a thread accepts, the threads after it
// are less preferred and are dropped; the ones before it may still find a preferred (longer,
// for a greedy quantifier) match, so the attempt waits until they all die. An attempt is over when
// it has no thread left: the last accepted history is its match. LIMIT DURATION bounds an attempt:
// no event later than its first event + the limit joins it, and once the watermark passes that
// point it is over. Attempts report in the order they started, which is what AFTER MATCH SKIP
// needs: past the last row drops the attempts that began inside a match; to the next row keeps
// them (overlapping matches).
//
// Histories are persistent linked lists, so threads that share a prefix share its nodes.
import type { EpochMs, DurationMs } from '../model/time.js';
import type { Row } from '../model/values.js';
import type { PatternProgram } from './pattern-program.js';
import type { AfterMatchSkip } from '../syntax/match-recognize-syntax.js';

export interface MatchEvent {
  readonly row: Row;
  readonly ts: EpochMs;
  /** Increases with every event the operator sees: the order of events within a partition. */
  readonly seq: number;
}

/** The events a thread has matched, last first. */
export interface History {
  readonly event: MatchEvent;
  readonly variable: number;
  readonly prev: History | null;
}

/**
 * Threads in preference order, flat: a program position then the history that reached it, for
 * each. Flat, because the threads of every open attempt are replaced on each event of its
 * partition and live until the partition's next event: fewer objects, less for the collector.
 */
type Threads = (number | History | null)[];

export interface Attempt {
  readonly start: MatchEvent;
  /** `start.ts`, kept here: every event of the partition reads it, and one object less to load. */
  readonly startTs: EpochMs;
  threads: Threads;
  /** The most preferred complete match so far. */
  match: History | null;
}

export interface MatcherConfig {
  readonly program: PatternProgram;
  readonly limit: DurationMs;
  readonly skip: AfterMatchSkip;
  /** DEFINE of `variable` for `event`, given what the thread has matched before it. */
  readonly accepts: (event: MatchEvent, variable: number, history: History | null) => boolean;
  /**
   * Whether a DEFINE reads other events of the match (another variable, or an aggregate). If none
   * does, two threads at one position behave alike from there on and the less preferred is
   * dropped, which keeps the thread count within the program's size.
   */
  readonly historyDependent: boolean;
  /** Bounds the threads of one attempt when histories must be kept apart. */
  readonly maxThreads: number;
}

/** One partition's open attempts, oldest first. */
export interface PartitionState {
  attempts: Attempt[];
}

/** Runs one pattern over any number of partitions; it holds no partition's state itself. */
export class PatternMatcher {
  /** Set when an attempt was cut at maxThreads since it was last read. */
  truncated = false;
  /** `visited[pc] === stamp`: pc already reached in the current closure. */
  private readonly visited: Uint32Array;
  private stamp = 0;
  /** The threads every attempt starts with: the program's start, followed through its splits. */
  private readonly initial: Threads;
  /** The match of the last `step`, or null. */
  private stepMatch: History | null = null;

  constructor(private readonly config: MatcherConfig) {
    this.visited = new Uint32Array(config.program.instructions.length);
    const initial: Threads = [];
    this.addThread(initial, config.program.start, null, this.nextStamp());
    this.initial = initial;
  }

  /** Feeds one event to a partition; returns the matches now final, in the order their attempts began. */
  push(state: PartitionState, event: MatchEvent): History[] {
    const { attempts } = state;
    for (const a of attempts) {
      if (a.threads.length === 0) continue;
      if (event.ts - a.startTs > this.config.limit) {
        a.threads = noThreads;
        continue;
      }
      a.threads = this.step(a.threads, event);
      if (this.stepMatch) a.match = this.stepMatch;
    }
    // Every event may start a match; most start none, and then nothing is allocated but `next`.
    const threads = this.step(this.initial, event);
    if (threads.length > 0 || this.stepMatch) attempts.push({ start: event, startTs: event.ts, threads, match: this.stepMatch });
    return attempts.length > 0 && attempts[0]!.threads.length === 0 ? this.settle(attempts) : noMatches;
  }

  /** No event before `watermark` will come: attempts that no later event can extend are over. */
  expire(state: PartitionState, watermark: EpochMs): History[] {
    for (const a of state.attempts) if (a.threads.length > 0 && watermark > a.startTs + this.config.limit) a.threads = noThreads;
    return this.settle(state.attempts);
  }

  /** The start time of the oldest attempt still open, or Infinity. */
  oldestStart(state: PartitionState): EpochMs {
    return state.attempts.length > 0 ? state.attempts[0]!.startTs : Infinity;
  }

  private nextStamp(): number {
    if (++this.stamp === 0xffffffff) {
      this.visited.fill(0);
      this.stamp = 1;
    }
    return this.stamp;
  }

  /** The threads after `event`, in preference order; `stepMatch` is the match it completes, if any. */
  private step(threads: Threads, event: MatchEvent): Threads {
    const { instructions } = this.config.program;
    const { historyDependent } = this.config;
    // Allocated on the first event accepted: most events are accepted by no thread.
    let next: Threads | null = null;
    this.stepMatch = null;
    let stamp = 0;
    for (let i = 0; i < threads.length; i += 2) {
      const ins = instructions[threads[i] as number]!;
      const prev = threads[i + 1] as History | null;
      if (ins.op !== 'variable' || !this.config.accepts(event, ins.variable, prev)) continue;
      if (next === null) next = [];
      if (historyDependent || stamp === 0) stamp = this.nextStamp();
      const history: History = { event, variable: ins.variable, prev };
      if (this.addThread(next, ins.next, history, stamp)) break;
    }
    return next ?? noThreads;
  }

  /**
   * Follows splits from `pc` in preference order and adds the threads that wait for an event.
   * Returns true when `history` is accepted: `stepMatch` is set and nothing less preferred is
   * added. An empty history is never a match (ONE ROW PER MATCH reports no empty match).
   */
  private addThread(list: Threads, pc: number, history: History | null, stamp: number): boolean {
    if (this.visited[pc] === stamp) return false;
    this.visited[pc] = stamp;
    const ins = this.config.program.instructions[pc]!;
    switch (ins.op) {
      case 'variable':
        if (list.length >= 2 * this.config.maxThreads) {
          this.truncated = true;
          return false;
        }
        list.push(pc, history);
        return false;
      case 'split':
        return this.addThread(list, ins.first, history, stamp) || this.addThread(list, ins.second, history, stamp);
      case 'accept':
        if (history === null) return false;
        this.stepMatch = history;
        return true;
    }
  }

  /** Takes the leading attempts that are over; a match past its last row drops the attempts it covers. */
  private settle(attempts: Attempt[]): History[] {
    let out: History[] = noMatches;
    let taken = 0;
    while (taken < attempts.length && attempts[taken]!.threads.length === 0) {
      const a = attempts[taken++]!;
      if (!a.match) continue;
      if (out === noMatches) out = [];
      out.push(a.match);
      if (this.config.skip === 'pastLastRow') {
        const last = a.match.event.seq;
        while (taken < attempts.length && attempts[taken]!.start.seq <= last) taken++;
      }
    }
    if (taken > 0) attempts.splice(0, taken);
    return out;
  }
}

const noMatches: History[] = [];
/** Shared by every attempt with no thread left: never pushed to (`step` makes a new array). */
const noThreads: Threads = [];

/** The events of a history in match order, with their variables. */
export function historyToList(h: History): { event: MatchEvent; variable: number }[] {
  const out: { event: MatchEvent; variable: number }[] = [];
  for (let n: History | null = h; n; n = n.prev) out.push({ event: n.event, variable: n.variable });
  return out.reverse();
}

// --- checkpoints ------------------------------------------------------------------------------

/** A partition's attempts as plain data: events and history nodes in tables, linked by index. */
export interface SavedAttempts {
  readonly events: { row: Row; ts: EpochMs; seq: number }[];
  /** [event index, variable, previous node index or -1]. */
  readonly nodes: [number, number, number][];
  /** [start event index, threads as [pc, node index or -1], match node index or -1]. */
  readonly attempts: [number, [number, number][], number][];
}

export function saveAttempts(attempts: readonly Attempt[]): SavedAttempts {
  const events: SavedAttempts['events'] = [];
  const eventIndex = new Map<MatchEvent, number>();
  const nodes: SavedAttempts['nodes'] = [];
  const nodeIndex = new Map<History, number>();
  const eventOf = (e: MatchEvent): number => {
    let i = eventIndex.get(e);
    if (i === undefined) {
      i = events.length;
      events.push({ row: e.row, ts: e.ts, seq: e.seq });
      eventIndex.set(e, i);
    }
    return i;
  };
  const nodeOf = (h: History | null): number => {
    if (h === null) return -1;
    const known = nodeIndex.get(h);
    if (known !== undefined) return known;
    // Iteratively, oldest first: a history can be as long as the events within LIMIT DURATION.
    const chain: History[] = [];
    for (let n: History | null = h; n && !nodeIndex.has(n); n = n.prev) chain.push(n);
    for (let k = chain.length - 1; k >= 0; k--) {
      const n = chain[k]!;
      nodes.push([eventOf(n.event), n.variable, n.prev ? nodeIndex.get(n.prev)! : -1]);
      nodeIndex.set(n, nodes.length - 1);
    }
    return nodeIndex.get(h)!;
  };
  const saved = attempts.map((a): [number, [number, number][], number] => [
    eventOf(a.start), pairs(a.threads).map(([pc, h]): [number, number] => [pc, nodeOf(h)]), nodeOf(a.match),
  ]);
  return { events, nodes, attempts: saved };
}

export function loadAttempts(saved: SavedAttempts): Attempt[] {
  const events: MatchEvent[] = saved.events.map((e) => ({ row: e.row, ts: e.ts, seq: e.seq }));
  const nodes: History[] = [];
  for (const [e, variable, prev] of saved.nodes) nodes.push({ event: events[e]!, variable, prev: prev < 0 ? null : nodes[prev]! });
  const node = (i: number): History | null => (i < 0 ? null : nodes[i]!);
  return saved.attempts.map(([start, threads, match]) => ({
    start: events[start]!,
    startTs: events[start]!.ts,
    threads: threads.flatMap(([pc, h]) => [pc, node(h)]),
    match: node(match),
  }));
}

function pairs(threads: Threads): [number, History | null][] {
  const out: [number, History | null][] = [];
  for (let i = 0; i < threads.length; i += 2) out.push([threads[i] as number, threads[i + 1] as History | null]);
  return out;
}
