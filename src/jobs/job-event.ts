// An event on its way into a job's query: where it came from, when it arrived, whose it is.
import type { Row } from '../query/index.js';

/** The source name of events read from the hub's log; a chained stream's events carry its output's name. */
export const LOG_SOURCE = '$log';

export interface JobEvent {
  /** LOG_SOURCE, or the name of the output the event was read from. */
  readonly source: string;
  /** Arrival time (epoch ms): the log's enqueue time, or the commit clock of a chained stream's row. */
  readonly arrivalMs: number;
  /** Where it sits in its source (partition and sequence number, or a stream row's id). */
  readonly partition: number;
  readonly position: number;
  readonly tenant: string;
  /** The event as the query sees it; null when it cannot be read (see `failure`). */
  readonly row: Row | null;
  /** Why the event cannot be read: it goes to the job's dead-letter output instead. */
  readonly failure: string | null;
  /** What a dead letter shows of the event. */
  deadLetter(): Record<string, unknown>;
}

/**
 * A source of events in arrival order whose reads can be merged with others' into one order:
 * (arrival, source, position). `fill` buffers what arrived before a time; `exhausted` says
 * nothing more before that time is left to read.
 */
export interface BufferedSource {
  fill(below: number, max: number): Promise<void>;
  peek(): JobEvent | undefined;
  take(): JobEvent;
  readonly exhausted: boolean;
}

function before(a: JobEvent, ai: number, b: JobEvent, bi: number): boolean {
  if (a.arrivalMs !== b.arrivalMs) return a.arrivalMs < b.arrivalMs;
  if (ai !== bi) return ai < bi;
  return a.position < b.position;
}

/**
 * The next event across sources in merge order, or undefined when the order cannot go on yet: a
 * source with an empty buffer that is not exhausted may still hold an earlier event. Whatever is
 * taken is the same on every run over the same data, however reads were cut into pages.
 */
export function takeNext(sources: readonly BufferedSource[]): JobEvent | undefined {
  let best = -1;
  let head: JobEvent | undefined;
  for (let i = 0; i < sources.length; i++) {
    const s = sources[i]!;
    const e = s.peek();
    if (e === undefined) {
      if (!s.exhausted) return undefined;
      continue;
    }
    if (head === undefined || before(e, i, head, best)) {
      head = e;
      best = i;
    }
  }
  return head === undefined ? undefined : sources[best]!.take();
}
