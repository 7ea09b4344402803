// Slow clients: headers or a body that trickle in are cut off with 408 (a JSON error in the route's
// shape) and store nothing; an SSE reader that never reads is dropped once its lease time passes
// with its socket full, and long-poll answers nobody reads do not grow the server's memory.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { readAll, startTestServer, type TestServer } from '../helpers/server.js';
import { parseResponse } from './raw-clients.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapMb = (): number => {
  gc();
  // Buffers (pages waiting in sockets) live outside the JavaScript heap: counted too.
  const m = process.memoryUsage();
  return (m.heapUsed + m.arrayBuffers) / 2 ** 20;
};

/** Writes `first`, then `drip` every 200 ms until the server closes; resolves with what it answered. */
function trickle(port: number, first: string, drip: string): Promise<{ status: number; body: string; error?: string }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.write(first);
    const timer = setInterval(() => { if (!socket.destroyed) socket.write(drip); }, 200);
    socket.once('close', () => {
      clearInterval(timer);
      const r = parseResponse(Buffer.concat(chunks));
      resolve({ status: r.status, body: r.body.toString() });
    });
  });
}

describe('slow clients', () => {
  let s: TestServer;
  let port: number;
  before(async () => {
    s = await startTestServer({ http: { host: '127.0.0.1', port: 0, headersTimeout: '1s', requestTimeout: '2s' } });
    port = Number(new URL(s.url).port);
  });
  after(() => s.stop());

  test('headers that never end get 408 {error:{code:"request_timeout"}}, and the connection is closed', async () => {
    // Node reports a header timeout without the bytes read, so the route (and its error shape) is unknown: Omnistream's shape.
    const r = await trickle(port, 'POST /devices/slow/messages/events HTTP/1.1\r\nHost: x\r\n', 'X-Slow: 1\r\n');
    assert.equal(r.status, 408);
    assert.equal((JSON.parse(r.body) as { error: { code: string } }).error.code, 'request_timeout');
  });

  test('a body that trickles in gets 408 {error:{code:"request_timeout"}} and stores nothing', async () => {
    const d = await s.createDevice('slow-body');
    const before = (await readAll(s)).length;
    const r = await trickle(port, `POST /api/beacon HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n{"deviceId":"${d.deviceId}","token":${JSON.stringify(s.deviceToken(d))},"messages":[{"body":"`, 'a');
    assert.equal(r.status, 408);
    assert.deepEqual(JSON.parse(r.body), { error: { code: 'request_timeout', message: 'The request\'s headers or body did not arrive in time' } });
    assert.equal((await readAll(s)).length, before);
  });

  async function inFlight(): Promise<number> {
    const text = await (await s.fetch('/metrics')).text();
    // The metrics request itself is one of them.
    return Number(/^omnistream_http_requests_in_flight (\d+)/m.exec(text)?.[1]) - 1;
  }

  test('an SSE reader that never reads is dropped once its socket is full for its lease time; the server\'s memory does not grow with what it was sent', async () => {
    const service = s.policyToken('service');
    assert.equal((await s.fetch('/api/consumergroups/stuck', { method: 'PUT', headers: { authorization: service, 'content-type': 'application/json' }, body: '{}' })).status, 201);
    const d = await s.createDevice('sse-source');
    const heapBefore = heapMb();
    const socket: Socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write(`GET /api/consumergroups/stuck/stream?lease_ms=1000&max_bytes=65536 HTTP/1.1\r\nHost: x\r\nAuthorization: ${service}\r\n\r\n`);
    socket.pause();
    // 20 MB of messages, far more than the socket's buffers.
    const body = Buffer.alloc(20_000, 'x');
    for (let i = 0; i < 10; i++) {
      await s.log.append(Array.from({ length: 100 }, () => ({ body, properties: {}, deviceId: d.deviceId, tenant: 'default', generationId: d.generationId, authMethod: { scope: 'device', type: 'sas', issuer: 'iothub' } })));
    }
    // Dropped: the stream's request is no longer in flight (the loop ends; the test's timeout bounds it).
    while ((await inFlight()) > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(heapMb() - heapBefore < 32, `heap grew by ${(heapMb() - heapBefore).toFixed(1)} MB`);
    socket.destroy();
  });

  test('long-poll answers nobody reads (50 readers, 20 MB waiting) leave the heap and buffers within 32 MB and the server answering', async () => {
    const service = s.policyToken('service');
    const sockets: Socket[] = [];
    const heapBefore = heapMb();
    for (let i = 0; i < 50; i++) {
      assert.equal((await s.fetch(`/api/consumergroups/lp-${i}`, { method: 'PUT', headers: { authorization: service, 'content-type': 'application/json' }, body: '{}' })).status, 201);
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.write(`GET /api/consumergroups/lp-${i}/messages?max=1000&max_bytes=262144&wait_ms=1000 HTTP/1.1\r\nHost: x\r\nAuthorization: ${service}\r\n\r\n`);
      socket.pause();
      sockets.push(socket);
    }
    while ((await inFlight()) > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(heapMb() - heapBefore < 32, `heap grew by ${(heapMb() - heapBefore).toFixed(1)} MB`);
    assert.equal((await s.fetch('/healthz')).status, 200);
    for (const socket of sockets) socket.destroy();
  });
});
