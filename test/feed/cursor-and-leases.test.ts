// The pure parts of the read side: cursors and lease assignment, with time passed in.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { OmniError } from '../../src/core/errors.js';
import { CursorCodec } from '../../src/feed/cursor.js';
import { LeaseTable } from '../../src/feed/leases.js';

const invalidCursor = (e: unknown) => e instanceof OmniError && e.code === 'invalid_cursor';

describe('cursor', () => {
  const codec = new CursorCodec(randomBytes(32));
  const cursor = { group: 'g', generation: 'gen-1', reader: 'r1', positions: new Map([[0, 5], [3, 12]]) };

  test('round-trips', () => {
    assert.deepEqual(codec.decode(codec.encode(cursor), 'g'), cursor);
  });

  test('a cursor of another group, a forged one or a malformed one is invalid_cursor', () => {
    const text = codec.encode(cursor);
    assert.throws(() => codec.decode(text, 'other'), (e: unknown) => invalidCursor(e) && /belongs to consumer group 'g'/.test((e as Error).message));
    const [payload, mac] = text.split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ g: 'g', n: 'gen-1', r: 'r1', p: [[0, 999]] })).toString('base64url');
    assert.throws(() => codec.decode(`${forged}.${mac}`, 'g'), invalidCursor);
    assert.throws(() => codec.decode(`${payload}.${mac.slice(1)}A`, 'g'), invalidCursor);
    assert.throws(() => new CursorCodec(randomBytes(32)).decode(text, 'g'), invalidCursor, 'another server key');
    for (const bad of ['', 'no-dot', '.', 42, undefined, 'x'.repeat(9000)]) assert.throws(() => codec.decode(bad, 'g'), invalidCursor);
  });
});

describe('leases', () => {
  test('one reader takes every partition; a second splits them at the first one\'s next poll', () => {
    const t = new LeaseTable(4);
    t.beginPoll('a', 0);
    t.rebalance('a', 0);
    assert.deepEqual(t.held('a').map((l) => l.partition), [0, 1, 2, 3]);
    t.beginPoll('b', 0);
    t.rebalance('b', 0);
    assert.deepEqual(t.held('b'), [], 'nothing is free yet');
    assert.equal(t.rebalance('a', 1), true);
    assert.deepEqual(t.held('a').map((l) => l.partition), [0, 1]);
    t.rebalance('b', 1);
    assert.deepEqual(t.held('b').map((l) => l.partition), [2, 3]);
  });

  test('a reader that stops polling lapses after its lease time, not during a poll', () => {
    const t = new LeaseTable(2);
    t.beginPoll('a', 0);
    t.rebalance('a', 0);
    t.beginPoll('b', 0);
    t.rebalance('b', 0);
    t.endPoll('a', 100, 1_000);
    t.endPoll('b', 100, 1_000);
    t.beginPoll('b', 1_050);
    assert.equal(t.expire(1_099), false);
    assert.equal(t.nextExpiry(), 1_100);
    t.rebalance('b', 1_101);
    assert.deepEqual(t.held('b').map((l) => l.partition), [0, 1]);
    assert.equal(t.holder(0), 'b');
    assert.equal(t.expire(10_000_000), false, 'b is mid-poll');
  });

  test('a partition being read is not released', () => {
    const t = new LeaseTable(2);
    t.beginPoll('a', 0);
    t.rebalance('a', 0);
    t.held('a')[1]!.busy = true;
    t.beginPoll('b', 0);
    t.rebalance('a', 0);
    assert.deepEqual(t.held('a').map((l) => l.partition), [0, 1]);
  });
});
