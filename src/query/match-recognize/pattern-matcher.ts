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

interface Thread {
  readonly pc: number;
  readonly history: History | null;
}

export interface Attempt {
  readonly start: MatchEvent;
  threads: Thread[];
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

/** One partition's attempts, oldest first. */
export class PartitionMatcher {
  attempts: Attempt[] = [];
  /** Set when an attempt was cut at maxThreads since it was last read. */
  truncated = false;

  constructor(private readonly config: MatcherConfig) {}

  /** Feeds one event; returns the matches now final, in the order their attempts began. */
  push(event: MatchEvent): History[] {
    for (const a of this.attempts) if (a.threads.length > 0) this.step(a, event);
    const fresh: Attempt = { start: event, threads: [], match: null };
    this.addThread(fresh.threads, this.config.program.start, null, new Set(), fresh);
    this.step(fresh, event);
    if (fresh.threads.length > 0 || fresh.match) this.attempts.push(fresh);
    return this.settle();
  }

  /** No event before `watermark` will come: attempts that no later event can extend are over. */
  expire(watermark: EpochMs): History[] {
    for (const a of this.attempts) if (a.threads.length > 0 && watermark > a.start.ts + this.config.limit) a.threads = [];
    return this.settle();
  }

  /** The start time of the oldest attempt still open, or Infinity. */
  get oldestStart(): EpochMs {
    return this.attempts.length > 0 ? this.attempts[0]!.start.ts : Infinity;
  }

  private step(a: Attempt, event: MatchEvent): void {
    if (event.ts - a.start.ts > this.config.limit) {
      a.threads = [];
      return;
    }
    const { instructions } = this.config.program;
    const next: Thread[] = [];
    const seen = new Set<number>();
    for (const t of a.threads) {
      const ins = instructions[t.pc]!;
      if (ins.op !== 'variable' || !this.config.accepts(event, ins.variable, t.history)) continue;
      const history: History = { event, variable: ins.variable, prev: t.history };
      if (this.addThread(next, ins.next, history, this.config.historyDependent ? new Set() : seen, a)) break;
    }
    a.threads = next;
  }

  /**
   * Follows splits from `pc` in preference order and adds the threads that wait for an event.
   * Returns true when `history` is accepted: the attempt's match is set and nothing less preferred
   * is added. An empty history is never a match (ONE ROW PER MATCH reports no empty match).
   */
  private addThread(list: Thread[], pc: number, history: History | null, seen: Set<number>, a: Attempt): boolean {
    if (seen.has(pc)) return false;
    seen.add(pc);
    const ins = this.config.program.instructions[pc]!;
    switch (ins.op) {
      case 'variable':
        if (list.length >= this.config.maxThreads) {
          this.truncated = true;
          return false;
        }
        list.push({ pc, history });
        return false;
      case 'split':
        return this.addThread(list, ins.first, history, seen, a) || this.addThread(list, ins.second, history, seen, a);
      case 'accept':
        if (history === null) return false;
        a.match = history;
        return true;
    }
  }

  /** Takes the leading attempts that are over; a match past its last row drops the attempts it covers. */
  private settle(): History[] {
    const out: History[] = [];
    while (this.attempts.length > 0 && this.attempts[0]!.threads.length === 0) {
      const a = this.attempts.shift()!;
      if (!a.match) continue;
      out.push(a.match);
      if (this.config.skip === 'pastLastRow') {
        const last = a.match.event.seq;
        while (this.attempts.length > 0 && this.attempts[0]!.start.seq <= last) this.attempts.shift();
      }
    }
    return out;
  }
}

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
    eventOf(a.start), a.threads.map((t): [number, number] => [t.pc, nodeOf(t.history)]), nodeOf(a.match),
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
    threads: threads.map(([pc, h]) => ({ pc, history: node(h) })),
    match: node(match),
  }));
}
