// The log's partitions as Event Hubs describes them.
import type { Authenticator } from '../auth/authenticator.js';
import type { HttpPlugin } from '../http/route.js';
import type { EventLog } from '../log/event-log.js';

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
    }],
  };
}
