// The HTTP shell: routing, CORS, body limits, error mapping and request metrics. It knows no
// feature; features hand it routes (HttpPlugin) and app.ts mounts them.
import { createServer as createHttpServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContextOptions } from 'node:tls';
import { OmniError, refusal } from '../core/errors.js';
import type { Logger } from '../telemetry/logger.js';
import { answerPreflight, applyCors, type CorsPolicy } from './cors.js';
import { errorResponse, toOmniError, writeError } from './error-response.js';
import type { Metrics } from '../telemetry/metrics.js';
import { Router } from './router.js';
import type { ErrorStyle, HttpPlugin, RequestContext, Route } from './route.js';

export interface HttpServerOptions {
  readonly plugins: readonly HttpPlugin[];
  readonly cors: CorsPolicy;
  readonly trustProxy: boolean;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Slow clients (slowloris): the headers, and the whole request, must arrive within these. */
  readonly timeouts?: { readonly headersMs: number; readonly requestMs: number };
  /** Requests to device routes handled at once; beyond it, 503 before the body is read (overload). */
  readonly maxDeviceRequests?: number;
}

/** Node checks the request timeouts on this interval (its default, 30 s, would let a slow client hold a socket that much longer). */
const TIMEOUT_CHECK_MS = 1_000;

/** What the HTTP parser's refusals become, before any route has seen the request. */
function parserError(err: NodeJS.ErrnoException): OmniError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW': return new OmniError('headers_too_large');
    case 'ERR_HTTP_REQUEST_TIMEOUT': return new OmniError('request_timeout');
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW': return new OmniError('message_too_large', 'Chunk extensions over the limit');
    default: return new OmniError('malformed_request', `The request is not valid HTTP/1.1 (${err.code ?? 'parse error'})`);
  }
}

/** Node keeps the first of two Authorization headers and drops the other: two is ambiguous, so refused. */
function hasTwoAuthorizations(raw: readonly string[]): boolean {
  let seen = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 13 && name.toLowerCase() === 'authorization') {
      if (seen) return true;
      seen = true;
    }
  }
  return false;
}

const JSON_TYPE = 'application/json; charset=utf-8';

function readBody(req: IncomingMessage, res: ServerResponse, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    res.shouldKeepAlive = false;
    return Promise.reject(new OmniError('message_too_large', `The request body of ${declared} bytes exceeds the limit of ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        // The rest of the body is not read: close the connection rather than parse it as a request.
        res.shouldKeepAlive = false;
        reject(new OmniError('message_too_large', `The request body exceeds the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.on('error', (err) => {
      if (!failed) reject(new OmniError('invalid_body', 'The request body could not be read', { cause: err }));
    });
  });
}

/** One request's view for a handler; a class, so the per-request cost is one small object. */
class Context implements RequestContext {
  private parsedQuery: URLSearchParams | undefined;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly params: Readonly<Record<string, string>>,
    private readonly rawQuery: string,
    private readonly trustProxy: boolean,
  ) {}

  get clientAddress(): string {
    if (this.trustProxy) {
      const fwd = this.req.headers['x-forwarded-for'];
      const first = (Array.isArray(fwd) ? fwd[0] : fwd)?.split(',')[0]?.trim();
      if (first) return first;
    }
    return this.req.socket.remoteAddress ?? 'unknown';
  }

  get query(): URLSearchParams {
    return (this.parsedQuery ??= new URLSearchParams(this.rawQuery));
  }

  readBody(limit: number): Promise<Buffer> {
    return readBody(this.req, this.res, limit);
  }

  json(status: number, body: unknown, headers: Record<string, string> = {}): void {
    this.res.writeHead(status, { 'content-type': JSON_TYPE, ...headers });
    this.res.end(JSON.stringify(body));
  }

  noContent(): void {
    this.res.writeHead(204);
    this.res.end();
  }
}

/**
 * The HTTP shell. One router serves every listener: the plain port and, when asked, an HTTPS port
 * beside it (`listen` once per port).
 */
export class HttpServer {
  private readonly servers: Server[] = [];
  private readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  private readonly router: Router;
  private inFlight = 0;
  private deviceInFlight = 0;
  /** Request counters by route name, then status: found without building a key per request. */
  private readonly requestCounters = new Map<string, Map<number, { inc(by?: number): void }>>();
  /** Refusal counters by error code, for the same reason: a flood is counted once per request. */
  private readonly rejectedCounters = new Map<string, { inc(by?: number): void }>();

  constructor(private readonly options: HttpServerOptions) {
    this.router = new Router(options.plugins.flatMap((p) => p.routes));
    this.handler = (req: IncomingMessage, res: ServerResponse): void => void this.handle(req, res);
  }

  get activeRequests(): number {
    return this.inFlight;
  }

  /** Listens on one more port: plain HTTP, or HTTPS with `tls`. */
  listen(port: number, host: string, tls?: SecureContextOptions): Promise<AddressInfo> {
    const timeouts = this.options.timeouts;
    const serverOptions = timeouts ? { headersTimeout: timeouts.headersMs, requestTimeout: timeouts.requestMs, connectionsCheckingInterval: TIMEOUT_CHECK_MS } : {};
    const server: Server = tls ? createHttpsServer({ ...tls, ...serverOptions }, this.handler) : createHttpServer(serverOptions, this.handler);
    server.keepAliveTimeout = 65_000;
    // Node answers an Expect it does not know with a bare 417; the request is served as if it were absent.
    server.on('checkExpectation', this.handler);
    server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket) => this.refuseUnparsed(err, socket));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        this.servers.push(server);
        resolve(server.address() as AddressInfo);
      });
    });
  }

  /** New credentials for the HTTPS listeners (a renewed certificate); open connections keep theirs. */
  setSecureContext(tls: SecureContextOptions): void {
    for (const server of this.servers) if ('setSecureContext' in server) (server as HttpsServer).setSecureContext(tls);
  }

  /** Stops accepting connections and waits for requests in flight (up to `graceMs`). */
  async close(graceMs = 10_000): Promise<void> {
    await Promise.all(this.servers.filter((s) => s.listening).map(async (server) => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(timer);
    }));
  }

  /**
   * Node's own answer to a request it could not parse is a bare status line; clients of every route
   * parse a JSON error, so they get one here, in the shape of the route the request line names.
   */
  private refuseUnparsed(err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex): void {
    if (err.code === 'ECONNRESET' || !socket.writable || (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
      socket.destroy();
      return;
    }
    const e = parserError(err);
    const start = err.rawPacket?.subarray(0, 32).toString('latin1') ?? '';
    const { status, headers, body } = errorResponse(e, /^[A-Z]+ \/devices/.test(start) ? 'iothub' : 'omnistream');
    const head = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), `content-length: ${Buffer.byteLength(body)}`, 'connection: close'];
    this.countRejected(e.code);
    this.countRequest('unparsed', status);
    socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
    // A client that never reads must not keep the socket: the answer is small, so a moment is enough.
    setTimeout(() => socket.destroy(), 1_000).unref();
  }

  private countRejected(code: string): void {
    let counter = this.rejectedCounters.get(code);
    if (!counter) this.rejectedCounters.set(code, (counter = this.options.metrics.rejected.with({ reason: code })));
    counter.inc();
  }

  private countRequest(route: string, status: number): void {
    let byStatus = this.requestCounters.get(route);
    if (!byStatus) this.requestCounters.set(route, (byStatus = new Map()));
    let counter = byStatus.get(status);
    if (!counter) byStatus.set(status, (counter = this.options.metrics.requests.with({ route, status: String(status) })));
    counter.inc();
  }


  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    let style: ErrorStyle = path.startsWith('/devices') ? 'iothub' : 'omnistream';
    let routeName = 'unmatched';
    this.inFlight++;
    try {
      const matches = this.router.matchPath(path);
      if (req.method === 'OPTIONS' && matches.length > 0) {
        routeName = matches[0]!.route.name ?? matches[0]!.route.path;
        if (!answerPreflight(this.options.cors, matches[0]!.route.audience, matches.map((m) => m.route.method), req, res)) {
          throw new OmniError('forbidden', `Origin ${JSON.stringify(req.headers.origin ?? null)} is not allowed to call ${path}`);
        }
        return;
      }
      const match = matches.find((m) => m.route.method === req.method);
      if (!match) {
        if (matches.length === 0) throw new OmniError('route_not_found', `No route for ${req.method} ${path}`);
        style = matches[0]!.route.errorStyle;
        res.setHeader('allow', matches.map((m) => m.route.method).join(', '));
        throw new OmniError('method_not_allowed', `${req.method} is not allowed on ${path}; use ${matches.map((m) => m.route.method).join(' or ')}`);
      }
      const route: Route = match.route;
      style = route.errorStyle;
      if (hasTwoAuthorizations(req.rawHeaders)) throw new OmniError('unauthorized', 'Two Authorization headers: send one');
      routeName = route.name ?? route.path;
      applyCors(this.options.cors, route.audience, req, res);
      const ctx = new Context(req, res, match.params, q < 0 ? '' : url.slice(q + 1), this.options.trustProxy);
      if (route.audience !== 'device') {
        await route.handle(ctx);
        return;
      }
      // Offered load beyond what the server answers piles up here (each request holding its
      // body): past the limit the answer is 503 at once, so memory stays bounded and the admitted
      // requests keep their latency. Admin routes (long-polls, SSE) are not counted.
      if (this.deviceInFlight >= (this.options.maxDeviceRequests ?? Infinity)) {
        res.shouldKeepAlive = false;
        throw refusal('overloaded', 'Too many device requests are being handled', 1);
      }
      this.deviceInFlight++;
      try {
        await route.handle(ctx);
      } finally {
        this.deviceInFlight--;
      }
    } catch (err) {
      const e = toOmniError(err);
      if (e.code === 'internal') this.options.logger.error('request failed', { method: req.method, path, err });
      this.countRejected(e.code);
      writeError(res, e, style);
    } finally {
      this.inFlight--;
      this.countRequest(routeName, res.statusCode);
    }
  }
}
