// The SDK's pure parts: when to retry (backoff with jitter, Retry-After), what an answer means,
// and the offline queue in storage (its bound, and which other pages' queues a page adopts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { memoryStorage } from '../../web-sdk/src/memory-storage.js';
import { EventQueue, STALE_MS, queuedEvent } from '../../web-sdk/src/queue.js';
import { BASE_DELAY_MS, MAX_DELAY_MS, outcomeOf, parseRetryAfter, retryDelay } from '../../web-sdk/src/retry.js';

const headers = (h: Record<string, string>) => ({ get: (name: string) => h[name.toLowerCase()] ?? null });

describe('retries', () => {
  test('backoff doubles from the base to the cap, never immediate, jitter in the upper half', () => {
    assert.equal(retryDelay(1, 0), BASE_DELAY_MS / 2);
    assert.equal(retryDelay(1, 0.999999), BASE_DELAY_MS * 0.9999995);
    assert.equal(retryDelay(3, 0), BASE_DELAY_MS * 2);
    assert.equal(retryDelay(30, 0), MAX_DELAY_MS / 2);
    assert.ok(retryDelay(30, 0.999) < MAX_DELAY_MS);
  });

  test('Retry-After is a floor, with up to half again of jitter so a storm\'s clients spread out', () => {
    assert.equal(retryDelay(5, 0, 2_000), 2_000);
    assert.equal(retryDelay(5, 0.5, 2_000), 2_500);
    assert.equal(parseRetryAfter('3', 0), 3_000);
    assert.equal(parseRetryAfter(' 0 ', 0), 0);
    assert.equal(parseRetryAfter('Sun, 06 Dec 2026 13:00:10 GMT', Date.parse('2026-12-06T13:00:00Z')), 10_000);
    assert.equal(parseRetryAfter('Sun, 06 Dec 2026 12:00:00 GMT', Date.parse('2026-12-06T13:00:00Z')), 0, 'a past date: now');
    assert.equal(parseRetryAfter('soon', 0), undefined);
    assert.equal(parseRetryAfter(null, 0), undefined);
  });

  test('what each answer means for the events it carried', () => {
    const k = (status: number, h: Record<string, string> = {}) => outcomeOf(status, headers(h), 0);
    assert.deepEqual(k(204), { k: 'ok' });
    assert.deepEqual(k(429, { 'retry-after': '2' }), { k: 'retry', after: 2_000 });
    assert.deepEqual(k(503, { 'retry-after': '1' }), { k: 'retry', after: 1_000 });
    assert.deepEqual(k(502), { k: 'retry', after: undefined });
    assert.deepEqual(k(401, { 'iothub-errorcode': 'IotHubUnauthorizedAccess' }), { k: 'auth' });
    assert.deepEqual(k(401, { 'iothub-errorcode': 'IotHubUnauthorized' }), { k: 'reject' }, 'a disabled device');
    for (const status of [400, 403, 413, 415]) assert.deepEqual(k(status), { k: 'reject' });
  });
});

describe('the offline queue', () => {
  const limits = { maxEvents: 3, maxBytes: 10_000 };
  const ev = (n: number) => queuedEvent(`id-${n}`, n, `{"n":${n}}`);

  test('bounded by count and size: the oldest go first, never those in flight', () => {
    const q = new EventQueue(memoryStorage(), 'o', 'o:q:a', 'owner', limits);
    assert.deepEqual(q.add([ev(1), ev(2), ev(3)]), []);
    assert.deepEqual(q.add([ev(4)], new Set(['id-1'])), ['id-2']);
    assert.deepEqual(q.items.map((e) => e.i), ['id-1', 'id-3', 'id-4']);
    const small = new EventQueue(memoryStorage(), 'o', 'o:q:b', 'owner', { maxEvents: 100, maxBytes: ev(1).j.length * 2 });
    assert.deepEqual(small.add([ev(1), ev(2), ev(3)]), ['id-1']);
  });

  test('survives a reload: a closed page\'s queue is adopted by the next, oldest first, once', () => {
    const storage = memoryStorage();
    const first = new EventQueue(storage, 'o', 'o:q:a', 'owner', limits);
    first.add([ev(1), ev(2)]);
    first.save(1_000, false);
    const next = new EventQueue(storage, 'o', 'o:q:b', 'owner', limits);
    next.add([ev(3)]);
    assert.deepEqual(next.adopt(2_000), []);
    assert.deepEqual(next.items.map((e) => e.i), ['id-1', 'id-2', 'id-3']);
    assert.equal(storage.getItem('o:q:a'), null, 'the adopted key is gone: one owner per event');
    assert.deepEqual(JSON.parse(JSON.stringify(next.items[0]!)), { i: 'id-1', t: 1, b: '{"n":1}', j: '{"i":"id-1","t":1,"b":{"n":1}}' });
  });

  test('an open page\'s queue is left alone until it goes stale; another endpoint\'s or app key\'s never', () => {
    const storage = memoryStorage();
    const open = new EventQueue(storage, 'o', 'o:q:a', 'owner', limits);
    open.add([ev(1)]);
    open.save(1_000, true);
    const other = new EventQueue(storage, 'o', 'o:q:c', 'another app key', limits);
    other.add([ev(9)]);
    other.save(1_000, false);
    const next = new EventQueue(storage, 'o', 'o:q:b', 'owner', limits);
    next.adopt(1_000 + STALE_MS - 1);
    assert.equal(next.items.length, 0);
    next.adopt(1_000 + STALE_MS);
    assert.deepEqual(next.items.map((e) => e.i), ['id-1']);
    assert.notEqual(storage.getItem('o:q:c'), null);
  });

  test('a damaged entry is removed rather than breaking the page', () => {
    const storage = memoryStorage();
    storage.setItem('o:q:x', '{not json');
    storage.setItem('o:q:y', '{"h":0,"k":"owner","e":"nope"}');
    const q = new EventQueue(storage, 'o', 'o:q:b', 'owner', limits);
    assert.deepEqual(q.adopt(0), []);
    assert.equal(storage.length, 0);
  });
});
