// The wire encoding of a message: bytes written by hand, pinned to JSON.stringify of the message
// as ARCHITECTURE §3 and the domain's systemProperties define it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { systemProperties, type StoredMessage } from '../../src/core/message.js';
import type { SharedFields } from '../../src/log/event-log.js';
import { ByteWriter, writeMessage } from '../../src/feed/wire-message.js';
import { WirePage } from '../../src/feed/wire-page.js';

const base: StoredMessage = {
  partition: 2, sequenceNumber: 41, offset: '41', enqueuedTimeUtc: new Date('2026-11-25T10:00:00.123Z'), deviceId: 'dev "quoted" ✓', tenant: 'brand-a',
  generationId: '6380', authMethod: { scope: 'hub', type: 'sas', issuer: 'iothub', policy: 'device' }, properties: { 'a b': 'c"d' }, body: Buffer.from('{"x":[1,2]}'),
};

function shared(m: StoredMessage, bodyIsJson: boolean | undefined): SharedFields {
  return {
    deviceId: m.deviceId, tenant: m.tenant, generationId: m.generationId, authMethod: m.authMethod, contentType: m.contentType,
    contentEncoding: m.contentEncoding, propertiesJson: JSON.stringify(m.properties), bodyIsJson,
  };
}

/** As a scan hands it over: a JSON body as text when the log knows it is JSON, else bytes. */
function encode(m: StoredMessage, bodyIsJson: boolean | undefined = undefined, w = new ByteWriter(), withSystemProperties = true): string {
  const body = bodyIsJson === true ? m.body.toString('utf8') : m.body;
  writeMessage(w, withSystemProperties, m.partition, m.sequenceNumber, m.enqueuedTimeUtc.getTime(), shared(m, bodyIsJson), m.messageId, m.correlationId, body);
  return w.done().toString('utf8');
}

/** The wire message as JSON.stringify writes it: the reference the hand-written bytes must equal. */
function reference(m: StoredMessage, json: boolean, withSystemProperties = true): string {
  return JSON.stringify({
    partition: m.partition, sequenceNumber: m.sequenceNumber, offset: m.offset, enqueuedTimeUtc: m.enqueuedTimeUtc.toISOString(),
    deviceId: m.deviceId, tenant: m.tenant, messageId: m.messageId, correlationId: m.correlationId, contentType: m.contentType,
    contentEncoding: m.contentEncoding, properties: m.properties, systemProperties: withSystemProperties ? systemProperties(m) : undefined,
    body: json ? JSON.parse(m.body.toString('utf8')) : m.body.toString('base64'), bodyEncoding: json ? undefined : 'base64',
  });
}

const at = (seq: number, ms = base.enqueuedTimeUtc.getTime()): StoredMessage => ({ ...base, sequenceNumber: seq, offset: String(seq), enqueuedTimeUtc: new Date(ms) });

test('a message is byte for byte what JSON.stringify makes of it, with the domain\'s systemProperties when asked', () => {
  const cases: StoredMessage[] = [
    base,
    { ...base, authMethod: { scope: 'device', type: 'sas', issuer: 'iothub' } },
    { ...base, messageId: 'm "1"', correlationId: 'c\n1', contentType: 'application/cloudevents+json; charset=utf-8', contentEncoding: 'UTF-8' },
    { ...base, messageId: 'only-message-id' },
    { ...base, correlationId: 'only-correlation-id', properties: {} },
    at(0, 0), at(9), at(10), at(Number.MAX_SAFE_INTEGER, Date.UTC(9999, 11, 31, 23, 59, 59, 999)),
    { ...base, deviceId: 'ü'.repeat(3000), body: Buffer.from(JSON.stringify({ s: '€'.repeat(5000) })) },
  ];
  for (const m of cases) {
    assert.equal(encode(m, true), reference(m, true));
    assert.equal(encode(m, undefined), reference(m, true), 'checked when the log does not know');
    assert.deepEqual(JSON.parse(encode(m, true)).systemProperties, systemProperties(m));
    assert.equal(encode(m, true, undefined, false), reference(m, true, false), 'without systemProperties');
    assert.equal(encode(m, undefined, undefined, false), reference(m, true, false), 'without systemProperties, checked');
  }
});

test('bodies that are not JSON, or not declared as UTF-8 JSON, are base64', () => {
  const cases: Array<Partial<StoredMessage>> = [
    { body: Buffer.from([0xc3, 0x28]) }, // invalid UTF-8
    { contentType: 'application/json; charset=utf-16' },
    { contentEncoding: 'gzip' },
    { contentType: 'text/plain' },
    { body: Buffer.from('\ufeff{"bom":1}') },
    { body: Buffer.from('') },
  ];
  for (const c of cases) {
    const m = { ...base, ...c };
    assert.equal(encode(m, undefined), reference(m, false), JSON.stringify(c));
    assert.equal(encode(m, undefined, undefined, false), reference(m, false, false), JSON.stringify(c));
    assert.deepEqual(Buffer.from(JSON.parse(encode(m, false)).body, 'base64'), m.body);
  }
  // The log's decision is trusted: a body it stored as not JSON stays base64 even if it parses.
  assert.equal(encode(base, false), reference(base, false));
});

test('messages written one after another into one writer, past its first capacity', () => {
  const w = new ByteWriter(8);
  const big = { ...base, body: Buffer.from(JSON.stringify({ s: '€'.repeat(5000) })) };
  for (let i = 0; i < 3; i++) encode(big, true, w, i !== 1);
  assert.equal(w.done().toString('utf8'), reference(big, true) + reference(big, true, false) + reference(big, true));
});

test('a page is one JSON array; a partition topped up after others keeps its messages together and in order', () => {
  const s = shared(base, true);
  const page = new WirePage('{"m":', 2, false);
  const scan = (p: number, seqs: number[]) => {
    const visit = page.visitor(p);
    for (const seq of seqs) visit(seq, 1_000 + seq, s, seq % 2 ? 'id' : undefined, undefined, `{"n":${seq}}`);
  };
  scan(0, [1, 2]);
  scan(1, []);
  scan(2, [7]);
  scan(2, [8]); // the partition just written goes on in place
  scan(3, [5]);
  scan(0, [3, 4]); // topped up after others
  scan(3, [6]);
  scan(1, [9]); // nothing of it before: a run of its own, at the end
  const json = JSON.parse(page.json(',"x":1}').toString('utf8')) as { m: Array<{ partition: number; sequenceNumber: number; body: { n: number } }>; x: number };
  assert.deepEqual(json.m.map((m) => [m.partition, m.sequenceNumber, m.body.n]), [[0, 1, 1], [0, 2, 2], [0, 3, 3], [0, 4, 4], [2, 7, 7], [2, 8, 8], [3, 5, 5], [3, 6, 6], [1, 9, 9]]);
  assert.equal(json.x, 1);
  assert.equal(new WirePage('', 0, false).json('').toString(), '[]');
  const empty = new WirePage('{"m":', 1_000, true);
  empty.visitor(0);
  assert.equal(empty.json('}').toString(), '{"m":[]}');
});
