// The dashboards as the page reads them: the list, and one dashboard's tiles (with any problem a
// tile has), for a viewer key or a ServiceConnect policy.
import type { Authenticator } from '../auth/authenticator.js';
import { OmniError } from '../core/errors.js';
import type { HttpPlugin } from '../http/route.js';
import type { Dashboards } from './dashboards.js';
import { viewerOf } from './output-routes.js';

export function dashboardRoutes(auth: Authenticator, dashboards: Dashboards): HttpPlugin {
  return {
    routes: [
      {
        method: 'GET', path: '/api/dashboards', audience: 'admin', errorStyle: 'omnistream',
        handle: (ctx) => {
          const viewer = viewerOf(auth, ctx);
          ctx.json(200, {
            dashboards: dashboards.list().map((d) => ({ name: d.name, title: d.title, description: d.description, tiles: d.tiles.length })),
            viewer: { tenant: viewer.tenant },
          });
        },
      },
      {
        method: 'GET', path: '/api/dashboards/:name', audience: 'admin', errorStyle: 'omnistream',
        handle: (ctx) => {
          const viewer = viewerOf(auth, ctx);
          const d = dashboards.get(ctx.params.name!);
          if (!d) {
            const names = dashboards.list().map((x) => x.name);
            throw new OmniError('dashboard_not_found', `No dashboard named '${ctx.params.name}'${names.length ? `; there are: ${names.join(', ')}` : '; none is configured'}`);
          }
          ctx.json(200, { ...d, viewer: { tenant: viewer.tenant } });
        },
      },
    ],
  };
}
