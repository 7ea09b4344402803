// What a feature hands the HTTP shell: routes, each with who may call it from a browser and which
// error shape its clients understand.
import type { IncomingMessage, ServerResponse } from 'node:http';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** Decides the CORS policy: device routes are open to browsers by default, admin routes are not. */
export type Audience = 'device' | 'admin';

/** IoT Hub routes answer errors in IoT Hub's shape, which the official SDKs parse; ours in `{error:{code,message}}`. */
export type ErrorStyle = 'iothub' | 'omnistream';

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** The caller's address (X-Forwarded-For's first hop when the proxy is trusted). */
  readonly clientAddress: string;
  /** Reads the body, failing with `message_too_large` past `limit` bytes. */
  readBody(limit: number): Promise<Buffer>;
  json(status: number, body: unknown, headers?: Record<string, string>): void;
  noContent(): void;
}

export interface Route {
  readonly method: Method;
  /** Segments; `:name` captures one percent-decoded segment. */
  readonly path: string;
  readonly audience: Audience;
  readonly errorStyle: ErrorStyle;
  /** A label for metrics (defaults to the path pattern). */
  readonly name?: string;
  handle(ctx: RequestContext): Promise<void> | void;
}

/** A feature's contribution to the server. */
export interface HttpPlugin {
  readonly routes: readonly Route[];
}
