// The conjuncts of WHERE that read only the stream run before the reference joins. Each query is
// run as compiled and with all of WHERE after the joins (its plan as written): the rows, their
// order, their timestamps and the diagnostics must be the same, whatever was moved.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compileQuery, QueryRunner, toJson, UserFunctionFailure, type EventDiagnostic, type ReferenceData, type Row, type UserFunctions,
} from '../../src/query/index.js';
import { parseQuery } from '../../src/query/syntax/parser.js';
import { analyzeQuery } from '../../src/query/semantic/analyze.js';
import { whereAfterClauses } from '../../src/query/semantic/where-placement.js';
import type { QueryPlan } from '../../src/query/semantic/plan.js';

const functions: UserFunctions = {
  udf: {
    // Fails on store c: its diagnostics must come for exactly the events they came for before.
    north: { call: ([store]) => { if (store === 'c') throw new UserFunctionFailure('no region for c'); return store === 'a'; } },
  },
};

const catalogue: Row[] = [
  { sku: 's1', category: 'toys', price: 3, num: 1 },
  { sku: 's2', category: 'books', price: 10, num: 2 },
  { sku: 's2', category: 'toys', price: 7, num: 2 },
  { sku: 's3', category: null, price: 1, num: 3 },
  { sku: 's4', category: 'games', num: 4 },
];
const stores: Row[] = [{ store: 'a', region: 'north' }, { store: 'b', region: 'south' }];

const kinds = ['order', 'view', 'cart', 'order'];
const skus: (string | null | undefined)[] = ['s1', 's2', 's3', 's4', 's5', null, undefined];
const quantities: unknown[] = [1, 2, 3, 'x', 0, 4];

/** Orders, views and carts over a few seconds: joined and missed SKUs, bad quantities, stray fields. */
function events(): [string, Row][] {
  const out: [string, Row][] = [];
  for (let i = 0; i < 84; i++) {
    const e: Record<string, unknown> = {
      id: i,
      time: new Date(Date.UTC(2023, 0, 1) + i * 150).toISOString(),
      store: 'abc'[i % 3],
      event: kinds[i % 4],
      qty: quantities[i % 6],
      skuNum: i % 5 === 0 ? 'x' : (i % 4) + 1,
      tags: i % 2 === 0 ? ['x', 'y'] : ['y'],
    };
    const sku = skus[i % 7];
    if (sku !== undefined) e['sku'] = sku;
    // Some events carry fields the catalogue has too: unqualified names find these first.
    if (i % 5 === 1) e['category'] = 'toys';
    if (i % 6 === 2) e['price'] = 8;
    // A set no character is in ([z-a]), on events the inner join drops: it matches nothing, never an error.
    e['pattern'] = sku === 's5' ? '[z-a]' : 'or%';
    out.push(['events', e as Row]);
    if (i % 9 === 0) out.push(['returns', { id: i, time: new Date(Date.UTC(2023, 0, 1) + i * 150 + 500).toISOString(), reason: i % 2 ? 'late' : 'broken' }]);
  }
  return out;
}

const join = 'FROM events e TIMESTAMP BY e.time JOIN catalogue c ON e.sku = c.sku';
const leftJoin = 'FROM events e TIMESTAMP BY e.time LEFT JOIN catalogue c ON e.sku = c.sku';

/** Each query, and the clause its early conjuncts run before (null: all of WHERE after the clauses). */
const cases: readonly [query: string, at: number | null][] = [
  [`SELECT e.id, c.category ${join} WHERE e.event = 'order'`, 0],
  [`SELECT e.id, c.category ${leftJoin} WHERE e.event = 'order'`, 0],
  [`SELECT e.id, c.price ${join} WHERE c.category = 'toys'`, null],
  [`SELECT e.id, c.category ${leftJoin} WHERE c.category IS NULL`, null],
  [`SELECT e.id, c.sku ${leftJoin} WHERE e.event = 'order' AND c.sku IS NULL`, 0],
  [`SELECT e.id, c.category ${leftJoin} WHERE e.event = 'view' AND (c.category IS NULL OR c.price > 2)`, 0],
  [`SELECT e.id, c.category ${join} WHERE e.event = 'order' OR c.category = 'toys'`, null],
  [`SELECT e.id, c.category ${leftJoin} WHERE NOT (e.store = 'a') AND e.qty IN (1, 2, 'x') AND e.event LIKE 'or%'`, 0],
  [`SELECT e.id ${leftJoin} WHERE e.qty BETWEEN 1 AND 3 AND CASE WHEN e.store = 'b' THEN c.price > 5 ELSE 1 = 1 END`, 0],
  // Unqualified: the first source with the field, the catalogue when the event lacks it.
  [`SELECT e.id, c.sku ${join} WHERE category = 'toys' AND e.event = 'order'`, 0],
  [`SELECT e.id ${leftJoin} WHERE price > 5`, null],
  [`SELECT e.id ${leftJoin} WHERE event = 'cart'`, null],
  // Anything that can report keeps WHERE after the joins: events an inner join drops never get there.
  [`SELECT e.id ${join} WHERE e.event = 'order' AND CAST(e.qty AS bigint) > 1`, null],
  [`SELECT e.id ${join} WHERE e.event = 'order' AND c.price / e.qty > 1`, null],
  [`SELECT e.id ${join} WHERE udf.north(e.store) AND e.event = 'order'`, null],
  [`SELECT e.id ${join} WHERE c.price > 2 AND udf.north(e.store)`, null],
  [`SELECT e.id, c.category FROM events e TIMESTAMP BY e.time JOIN catalogue c ON CAST(e.skuNum AS bigint) = c.num WHERE e.event = 'order'`, null],
  [`SELECT e.id ${join} WHERE TRY_CAST(e.qty AS bigint) > 1 AND e.event LIKE e.pattern`, 0],
  [`SELECT e.id ${join} WHERE TRY_CAST(e.qty AS bigint) > 1`, 0],
  // The ON residual, two reference joins, an apply before them, LAG and a stream join before them.
  [`SELECT e.id, c.price FROM events e TIMESTAMP BY e.time JOIN catalogue c ON e.sku = c.sku AND c.price > e.qty WHERE e.event = 'order'`, 0],
  [`SELECT e.id, c.category, s.region ${join} LEFT JOIN stores s ON e.store = s.store WHERE e.event = 'order' AND (s.region = 'north' OR s.region IS NULL)`, 0],
  [`SELECT e.id, t.ArrayValue AS tag FROM events e TIMESTAMP BY e.time CROSS APPLY GetArrayElements(e.tags) AS t JOIN catalogue c ON e.sku = c.sku WHERE t.ArrayValue = 'x' AND e.event <> 'view'`, 1],
  [`SELECT e.id ${leftJoin} WHERE LAG(e.event) OVER (LIMIT DURATION(second, 10)) = 'cart' AND e.event = 'order'`, 0],
  [`SELECT e.id, r.reason, c.category FROM events e TIMESTAMP BY e.time JOIN returns r TIMESTAMP BY r.time ON e.id = r.id AND DATEDIFF(second, e, r) BETWEEN 0 AND 5 JOIN catalogue c ON e.sku = c.sku WHERE r.reason = 'late' OR e.event = 'order'`, 1],
  [`SELECT e.id, System.Timestamp() AS at ${join} WHERE System.Timestamp() > '2023-01-01T00:00:03Z' AND c.price > 2`, 0],
  // Grouped, as jobs run it.
  [`SELECT e.store, c.category, COUNT(*) AS n ${join} WHERE e.event = 'order' GROUP BY e.store, c.category, TumblingWindow(second, 1)`, 0],
  [`SELECT e.store, c.category, COUNT(*) AS n ${leftJoin} WHERE e.event = 'order' AND c.category IS NULL GROUP BY e.store, c.category, TumblingWindow(second, 1)`, 0],
  // Several statements, one of them through a step.
  [`WITH orders AS (SELECT e.id, e.sku ${join} WHERE e.event = 'order') SELECT o.id, c.price INTO out FROM orders o LEFT JOIN catalogue c ON o.sku = c.sku WHERE o.id > 20`, 0],
];

const known = { references: ['catalogue', 'stores'], functions };

interface Outcome {
  rows: { output: string; row: unknown; timestamp: number }[];
  diagnostics: EventDiagnostic[];
}

function run(plan: QueryPlan, references: Record<string, ReferenceData>): Outcome {
  const out: Outcome = { rows: [], diagnostics: [] };
  const runner = new QueryRunner(plan, 'where-placement', {
    references,
    onRow: (output, row, timestamp) => out.rows.push({ output, row: toJson(row), timestamp }),
    onDiagnostic: (d) => out.diagnostics.push(d),
  });
  const inputs = new Set(runner.inputs);
  for (const [input, event] of events()) if (inputs.has(input)) runner.push(input, event);
  runner.end();
  return out;
}

/** The plan with every WHERE after its statement's joins, as written. */
function asWritten(plan: QueryPlan): QueryPlan {
  return {
    ...plan,
    statements: plan.statements.map((st) => ({
      ...st,
      selects: st.selects.map((s) => ({ ...s, where: whereAfterClauses(s.statement.where, s.clauses) })),
    })),
  };
}

describe('WHERE before reference joins', () => {
  test('gives the rows, order and diagnostics of WHERE after the joins', () => {
    for (const [query, at] of cases) {
      const plan = analyzeQuery(parseQuery(query), known);
      const placed = plan.statements.flatMap((st) => st.selects).find((s) => s.where.early !== null);
      assert.equal(placed ? placed.where.at : null, at, `${query}: where WHERE goes`);
      const references = { catalogue, stores };
      const moved = run(plan, references), written = run(asWritten(plan), references);
      assert.ok(written.rows.length > 0, `${query} gives rows`);
      assert.deepEqual(moved, written, query);
    }
  });

  test('an event WHERE drops is never looked up in the reference data', () => {
    // Reference data that changes over time is asked for the rows valid at each probed event.
    let probes = 0;
    const versions = { rowsAt: () => { probes++; return catalogue; } };
    const query = compileQuery(`SELECT e.store, c.category, COUNT(*) AS n ${join} WHERE e.event = 'order' GROUP BY e.store, c.category, TumblingWindow(second, 1)`, known);
    const rows: unknown[] = [];
    const runner = query.createRunner({ references: { catalogue: versions }, onRow: (_, row) => rows.push(toJson(row)) });
    const all = events().filter(([input]) => input === 'events');
    for (const [input, event] of all) runner.push(input, event);
    runner.end();
    assert.ok(rows.length > 0);
    assert.equal(probes, all.filter(([, e]) => e['event'] === 'order').length);
  });
});
