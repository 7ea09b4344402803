// GET /api/bridges: each bridge's connection, counts and last problem (ServiceConnect).
import type { Authenticator } from '../../auth/authenticator.js';
import type { HttpPlugin } from '../../http/route.js';
import type { MqttBridge } from './mqtt-bridge.js';

export function bridgeRoutes(auth: Authenticator, bridges: readonly MqttBridge[]): HttpPlugin {
  return {
    routes: [{
      method: 'GET', path: '/api/bridges', audience: 'admin', errorStyle: 'omnistream',
      handle: (ctx) => {
        auth.service(ctx.req.headers.authorization, 'ServiceConnect');
        ctx.json(200, { bridges: bridges.map((b) => b.status()) });
      },
    }],
  };
}
