// The log's partitions as Event Hubs describes them, and stateless reads of one partition.
import type { Authenticator } from '../auth/authenticator.js';
import { OmniError } from '../core/errors.js';
import type { HttpPlugin, RequestContext } from '../http/route.js';
import type { EventLog, ReadFrom } from '../log/event-log.js';
import { intParam, parseTime } from '../http/query-params.js';
import { LIMITS, systemPropertiesParam } from './params.js';
import { sendJson, WirePage } from './wire-page.js';

const POSITIONS = ['after_offset', 'from_sequence', 'from_time'] as const;

/** At most one of after_offset, from_sequence, from_time; none reads from the earliest message. */
function readFrom(query: URLSearchParams): ReadFrom {
  const given = POSITIONS.filter((name) => query.get(name) !== null);
  if (given.length > 1) throw new OmniError('invalid_argument', `Give one of ${POSITIONS.join(', ')}; got ${given.join(' and ')}`);
  const [name] = given;
  if (name === undefined) return { kind: 'earliest' };
  const value = query.get(name)!;
  if (name === 'after_offset') return { kind: 'afterOffset', offset: value };
  if (name === 'from_time') return { kind: 'time', time: parseTime(value, 'from_time') };
  if (!/^\d{1,15}$/.test(value)) throw new OmniError('invalid_argument', `from_sequence must be an integer from 0 to 999999999999999; got ${JSON.stringify(value)}`);
  return { kind: 'sequence', sequenceNumber: Number(value) };
}

/** Partition ids are decimal integers; anything else names no partition. */
function partitionId(ctx: RequestContext, log: EventLog): number {
  const raw = ctx.params.partition!;
  const p = /^\d{1,3}$/.test(raw) ? Number(raw) : -1;
  if (p < 0 || p >= log.partitionCount) throw new OmniError('partition_not_found', `Partition ${JSON.stringify(raw)} does not exist (partitions are 0 to ${log.partitionCount - 1})`);
  return p;
}

export function partitionRoutes(auth: Authenticator, log: EventLog): HttpPlugin {
  return {
    routes: [{
      method: 'GET',
      path: '/api/partitions',
      audience: 'admin',
      errorStyle: 'omnistream',
      async handle(ctx) {
        auth.service(ctx.req.headers.authorization, 'ServiceConnect');
        ctx.json(200, { partitions: await log.partitions() });
      },
    }, {
      method: 'GET',
      path: '/api/partitions/:partition/messages',
      audience: 'admin',
      errorStyle: 'omnistream',
      async handle(ctx) {
        auth.service(ctx.req.headers.authorization, 'ServiceConnect');
        const p = partitionId(ctx, log);
        const from = readFrom(ctx.query);
        const max = intParam(ctx.query, 'max', LIMITS.max);
        // Past the end is an empty page; behind retention starts at the earliest and says so.
        // The page's head depends on the scan's outcome, so the messages are written first, then framed.
        const messages = new WirePage('', max, systemPropertiesParam(ctx.query), intParam(ctx.query, 'max_bytes', LIMITS.maxBytes));
        const page = await log.scan(p, from, max, messages.visitor(p));
        const head = Buffer.from(`{"partitionId":"${p}","startedAtEarliest":${page.startedAtEarliest},"nextSequenceNumber":${page.nextSequenceNumber},"messages":`);
        sendJson(ctx.res, 200, Buffer.concat([head, messages.json('}')]));
      },
    }],
  };
}
