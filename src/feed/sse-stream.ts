// GET /api/consumergroups/{group}/stream: the group's messages as Server-Sent Events. Each event's
// id is a cursor covering everything sent so far, so a reconnecting EventSource (which sends it
// back as Last-Event-ID) commits what it received and resumes right after it; a stream always
// starts at the group's checkpoint, so whatever was sent but not received comes again.
// Backpressure: the next batch is read only once the socket has drained, so a slow reader holds
// at most one batch in server memory.
import type { RequestContext } from '../http/route.js';
import type { PartitionId, SequenceNumber } from '../core/message.js';
import type { ConsumerGroups } from './consumer-groups.js';
import { encodeMessage } from './wire-message.js';

export interface StreamOptions {
  readonly reader: string;
  readonly max: number;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
}

/** Resolves when the response can take more, or the stream is over. */
function drained(ctx: RequestContext, signal: AbortSignal): Promise<void> {
  if (!ctx.res.writableNeedDrain || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      ctx.res.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    ctx.res.once('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
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
      const batch = await session.next(options.max, options.heartbeatMs, stop.signal);
      if (stop.signal.aborted) break;
      if (batch.messages.length === 0) {
        // A comment line keeps proxies from closing an idle stream; skipped while backed up.
        if (!ctx.res.writableNeedDrain) ctx.res.write(': heartbeat\n\n');
        continue;
      }
      let text = '';
      for (const m of batch.messages) {
        sent.set(m.partition, m.sequenceNumber + 1);
        text += `id: ${session.cursor(sent)}\nevent: message\ndata: ${encodeMessage(m)}\n\n`;
      }
      for (const [p, seq] of batch.positions) sent.set(p, seq);
      ctx.res.write(text);
      await drained(ctx, stop.signal);
    }
  } finally {
    session.close();
    ctx.res.off('close', onClose);
    groups.closing.removeEventListener('abort', onClose);
    if (!ctx.res.writableEnded) ctx.res.end();
  }
}
