// How tiles write numbers: the five formats, axis labels and the card's change, in a fixed locale.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { changeOf, formatAxisValue, formatChange, formatDuration, formatValue, NO_VALUE } from '../../web/src/lib/number-format.js';

const en = 'en-US';
const spec = (format: 'count' | 'number' | 'currency' | 'percent' | 'duration', currency = 'EUR') => ({ format, currency });

describe('formatValue', () => {
  test('count: a whole number with thousands separators', () => {
    assert.equal(formatValue(1234567.4, spec('count'), en), '1,234,567');
    assert.equal(formatValue(0.6, spec('count'), en), '1');
    assert.equal(formatValue(1234, spec('count'), 'de-DE'), '1.234');
  });

  test('number: up to two decimals', () => {
    assert.equal(formatValue(3.14159, spec('number'), en), '3.14');
    assert.equal(formatValue(12000, spec('number'), en), '12,000');
    assert.equal(formatValue(2.5, spec('number'), en), '2.5');
  });

  test('currency: in the tile\'s currency', () => {
    assert.equal(formatValue(1234.5, spec('currency', 'EUR'), en), '€1,234.50');
    assert.equal(formatValue(99, spec('currency', 'USD'), en), '$99.00');
    assert.equal(formatValue(1234.5, spec('currency', 'EUR'), 'de-DE'), '1.234,50\u00a0€');
  });

  test('currency: a code the runtime does not know still gives the number', () => {
    assert.equal(formatValue(12.5, spec('currency', 'ZZZ'), en).includes('12.5'), true);
  });

  test('percent: the value is a ratio', () => {
    assert.equal(formatValue(0.256, spec('percent'), en), '25.6%');
    assert.equal(formatValue(1, spec('percent'), en), '100%');
  });

  test('duration: seconds as 1h 02m, 2m 05s, 45s', () => {
    assert.equal(formatValue(3720, spec('duration'), en), '1h 02m');
    assert.equal(formatValue(125, spec('duration'), en), '2m 05s');
    assert.equal(formatValue(45, spec('duration'), en), '45s');
    assert.equal(formatDuration(59.6), '1m 00s');
    assert.equal(formatDuration(3599.6), '1h 00m');
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(0.2), '<1s');
    assert.equal(formatDuration(-90), '-1m 30s');
    assert.equal(formatDuration(90_000), '25h 00m');
  });

  test('no number is a dash, not NaN', () => {
    for (const v of [null, undefined, NaN, Infinity]) assert.equal(formatValue(v, spec('count'), en), NO_VALUE);
  });
});

test('axis labels are compact', () => {
  assert.equal(formatAxisValue(12_000, spec('count'), en), '12K');
  assert.equal(formatAxisValue(1_250_000, spec('currency', 'EUR'), en), '€1.3M');
  assert.equal(formatAxisValue(0.5, spec('percent'), en), '50%');
  assert.equal(formatAxisValue(150, spec('duration'), en), '2m 30s');
});

describe('the card\'s change', () => {
  test('relative to the previous value', () => {
    assert.deepEqual(formatChange(changeOf(125, 100, 'count'), en), { direction: 'up', text: '▲ 25%' });
    assert.deepEqual(formatChange(changeOf(90, 120, 'currency'), en), { direction: 'down', text: '▼ 25%' });
    assert.deepEqual(formatChange(changeOf(-50, -100, 'number'), en), { direction: 'up', text: '▲ 50%' });
  });

  test('no change, a change that rounds to none, and nothing to compare with', () => {
    assert.deepEqual(formatChange(changeOf(100, 100, 'count'), en), { direction: 'flat', text: '— 0%' });
    assert.deepEqual(formatChange(changeOf(100_001, 100_000, 'count'), en), { direction: 'flat', text: '— 0%' });
    assert.deepEqual(formatChange(changeOf(5, null, 'count'), en), { direction: 'none', text: '' });
    assert.deepEqual(formatChange(changeOf(null, 5, 'count'), en), { direction: 'none', text: '' });
  });

  test('from zero there is no percentage: it is new', () => {
    assert.deepEqual(changeOf(7, 0, 'count'), { kind: 'new' });
    assert.deepEqual(formatChange(changeOf(7, 0, 'count'), en), { direction: 'up', text: '▲ new' });
    assert.deepEqual(changeOf(0, 0, 'count'), { kind: 'relative', ratio: 0 });
  });

  test('a ratio changes in percentage points', () => {
    assert.deepEqual(formatChange(changeOf(0.5, 0.4, 'percent'), en), { direction: 'up', text: '▲ 10 pp' });
    assert.deepEqual(formatChange(changeOf(0.3, 0.325, 'percent'), en), { direction: 'down', text: '▼ 2.5 pp' });
  });
});
