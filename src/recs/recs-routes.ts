// Serving recommendations from memory (the recommender's thread answers): items like an item, and
// items for a shopper. A viewer key
// bound to a tenant sees only that tenant's model; a policy with ServiceConnect (or an unbound
// viewer key) names the tenant with `?tenant=` (default `default`).
import type { Authenticator } from '../auth/authenticator.js';
import { OmniError } from '../core/errors.js';
import { intParam } from '../http/query-params.js';
import type { HttpPlugin, RequestContext, Route } from '../http/route.js';
import { POPULAR_KEPT } from './item-model.js';
import { MAX_ID_LENGTH } from './recs-rules.js';
import type { RecsQuery } from './recs-messages.js';
import type { Recommendation } from './recommender.js';

export const K_RANGE = { min: 1, max: POPULAR_KEPT, default: 10 } as const;
const TENANT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function tenantOf(auth: Authenticator, ctx: RequestContext): string {
  const viewer = auth.viewer(ctx.req.headers.authorization, ctx.query.get('key'));
  const raw = ctx.query.get('tenant');
  const asked = raw === null || raw === '' ? undefined : raw;
  if (asked !== undefined && !TENANT.test(asked)) throw new OmniError('invalid_argument', `tenant is a tenant name; got ${JSON.stringify(asked)}`);
  if (viewer.tenant === null) return asked ?? 'default';
  if (asked !== undefined && asked !== viewer.tenant) throw new OmniError('forbidden', `This viewer key sees only tenant '${viewer.tenant}'`);
  return viewer.tenant;
}

function idParam(ctx: RequestContext, name: string): string {
  const id = ctx.params[name]!;
  if (id.length === 0 || id.length > MAX_ID_LENGTH) throw new OmniError('invalid_argument', `${name} is an id of 1 to ${MAX_ID_LENGTH} characters`);
  return id;
}

function storeParam(ctx: RequestContext): string | null {
  const store = ctx.query.get('store');
  if (store === null || store === '') return null;
  if (store.length > MAX_ID_LENGTH) throw new OmniError('invalid_argument', `store is an id of 1 to ${MAX_ID_LENGTH} characters`);
  return store;
}

const wire = (r: Recommendation): Record<string, unknown> => ({
  items: r.items,
  ...(r.fallback ? { fallback: r.fallback } : {}),
  ...(r.store !== undefined ? { store: r.store } : {}),
  ...(r.basedOn !== undefined ? { basedOn: r.basedOn } : {}),
  model: r.model,
});

export function recsRoutes(auth: Authenticator, ask: (query: RecsQuery) => Promise<Recommendation>): HttpPlugin {
  const route = (path: string, handle: (ctx: RequestContext) => Promise<void>): Route => ({ method: 'GET', path, audience: 'admin', errorStyle: 'omnistream', handle });
  return {
    routes: [
      route('/api/recommendations/items/:item', async (ctx) => {
        const tenant = tenantOf(auth, ctx);
        const item = idParam(ctx, 'item');
        const k = intParam(ctx.query, 'k', K_RANGE);
        ctx.json(200, { tenant, item, ...wire(await ask({ kind: 'item', tenant, item, k, store: storeParam(ctx) })) });
      }),
      route('/api/recommendations/popular', async (ctx) => {
        const tenant = tenantOf(auth, ctx);
        const k = intParam(ctx.query, 'k', K_RANGE);
        ctx.json(200, { tenant, ...wire(await ask({ kind: 'popular', tenant, k, store: storeParam(ctx) })) });
      }),
      route('/api/recommendations/shoppers/:shopper', async (ctx) => {
        const tenant = tenantOf(auth, ctx);
        const shopper = idParam(ctx, 'shopper');
        const k = intParam(ctx.query, 'k', K_RANGE);
        ctx.json(200, { tenant, shopper, ...wire(await ask({ kind: 'shopper', tenant, shopper, k, store: storeParam(ctx) })) });
      }),
    ],
  };
}
