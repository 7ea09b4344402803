// compileQuery is parse → analyze → plan. Every fault a query can have before an event arrives
// is found by semantic analysis, with its code and position; building a runner finds none.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { compileQuery, QueryError, type QueryErrorCode } from '../../src/query/index.js';
import { parseQuery } from '../../src/query/syntax/parser.js';
import { analyzeQuery } from '../../src/query/semantic/analyze.js';

const known = { references: ['products'] };

/** The checks the pipeline builder used to make, each now made by semantic analysis. */
const staticFaults: readonly [query: string, code: QueryErrorCode, line: number, column: number, message: RegExp][] = [
  // Constants, wherever they stand.
  ['SELECT a FROM input WHERE a > 1 / 0', 'CONSTANT_TYPE_ERROR', 1, 33, /division by zero/],
  ["SELECT COUNT(*) FROM input GROUP BY CAST('x' AS float), TumblingWindow(second, 1)", 'CONSTANT_TYPE_ERROR', 1, 37, /cannot convert 'x' to float/],
  ['SELECT SUM(a + 1 / 0) AS s FROM input GROUP BY TumblingWindow(second, 1)', 'CONSTANT_TYPE_ERROR', 1, 18, /division by zero/],
  ["SELECT COUNT(*) AS n FROM input GROUP BY TumblingWindow(second, 1) HAVING COUNT(*) > CAST('x' AS bigint)", 'CONSTANT_TYPE_ERROR', 1, 86, /bigint/],
  ['SELECT i.a FROM input i JOIN products p ON i.a = p.a AND 1 / 0 = 1', 'CONSTANT_TYPE_ERROR', 1, 60, /division by zero/],
  ["SELECT a FROM input TIMESTAMP BY DATEADD(minute, 'x', '2023-01-01')", 'CONSTANT_TYPE_ERROR', 1, 34, /DATEADD/],
  ['SELECT LAG(a) OVER (PARTITION BY 1 % 0 LIMIT DURATION(second, 1)) FROM input', 'CONSTANT_TYPE_ERROR', 1, 36, /division by zero/],
  ['SELECT TopOne(a) OVER (ORDER BY 1 / 0 LIMIT DURATION(second, 1)) AS t FROM input', 'CONSTANT_TYPE_ERROR', 1, 35, /division by zero/],
  // A constant part is a fault even where the whole would not evaluate it.
  ['SELECT CASE WHEN 1 = 1 THEN 1 ELSE 1 / 0 END AS v FROM input', 'CONSTANT_TYPE_ERROR', 1, 38, /division by zero/],
  // Date parts and time units.
  ['SELECT a FROM input WHERE DATEDIFF(fortnight, a, b) > 0', 'INVALID_ARGUMENT', 1, 36, /DATEDIFF expects a date part/],
  ['SELECT COUNT(*) FROM input GROUP BY DATEPART(fortnight, a), TumblingWindow(second, 1)', 'INVALID_ARGUMENT', 1, 46, /DATEPART expects a date part/],
  ['SELECT i.a FROM input i JOIN other o ON DATEDIFF(second, i, o) BETWEEN 0 AND 1 AND DATEDIFF(month, i, o) = 0', 'INVALID_ARGUMENT', 1, 93, /DATEDIFF between sources takes/],
  ['SELECT a FROM input WHERE ISFIRST(fortnight, 1) = 1', 'INVALID_ARGUMENT', 1, 35, /ISFIRST expects a time unit/],
  // Arguments the compiler reads without evaluating.
  ['SELECT GetMetadataPropertyValue(input, 1) AS p FROM input', 'INVALID_ARGUMENT', 1, 8, /GetMetadataPropertyValue takes a source alias and a property name/],
  // The ORDER BY of an aggregate OVER a time range, checked like its other parts.
  ['SELECT TopOne(a) OVER (ORDER BY FROBNICATE(b) LIMIT DURATION(second, 1)) AS t FROM input', 'UNKNOWN_FUNCTION', 1, 33, /FROBNICATE/],
  ['SELECT i.a FROM input i JOIN other o ON DATEDIFF(second, i, o) BETWEEN 0 AND 1 WHERE LAST(i.a) OVER (ORDER BY o.b LIMIT DURATION(second, 1)) > 0', 'ANALYTIC_NOT_ALLOWED', 1, 111, /FROM source only/],
];

function rejected(run: () => unknown, code: QueryErrorCode, line: number, column: number, message: RegExp): void {
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof QueryError, `a QueryError, not ${String(e)}`);
    assert.deepEqual([e.code, e.position], [code, { line, column }], e.message);
    assert.match(e.message, message);
    return true;
  });
}

describe('compile stages', () => {
  test('semantic analysis finds every fault that needs no event, at its position', () => {
    for (const [query, code, line, column, message] of staticFaults) {
      rejected(() => analyzeQuery(parseQuery(query), known), code, line, column, message);
      rejected(() => compileQuery(query, known), code, line, column, message);
    }
  });

  test('compileQuery builds no pipeline: parse, analyze, plan', () => {
    const source = readFileSync(new URL('../../src/query/compile-query.ts', import.meta.url), 'utf8');
    assert.doesNotMatch(source, /buildPipeline|build-pipeline/);
  });

  test('a query that compiles builds its runners, constants folded once', () => {
    const query = compileQuery(
      `SELECT (1 + 1) * 2 AS four, COUNT(*) AS n, System.Timestamp() AS t FROM input TIMESTAMP BY time
       GROUP BY 1 + 1, TumblingWindow(second, 1)`,
    );
    const rows: unknown[] = [];
    const runner = query.createRunner({ onRow: (_output, row) => rows.push({ four: row.four, n: row.n }) });
    runner.push('input', { time: '2023-01-01T00:00:00.5Z' });
    runner.end();
    assert.deepEqual(rows, [{ four: 4, n: 1 }]);
  });
});
