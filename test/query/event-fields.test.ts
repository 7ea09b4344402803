import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileQuery } from '../../src/query/index.js';
import { runQuery, t } from './run-query.js';

const fieldsOf = (text: string, references: string[] = []) => {
  const f = compileQuery(text, { references }).eventFields;
  return f === null ? null : [...f].sort();
};

/** The event with only the fields whose lower-cased name is in `fields`, in their order. */
function restricted(event: Record<string, unknown>, fields: ReadonlySet<string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(event).filter(([k]) => fields.has(k.toLowerCase())));
}

describe('the event fields a query reads', () => {
  test('columns, qualified or not, in every clause; a path adds its first two names', () => {
    assert.deepEqual(fieldsOf(`SELECT MIN(e.Sku) AS first, COUNT(*) AS n, SUM(CAST(p.price AS bigint)) AS value, System.Timestamp() AS t
      INTO o FROM events e TIMESTAMP BY e.ts JOIN products p ON e.sku = p.sku WHERE e.event = 'x' AND e.IoTHub.ConnectionDeviceId LIKE 'a%'
      GROUP BY p.category, store, TumblingWindow(second, 1) HAVING MAX(qty) > 1`, ['products']),
    ['category', 'e', 'event', 'iothub', 'p', 'price', 'qty', 'sku', 'store', 'ts']);
    assert.deepEqual(fieldsOf(`WITH s AS (SELECT device, temp, zone FROM input) SELECT s.device, AVG(s.temp) AS t FROM s GROUP BY s.device, SessionWindow(minute, 1, 5) OVER (PARTITION BY zone)`),
      ['device', 's', 'temp', 'zone']);
  });

  test('whole events: *, alias.*, a bare alias, records of functions, whole-event aggregates, CREATE TABLE, MATCH_RECOGNIZE', () => {
    for (const q of [
      'SELECT * FROM input',
      'SELECT e.* FROM input e',
      'SELECT e AS whole FROM input e',
      "SELECT GetMetadataPropertyValue(e, 'Tenant') AS tenant FROM input e",
      "SELECT GetRecordPropertyValue(input, 'a') AS x FROM input",
      'SELECT TopOne() OVER (ORDER BY temp) AS top FROM input GROUP BY TumblingWindow(second, 5)',
      'SELECT Collect() AS everything FROM input GROUP BY TumblingWindow(second, 5)',
      'SELECT LAST(*) OVER (LIMIT DURATION(minute, 1)) AS prev FROM input',
      'WITH s AS (SELECT * FROM input) SELECT s.a FROM s',
      'CREATE TABLE input (a bigint); SELECT a FROM input',
      `SELECT m.x FROM input MATCH_RECOGNIZE (LIMIT DURATION(minute, 1) MEASURES A.x AS x PATTERN (A) DEFINE A AS A.x > 1) AS m`,
    ]) assert.equal(fieldsOf(q), null, q);
    assert.deepEqual(fieldsOf('SELECT COUNT(*) AS n FROM input GROUP BY TumblingWindow(second, 5)'), []);
  });

  test('events restricted to those fields give the same rows as whole events', () => {
    const events = [
      { time: t(1), Sku: 'a', sku: 'shadowed', qty: 2, Nested: { Deep: 1 }, other: 'x', EXTRA: [1, 2] },
      { time: t(2), SKU: 'b', qty: 3, nested: { deep: 2 }, other: 'y' },
      { time: t(3), sku: 'a', Qty: 5, other: 'z', nested: null },
      { time: t(4), sku: 'c', qty: 'not a number' },
    ];
    const products = [{ sku: 'a', cat: 'tea' }, { sku: 'b', cat: 'coffee' }];
    for (const q of [
      'SELECT sku, qty, nested.deep AS d FROM input TIMESTAMP BY time',
      'SELECT e.SKU AS s, e.Nested AS n FROM input e TIMESTAMP BY time WHERE e.qty > 1',
      'SELECT p.cat, SUM(TRY_CAST(e.qty AS bigint)) AS q, COUNT(*) AS n FROM input e TIMESTAMP BY time LEFT JOIN products p ON e.sku = p.sku GROUP BY p.cat, TumblingWindow(second, 10)',
      'SELECT a.ArrayValue AS v FROM input e TIMESTAMP BY time CROSS APPLY GetArrayElements(e.extra) AS a',
    ]) {
      const fields = compileQuery(q, { references: ['products'] }).eventFields;
      assert.ok(fields !== null, q);
      const whole = runQuery(q, events, { references: { products } });
      assert.ok(whole.rows.length > 0, q);
      assert.deepEqual(runQuery(q, events.map((e) => restricted(e, fields)), { references: { products } }), whole, q);
    }
  });
});
