// Turns any failure into its wire response, in the shape the route's clients parse.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { errorCatalogue, isDiskFull, isOmniError, OmniError } from '../core/errors.js';
import type { ErrorStyle } from './route.js';

/** IoT Hub's tracking timestamp: `MM/dd/yyyy HH:mm:ss` UTC. */
function trackingTime(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

/**
 * What a route let through. A full disk under any store of the data directory (consumer groups,
 * registry, jobs, references) is the log's own `storage_full`, which the client retries; anything
 * else is a defect.
 */
export function toOmniError(err: unknown): OmniError {
  if (isOmniError(err)) return err;
  if (isDiskFull(err)) return new OmniError('storage_full', 'The data directory\'s disk is full: nothing was written; retry later', { cause: err, retryAfterSeconds: 5 });
  return new OmniError('internal', undefined, { cause: err });
}

export interface ErrorResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** An error's status, headers and body in the shape `style`'s clients parse. */
export function errorResponse(err: OmniError, style: ErrorStyle): ErrorResponse {
  const spec = errorCatalogue[err.code];
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  if (err.retryAfterSeconds !== undefined) headers['retry-after'] = String(err.retryAfterSeconds);
  let status: number;
  let body: unknown;
  if (style === 'iothub') {
    status = 'iothubStatus' in spec ? spec.iothubStatus : spec.status;
    headers['iothub-errorcode'] = spec.iothubCode;
    // The Node SDKs split Message on ';' and ':' to find the code, so the text must not contain ';'.
    body = {
      Message: `ErrorCode:${spec.iothubCode};${err.message.replace(/;/g, ',')}`,
      ExceptionMessage: `Tracking ID:${randomUUID().replace(/-/g, '')}-G:0-TimeStamp:${trackingTime(new Date())}`,
    };
  } else {
    status = spec.status;
    body = { error: { code: err.code, message: err.message } };
  }
  return { status, headers, body: JSON.stringify(body) };
}

export function writeError(res: ServerResponse, err: OmniError, style: ErrorStyle): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const { status, headers, body } = errorResponse(err, style);
  // Declared, the body goes out in one piece; otherwise Node frames it as chunks (writeHead has
  // already stored the headers), which a refused flood pays for on every answer.
  headers['content-length'] = String(Buffer.byteLength(body));
  res.writeHead(status, headers);
  res.end(body);
}
