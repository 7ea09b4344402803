// The live-events list: newest first, each event once, at most the cap; bodies on one line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bodyPreview, EventList, MAX_EVENTS } from '../../web/src/lib/event-list.js';
import type { LiveEvent } from '../../web/src/lib/wire.js';

const T0 = Date.UTC(2026, 0, 1, 12);
const ev = (partition: number, sequenceNumber: number, ms: number): LiveEvent => ({
  partition, sequenceNumber, enqueuedMs: T0 + ms, enqueuedTimeUtc: new Date(T0 + ms).toISOString(),
  deviceId: 'd', tenant: 'a', channel: null, event: null, properties: {}, body: {},
});
const ids = (l: EventList) => l.all.map((e) => `${e.partition}/${e.sequenceNumber}`);

test('newest first, each once (a reload after a reconnect repeats none)', () => {
  const l = new EventList();
  assert.equal(l.add([ev(0, 1, 0), ev(1, 1, 5)]), 2);
  assert.equal(l.add([ev(0, 2, 10), ev(0, 1, 0)]), 1);
  assert.deepEqual(ids(l), ['0/2', '1/1', '0/1']);
});

test('at most the cap, the oldest going', () => {
  const l = new EventList(3);
  for (let i = 0; i < 10; i++) l.add([ev(0, i, i)]);
  assert.deepEqual(ids(l), ['0/9', '0/8', '0/7']);
  // An event that fell off is new again if it comes back, and falls off again.
  assert.equal(l.add([ev(0, 0, 0)]), 1);
  assert.deepEqual(ids(l), ['0/9', '0/8', '0/7']);
  assert.equal(MAX_EVENTS, 500);
});

test('bodies on one line, JSON compact, long ones cut', () => {
  assert.equal(bodyPreview({ event: 'view', sku: 'A1' }), '{"event":"view","sku":"A1"}');
  assert.equal(bodyPreview('plain text'), 'plain text');
  assert.equal(bodyPreview('x'.repeat(300), 10), `${'x'.repeat(9)}…`);
  assert.equal(bodyPreview(undefined), 'undefined');
});
