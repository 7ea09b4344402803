// Query outputs over HTTP, for dashboards and any client: the list of outputs, an output's recent
// rows, and its rows live as Server-Sent Events (resumable with Last-Event-ID: rows missed while
// disconnected come from the ledger first). A viewer key bound to a tenant sees only that tenant's
// rows, in every answer and every stream; other callers may filter with `tenant`.
import type { Authenticator, Viewer } from '../auth/authenticator.js';
import { OmniError } from '../core/errors.js';
import { intParam, parseTime } from '../http/query-params.js';
import type { HttpPlugin, RequestContext, Route } from '../http/route.js';
import type { JobManager } from '../jobs/job-manager.js';
import type { OutputRow } from '../outputs/output-row.js';

const LIMIT = { min: 1, max: 10_000, default: 500 } as const;
const HEARTBEAT_MS = 15_000;
/** How often a stream tells the writing jobs' watermarks (dashboards show how current they are). */
const STATUS_MS = 2_000;
/** Rows a slow stream may have waiting to be written; past it the stream is closed (the client resumes). */
const MAX_BUFFERED_ROWS = 10_000;
const TENANT = /^[A-Za-z0-9*][A-Za-z0-9._-]{0,63}$/;

/** A row as clients receive it. */
export function wireRow(r: OutputRow): Record<string, unknown> {
  return { id: r.id, job: r.job, tenant: r.tenant, timestamp: new Date(r.timestampMs).toISOString(), row: r.row };
}

/** The tenant whose rows the caller gets: its own when bound to one, else the one it asks for (or all). */
export function tenantScope(viewer: Viewer, query: URLSearchParams): string | undefined {
  const raw = query.get('tenant');
  if (raw !== null && raw !== '' && !TENANT.test(raw)) throw new OmniError('invalid_argument', `tenant is a tenant name (or * for rows over every tenant); got ${JSON.stringify(raw)}`);
  const asked = raw === null || raw === '' ? undefined : raw;
  if (viewer.tenant === null) return asked;
  if (asked !== undefined && asked !== viewer.tenant) throw new OmniError('forbidden', `This viewer key sees only tenant '${viewer.tenant}'`);
  return viewer.tenant;
}

/** Whether the credential that opened a stream is still good (a key can be revoked, a token expire). */
export function stillViewer(auth: Authenticator, ctx: RequestContext): () => boolean {
  return () => {
    try {
      viewerOf(auth, ctx);
      return true;
    } catch {
      return false;
    }
  };
}

/** Who may read outputs: a viewer key (`?key=`) or a policy with ServiceConnect. */
export function viewerOf(auth: Authenticator, ctx: RequestContext): Viewer {
  return auth.viewer(ctx.req.headers.authorization, ctx.query.get('key'));
}

export function outputRoutes(auth: Authenticator, jobs: JobManager): HttpPlugin {
  const route = (method: Route['method'], path: string, handle: (ctx: RequestContext, viewer: Viewer) => Promise<void> | void): Route => ({
    method, path, audience: 'admin', errorStyle: 'omnistream',
    handle: async (ctx) => {
      await handle(ctx, viewerOf(auth, ctx));
    },
  });
  const outputNamed = (name: string) => {
    const o = jobs.output(name);
    if (!o) throw new OmniError('output_not_found', `No output named '${name}'`);
    return o;
  };

  return {
    routes: [
      route('GET', '/api/outputs', async (ctx, viewer) => {
        const outputs = await jobs.outputStatuses();
        // Delivery details (errors may name a receiver's address) are for operators, not viewers.
        ctx.json(200, { outputs: viewer.by === 'policy' ? outputs : outputs.map(({ name, kind, jobs: writers }) => ({ name, kind, jobs: writers })) });
      }),
      route('GET', '/api/outputs/:name', async (ctx, viewer) => {
        const o = outputNamed(ctx.params.name!);
        const limit = intParam(ctx.query, 'limit', LIMIT);
        const since = ctx.query.get('since');
        const sinceMs = since === null || since === '' ? undefined : parseTime(since, 'since').getTime();
        const tenant = tenantScope(viewer, ctx.query);
        const rows = jobs.live.latest(o.name, (r) => tenant === undefined || r.tenant === tenant, limit, sinceMs)
          ?? await jobs.ledger.latestRows(o.name, { tenant, sinceMs, limit });
        ctx.json(200, { output: o.name, kind: o.kind, writers: jobs.writerStatuses(o.name), rows: rows.map(wireRow) });
      }),
      route('GET', '/api/outputs/:name/stream', (ctx, viewer) => streamOutputs(ctx, jobs, [outputNamed(ctx.params.name!).name], tenantScope(viewer, ctx.query), stillViewer(auth, ctx))),
      // A page's one stream for all its outputs: a browser holds at most six connections to a server.
      route('GET', '/api/stream', (ctx, viewer) => {
        const names = (ctx.query.get('outputs') ?? '').split(',').map((n) => n.trim()).filter(Boolean);
        if (names.length === 0 || names.length > MAX_STREAM_OUTPUTS) throw new OmniError('invalid_argument', `outputs is a comma-separated list of 1 to ${MAX_STREAM_OUTPUTS} output names`);
        const tenant = tenantScope(viewer, ctx.query);
        return streamOutputs(ctx, jobs, [...new Set(names.map((n) => outputNamed(n).name))], tenant, stillViewer(auth, ctx));
      }),
    ],
  };
}

/** Outputs one page stream may carry (a dashboard's outputs; more would be a listing, not a page). */
const MAX_STREAM_OUTPUTS = 50;
/** Missed rows replayed per output on a resume; the page reloads its rows when it reconnects anyway. */
const RESUME_ROWS = 5_000;

/**
 * Rows of several outputs as one stream: `rows` events {"output","rows"} in commit order, the
 * event id the last row's id (ids rise across outputs, so one id resumes them all), `status`
 * events with the writing jobs' clocks, and `reset` events when a job recomputes rows a page shows.
 */
async function streamOutputs(ctx: RequestContext, jobs: JobManager, outputs: readonly string[], tenant: string | undefined, allowed: () => boolean): Promise<void> {
  const lastEventId = ctx.req.headers['last-event-id'];
  const resumeAfter = typeof lastEventId === 'string' && /^\d{1,15}$/.test(lastEventId) ? Number(lastEventId) : undefined;
  const wanted = new Set(outputs);
  const res = ctx.res;
  // A stream never ends on its own, so its connection is never reused: the server may close it at once at shutdown.
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no', connection: 'close' });
  res.write('retry: 1000\n\n');
  let lastSent = resumeAfter ?? 0;
  /** Rows committed while missed rows were read from the ledger: sent after them. */
  let waiting: OutputRow[] | null = [];
  const send = (rows: readonly OutputRow[]): void => {
    const byOutput = new Map<string, OutputRow[]>();
    let last = lastSent;
    for (const r of rows) {
      if (r.id <= lastSent || !wanted.has(r.output) || (tenant !== undefined && r.tenant !== tenant)) continue;
      let list = byOutput.get(r.output);
      if (!list) byOutput.set(r.output, (list = []));
      list.push(r);
      last = Math.max(last, r.id);
    }
    if (byOutput.size === 0) return;
    lastSent = last;
    // Every event carries the same id, the newest sent: a reconnect resumes after all of them.
    for (const [output, list] of byOutput) res.write(`id: ${last}\nevent: rows\ndata: ${JSON.stringify({ output, rows: list.map(wireRow) })}\n\n`);
  };
  let buffered = 0;
  res.on('drain', () => { buffered = 0; });
  const unsubscribe = jobs.live.subscribe({
    rows(rows) {
      if (waiting) {
        waiting.push(...rows);
        return;
      }
      if (res.writableNeedDrain) {
        // A reader that does not keep up is let go rather than buffered without bound; it resumes from its last id.
        buffered += rows.length;
        if (buffered > MAX_BUFFERED_ROWS) res.destroy();
      }
      send(rows);
    },
    reset(job, resetOutputs, fromMs) {
      const mine = resetOutputs.filter((o) => wanted.has(o));
      if (mine.length > 0) res.write(`event: reset\ndata: ${JSON.stringify({ job, outputs: mine, from: fromMs === null ? null : new Date(fromMs).toISOString() })}\n\n`);
    },
  });
  const status = (): void => {
    // A revoked key ends its streams too, not only its next request.
    if (!allowed()) {
      res.end();
      return;
    }
    const writers = outputs.length === 1 ? jobs.writerStatuses(outputs[0]!) : Object.fromEntries(outputs.map((o) => [o, jobs.writerStatuses(o)]));
    res.write(`event: status\ndata: ${JSON.stringify({ writers })}\n\n`);
  };
  const heartbeat = setInterval(() => { if (!res.writableNeedDrain) res.write(': heartbeat\n\n'); }, HEARTBEAT_MS);
  const statusTimer = setInterval(status, STATUS_MS);
  try {
    status();
    // Rows committed while the client was away, then whatever arrived meanwhile, then live.
    if (resumeAfter !== undefined) {
      const missed = (await Promise.all(outputs.map((o) => jobs.ledger.rowsAfter(o, resumeAfter, RESUME_ROWS)))).flat().sort((a, b) => a.id - b.id);
      send(missed);
    }
    const held = waiting;
    waiting = null;
    send(held);
    await new Promise<void>((resolve) => {
      res.once('close', resolve);
      res.once('finish', resolve);
      jobs.closing.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    clearInterval(heartbeat);
    clearInterval(statusTimer);
    unsubscribe();
    if (!res.writableEnded) res.end();
  }
}
