// HTTP ingestion through the real server and a real SQLite file.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Device } from '../../src/core/device.js';
import { readAll, startTestServer, type TestServer } from '../helpers/server.js';

describe('HTTP ingestion', () => {
  let s: TestServer;
  let dev: Device;
  before(async () => {
    s = await startTestServer();
    dev = await s.createDevice('shop-web-1', { tenant: 'brand-a' });
  });
  after(() => s.stop());

  const post = (device: Device, body: NonNullable<RequestInit['body']>, headers: Record<string, string> = {}, path = `/devices/${device.deviceId}/messages/events?api-version=2021-04-12`) =>
    s.fetch(path, { method: 'POST', headers: { authorization: s.deviceToken(device), ...headers }, body });

  const stored = async (deviceId: string) => (await readAll(s)).filter((m) => m.deviceId === deviceId);

  test('a single message with IoT Hub headers is stored with its properties, tenant and system fields', async () => {
    const res = await post(dev, JSON.stringify({ event: 'product_viewed', sku: 'SKU-1' }), {
      'iothub-messageid': 'mid-1', 'iothub-correlationid': 'cid-1', 'iothub-contenttype': 'application/json',
      'iothub-contentencoding': 'utf-8', 'iothub-app-channel': 'web', 'iothub-app-store': '42',
    });
    assert.equal(res.status, 204);
    const [m] = await stored(dev.deviceId);
    assert.ok(m);
    assert.deepEqual(JSON.parse(m.body.toString()), { event: 'product_viewed', sku: 'SKU-1' });
    assert.equal(m.messageId, 'mid-1');
    assert.equal(m.correlationId, 'cid-1');
    assert.equal(m.contentType, 'application/json');
    assert.equal(m.contentEncoding, 'utf-8');
    assert.deepEqual(m.properties, { channel: 'web', store: '42' });
    assert.equal(m.tenant, 'brand-a');
    assert.equal(m.generationId, dev.generationId);
    assert.deepEqual(m.authMethod, { scope: 'device', type: 'sas', issuer: 'iothub' });
  });

  test('a chunked body with no content type (as the Node SDK sends it) is accepted byte for byte', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 251, 252]);
    const d = await s.createDevice('chunky');
    const stream = new ReadableStream({ start(c) { c.enqueue(bytes.subarray(0, 3)); c.enqueue(bytes.subarray(3)); c.close(); } });
    const res = await s.fetch(`/devices/chunky/messages/events`, { method: 'POST', headers: { authorization: s.deviceToken(d) }, body: stream, duplex: 'half' } as RequestInit);
    assert.equal(res.status, 204);
    const [m] = await stored('chunky');
    assert.deepEqual(m!.body, bytes);
    assert.equal(m!.contentType, undefined);
  });

  test('a batch in IoT Hub shape is stored whole, in order, with per-message properties', async () => {
    const d = await s.createDevice('batcher');
    const batch = [
      { body: Buffer.from('a').toString('base64'), properties: { 'iothub-app-k': 'v1' } },
      { body: Buffer.from('b').toString('base64'), base64Encoded: true, properties: { 'iothub-app-k': 'v2', 'iothub-messageid': 'b-1' } },
      { body: { event: 'add_to_cart', qty: 2 } },
      { body: 'plain text', base64Encoded: false },
    ];
    const res = await post(d, JSON.stringify(batch), { 'content-type': 'application/vnd.microsoft.iothub.json' }, '/devices/batcher/messages/events');
    assert.equal(res.status, 204);
    const ms = await stored('batcher');
    assert.deepEqual(ms.map((m) => m.body.toString()), ['a', 'b', '{"event":"add_to_cart","qty":2}', 'plain text']);
    assert.deepEqual(ms[0]!.properties, { k: 'v1' });
    assert.equal(ms[1]!.messageId, 'b-1');
    assert.equal(ms[2]!.contentType, 'application/json');
    assert.deepEqual(ms.map((m) => m.sequenceNumber), [0, 1, 2, 3].map((i) => ms[0]!.sequenceNumber + i));
  });

  test('a retried messageId is acknowledged and stored once', async () => {
    const d = await s.createDevice('retrier');
    for (let i = 0; i < 3; i++) assert.equal((await post(d, `attempt ${i}`, { 'iothub-messageid': 'order-77' })).status, 204);
    const ms = await stored('retrier');
    assert.deepEqual(ms.map((m) => m.body.toString()), ['attempt 0']);
    const metrics = await (await s.fetch('/metrics')).text();
    assert.match(metrics, /omnistream_duplicate_messages_total\{transport="http"\} [1-9]/);
  });

  test('a policy token with DeviceConnect may send for a device; the message says so', async () => {
    const d = await s.createDevice('via-policy');
    const res = await s.fetch('/devices/via-policy/messages/events', { method: 'POST', headers: { authorization: s.policyToken('device') }, body: 'x' });
    assert.equal(res.status, 204);
    const [m] = await stored(d.deviceId);
    assert.deepEqual(m!.authMethod, { scope: 'hub', type: 'sas', issuer: 'iothub', policy: 'device' });
  });

  test('the secondary key works too', async () => {
    const d = await s.createDevice('second-key');
    const { signSasToken, deviceResource } = await import('../../src/auth/sas.js');
    const token = signSasToken({ resource: deviceResource('localhost', d.deviceId), key: d.authentication.symmetricKey.secondaryKey, expiry: Math.floor(Date.now() / 1000) + 60 });
    assert.equal((await s.fetch('/devices/second-key/messages/events', { method: 'POST', headers: { authorization: token }, body: 'x' })).status, 204);
  });

  test('sendBeacon: text/plain with the credential in the body', async () => {
    const d = await s.createDevice('beacon-page');
    const res = await s.fetch('/api/beacon', {
      method: 'POST', headers: { 'content-type': 'text/plain;charset=UTF-8', origin: 'https://shop.example' },
      body: JSON.stringify({ deviceId: d.deviceId, token: s.deviceToken(d), messages: [{ body: { event: 'page_hidden', dwellMs: 5400 } }, { body: { event: 'unload' }, messageId: 'u-1' }] }),
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://shop.example');
    const ms = await stored('beacon-page');
    assert.deepEqual(ms.map((m) => JSON.parse(m.body.toString()).event), ['page_hidden', 'unload']);
    assert.equal(ms[1]!.messageId, 'u-1');
  });

  test('CORS: preflights for device routes are answered for any origin with the IoT Hub headers', async () => {
    const res = await s.fetch('/devices/shop-web-1/messages/events', {
      method: 'OPTIONS',
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, iothub-app-sku, iothub-messageid' },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://shop.example');
    assert.match(res.headers.get('access-control-allow-methods')!, /POST/);
    const allowed = res.headers.get('access-control-allow-headers')!.split(', ');
    for (const h of ['authorization', 'content-type', 'iothub-app-sku', 'iothub-messageid']) assert.ok(allowed.includes(h), h);
    const sent = await post(dev, 'x', { origin: 'https://shop.example' });
    assert.equal(sent.headers.get('access-control-allow-origin'), 'https://shop.example');
  });

  test('CORS: admin routes answer no origin by default', async () => {
    const res = await s.fetch('/devices/x', { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    const res2 = await s.fetch('/api/partitions', { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } });
    assert.equal(res2.status, 403);
    assert.equal(res2.headers.get('access-control-allow-origin'), null);
  });

  test('partitions report Event Hubs properties and need ServiceConnect', async () => {
    const res = await s.fetch('/api/partitions', { headers: { authorization: s.policyToken('service') } });
    assert.equal(res.status, 200);
    const { partitions } = (await res.json()) as { partitions: Array<Record<string, unknown>> };
    assert.equal(partitions.length, 4);
    assert.deepEqual(Object.keys(partitions[0]!).sort(), ['beginningSequenceNumber', 'isEmpty', 'lastEnqueuedOffset', 'lastEnqueuedOnUtc', 'lastEnqueuedSequenceNumber', 'partitionId']);
    const total = partitions.reduce((n, p) => n + (p.lastEnqueuedSequenceNumber as number) + 1, 0);
    assert.equal(total, (await readAll(s)).length);
    const denied = await s.fetch('/api/partitions', { headers: { authorization: s.policyToken('registryRead') } });
    assert.equal(denied.status, 403);
    assert.equal(((await denied.json()) as { error: { code: string } }).error.code, 'forbidden');
  });

  test('health, readiness and metrics', async () => {
    assert.deepEqual(await (await s.fetch('/healthz')).json(), { status: 'ok' });
    assert.deepEqual(await (await s.fetch('/readyz')).json(), { status: 'ready', jobs: { running: 0, refused: [], failed: [] } });
    const text = await (await s.fetch('/metrics')).text();
    assert.match(text, /omnistream_messages_ingested_total\{transport="http"\} \d+/);
    assert.match(text, /omnistream_bytes_ingested_total\{transport="http"\} \d+/);
    assert.match(text, /omnistream_append_duration_seconds_bucket\{le="0.005"\} \d+/);
    assert.match(text, /omnistream_http_requests_total\{route="\/devices\/:id\/messages\/events",status="204"\} \d+/);
  });

  test('the registry records when a device was last heard from', async () => {
    await s.close();
    const { SqliteRegistry } = await import('../../src/registry/sqlite-registry.js');
    const { join } = await import('node:path');
    const reg = new SqliteRegistry(join(s.dataDir, 'registry.db'));
    const d = await reg.get('shop-web-1');
    await reg.close();
    assert.notEqual(d!.lastActivityTime, '0001-01-01T00:00:00');
  });
});
