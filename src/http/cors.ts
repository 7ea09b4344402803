// CORS for browsers posting events directly: the hub we replace had none, which forced a proxy.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Audience } from './route.js';

export interface CorsPolicy {
  readonly deviceOrigins: readonly string[];
  readonly adminOrigins: readonly string[];
}

const ALLOWED_HEADERS = ['authorization', 'content-type', 'if-match', 'last-event-id', 'request-id'];
/** IoT Hub's system and application property headers (iothub-messageid, iothub-app-*, …). */
const IOTHUB_HEADER = /^iothub-[a-z0-9-]+$/;
const EXPOSED = 'ETag, Retry-After, iothub-errorcode, Location';

function originAllowed(policy: CorsPolicy, audience: Audience, origin: string): boolean {
  const allowed = audience === 'device' ? policy.deviceOrigins : policy.adminOrigins;
  return allowed.includes('*') || allowed.includes(origin);
}

/** Adds the headers a browser needs to read the response of an allowed cross-origin request. */
export function applyCors(policy: CorsPolicy, audience: Audience, req: IncomingMessage, res: ServerResponse): void {
  const origin = req.headers.origin;
  if (!origin || !originAllowed(policy, audience, origin)) return;
  res.setHeader('access-control-allow-origin', origin);
  res.setHeader('vary', 'Origin');
  res.setHeader('access-control-expose-headers', EXPOSED);
}

/** Answers a preflight; returns false when the origin is not allowed. */
export function answerPreflight(policy: CorsPolicy, audience: Audience, methods: readonly string[], req: IncomingMessage, res: ServerResponse): boolean {
  const origin = req.headers.origin;
  if (!origin || !originAllowed(policy, audience, origin)) return false;
  const requested = String(req.headers['access-control-request-headers'] ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  const headers = new Set(ALLOWED_HEADERS);
  for (const h of requested) if (IOTHUB_HEADER.test(h)) headers.add(h);
  res.writeHead(204, {
    'access-control-allow-origin': origin,
    'access-control-allow-methods': [...methods, 'OPTIONS'].join(', '),
    'access-control-allow-headers': [...headers].join(', '),
    'access-control-max-age': '600',
    vary: 'Origin, Access-Control-Request-Headers',
  });
  res.end();
  return true;
}
