// Consumer groups over HTTP (ARCHITECTURE §4): manage groups, pull pages with a cursor, commit
// the cursor, stream as Server-Sent Events. Every route needs ServiceConnect.
import type { Authenticator } from '../auth/authenticator.js';
import { OmniError } from '../core/errors.js';
import type { HttpPlugin, Method, RequestContext, Route } from '../http/route.js';
import type { ConsumerGroups, StartFrom } from './consumer-groups.js';
import { intParam, parseTime } from '../http/query-params.js';
import { LIMITS, readerName, readerParam, systemPropertiesParam } from './params.js';
import { streamGroup } from './sse-stream.js';
import { sendJson, WirePage } from './wire-page.js';

const BODY_LIMIT = 16 * 1024;

async function jsonBody(ctx: RequestContext): Promise<Record<string, unknown> | undefined> {
  const raw = await ctx.readBody(BODY_LIMIT);
  if (raw.length === 0) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch (cause) {
    throw new OmniError('invalid_body', 'The request body is not valid JSON', { cause });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new OmniError('invalid_body', 'The request body must be a JSON object');
  return parsed as Record<string, unknown>;
}

function startFrom(body: Record<string, unknown> | undefined): StartFrom | undefined {
  if (body === undefined) return undefined;
  const unknown = Object.keys(body).filter((k) => k !== 'startFrom');
  if (unknown.length > 0) throw new OmniError('invalid_body', `Unknown field ${JSON.stringify(unknown[0])}; the body is {"startFrom": "earliest" | "latest" | an ISO time}`);
  const v = body.startFrom;
  if (v === undefined) return undefined;
  if (v === 'earliest' || v === 'latest') return { kind: v };
  if (typeof v !== 'string') throw new OmniError('invalid_body', 'startFrom must be "earliest", "latest" or an ISO 8601 time');
  return { kind: 'time', time: parseTime(v, 'startFrom') };
}

export function consumerGroupRoutes(auth: Authenticator, groups: ConsumerGroups): HttpPlugin {
  const route = (method: Method, path: string, handle: (ctx: RequestContext, group: string) => Promise<void>): Route => ({
    method, path, audience: 'admin', errorStyle: 'omnistream',
    async handle(ctx) {
      auth.service(ctx.req.headers.authorization, 'ServiceConnect');
      await handle(ctx, ctx.params.group ?? '');
    },
  });

  return {
    routes: [
      route('GET', '/api/consumergroups', async (ctx) => {
        const list = await groups.list();
        ctx.json(200, { consumerGroups: list.map((g) => ({ name: g.name, createdAt: g.createdAt.toISOString() })) });
      }),
      route('PUT', '/api/consumergroups/:group', async (ctx, group) => {
        const { created } = await groups.put(group, startFrom(await jsonBody(ctx)));
        ctx.json(created ? 201 : 200, await groups.status(group));
      }),
      route('GET', '/api/consumergroups/:group', async (ctx, group) => {
        ctx.json(200, await groups.status(group));
      }),
      route('DELETE', '/api/consumergroups/:group', async (ctx, group) => {
        await groups.delete(group);
        ctx.noContent();
      }),
      route('GET', '/api/consumergroups/:group/messages', async (ctx, group) => {
        const reader = readerParam(ctx.query);
        const max = intParam(ctx.query, 'max', LIMITS.max);
        const waitMs = intParam(ctx.query, 'wait_ms', LIMITS.waitMs);
        const leaseMs = intParam(ctx.query, 'lease_ms', LIMITS.leaseMs);
        const systemProperties = systemPropertiesParam(ctx.query);
        const maxBytes = intParam(ctx.query, 'max_bytes', LIMITS.maxBytes);
        // A caller that hangs up stops waiting, so its lease starts to lapse at once.
        const gone = new AbortController();
        const onClose = (): void => gone.abort();
        ctx.res.once('close', onClose);
        const session = await groups.session(group, reader, leaseMs);
        try {
          const page = new WirePage('{"messages":', max, systemProperties, maxBytes);
          const batch = await session.next(max, waitMs, page, gone.signal);
          // Released by shutdown: the server is closing, so this connection must not idle on.
          if (groups.closing.aborted) ctx.res.shouldKeepAlive = false;
          sendJson(ctx.res, 200, page.json(`,"cursor":"${session.cursor(batch.positions)}"}`));
        } finally {
          session.close();
          ctx.res.off('close', onClose);
        }
      }),
      route('DELETE', '/api/consumergroups/:group/readers/:reader', async (ctx, group) => {
        // A stopping reader hands its partitions over now rather than after lease_ms.
        const reader = readerName(ctx.params.reader ?? '');
        if (!(await groups.leave(group, reader))) throw new OmniError('reader_not_found', `Reader '${reader}' holds no lease in consumer group '${group}'`);
        ctx.noContent();
      }),
      route('POST', '/api/consumergroups/:group/checkpoint', async (ctx, group) => {
        await groups.require(group);
        const body = await jsonBody(ctx);
        await groups.commit(group, body?.cursor);
        ctx.noContent();
      }),
      route('GET', '/api/consumergroups/:group/stream', async (ctx, group) => {
        await streamGroup(ctx, groups, group, {
          reader: readerParam(ctx.query),
          max: intParam(ctx.query, 'max', LIMITS.max),
          leaseMs: intParam(ctx.query, 'lease_ms', LIMITS.leaseMs),
          heartbeatMs: intParam(ctx.query, 'heartbeat_ms', LIMITS.heartbeatMs),
          systemProperties: systemPropertiesParam(ctx.query),
          maxBytes: intParam(ctx.query, 'max_bytes', LIMITS.maxBytes),
        });
      }),
    ],
  };
}
