// Stateless partition reads through the real server, and how messages look on the wire.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { partitionFor } from '../../src/core/message.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { service, sleep, type WireMessage } from './feed-client.js';

interface PartitionPage {
  partitionId: string;
  startedAtEarliest: boolean;
  nextSequenceNumber: number;
  messages: WireMessage[];
}

describe('partition reads', () => {
  let s: TestServer;
  let token: string;
  const id = 'reader-test-device';
  const p = () => partitionFor(id, 4);
  const read = async (query: string) => {
    const res = await s.fetch(`/api/partitions/${p()}/messages?${query}`, { headers: service(s) });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as PartitionPage;
  };
  const send = async (body: Buffer | string, headers: Record<string, string> = {}) => {
    const res = await s.fetch(`/devices/${id}/messages/events`, { method: 'POST', headers: { authorization: token, ...headers }, body });
    assert.equal(res.status, 204);
  };

  before(async () => {
    s = await startTestServer();
    token = s.deviceToken(await s.createDevice(id, { tenant: 'brand-a' }));
  });
  after(() => s.stop());

  test('messages carry every field; JSON bodies inline, other bodies base64', async () => {
    await send('{"event":"viewed","sku":"SKU-1"}', { 'iothub-messageid': 'm-1', 'iothub-correlationid': 'c-1', 'iothub-contenttype': 'application/json', 'iothub-contentencoding': 'utf-8', 'iothub-app-channel': 'web' });
    await send(Buffer.from([0, 159, 146, 150, 255]));
    await send('plain words', { 'content-type': 'text/csv' });
    await send('{"looks":"like json"}', { 'iothub-contenttype': 'text/plain' });
    await send('{"truncated":', { 'iothub-contenttype': 'application/json' });
    await send('[1,2,{"a":null}]');
    const page = await read('max=100');
    assert.equal(page.partitionId, String(p()));
    assert.equal(page.startedAtEarliest, false);
    assert.equal(page.nextSequenceNumber, 6);
    const [json, binary, csv, declaredText, broken, bare] = page.messages;
    assert.deepEqual(Object.keys(json!), ['partition', 'sequenceNumber', 'offset', 'enqueuedTimeUtc', 'deviceId', 'tenant', 'messageId', 'correlationId', 'contentType', 'contentEncoding', 'properties', 'body']);
    assert.equal(json!.partition, p());
    assert.equal(json!.sequenceNumber, 0);
    assert.equal(typeof json!.offset, 'string');
    assert.match(json!.enqueuedTimeUtc, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(json!.deviceId, id);
    assert.equal(json!.tenant, 'brand-a');
    assert.deepEqual([json!.messageId, json!.correlationId, json!.contentType, json!.contentEncoding], ['m-1', 'c-1', 'application/json', 'utf-8']);
    assert.deepEqual(json!.properties, { channel: 'web' });
    // IoT Hub's systemProperties repeat the fields above; they come when asked for.
    const [withSystem] = (await read('max=1&system_properties=true')).messages;
    assert.deepEqual(Object.keys(withSystem!), [...Object.keys(json!).slice(0, -1), 'systemProperties', 'body']);
    assert.equal(withSystem!.systemProperties!['iothub-connection-device-id'], id);
    assert.equal(withSystem!.systemProperties!['x-opt-sequence-number'], 0);
    assert.equal(withSystem!.systemProperties!['iothub-enqueuedtime'], json!.enqueuedTimeUtc);
    assert.deepEqual(json!.body, { event: 'viewed', sku: 'SKU-1' });
    assert.equal(json!.bodyEncoding, undefined);
    assert.equal(binary!.bodyEncoding, 'base64');
    assert.deepEqual(Buffer.from(binary!.body as string, 'base64'), Buffer.from([0, 159, 146, 150, 255]));
    assert.equal(Buffer.from(csv!.body as string, 'base64').toString(), 'plain words');
    assert.equal(declaredText!.bodyEncoding, 'base64', 'a body declared as text stays text even if it parses');
    assert.equal(broken!.bodyEncoding, 'base64', 'a body declared JSON that does not parse is not altered');
    assert.equal(Buffer.from(broken!.body as string, 'base64').toString(), '{"truncated":');
    assert.deepEqual(bare!.body, [1, 2, { a: null }], 'no content type and valid JSON: inline');
  });

  test('reads start after an offset, at a sequence number or at a time; past the end is an empty page', async () => {
    const all = (await read('')).messages;
    assert.ok(all.length >= 6);
    assert.deepEqual((await read(`after_offset=${all[1]!.offset}&max=2`)).messages.map((m) => m.sequenceNumber), [2, 3]);
    assert.deepEqual((await read('from_sequence=4&max=1')).messages.map((m) => m.sequenceNumber), [4]);
    await sleep(20);
    const t = new Date().toISOString();
    await sleep(20);
    await send('{"late":true}');
    assert.deepEqual((await read(`from_time=${encodeURIComponent(t)}`)).messages.map((m) => m.body), [{ late: true }]);
    const last = (await read('from_sequence=0&max=5000')).messages.at(-1)!;
    const end = await read(`after_offset=${last.offset}`);
    assert.deepEqual(end.messages, []);
    assert.equal(end.startedAtEarliest, false);
    assert.deepEqual((await read('from_sequence=999999')).messages, []);
    assert.deepEqual((await read(`from_time=${encodeURIComponent('2999-01-01T00:00:00Z')}`)).messages, []);
  });

  test('a read older than retention starts at the earliest message and says so', async () => {
    const r = await startTestServer({ log: { retention: '1s', partitions: 1 } });
    try {
      const d = await r.createDevice('old-timer');
      const post = (body: string) => r.fetch('/devices/old-timer/messages/events', { method: 'POST', headers: { authorization: r.deviceToken(d) }, body });
      await post('{"n":0}');
      await post('{"n":1}');
      await sleep(1100);
      await post('{"n":2}');
      await r.log.applyRetention(new Date());
      const page = (await (await r.fetch('/api/partitions/0/messages?from_sequence=0', { headers: service(r) })).json()) as PartitionPage;
      assert.equal(page.startedAtEarliest, true);
      assert.deepEqual(page.messages.map((m) => [m.sequenceNumber, m.body]), [[2, { n: 2 }]]);
    } finally {
      await r.stop();
    }
  });
});
