// Self-registration: a browser or app holding the tenant's public app key gets its own device
// identity and token, so the owner key never reaches a client.
import { randomUUID } from 'node:crypto';
import type { KeyStore } from '../auth/key-store.js';
import { deviceResource, signSasToken } from '../auth/sas.js';
import { validateDeviceId } from '../core/device.js';
import { OmniError } from '../core/errors.js';
import type { HttpPlugin } from '../http/route.js';
import type { Registry } from '../registry/registry.js';
import { parseJsonBody } from '../http/json-body.js';
import { mediaType } from './http-messages.js';
import { RateLimiter, type RateLimit } from './rate-limiter.js';

export interface RegisterOptions {
  readonly hostName: string;
  readonly rateLimit: RateLimit;
  readonly tokenTtlSeconds: number;
}

const KIND = /^[a-z0-9][a-z0-9-]{0,31}$/;
// text/plain lets a page register without a CORS preflight.
const TYPES = new Set(['application/json', 'text/plain']);

export function registerRoutes(keys: KeyStore, registry: Registry, options: RegisterOptions): HttpPlugin {
  const limiter = new RateLimiter(options.rateLimit);
  return {
    routes: [{
      method: 'POST',
      path: '/api/register',
      audience: 'device',
      errorStyle: 'omnistream',
      async handle(ctx) {
        limiter.take(ctx.clientAddress);
        const type = mediaType(ctx.req.headers['content-type']);
        if (!TYPES.has(type)) throw new OmniError('unsupported_media_type', `Send {"appKey"} as application/json, not ${type || 'no content type'}`);
        const body = parseJsonBody(await ctx.readBody(4096), 'The registration');
        if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new OmniError('invalid_body', 'Expected {"appKey", "deviceId"?, "kind"?}');
        const { appKey, deviceId, kind } = body as Record<string, unknown>;
        if (typeof appKey !== 'string') throw new OmniError('invalid_app_key', 'Missing "appKey"');
        const tenant = keys.tenantOfAppKey(appKey);
        if (!tenant) throw new OmniError('invalid_app_key');
        if (kind !== undefined && (typeof kind !== 'string' || !KIND.test(kind))) {
          throw new OmniError('invalid_argument', '"kind" is 1 to 32 lower-case letters, digits or dashes (browser, ios, android, sensor…)');
        }
        const id = deviceId === undefined ? `${kind ?? 'app'}-${randomUUID()}` : validateDeviceId(deviceId);
        const device = await registry.create({ deviceId: id, tenant, kind: kind ?? null });
        const expiry = Math.floor(Date.now() / 1000) + options.tokenTtlSeconds;
        const primaryKey = device.authentication.symmetricKey.primaryKey;
        ctx.json(201, {
          deviceId: device.deviceId,
          primaryKey,
          sasToken: signSasToken({ resource: deviceResource(options.hostName, device.deviceId), key: primaryKey, expiry }),
          expiresAt: new Date(expiry * 1000).toISOString(),
          hostName: options.hostName,
        });
      },
    }],
  };
}
