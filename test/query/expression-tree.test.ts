// children(expression) is the one way the engine walks an expression tree.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseQuery } from '../../src/query/syntax/parser.js';
import { children, type Expression } from '../../src/query/syntax/ast.js';
import { compileQuery, QueryError } from '../../src/query/index.js';

/** The columns of an expression, depth first, in the order children() gives them. */
function columnsOf(e: Expression): string[] {
  return e.kind === 'column' ? [e.path.map((p) => p.name).join('.')] : children(e).flatMap(columnsOf);
}

function selectList(text: string): Expression[] {
  const [statement] = parseQuery(text).statements;
  assert.ok(statement?.kind === 'select');
  return statement.items.flatMap((item) => (item.kind === 'expression' ? [item.expression] : []));
}

describe('children(expression)', () => {
  test('gives every sub-expression of every kind, in the order written', () => {
    const items = selectList(`SELECT
      -a, b + c, d BETWEEN e AND f, g IN (h, i), j LIKE k, l IS NULL, CAST(m AS bigint),
      CASE n WHEN o THEN p ELSE q END, CASE WHEN r THEN s END,
      LAG(t, 1, u) OVER (PARTITION BY v LIMIT DURATION(second, 1) WHEN w),
      TopOne(x) OVER (ORDER BY y DESC), COUNT(*), 1, System.Timestamp()
      FROM input`);
    assert.deepEqual(items.map(columnsOf), [
      ['a'], ['b', 'c'], ['d', 'e', 'f'], ['g', 'h', 'i'], ['j', 'k'], ['l'], ['m'],
      ['n', 'o', 'p', 'q'], ['r', 's'],
      ['t', 'u', 'v', 'w'],
      ['x', 'y'], [], [], [],
    ]);
  });

  test('walks reach System.Timestamp() wherever it is nested in TIMESTAMP BY', () => {
    for (const [by, column] of [['COALESCE(t, System.Timestamp())', 34], ['CASE WHEN a > 1 THEN t ELSE System.Timestamp() END', 34]] as const) {
      assert.throws(() => compileQuery(`SELECT * FROM input TIMESTAMP BY ${by}`), (e: unknown) =>
        e instanceof QueryError && e.code === 'TIMESTAMP_BY_NOT_ALLOWED' && e.position?.column === column);
    }
  });
});
