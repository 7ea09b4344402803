// The hub's log as a job's input: every partition read from the job's positions, merged into one
// order by (enqueue time, partition, sequence number) below the log's horizon, so a rerun from a
// checkpoint takes the same events in the same order.
import type { EventLog, ScanOptions, SharedFields } from '../log/event-log.js';
import type { Row } from '../query/index.js';
import { eventRow } from './event-row.js';
import { LOG_SOURCE, takeNext, type BufferedSource, type JobEvent } from './job-event.js';

/**
 * Rows read from a partition at a time. Always the same size, and only when the buffer has room for
 * a whole page: the log reads the next page ahead for a reader that goes page by page.
 */
const PAGE = 1_000;

/** One message of the log on its way into a job: a class, so an event costs one object. */
class LogEvent implements JobEvent {
  readonly source = LOG_SOURCE;

  constructor(
    readonly partition: number, readonly position: number, readonly arrivalMs: number, private readonly shared: SharedFields,
    private readonly messageId: string | undefined, private readonly body: string | Buffer, readonly row: Row | null, readonly failure: string | null,
  ) {}

  get tenant(): string {
    return this.shared.tenant;
  }

  deadLetter(): Record<string, unknown> {
    const { partition, position, shared, body } = this;
    return {
      partition, sequenceNumber: position, offset: String(position), enqueuedTimeUtc: new Date(this.arrivalMs).toISOString(),
      deviceId: shared.deviceId, messageId: this.messageId ?? null, contentType: shared.contentType ?? null,
      ...(typeof body === 'string' ? { body } : { body: body.toString('base64'), bodyEncoding: 'base64' }),
    };
  }
}

class PartitionReader implements BufferedSource {
  private buffer: JobEvent[] = [];
  private head = 0;
  /** The next sequence number to read from the log (past what is buffered). */
  private readSeq: number;
  exhausted = false;
  /** Messages retention deleted before this job read them. */
  skipped = 0;

  /** What the scan is asked for: the members of the fields the query reads (see eventRow). */
  private readonly scanOptions: ScanOptions;

  constructor(private readonly log: EventLog, readonly partition: number, next: number, private readonly fields: ReadonlySet<string> | null) {
    this.readSeq = next;
    this.scanOptions = fields === null ? {} : { fields };
  }

  /** The sequence number of the next event not yet taken: the checkpoint position. */
  get next(): number {
    return this.head < this.buffer.length ? this.buffer[this.head]!.position : this.readSeq;
  }

  async fill(below: number): Promise<void> {
    if (this.head > 0) {
      this.buffer = this.buffer.slice(this.head);
      this.head = 0;
    }
    if (this.buffer.length >= PAGE) {
      this.exhausted = false;
      return;
    }
    const partition = this.partition;
    let firstVisited = -1;
    let lastTaken = -1;
    let stoppedAt = -1;
    const fields = this.fields;
    const result = await this.log.scan(partition, { kind: 'sequence', sequenceNumber: this.readSeq }, PAGE, (seq, enqueuedMs, shared, messageId, correlationId, body, members) => {
      if (firstVisited < 0) firstVisited = seq;
      if (enqueuedMs >= below) {
        stoppedAt = seq;
        return false;
      }
      lastTaken = seq;
      const decoded = eventRow(partition, enqueuedMs, shared, messageId, correlationId, body, fields, members);
      this.buffer.push(typeof decoded === 'string'
        ? new LogEvent(partition, seq, enqueuedMs, shared, messageId, body, null, decoded)
        : new LogEvent(partition, seq, enqueuedMs, shared, messageId, body, decoded, null));
    }, this.scanOptions);
    if (result.startedAtEarliest) {
      // Retention deleted messages this job had not read yet: they are gone, and the job says so.
      const firstKept = firstVisited >= 0 ? firstVisited : result.nextSequenceNumber;
      this.skipped += Math.max(0, firstKept - this.readSeq);
    }
    this.readSeq = lastTaken >= 0 ? lastTaken + 1 : stoppedAt >= 0 ? stoppedAt : Math.max(this.readSeq, result.nextSequenceNumber);
    this.exhausted = stoppedAt >= 0 || result.count < PAGE;
  }

  peek(): JobEvent | undefined {
    return this.buffer[this.head];
  }

  take(): JobEvent {
    return this.buffer[this.head++]!;
  }
}

/** Per partition, the next sequence number a job reads. */
export type LogPositions = number[];

export class LogSource implements BufferedSource {
  private readonly partitions: PartitionReader[];

  /** `fields`: the event fields the job's query can read (null: whole events). */
  constructor(private readonly log: EventLog, positions: LogPositions, fields: ReadonlySet<string> | null) {
    this.partitions = Array.from({ length: log.partitionCount }, (_, p) => new PartitionReader(log, p, positions[p] ?? 0, fields));
  }

  horizon(): number {
    return this.log.horizon();
  }

  get exhausted(): boolean {
    return this.pending === undefined && this.partitions.every((p) => p.exhausted && p.peek() === undefined);
  }

  /** Messages retention deleted before this job read them. */
  get skipped(): number {
    return this.partitions.reduce((n, p) => n + p.skipped, 0);
  }

  async fill(below: number): Promise<void> {
    await Promise.all(this.partitions.map((p) => p.fill(below)));
  }

  /** The next event, taken from its partition but not yet from this source. */
  private pending: JobEvent | undefined;

  peek(): JobEvent | undefined {
    return (this.pending ??= takeNext(this.partitions));
  }

  take(): JobEvent {
    const e = this.peek()!;
    this.pending = undefined;
    return e;
  }

  positions(): LogPositions {
    // An event peeked but not taken is still unread.
    return this.partitions.map((p) => (this.pending && this.pending.partition === p.partition ? this.pending.position : p.next));
  }

  /** Messages in the log past the job's positions. */
  async lag(): Promise<number> {
    const infos = await this.log.partitions();
    const positions = this.positions();
    return infos.reduce((n, info, p) => n + Math.max(0, info.lastEnqueuedSequenceNumber + 1 - Math.max(positions[p]!, info.beginningSequenceNumber)), 0);
  }

  onData(listener: () => void): () => void {
    return this.log.onAppend(listener);
  }
}
