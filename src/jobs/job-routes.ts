// Operating continuous jobs over HTTP: state, watermark, lag, counts, references, dead letters;
// stop, start and replay. Every route needs ServiceConnect.
import type { Authenticator } from '../auth/authenticator.js';
import { OmniError } from '../core/errors.js';
import { parseJsonBody } from '../http/json-body.js';
import { intParam, parseTime } from '../http/query-params.js';
import type { HttpPlugin, RequestContext, Route } from '../http/route.js';
import type { StartPosition } from './job.js';
import type { JobManager } from './job-manager.js';

const DEAD_LETTER_LIMIT = { min: 1, max: 1_000, default: 100 } as const;

/** `{"from": "earliest" | "latest" | ISO time | {"sequenceNumbers": [per partition]}}`. */
export function parseStartPosition(value: unknown, what: string): StartPosition {
  if (value === 'earliest' || value === 'latest') return { kind: value };
  if (typeof value === 'string') return { kind: 'time', time: parseTime(value, what) };
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const seqs = (value as { sequenceNumbers?: unknown }).sequenceNumbers;
    if (Array.isArray(seqs) && seqs.every((n) => Number.isSafeInteger(n) && (n as number) >= 0)) return { kind: 'sequence', partitions: seqs as number[] };
  }
  throw new OmniError('invalid_argument', `${what} is "earliest", "latest", an ISO 8601 time with a zone, or {"sequenceNumbers": [one per partition]}; got ${JSON.stringify(value)}`);
}

export function jobRoutes(auth: Authenticator, jobs: JobManager): HttpPlugin {
  const route = (method: Route['method'], path: string, handle: (ctx: RequestContext, name: string) => Promise<void> | void): Route => ({
    method, path, audience: 'admin', errorStyle: 'omnistream',
    handle: async (ctx) => {
      auth.service(ctx.req.headers.authorization, 'ServiceConnect');
      await handle(ctx, ctx.params.name ?? '');
    },
  });
  const runnable = (name: string) => {
    const job = jobs.job(name);
    if (job) return job;
    const refused = jobs.problems.find((p) => p.job === name);
    if (refused) throw new OmniError('job_not_runnable', `Job '${name}' was refused at start: ${refused.at ? `${refused.at}: ` : ''}${refused.message}`);
    throw new OmniError('job_not_found', `No job named '${name}'`);
  };

  return {
    routes: [
      route('GET', '/api/jobs', (ctx) => ctx.json(200, { jobs: jobs.jobStatuses(), refused: jobs.problems, references: jobs.referenceStatuses() })),
      route('GET', '/api/jobs/:name', (ctx, name) => {
        runnable(name);
        ctx.json(200, jobs.jobStatus(name));
      }),
      route('POST', '/api/jobs/:name/stop', async (ctx, name) => {
        runnable(name);
        await jobs.stop(name);
        ctx.json(200, jobs.jobStatus(name));
      }),
      route('POST', '/api/jobs/:name/start', async (ctx, name) => {
        runnable(name);
        await jobs.startJob(name);
        ctx.json(200, jobs.jobStatus(name));
      }),
      route('POST', '/api/jobs/:name/replay', async (ctx, name) => {
        runnable(name);
        const body = parseJsonBody(await ctx.readBody(4096), 'The replay request');
        if (typeof body !== 'object' || body === null || !('from' in body)) throw new OmniError('invalid_body', 'Expected {"from": "earliest" | "latest" | an ISO time | {"sequenceNumbers": […]}}');
        await jobs.replay(name, parseStartPosition((body as { from: unknown }).from, 'from'));
        ctx.json(200, jobs.jobStatus(name));
      }),
      route('GET', '/api/jobs/:name/deadletters', async (ctx, name) => {
        const job = runnable(name);
        const limit = intParam(ctx.query, 'limit', DEAD_LETTER_LIMIT);
        const rows = await jobs.deadLetters(job.spec.deadLetters, name, limit);
        ctx.json(200, { output: job.spec.deadLetters, deadLetters: rows.map((r) => ({ tenant: r.tenant, arrival: new Date(r.timestampMs).toISOString(), ...r.row })) });
      }),
    ],
  };
}
