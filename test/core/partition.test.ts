// The partition of a device is part of the stored data: a log written with one hash is read
// with the next version's, and a device whose messages moved partition would lose its order and
// find its history in another partition. So the hash is pinned, not just checked for stability.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { partitionFor } from '../../src/core/message.js';

const COUNTS = [1, 2, 3, 4, 5, 8, 12, 16, 31, 32] as const;

// Computed once from the implementation of 2026-11 (FNV-1a, 32 bits, over the UTF-8 id). Never
// regenerate this table to make the test pass: a change here strands every existing log.
const PINNED: ReadonlyArray<readonly [deviceId: string, partitions: readonly number[]]> = [
  ['a', [0, 0, 1, 0, 0, 4, 4, 12, 14, 12]],
  ['device-1', [0, 1, 1, 1, 0, 1, 1, 1, 30, 17]],
  ['device-2', [0, 0, 1, 0, 3, 0, 4, 8, 13, 24]],
  ['shop-web-1', [0, 0, 2, 0, 2, 4, 8, 12, 22, 28]],
  ['shop-web-2', [0, 1, 2, 1, 4, 5, 5, 5, 8, 21]],
  ['crash-0', [0, 1, 0, 1, 1, 5, 9, 13, 7, 13]],
  ['crash-23', [0, 0, 0, 0, 1, 4, 0, 12, 18, 28]],
  ['bench-device', [0, 0, 1, 2, 4, 6, 10, 6, 29, 22]],
  ['browser-3f2b6c1e-8d4a-4a8e-9c3b-1f0e2d3c4b5a', [0, 0, 2, 0, 3, 0, 8, 0, 13, 0]],
  ['ios-0b1c', [0, 1, 1, 3, 3, 7, 7, 15, 4, 15]],
  ['Sensor.Floor_3', [0, 1, 0, 1, 1, 5, 9, 5, 12, 5]],
  ["x-.%_*?!(),:=@$'", [0, 1, 0, 3, 2, 7, 3, 15, 25, 15]],
  ['A'.repeat(128), [0, 1, 2, 1, 2, 5, 5, 5, 15, 5]],
];

for (const [deviceId, expected] of PINNED) {
  test(`partitionFor(${JSON.stringify(deviceId.length > 20 ? `${deviceId.slice(0, 12)}…(${deviceId.length})` : deviceId)}) is pinned for ${COUNTS.join(', ')} partitions`, () => {
    assert.deepEqual(COUNTS.map((count) => partitionFor(deviceId, count)), expected);
  });
}

test('the hash is 32-bit FNV-1a, as its published test vectors give it', () => {
  // With 2^32 partitions the modulo keeps the whole hash, so the algorithm itself is checked
  // against the FNV reference values (isthe.com/chongo/tech/comp/fnv), not only against itself.
  const whole = (id: string) => partitionFor(id, 2 ** 32);
  assert.equal(whole(''), 0x811c9dc5);
  assert.equal(whole('a'), 0xe40c292c);
  assert.equal(whole('foobar'), 0xbf9cf968);
});
