// Liveness, readiness and metrics: what an orchestrator and Prometheus poll.
import type { HttpPlugin } from './route.js';
import type { Metrics } from '../telemetry/metrics.js';

/** `details` adds what features want an operator to see in /readyz (jobs refused at start, say). */
export function healthRoutes(metrics: Metrics, isReady: () => boolean, details: () => Record<string, unknown> = () => ({})): HttpPlugin {
  return {
    routes: [
      { method: 'GET', path: '/healthz', audience: 'admin', errorStyle: 'omnistream', handle: (ctx) => ctx.json(200, { status: 'ok' }) },
      {
        method: 'GET', path: '/readyz', audience: 'admin', errorStyle: 'omnistream',
        handle: (ctx) => (isReady() ? ctx.json(200, { status: 'ready', ...details() }) : ctx.json(503, { status: 'not ready' })),
      },
      {
        method: 'GET', path: '/metrics', audience: 'admin', errorStyle: 'omnistream',
        handle: (ctx) => {
          ctx.res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
          ctx.res.end(metrics.render());
        },
      },
    ],
  };
}
