// Device-to-cloud over HTTP: IoT Hub's events route (single and batch) and a sendBeacon route.
import type { Authenticator } from '../auth/authenticator.js';
import { validateDeviceId } from '../core/device.js';
import { OmniError } from '../core/errors.js';
import { MAX_MESSAGE_BYTES } from '../core/message.js';
import type { HttpPlugin, RequestContext } from '../http/route.js';
import { BATCH_CONTENT_TYPE, mediaType, messageFromHeaders, messagesFromBatch, messageFromBatchEntry } from './http-messages.js';
import { parseJsonBody } from '../http/json-body.js';
import type { Ingestion } from './ingestion.js';

/** Room for JSON framing and base64 around 256 KB of messages. */
const MAX_REQUEST_BYTES = Math.ceil(MAX_MESSAGE_BYTES * 1.4) + 4096;
const BEACON_TYPES = new Set(['', 'text/plain', 'application/json']);

export function deviceRoutes(auth: Authenticator, ingestion: Ingestion): HttpPlugin {
  async function events(ctx: RequestContext): Promise<void> {
    const deviceId = validateDeviceId(ctx.params.id);
    // Authorize before reading the body, so an unauthenticated flood costs no buffering.
    const authorization = ctx.req.headers.authorization;
    const caller = auth.knownDevice(authorization, deviceId) ?? await auth.device(authorization, deviceId);
    ingestion.admit(caller);
    const isBatch = mediaType(ctx.req.headers['content-type']) === BATCH_CONTENT_TYPE;
    const body = await ctx.readBody(isBatch ? MAX_REQUEST_BYTES : MAX_MESSAGE_BYTES);
    const messages = isBatch ? messagesFromBatch(body) : [messageFromHeaders(ctx.req.headers, body)];
    await ingestion.ingest(caller, messages, 'http');
    ctx.noContent();
  }

  /**
   * `navigator.sendBeacon` cannot set headers and sends `text/plain` without a preflight, so the
   * credential travels in the body: `{"deviceId", "token", "messages": [batch entries]}`.
   */
  async function beacon(ctx: RequestContext): Promise<void> {
    const type = mediaType(ctx.req.headers['content-type']);
    if (!BEACON_TYPES.has(type)) throw new OmniError('unsupported_media_type', `A beacon is text/plain or application/json, not ${type}`);
    const parsed = parseJsonBody(await ctx.readBody(MAX_REQUEST_BYTES), 'The beacon');
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new OmniError('invalid_body', 'A beacon is an object {"deviceId", "token", "messages"}');
    const { deviceId, token, messages } = parsed as Record<string, unknown>;
    if (typeof token !== 'string') throw new OmniError('unauthorized', 'A beacon carries its SAS token in "token"');
    if (!Array.isArray(messages)) throw new OmniError('invalid_body', 'A beacon carries "messages": an array of {"body", "properties"?}');
    const caller = await auth.device(token, validateDeviceId(deviceId));
    await ingestion.ingest(caller, messages.map(messageFromBatchEntry), 'http');
    ctx.noContent();
  }

  return {
    routes: [
      { method: 'POST', path: '/devices/:id/messages/events', audience: 'device', errorStyle: 'iothub', handle: events },
      { method: 'POST', path: '/api/beacon', audience: 'device', errorStyle: 'omnistream', handle: beacon },
    ],
  };
}
