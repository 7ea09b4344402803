// Per-device and per-tenant quotas, and the cap on device requests in flight: a flooding device
// is refused (429 + Retry-After over HTTP, a disconnect over MQTT) while another device goes on;
// the log holds exactly what was acknowledged; past the cap a request gets 503 before its body is
// read; the quotas' memory is bounded.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Device } from '../../src/core/device.js';
import { IngestQuotas, MAX_BUCKETS } from '../../src/ingest/quotas.js';
import { readAll, startTestServer, type TestServer } from '../helpers/server.js';
import { connectDevice, eventsTopic } from '../mqtt/mqtt-test-client.js';
import { parseResponse } from './raw-clients.js';

describe('IngestQuotas on a clock of its own', () => {
  const sender = (deviceId: string, tenant = 't') => ({ deviceId, tenant });

  test('a device gets its burst, then a refusal saying when to retry, then its rate', () => {
    let now = 0;
    const q = new IngestQuotas({ device: { perSecond: 2, burst: 5 }, tenant: { perSecond: 0, burst: 1 } }, () => now);
    for (let i = 0; i < 5; i++) q.take(sender('a'), 1);
    assert.throws(() => q.take(sender('a'), 1), (e: { code: string; retryAfterSeconds: number }) => e.code === 'quota_exceeded' && e.retryAfterSeconds === 1);
    q.take(sender('b'), 1);
    now = 1_000;
    q.take(sender('a'), 2);
    assert.throws(() => q.admit(sender('a')));
  });

  test('a batch larger than the burst goes from a full bucket, and the debt is paid before the next', () => {
    let now = 0;
    const q = new IngestQuotas({ device: { perSecond: 10, burst: 50 }, tenant: { perSecond: 0, burst: 1 } }, () => now);
    q.take(sender('a'), 500);
    assert.throws(() => q.take(sender('a'), 1), (e: { retryAfterSeconds: number }) => e.retryAfterSeconds === 46);
    now = 46_000;
    q.take(sender('a'), 1);
  });

  test('a tenant\'s devices share the tenant\'s quota; a refusal by the tenant takes nothing from the device', () => {
    let now = 0;
    const q = new IngestQuotas({ device: { perSecond: 1, burst: 3 }, tenant: { perSecond: 1, burst: 4 } }, () => now);
    q.take(sender('a', 'x'), 3);
    q.take(sender('b', 'x'), 1);
    assert.throws(() => q.take(sender('c', 'x'), 1), /Tenant x/);
    q.take(sender('c', 'y'), 3);
    now = 1_000;
    q.take(sender('c', 'x'), 1);
  });

  test('memory is bounded: past the bucket limit the least recently used are dropped', () => {
    const q = new IngestQuotas({ device: { perSecond: 1, burst: 1 }, tenant: { perSecond: 1, burst: 1_000_000 } });
    for (let i = 0; i < MAX_BUCKETS + 5_000; i++) q.take(sender(`d${i}`), 1);
    assert.equal(q.bucketCount, MAX_BUCKETS + 1);
  });
});

describe('quotas through the real server', () => {
  let s: TestServer;
  let flooder: Device;
  let quiet: Device;
  let brandA: Device;
  let brandB: Device;
  let other: Device;
  before(async () => {
    s = await startTestServer({ mqtt: { port: 0 }, quotas: { device: { perSecond: 1, burst: 20 }, tenant: { perSecond: 1, burst: 30 } }, http: { host: '127.0.0.1', port: 0, maxIngestInFlight: 2 } });
    flooder = await s.createDevice('flooder', { tenant: 'shared' });
    quiet = await s.createDevice('quiet', { tenant: 'shared-2' });
    brandA = await s.createDevice('brand-a-1', { tenant: 'brand' });
    brandB = await s.createDevice('brand-a-2', { tenant: 'brand' });
    other = await s.createDevice('other-brand', { tenant: 'other' });
  });
  after(() => s.stop());

  const send = (d: Device, i: number) => s.fetch(`/devices/${d.deviceId}/messages/events?api-version=2021-04-12`, {
    method: 'POST', headers: { authorization: s.deviceToken(d), 'iothub-messageid': `${d.deviceId}-${i}` }, body: `{"i":${i}}`,
  });
  const storedIds = async (deviceId: string) => (await readAll(s)).filter((m) => m.deviceId === deviceId).map((m) => m.messageId).sort();

  test('HTTP: the flooding device gets 429 ThrottlingException with Retry-After after its burst; the quiet device is never refused; the log holds exactly the 204s', async () => {
    const started = Date.now();
    const accepted: string[] = [];
    const quietStatuses: number[] = [];
    let refusal: Response | undefined;
    // Sequential sends, at most two at once (the in-flight cap of this server).
    for (let i = 0; i < 80; i++) {
      const [r, q] = await Promise.all([send(flooder, i), i % 8 === 0 ? send(quiet, i) : undefined]);
      if (r.status === 204) accepted.push(`flooder-${i}`);
      else {
        assert.equal(r.status, 429, r.status === 429 ? '' : await r.text());
        refusal ??= r;
        await r.arrayBuffer();
      }
      if (q) quietStatuses.push(q.status);
    }
    const elapsedSeconds = (Date.now() - started) / 1000;
    assert.ok(refusal, 'the flood was refused');
    assert.equal(refusal.headers.get('iothub-errorcode'), 'ThrottlingException');
    assert.ok(Number(refusal.headers.get('retry-after')) >= 1);
    // The burst, plus one a second for however long the test took (a bound computed, not timed).
    assert.ok(accepted.length >= 20 && accepted.length <= 20 + Math.ceil(elapsedSeconds) + 1, `${accepted.length} accepted in ${elapsedSeconds} s`);
    assert.deepEqual(quietStatuses, Array(10).fill(204));
    assert.deepEqual(await storedIds('flooder'), accepted.sort());
  });

  test('a tenant\'s quota covers all its devices together; another tenant is untouched', async () => {
    const started = Date.now();
    let accepted = 0;
    for (let i = 0; i < 40; i++) {
      for (const d of [brandA, brandB]) if ((await send(d, i)).status === 204) accepted++;
    }
    const elapsedSeconds = (Date.now() - started) / 1000;
    assert.ok(accepted >= 30 && accepted <= 30 + Math.ceil(elapsedSeconds) + 1, `${accepted} in ${elapsedSeconds} s`);
    assert.equal((await send(other, 0)).status, 204);
  });

  test('MQTT: the flooding device is disconnected without PUBACKs past its quota; a bystander keeps getting PUBACKs', async () => {
    const mqttFlooder = await s.createDevice('mqtt-flooder', { tenant: 'm1' });
    const bystanderDevice = await s.createDevice('mqtt-bystander', { tenant: 'm2' });
    const bystander = await connectDevice(s, bystanderDevice, { keepalive: 0 });
    const client = await connectDevice(s, mqttFlooder, { keepalive: 0 });
    const acked: string[] = [];
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const sends = Array.from({ length: 60 }, (_, i) => client.publishAsync(eventsTopic(mqttFlooder.deviceId, `%24.mid=mf-${i}`), `{"i":${i}}`, { qos: 1 }).then(() => acked.push(`mf-${i}`), () => undefined));
    await closed;
    client.end(true);
    await Promise.allSettled(sends);
    // The burst is acknowledged (the appends in flight finish before the connection closes), not much more.
    assert.ok(acked.length >= 20 && acked.length <= 25, `${acked.length} acknowledged`);
    const stored = await storedIds('mqtt-flooder');
    for (const id of acked) assert.ok(stored.includes(id), `${id} acknowledged but not stored`);
    assert.match(await (await s.fetch('/metrics')).text(), /omnistream_mqtt_disconnects_total\{reason="quota_exceeded"\} [1-9]/);
    await bystander.publishAsync(eventsTopic(bystanderDevice.deviceId, '%24.mid=by-1'), 'still here', { qos: 1 });
    assert.deepEqual(await storedIds('mqtt-bystander'), ['by-1']);
    await bystander.endAsync();
  });

  test('past the cap of device requests in flight, the next gets 503 with Retry-After before its body is read', async () => {
    const d = await s.createDevice('slow-sender', { tenant: 'slow' });
    const port = Number(new URL(s.url).port);
    // Two requests whose bodies are still coming hold the two places.
    const holders = [0, 1].map((i) => {
      const socket = connect(port, '127.0.0.1');
      socket.write(`POST /devices/${d.deviceId}/messages/events HTTP/1.1\r\nHost: x\r\nAuthorization: ${s.deviceToken(d)}\r\niothub-messageid: slow-${i}\r\nContent-Length: 4\r\nConnection: close\r\n\r\n{"`);
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      return { socket, answer: new Promise<number>((resolve) => socket.once('close', () => resolve(parseResponse(Buffer.concat(chunks)).status))) };
    });
    // Until both are being handled, a third may still get in: wait for the refusal, which must come.
    let refused: Response | undefined;
    for (let i = 0; i < 200 && !refused; i++) {
      const r = await send(d, 100 + i);
      if (r.status === 503) refused = r;
      else await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.ok(refused, 'a 503 past the cap');
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.equal(refused.headers.get('iothub-errorcode'), 'ServiceUnavailable');
    for (const h of holders) h.socket.end('1}');
    assert.deepEqual(await Promise.all(holders.map((h) => h.answer)), [204, 204]);
    assert.ok((await storedIds('slow-sender')).includes('slow-0'));
  });
});

describe('memory under a refused flood', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ quotas: { device: { perSecond: 1, burst: 1 } } });
  });
  after(() => s.stop());

  test('the heap after 3 rounds of 2,000 refused requests is within 32 MB of the heap after the first round', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const d = await s.createDevice('heap-flooder');
    const token = s.deviceToken(d);
    const round = async () => {
      const statuses = new Set<number>();
      for (let i = 0; i < 2_000; i += 20) {
        const batch = await Promise.all(Array.from({ length: 20 }, (_, j) => s.fetch(`/devices/${d.deviceId}/messages/events`, { method: 'POST', headers: { authorization: token }, body: `{"i":${i + j}}` })));
        for (const r of batch) {
          statuses.add(r.status);
          await r.arrayBuffer();
        }
      }
      gc();
      return { heap: process.memoryUsage().heapUsed, statuses };
    };
    const first = await round();
    assert.ok(first.statuses.has(429));
    let last = first;
    for (let i = 0; i < 3; i++) last = await round();
    assert.ok(last.heap - first.heap < 32 * 2 ** 20, `heap grew by ${((last.heap - first.heap) / 2 ** 20).toFixed(1)} MB`);
  });
});
