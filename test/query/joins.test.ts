import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dt, runQuery, rowsOf, t } from './run-query.js';

describe('reference-data JOIN', () => {
  const products = [
    { sku: '1', name: 'tea', price: 3 },
    { sku: '2', name: 'coffee', price: 4 },
    { sku: '2', name: 'coffee (large)', price: 5 },
  ];

  test('no time bound; keys are type-sensitive, so a number does not match text without CAST', () => {
    const events = [{ time: t(1), sku: 1 }, { time: t(2), sku: '1' }];
    const plain = rowsOf(`SELECT e.sku, p.name FROM input e TIMESTAMP BY time JOIN products p ON e.sku = p.sku`, events, { references: { products } });
    assert.deepEqual(plain, [{ sku: '1', name: 'tea' }]);
    const cast = rowsOf(`SELECT e.sku, p.name FROM input e TIMESTAMP BY time JOIN products p ON CAST(e.sku AS nvarchar(max)) = p.sku`, events, { references: { products } });
    assert.deepEqual(cast, [{ sku: 1, name: 'tea' }, { sku: '1', name: 'tea' }]);
  });

  test('an event matching several rows yields several rows, stamped with the event time; LEFT JOIN keeps the unmatched', () => {
    const { rows } = runQuery(
      `SELECT System.Timestamp() AS ts, e.sku, p.name FROM input e TIMESTAMP BY time LEFT OUTER JOIN products p ON e.sku = p.sku`,
      [{ time: t(5), sku: '2' }, { time: t(6), sku: '9' }],
      { references: { products } },
    );
    assert.deepEqual(rows.map((r) => r.row), [
      { ts: dt(5), sku: '2', name: 'coffee' },
      { ts: dt(5), sku: '2', name: 'coffee (large)' },
      { ts: dt(6), sku: '9', name: null },
    ]);
  });

  test('conditions beyond equality filter the candidates', () => {
    const rows = rowsOf(
      `SELECT p.name FROM input e JOIN products p ON e.sku = p.sku AND p.price > e.budget`,
      [{ sku: '2', budget: 4 }],
      { references: { products } },
    );
    assert.deepEqual(rows, [{ name: 'coffee (large)' }]);
  });

  test('any text is a key: property names of plain objects, array indexes, the empty string and control characters', () => {
    const odd = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '0', '00', '4294967295', '-0', '', '\u0000s1', 'length'];
    const catalogue = [...odd.map((sku, i) => ({ sku, n: i })), { sku: 0, n: 'number 0' }, { sku: true, n: 'true' }, { sku: 'x', n: 'x1' }, { sku: 'x', n: 'x2' }];
    const events = [...odd.map((sku) => ({ sku })), { sku: 0 }, { sku: 'true' }, { sku: true }, { sku: 'x' }, { sku: 'valueOf' }, { sku: 1 }];
    const rows = rowsOf(`SELECT e.sku, p.n FROM input e JOIN products p ON e.sku = p.sku`, events, { references: { products: catalogue } });
    assert.deepEqual(rows, [
      ...odd.map((sku, i) => ({ sku, n: i })), { sku: 0, n: 'number 0' }, { sku: true, n: 'true' }, { sku: 'x', n: 'x1' }, { sku: 'x', n: 'x2' },
    ]);
  });

  test('runs joining one snapshot share an index only when they join on the same keys', () => {
    const bySku = `SELECT p.name FROM input e JOIN products p ON e.key = p.sku`;
    const byName = `SELECT p.sku FROM input e JOIN products p ON e.key = p.name`;
    const events = [{ key: '1' }, { key: 'coffee' }];
    for (let round = 0; round < 2; round++) {
      assert.deepEqual(rowsOf(bySku, events, { references: { products } }), [{ name: 'tea' }]);
      assert.deepEqual(rowsOf(byName, events, { references: { products } }), [{ sku: '2' }]);
    }
  });
});

describe('stream-to-stream JOIN', () => {
  const entries = [
    ['Entry', { TollId: 1, LicensePlate: 'AAA', EntryTime: t(0) }],
    ['Entry', { TollId: 1, LicensePlate: 'BBB', EntryTime: t(60) }],
    ['Exit', { TollId: 1, LicensePlate: 'AAA', ExitTime: t(300) }],
    ['Entry', { TollId: 2, LicensePlate: 'CCC', EntryTime: t(400) }],
    ['Exit', { TollId: 1, LicensePlate: 'BBB', ExitTime: t(1500) }],
    ['Exit', { TollId: 2, LicensePlate: 'CCC', ExitTime: t(2000) }],
  ] as const;

  test('matches within the DATEDIFF bound, stamped with the later event', () => {
    const { rows } = runQuery(
      `SELECT EntryStream.TollId, EntryStream.LicensePlate, System.Timestamp() AS ts,
              DATEDIFF(minute, EntryStream.EntryTime, ExitStream.ExitTime) AS DurationInMinutes
       FROM Entry AS EntryStream TIMESTAMP BY EntryTime
       JOIN Exit AS ExitStream TIMESTAMP BY ExitTime
       ON (EntryStream.TollId = ExitStream.TollId AND EntryStream.LicensePlate = ExitStream.LicensePlate)
       AND DATEDIFF(minute, EntryStream, ExitStream) BETWEEN 0 AND 15`,
      entries,
    );
    // BBB took 24 minutes and CCC 26.7: outside the 15-minute bound.
    assert.deepEqual(rows.map((r) => r.row), [{ TollId: 1, LicensePlate: 'AAA', ts: dt(300), DurationInMinutes: 5 }]);
  });

  test('LEFT JOIN emits an unmatched event at its time + the upper bound, right side NULL (absence of event)', () => {
    const { rows } = runQuery(
      `SELECT e.LicensePlate, System.Timestamp() AS ts
       FROM Entry e TIMESTAMP BY EntryTime
       LEFT JOIN Exit x TIMESTAMP BY ExitTime
       ON e.LicensePlate = x.LicensePlate AND DATEDIFF(minute, e, x) BETWEEN 0 AND 15
       WHERE x.LicensePlate IS NULL`,
      entries,
    );
    assert.deepEqual(rows.map((r) => r.row), [
      { LicensePlate: 'BBB', ts: dt(60 + 900) },
      { LicensePlate: 'CCC', ts: dt(400 + 900) },
    ]);
  });

  test('the bound may be written either way round, with comparisons', () => {
    const rows = rowsOf(
      `SELECT a.id AS a, b.id AS b FROM A a TIMESTAMP BY time JOIN B b TIMESTAMP BY time
       ON DATEDIFF(second, b, a) <= 0 AND DATEDIFF(second, b, a) >= -5`,
      [['A', { id: 1, time: t(10) }], ['B', { id: 2, time: t(12) }], ['B', { id: 3, time: t(20) }]],
    );
    assert.deepEqual(rows, [{ a: 1, b: 2 }]);
  });
});
