// The wire encoding of a message: hand-built JSON text, pinned to the domain's own definitions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { systemProperties, type StoredMessage } from '../../src/core/message.js';
import { encodeMessage, encodePage, JsonWriter } from '../../src/feed/wire-message.js';

const base: StoredMessage = {
  partition: 2, sequenceNumber: 41, offset: '41', enqueuedTimeUtc: new Date('2026-11-25T10:00:00.123Z'), deviceId: 'dev "quoted" ✓', tenant: 'brand-a',
  generationId: '6380', authMethod: { scope: 'hub', type: 'sas', issuer: 'iothub', policy: 'device' }, properties: { 'a b': 'c"d' }, body: Buffer.from('{"x":[1,2]}'),
};

test('systemProperties on the wire equal the domain\'s systemProperties', () => {
  for (const m of [base, { ...base, authMethod: { scope: 'device', type: 'sas', issuer: 'iothub' } } as StoredMessage]) {
    assert.deepEqual(JSON.parse(encodeMessage(m)).systemProperties, systemProperties(m));
  }
});

test('optional fields appear only when set, and the page is a JSON array', () => {
  const plain = JSON.parse(encodeMessage(base)) as Record<string, unknown>;
  assert.equal('messageId' in plain, false);
  assert.deepEqual(plain.body, { x: [1, 2] });
  const full = JSON.parse(encodeMessage({ ...base, messageId: 'm', correlationId: 'c', contentType: 'application/cloudevents+json; charset=utf-8', contentEncoding: 'UTF-8' }));
  assert.deepEqual([full.messageId, full.correlationId, full.body], ['m', 'c', { x: [1, 2] }]);
  assert.deepEqual(JSON.parse(encodePage('{"m":', [base, base], '}').toString()).m.length, 2);
  assert.equal(encodePage('', [], '').toString(), '[]');
});

test('the writer grows past its first capacity, with multi-byte text and bodies', () => {
  const w = new JsonWriter(8);
  const big = { ...base, deviceId: 'ü'.repeat(3000), body: Buffer.from(JSON.stringify({ s: '€'.repeat(5000) })) };
  w.text('[');
  for (let i = 0; i < 3; i++) {
    w.text(i ? ',' : '');
    w.bytes(Buffer.from(encodeMessage(big)));
  }
  w.text(']');
  const parsed = JSON.parse(w.done().toString('utf8')) as Array<{ deviceId: string; body: { s: string } }>;
  assert.equal(parsed.length, 3);
  assert.equal(parsed[2]!.deviceId, big.deviceId);
  assert.equal(parsed[2]!.body.s.length, 5000);
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
    const wire = JSON.parse(encodeMessage(m));
    assert.equal(wire.bodyEncoding, 'base64', JSON.stringify(c));
    assert.deepEqual(Buffer.from(wire.body, 'base64'), m.body);
  }
});

test('what the log decided at write time is used as is: bodyIsJson, bodyText, propertiesJson', () => {
  const decided = { ...base, bodyIsJson: true, bodyText: '{"x":[1,2]}', propertiesJson: JSON.stringify(base.properties) };
  assert.equal(encodeMessage(decided), encodeMessage(base));
  assert.equal(encodePage('', [decided, decided], '').toString(), encodePage('', [base, base], '').toString());
  // Without a decision the encoder checks the body itself; with one it trusts it.
  const text = { ...base, body: Buffer.from('plain') };
  assert.equal(JSON.parse(encodeMessage(text)).bodyEncoding, 'base64');
  assert.equal(JSON.parse(encodeMessage({ ...text, bodyIsJson: false })).bodyEncoding, 'base64');
  assert.deepEqual(JSON.parse(encodeMessage({ ...base, bodyIsJson: true })).body, { x: [1, 2] });
});
