// IoT Hub's device registry REST API, as the `azure-iothub` Registry client speaks it.
import type { Authenticator } from '../auth/authenticator.js';
import { validateDeviceId, type Device, type DeviceInput } from '../core/device.js';
import { OmniError } from '../core/errors.js';
import { parseJsonBody } from '../http/json-body.js';
import type { HttpPlugin, RequestContext, Route } from '../http/route.js';
import { deviceNotFound } from './device-records.js';
import type { Registry } from './registry.js';

const MAX_DEVICE_JSON = 64 * 1024;
const MAX_LIST = 1000;

function reply(ctx: RequestContext, device: Device): void {
  ctx.json(200, device, { etag: `"${device.etag}"` });
}

/** Reads the fields of IoT Hub's device JSON that a caller may set. */
function deviceInput(deviceId: string, body: unknown): DeviceInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new OmniError('invalid_body', 'Expected a device JSON object');
  const b = body as Record<string, unknown>;
  if (b.deviceId !== undefined && b.deviceId !== deviceId) throw new OmniError('invalid_argument', `The body's deviceId '${String(b.deviceId)}' does not match the URL's '${deviceId}'`);
  const auth = b.authentication as { type?: unknown; symmetricKey?: { primaryKey?: unknown; secondaryKey?: unknown } } | undefined;
  if (auth?.type !== undefined && auth.type !== 'sas') throw new OmniError('invalid_argument', `Authentication type '${String(auth.type)}' is not supported; use 'sas'`);
  const key = (v: unknown, name: string): string | undefined => {
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw new OmniError('invalid_argument', `${name} must be a string`);
    return v;
  };
  const text = (v: unknown, name: string): string | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw new OmniError('invalid_argument', `${name} must be a string`);
    return v;
  };
  return {
    deviceId,
    status: b.status as DeviceInput['status'],
    statusReason: b.statusReason === undefined ? undefined : b.statusReason === null ? null : text(b.statusReason, 'statusReason'),
    symmetricKey: { primaryKey: key(auth?.symmetricKey?.primaryKey, 'primaryKey'), secondaryKey: key(auth?.symmetricKey?.secondaryKey, 'secondaryKey') },
    tenant: text(b.tenant, 'tenant'),
    kind: b.kind === undefined ? undefined : b.kind === null ? null : text(b.kind, 'kind'),
  };
}

export function registryRoutes(auth: Authenticator, registry: Registry): HttpPlugin {
  const route = (method: Route['method'], path: string, handle: Route['handle']): Route => ({ method, path, audience: 'admin', errorStyle: 'iothub', handle });

  async function list(ctx: RequestContext): Promise<void> {
    auth.service(ctx.req.headers.authorization, 'RegistryRead');
    const topText = ctx.query.get('top');
    const top = topText === null ? MAX_LIST : Number(topText);
    if (!Number.isInteger(top) || top < 1 || top > MAX_LIST) throw new OmniError('invalid_argument', `top must be an integer from 1 to ${MAX_LIST}`);
    ctx.json(200, await registry.list({ top }));
  }

  return {
    routes: [
      route('GET', '/devices', list),
      // The Node SDK lists with a trailing slash.
      route('GET', '/devices/', list),
      route('GET', '/devices/:id', async (ctx) => {
        auth.service(ctx.req.headers.authorization, 'RegistryRead');
        const id = validateDeviceId(ctx.params.id);
        const device = await registry.get(id);
        if (!device) throw deviceNotFound(id);
        reply(ctx, device);
      }),
      route('PUT', '/devices/:id', async (ctx) => {
        auth.service(ctx.req.headers.authorization, 'RegistryWrite');
        const id = validateDeviceId(ctx.params.id);
        const input = deviceInput(id, parseJsonBody(await ctx.readBody(MAX_DEVICE_JSON), 'The device'));
        const ifMatch = ctx.req.headers['if-match'];
        // Without If-Match a PUT creates (409 if the id is taken), as every IoT Hub SDK expects.
        reply(ctx, ifMatch === undefined ? await registry.create(input) : await registry.update(input, ifMatch));
      }),
      route('DELETE', '/devices/:id', async (ctx) => {
        auth.service(ctx.req.headers.authorization, 'RegistryWrite');
        await registry.delete(validateDeviceId(ctx.params.id), ctx.req.headers['if-match']);
        ctx.noContent();
      }),
    ],
  };
}
