// Live events: the incoming events of the caller's tenant — device, channel, event name, body —
// the first thing a developer wiring a new app or store reader wants to see. Recent ones, and a
// tail as Server-Sent Events. A tail that cannot keep up skips ahead (and says how many it
// skipped) rather than buffer: it shows what arrives now.
import type { Authenticator } from '../auth/authenticator.js';
import type { StoredMessage } from '../core/message.js';
import { intParam } from '../http/query-params.js';
import type { HttpPlugin, RequestContext } from '../http/route.js';
import type { EventLog } from '../log/event-log.js';
import { tenantScope, viewerOf } from './output-routes.js';

const LIMIT = { min: 1, max: 1_000, default: 100 } as const;
/** Messages read per partition per wake-up; past it the tail skips to the newest. */
const MAX_PER_WAKE = 500;
const HEARTBEAT_MS = 15_000;

interface Filter {
  readonly tenant: string | undefined;
  readonly device: string | null;
  readonly channel: string | null;
  readonly event: string | null;
}

/** An event as the live-events page shows it. */
function describe(m: StoredMessage): Record<string, unknown> {
  const text = m.body.toString('utf8');
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: shown as the text it is (binary bodies as base64).
    if (!isPrintable(text)) body = { base64: m.body.toString('base64') };
  }
  const event = body !== null && typeof body === 'object' && typeof (body as { event?: unknown }).event === 'string' ? (body as { event: string }).event : null;
  return {
    partition: m.partition, sequenceNumber: m.sequenceNumber, enqueuedTimeUtc: m.enqueuedTimeUtc.toISOString(),
    deviceId: m.deviceId, tenant: m.tenant, channel: m.properties.channel ?? null, event, properties: m.properties, body,
  };
}

/** Text a person can read: valid UTF-8 without control characters other than tab and line breaks. */
function isPrintable(text: string): boolean {
  if (text.includes('\uFFFD')) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return false;
  }
  return true;
}

function matches(f: Filter, m: StoredMessage, described: Record<string, unknown>): boolean {
  return (f.tenant === undefined || m.tenant === f.tenant)
    && (f.device === null || m.deviceId === f.device)
    && (f.channel === null || described.channel === f.channel)
    && (f.event === null || described.event === f.event);
}

function filterOf(auth: Authenticator, ctx: RequestContext): Filter {
  const viewer = viewerOf(auth, ctx);
  const text = (name: string) => {
    const v = ctx.query.get(name);
    return v === null || v === '' ? null : v;
  };
  return { tenant: tenantScope(viewer, ctx.query), device: text('device'), channel: text('channel'), event: text('event') };
}

export function eventRoutes(auth: Authenticator, log: EventLog, closing: AbortSignal): HttpPlugin {
  return {
    routes: [
      {
        method: 'GET', path: '/api/events', audience: 'admin', errorStyle: 'omnistream',
        handle: async (ctx) => {
          const filter = filterOf(auth, ctx);
          const limit = intParam(ctx.query, 'limit', LIMIT);
          // The newest `limit` of each partition, then the newest `limit` of those (filtered).
          const found: Record<string, unknown>[] = [];
          for (const info of await log.partitions()) {
            if (info.isEmpty) continue;
            const from = Math.max(info.beginningSequenceNumber, info.lastEnqueuedSequenceNumber - MAX_PER_WAKE + 1);
            const page = await log.read(Number(info.partitionId), { kind: 'sequence', sequenceNumber: from }, MAX_PER_WAKE);
            for (const m of page.messages) {
              const d = describe(m);
              if (matches(filter, m, d)) found.push(d);
            }
          }
          found.sort((a, b) => String(a.enqueuedTimeUtc).localeCompare(String(b.enqueuedTimeUtc)) || Number(a.partition) - Number(b.partition) || Number(a.sequenceNumber) - Number(b.sequenceNumber));
          ctx.json(200, { events: found.slice(-limit) });
        },
      },
      {
        method: 'GET', path: '/api/events/stream', audience: 'admin', errorStyle: 'omnistream',
        handle: async (ctx) => {
          const filter = filterOf(auth, ctx);
          const res = ctx.res;
          const next = (await log.partitions()).map((p) => p.lastEnqueuedSequenceNumber + 1);
          res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no', connection: 'close' });
          res.write('retry: 1000\n\n');
          let reading = Promise.resolve();
          const pending = new Set<number>();
          const drain = async (): Promise<void> => {
            for (const p of [...pending]) {
              pending.delete(p);
              const info = (await log.partitions())[p]!;
              let skipped = 0;
              if (info.lastEnqueuedSequenceNumber + 1 - next[p]! > MAX_PER_WAKE || res.writableNeedDrain) {
                const to = info.lastEnqueuedSequenceNumber + 1 - (res.writableNeedDrain ? 0 : MAX_PER_WAKE);
                skipped = Math.max(0, to - next[p]!);
                next[p] = Math.max(next[p]!, to);
              }
              if (skipped > 0) res.write(`event: skipped\ndata: ${JSON.stringify({ partition: p, count: skipped })}\n\n`);
              const page = await log.read(p, { kind: 'sequence', sequenceNumber: next[p]! }, MAX_PER_WAKE);
              next[p] = page.nextSequenceNumber;
              for (const m of page.messages) {
                const d = describe(m);
                if (matches(filter, m, d)) res.write(`event: message\ndata: ${JSON.stringify(d)}\n\n`);
              }
            }
          };
          const unsubscribe = log.onAppend((partitions) => {
            for (const p of partitions) pending.add(p);
            reading = reading.then(drain, drain);
          });
          const heartbeat = setInterval(() => { if (!res.writableNeedDrain) res.write(': heartbeat\n\n'); }, HEARTBEAT_MS);
          try {
            await new Promise<void>((resolve) => {
              res.once('close', resolve);
              closing.addEventListener('abort', () => resolve(), { once: true });
            });
          } finally {
            clearInterval(heartbeat);
            unsubscribe();
            await reading.catch(() => {});
            if (!res.writableEnded) res.end();
          }
        },
      },
    ],
  };
}
