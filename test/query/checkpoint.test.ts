import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileQuery, toJson, type QueryCheckpoint, type Row } from '../../src/query/index.js';
import { at, t } from './run-query.js';

const query = `
WITH Sessions AS (
  SELECT shopper, COUNT(*) AS clicks, SUM(price) AS spent FROM clicks TIMESTAMP BY time
  GROUP BY shopper, SessionWindow(second, 30, 300) OVER (PARTITION BY shopper)
)
SELECT shopper, clicks, spent, System.Timestamp() AS closed INTO sessions FROM Sessions
SELECT System.Timestamp() AS e, AVG(price) AS avgPrice, COUNT(DISTINCT shopper) AS shoppers INTO hopping
FROM clicks TIMESTAMP BY time GROUP BY HoppingWindow(second, 60, 20)
SELECT shopper, LAG(price) OVER (PARTITION BY shopper LIMIT DURATION(minute, 5)) AS previous INTO changes
FROM clicks TIMESTAMP BY time WHERE price > 45
`;

function events(): [Row, number][] {
  let seed = 3;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const out: [Row, number][] = [];
  let s = 0;
  for (let i = 0; i < 300; i++) {
    s += Math.floor(random() * 8);
    const jitter = Math.floor(random() * 3);
    out.push([{ time: t(s - jitter), shopper: `s${Math.floor(random() * 5)}`, price: Math.floor(random() * 50) } as Row, at(t(s))]);
  }
  return out;
}

test('a runner restored from a JSON checkpoint continues exactly as one that never stopped', () => {
  const compiled = compileQuery(query);
  const all = events();
  const policy = { outOfOrderToleranceMs: 2_000 };

  const straight: unknown[] = [];
  const a = compiled.createRunner({ policy, onRow: (o, row) => straight.push([o, toJson(row)]) });
  for (const [e, arrival] of all) a.push('clicks', e, arrival);
  a.end();

  const resumed: unknown[] = [];
  const first = compiled.createRunner({ policy, onRow: (o, row) => resumed.push([o, toJson(row)]) });
  for (const [e, arrival] of all.slice(0, 150)) first.push('clicks', e, arrival);
  const saved = JSON.parse(JSON.stringify(first.snapshot())) as QueryCheckpoint;
  const second = compiled.createRunner({ policy, onRow: (o, row) => resumed.push([o, toJson(row)]) });
  second.restore(saved);
  for (const [e, arrival] of all.slice(150)) second.push('clicks', e, arrival);
  second.end();

  assert.ok(straight.length > 20);
  assert.deepEqual(resumed, straight);
});

test('a checkpoint of another query is refused', () => {
  const saved = compileQuery(query).createRunner({ onRow: () => {} }).snapshot();
  const other = compileQuery('SELECT * FROM clicks').createRunner({ onRow: () => {} });
  assert.throws(() => other.restore(saved), { code: 'INVALID_STATE' });
});

test('checkpoints of joins, unions, sliding windows and keyed clocks resume exactly, at any point', () => {
  const text = `
    WITH Slides AS (
      SELECT shopper, COUNT(*) AS n FROM clicks TIMESTAMP BY time OVER shopper
      GROUP BY shopper, SlidingWindow(second, 20)
    )
    SELECT shopper, n INTO slides FROM Slides
    SELECT a.shopper, b.price AS nextPrice, System.Timestamp() AS ts INTO pairs
    FROM clicks a TIMESTAMP BY time LEFT JOIN clicks b TIMESTAMP BY time
    ON a.shopper = b.shopper AND DATEDIFF(second, a, b) BETWEEN 1 AND 10
    SELECT shopper, price, 'cheap' AS kind INTO merged FROM clicks TIMESTAMP BY time WHERE price < 10
    UNION SELECT shopper, price, 'dear' AS kind FROM clicks TIMESTAMP BY time WHERE price > 45`;
  const compiled = compileQuery(text);
  const all = events().slice(0, 120);
  const policy = { outOfOrderToleranceMs: 3_000 };
  const straight: unknown[] = [];
  const a = compiled.createRunner({ policy, onRow: (o, row) => straight.push([o, toJson(row)]) });
  for (const [e, arrival] of all) a.push('clicks', e, arrival);
  a.end();
  assert.ok(straight.length > 50);
  for (const cut of [1, 17, 60, 119]) {
    const resumed: unknown[] = [];
    const first = compiled.createRunner({ policy, onRow: (o, row) => resumed.push([o, toJson(row)]) });
    for (const [e, arrival] of all.slice(0, cut)) first.push('clicks', e, arrival);
    const second = compiled.createRunner({ policy, onRow: (o, row) => resumed.push([o, toJson(row)]) });
    second.restore(JSON.parse(JSON.stringify(first.snapshot())) as QueryCheckpoint);
    for (const [e, arrival] of all.slice(cut)) second.push('clicks', e, arrival);
    second.end();
    assert.deepEqual(resumed, straight, `checkpoint after ${cut} events`);
  }
});
