// What the SDK tests share: the SDK's Env in Node (real fetch, timers and WebCrypto; localStorage
// as a Map), a proxy in front of the real server that can cut the network or answer 429/503 with
// Retry-After as an overloaded server does, and reading events back through the feed.
import { webcrypto } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { memoryStorage } from '../../web-sdk/src/memory-storage.js';
import type { Env, PageEvent, StorageLike } from '../../web-sdk/src/ports.js';
import type { TestServer } from '../helpers/server.js';

export interface NodeEnv extends Env {
  /** Fires a page lifecycle event, as the browser would. */
  page$(event: PageEvent): void;
  /** Beacons sent (the Node env posts them as text/plain, as sendBeacon does). */
  readonly beacons: Promise<number>[];
  /** Shifts this env's clock (ms). */
  skew: number;
}

export function nodeEnv(storage: StorageLike = memoryStorage()): NodeEnv {
  let onPage: ((e: PageEvent) => void) | undefined;
  const beacons: Promise<number>[] = [];
  const env: NodeEnv = {
    skew: 0,
    now: () => Date.now() + env.skew,
    random: Math.random,
    uuid: () => webcrypto.randomUUID(),
    storage,
    fetch: (url, r) => fetch(url, r),
    beacon(url, body) {
      beacons.push(fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain;charset=UTF-8' }, body }).then((res) => res.status, () => 0));
      return true;
    },
    // Unref'd: a test's clients, still waiting to flush, do not hold the process open.
    setTimer: (run, ms) => setTimeout(run, ms).unref(),
    clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
    hmac: async (keyBase64, text) => {
      const key = await webcrypto.subtle.importKey('raw', Buffer.from(keyBase64, 'base64'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      return Buffer.from(await webcrypto.subtle.sign('HMAC', key, Buffer.from(text))).toString('base64');
    },
    lock: undefined,
    page: () => ({ path: '/p', url: 'https://shop.example/p', title: 'P', referrer: '' }),
    listen(p) {
      onPage = p;
    },
    page$: (e) => onPage?.(e),
    beacons,
  };
  return env;
}

export interface Logged {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** When the request arrived (ms). */
  readonly at: number;
  readonly authorization: string | undefined;
  readonly retryAfter?: number;
}

export type Fault = { kind: 'down' } | { kind: 'status'; status: 429 | 503; retryAfterSeconds: number; times: number; onPath?: RegExp };

export interface FaultProxy {
  readonly url: string;
  readonly log: Logged[];
  /** Requests received and not answered yet, by path. */
  readonly pending: Map<string, number>;
  /** Cuts every connection (a network error for the client) until `up()`. */
  down(): void;
  up(): void;
  /** The next `times` requests whose path matches get `status` with Retry-After, as the server's overload does. */
  refuse(status: 429 | 503, retryAfterSeconds: number, times: number, onPath?: RegExp): void;
  /** Holds requests this long before forwarding them (a slow network). */
  delay(ms: number): void;
  close(): Promise<void>;
}

export async function faultProxy(target: string): Promise<FaultProxy> {
  const log: Logged[] = [];
  const pending = new Map<string, number>();
  let fault: Fault | undefined;
  let holdMs = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((req: IncomingMessage, res) => {
    const at = Date.now();
    const path = (req.url ?? '/').split('?')[0]!;
    const entry = (status: number, retryAfter?: number) => log.push({ method: req.method!, path, status, at, authorization: req.headers.authorization, ...(retryAfter === undefined ? {} : { retryAfter }) });
    if (fault?.kind === 'down') return req.socket.destroy();
    if (fault?.kind === 'status' && req.method !== 'OPTIONS' && (!fault.onPath || fault.onPath.test(path))) {
      const { status, retryAfterSeconds } = fault;
      if (--fault.times <= 0) fault = undefined;
      entry(status, retryAfterSeconds);
      req.resume();
      // The headers the server's own 429/503 carries (src/http/cors.ts, src/core/errors.ts).
      res.writeHead(status, {
        'content-type': 'application/json; charset=utf-8', 'retry-after': String(retryAfterSeconds),
        'iothub-errorcode': status === 429 ? 'ThrottlingException' : 'ServiceUnavailable',
        ...(req.headers.origin ? { 'access-control-allow-origin': req.headers.origin, 'access-control-expose-headers': 'ETag, Retry-After, iothub-errorcode, Location', vary: 'Origin' } : {}),
      });
      res.end(JSON.stringify({ Message: `ErrorCode:${status === 429 ? 'ThrottlingException' : 'ServiceUnavailable'};injected by the test's proxy` }));
      return;
    }
    pending.set(path, (pending.get(path) ?? 0) + 1);
    const done = (): void => void pending.set(path, pending.get(path)! - 1);
    // The body is read first and forwarded whole, even when the page has gone meanwhile: a request
    // the server stores but whose answer never reaches the page, as a network can do.
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    let ended = false;
    req.on('error', () => undefined);
    // Cut off before the whole body came: nothing to forward.
    req.on('close', () => ended || done());
    req.on('end', () => {
      ended = true;
      setTimeout(forward, holdMs);
    });
    const forward = (): void => {
      const up = request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
        entry(answer.statusCode!);
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
        answer.on('end', done);
      });
      up.on('error', () => {
        done();
        res.destroy();
      });
      up.end(Buffer.concat(chunks));
    };
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    log,
    pending,
    down() {
      fault = { kind: 'down' };
      // Kept-alive connections too: a cut network ends them.
      for (const s of sockets) s.destroy();
    },
    up() {
      fault = undefined;
    },
    refuse(status, retryAfterSeconds, times, onPath) {
      fault = { kind: 'status', status, retryAfterSeconds, times, ...(onPath ? { onPath } : {}) };
    },
    delay(ms) {
      holdMs = ms;
    },
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

export interface FedMessage {
  readonly deviceId: string;
  readonly messageId?: string;
  readonly properties: Record<string, string>;
  readonly body: Record<string, unknown>;
}

/** Every message stored, read through the feed's partition reads (GET /api/partitions/{p}/messages). */
export async function readFeed(s: TestServer): Promise<FedMessage[]> {
  const auth = { authorization: s.policyToken('service') };
  const { partitions } = (await (await s.fetch('/api/partitions', { headers: auth })).json()) as { partitions: { partitionId: string | number }[] };
  const out: FedMessage[] = [];
  for (const { partitionId } of partitions) {
    let after = '-1';
    for (;;) {
      const page = (await (await s.fetch(`/api/partitions/${partitionId}/messages?after_offset=${after}&max=1000`, { headers: auth })).json()) as { messages: (FedMessage & { offset: string })[] };
      if (page.messages.length === 0) break;
      out.push(...page.messages);
      after = page.messages[page.messages.length - 1]!.offset;
    }
  }
  return out;
}

/** Polls until `check` returns a value (events go out on timers and retries). */
export async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** How many times each `n` property was stored: every value must be 1. */
export function countsByN(messages: readonly FedMessage[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const m of messages) {
    const n = m.body.n;
    if (typeof n === 'number') counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  return counts;
}
