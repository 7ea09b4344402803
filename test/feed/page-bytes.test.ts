// A page is bounded in bytes as well as in messages, so a reader asking for 5,000 messages of
// 256 KB each does not make the server build a gigabyte: the page ends at the message that reaches
// max_bytes (default 4 MiB), always with at least one message, and the next page goes on from there.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { partitionFor } from '../../src/core/message.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { drain, putGroup, service, type WireMessage } from './feed-client.js';

const DEVICE = 'big-sender';
const BODY_CHARS = 200_000;
const COUNT = 25;

describe('page size in bytes', () => {
  let s: TestServer;
  const p = partitionFor(DEVICE, 4);
  const read = async (query: string) => {
    const res = await s.fetch(`/api/partitions/${p}/messages?${query}`, { headers: service(s) });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    return { bytes: Buffer.byteLength(text), page: JSON.parse(text) as { nextSequenceNumber: number; messages: WireMessage[] } };
  };

  before(async () => {
    s = await startTestServer();
    const token = s.deviceToken(await s.createDevice(DEVICE));
    for (let i = 0; i < COUNT; i++) {
      const body = JSON.stringify({ i, pad: 'x'.repeat(BODY_CHARS) });
      const res = await s.fetch(`/devices/${DEVICE}/messages/events`, { method: 'POST', headers: { authorization: token }, body });
      assert.equal(res.status, 204);
    }
  });
  after(() => s.stop());

  test('by default a page stops at the message that reaches 4 MiB; the next read goes on from there', async () => {
    const first = await read('max=5000');
    const n = first.page.messages.length;
    assert.ok(n > 1 && n < COUNT, `${n} messages`);
    assert.ok(first.bytes >= 4 * 1024 * 1024 && first.bytes < 4 * 1024 * 1024 + BODY_CHARS + 1_000, `${first.bytes} bytes`);
    assert.equal(first.page.nextSequenceNumber, n);
    const rest = await read(`from_sequence=${first.page.nextSequenceNumber}&max=5000`);
    assert.deepEqual([...first.page.messages, ...rest.page.messages].map((m) => (m.body as { i: number }).i), Array.from({ length: COUNT }, (_, i) => i));
  });

  test('max_bytes sets the bound; a message larger than it still comes, alone', async () => {
    assert.equal((await read('max=100&max_bytes=450000')).page.messages.length, 3);
    const single = await read('max=100&max_bytes=1024');
    assert.deepEqual(single.page.messages.map((m) => (m.body as { i: number }).i), [0]);
    assert.equal(single.page.nextSequenceNumber, 1);
  });

  test('a consumer group reads every message exactly once through byte-bounded pages', async () => {
    assert.equal((await putGroup(s, 'bounded')).status, 201);
    const all = await drain(s, 'bounded', { max: 5000, max_bytes: 700_000 });
    assert.deepEqual(all.map((m) => (m.body as { i: number }).i), Array.from({ length: COUNT }, (_, i) => i));
  });
});
