// GET /api/consumergroups/{group}/stream: the group's messages as Server-Sent Events. Each event's
// id is a cursor covering everything sent so far, so a reconnecting EventSource (which sends it
// back as Last-Event-ID) commits what it received and resumes right after it; a stream always
// starts at the group's checkpoint, so whatever was sent but not received comes again.
// Backpressure: the next batch is read only once the socket has drained, so a slow reader holds
// at most one batch in server memory; one that reads nothing for its lease time is dropped.
import type { RequestContext } from '../http/route.js';
import type { PartitionId, SequenceNumber } from '../core/message.js';
import type { MessageVisitor } from '../log/event-log.js';
import type { BatchSink, ConsumerGroups, ReaderSession } from './consumer-groups.js';
import { ByteWriter, writeMessage } from './wire-message.js';

export interface StreamOptions {
  readonly reader: string;
  readonly max: number;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  /** Whether messages carry IoT Hub's systemProperties (`system_properties=true`). */
  readonly systemProperties: boolean;
  /** A batch of events ends once it holds this many bytes (`max_bytes`). */
  readonly maxBytes: number;
}

/**
 * Resolves true when the response can take more, or the stream is over; false when the reader has
 * read nothing for `stalledMs` (its lease lapses then anyway, and its partitions go to others).
 */
function drained(ctx: RequestContext, signal: AbortSignal, stalledMs: number): Promise<boolean> {
  if (!ctx.res.writableNeedDrain || signal.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      ctx.res.off('drain', onDrain);
      signal.removeEventListener('abort', onDrain);
      resolve(ok);
    };
    const onDrain = (): void => done(true);
    const timer = setTimeout(() => done(false), stalledMs);
    ctx.res.once('drain', onDrain);
    signal.addEventListener('abort', onDrain, { once: true });
  });
}

const EVENT_DATA = Buffer.from('\nevent: message\ndata: ');
const EVENT_END = Buffer.from('\n\n');

/**
 * A batch as events, written as the log scans it. Each event's id covers it and everything sent
 * before, so `sent` moves one message at a time.
 */
class EventBatch implements BatchSink {
  readonly w = new ByteWriter(64 * 1024);

  constructor(
    private readonly session: ReaderSession, private readonly sent: Map<PartitionId, SequenceNumber>,
    private readonly withSystemProperties: boolean, private readonly maxBytes: number,
  ) {}

  get full(): boolean {
    return this.w.length >= this.maxBytes;
  }

  visitor(partition: PartitionId): MessageVisitor {
    return (seq, enqueuedMs, shared, messageId, correlationId, body) => {
      this.sent.set(partition, seq + 1);
      this.w.text(`id: ${this.session.cursor(this.sent)}`);
      this.w.bytes(EVENT_DATA);
      writeMessage(this.w, this.withSystemProperties, partition, seq, enqueuedMs, shared, messageId, correlationId, body);
      this.w.bytes(EVENT_END);
      return !this.full;
    };
  }
}

export async function streamGroup(ctx: RequestContext, groups: ConsumerGroups, name: string, options: StreamOptions): Promise<void> {
  const lastEventId = ctx.req.headers['last-event-id'];
  if (typeof lastEventId === 'string' && lastEventId !== '') await groups.commit(name, lastEventId);
  const session = await groups.session(name, options.reader, options.leaseMs);
  const stop = new AbortController();
  const onClose = (): void => stop.abort();
  ctx.res.once('close', onClose);
  groups.closing.addEventListener('abort', onClose, { once: true });
  try {
    session.rewind();
    // A stream ends only at shutdown or on error, so its connection is never reused for another
    // request: `connection: close` lets the server close it at once instead of idling on it.
    ctx.res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no', connection: 'close' });
    ctx.res.write('retry: 1000\n\n');
    const sent = new Map<PartitionId, SequenceNumber>();
    while (!stop.signal.aborted && session.current) {
      const events = new EventBatch(session, sent, options.systemProperties, options.maxBytes);
      const batch = await session.next(options.max, options.heartbeatMs, events, stop.signal);
      // Aborted after reading: what was read is not sent, and comes again from the checkpoint.
      if (stop.signal.aborted) break;
      if (batch.count === 0) {
        // A comment line keeps proxies from closing an idle stream; skipped while backed up.
        if (!ctx.res.writableNeedDrain) ctx.res.write(': heartbeat\n\n');
        continue;
      }
      for (const [p, seq] of batch.positions) sent.set(p, seq);
      ctx.res.write(events.w.done());
      if (!(await drained(ctx, stop.signal, options.leaseMs))) {
        // A reader that never reads is dropped: its socket, not the server, holds what it was sent.
        ctx.res.destroy();
        break;
      }
    }
  } finally {
    session.close();
    ctx.res.off('close', onClose);
    groups.closing.removeEventListener('abort', onClose);
    if (!ctx.res.writableEnded) ctx.res.end();
  }
}
