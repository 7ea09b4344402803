// The recommender's own read of the log: every partition from its positions, merged into one order
// by (enqueue time, partition, sequence number) below the log's horizon, as jobs read it — so a run
// from a checkpoint absorbs the same events in the same order, however the reads were cut into pages.
import type { EventLog, SharedFields } from '../log/event-log.js';

/** Messages read from a partition at a time. */
const PAGE = 1_000;

export interface LogEvent {
  readonly partition: number;
  readonly sequenceNumber: number;
  readonly enqueuedMs: number;
  readonly shared: SharedFields;
  /** The body's JSON text, or its bytes when it is not known to be JSON. */
  readonly body: string | Buffer;
}

class PartitionBuffer {
  events: LogEvent[] = [];
  head = 0;
  /** Nothing more below the last horizon. */
  exhausted = false;

  constructor(readonly partition: number, public readSeq: number) {}

  /** The checkpoint position: the next event not yet taken. */
  get next(): number {
    return this.head < this.events.length ? this.events[this.head]!.sequenceNumber : this.readSeq;
  }

  get empty(): boolean {
    return this.head >= this.events.length;
  }
}

export class LogReader {
  private readonly partitions: PartitionBuffer[];

  constructor(private readonly log: EventLog, positions: readonly number[]) {
    this.partitions = Array.from({ length: log.partitionCount }, (_, p) => new PartitionBuffer(p, positions[p] ?? 0));
  }

  positions(): number[] {
    return this.partitions.map((p) => p.next);
  }

  /** Reads the partitions whose buffers are empty, up to what was enqueued before `below`. */
  async fill(below: number): Promise<void> {
    await Promise.all(this.partitions.map(async (b) => {
      if (!b.empty) return;
      b.events = [];
      b.head = 0;
      let stoppedAt = -1;
      let lastTaken = -1;
      const result = await this.log.scan(b.partition, { kind: 'sequence', sequenceNumber: b.readSeq }, PAGE, (seq, enqueuedMs, shared, _messageId, _correlationId, body) => {
        if (enqueuedMs >= below) {
          stoppedAt = seq;
          return false;
        }
        lastTaken = seq;
        b.events.push({ partition: b.partition, sequenceNumber: seq, enqueuedMs, shared, body });
      });
      b.readSeq = lastTaken >= 0 ? lastTaken + 1 : stoppedAt >= 0 ? stoppedAt : Math.max(b.readSeq, result.nextSequenceNumber);
      b.exhausted = stoppedAt >= 0 || result.count < PAGE;
    }));
  }

  /**
   * The next event in merge order, or undefined when the order cannot go on: a partition with an
   * empty buffer that is not exhausted may still hold an earlier event (fill again).
   */
  take(): LogEvent | undefined {
    let best: PartitionBuffer | undefined;
    let head: LogEvent | undefined;
    for (const b of this.partitions) {
      if (b.empty) {
        if (!b.exhausted) return undefined;
        continue;
      }
      const e = b.events[b.head]!;
      if (head === undefined || e.enqueuedMs < head.enqueuedMs) {
        head = e;
        best = b;
      }
    }
    if (best === undefined) return undefined;
    best.head++;
    return head;
  }

  /** Every partition has given everything before the last horizon. */
  get caughtUp(): boolean {
    return this.partitions.every((b) => b.empty && b.exhausted);
  }

  /** Messages in the log past the reader's positions. */
  async lag(): Promise<number> {
    const infos = await this.log.partitions();
    const positions = this.positions();
    return infos.reduce((n, info, p) => n + (info.isEmpty ? 0 : Math.max(0, info.lastEnqueuedSequenceNumber + 1 - Math.max(positions[p]!, info.beginningSequenceNumber))), 0);
  }
}
