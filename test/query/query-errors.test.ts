import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileQuery, QueryError, type QueryErrorCode } from '../../src/query/index.js';
import { rowsOf } from './run-query.js';

function fails(text: string, code: QueryErrorCode, line: number, column: number, message?: RegExp, known = {}): void {
  assert.throws(() => compileQuery(text, known), (e: unknown) => {
    assert.ok(e instanceof QueryError, `a QueryError, not ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.deepEqual(e.position, { line, column }, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}

describe('parser', () => {
  test('keywords and identifiers are case-insensitive; [brackets], comments and quotes are understood', () => {
    const rows = rowsOf(
      `select [Count], "time" AS T, 'it''s' AS quote -- a comment
       /* a block
          comment */ From INPUT Where [count] > 1`,
      [{ Count: 2, time: 'x' }, { Count: 1, time: 'y' }],
    );
    assert.deepEqual(rows, [{ Count: 2, T: 'x', quote: "it's" }]);
  });

  test('syntax errors name line:column and what was expected', () => {
    fails('SELECT a\nFROM input\nWHERE a = ', 'SYNTAX_ERROR', 3, 11, /expected an expression but found end of query/);
    fails('SELECT a FROM input GROUP a', 'SYNTAX_ERROR', 1, 27, /expected BY but found 'a'/);
    fails('SELECT a,\n  FROM input', 'SYNTAX_ERROR', 2, 3, /expected an expression/);
    fails("SELECT 'abc FROM input", 'UNTERMINATED_STRING', 1, 8);
    fails('SELECT [abc FROM input', 'UNTERMINATED_IDENTIFIER', 1, 8);
    fails('SELECT a ` b FROM input', 'UNEXPECTED_CHARACTER', 1, 10);
    fails('SELECT CAST(a AS integer) FROM input', 'SYNTAX_ERROR', 1, 18, /a type/);
    fails('SELECT a FROM input RIGHT JOIN b ON a = b', 'SYNTAX_ERROR', 1, 21);
  });

  test('window arguments are checked', () => {
    fails('SELECT COUNT(*) FROM input GROUP BY TumblingWindow(fortnight, 1)', 'INVALID_ARGUMENT', 1, 52);
    fails('SELECT COUNT(*) FROM input GROUP BY TumblingWindow(second, 0)', 'INVALID_ARGUMENT', 1, 60);
    fails('SELECT COUNT(*) FROM input GROUP BY HoppingWindow(second, 5, 10)', 'INVALID_ARGUMENT', 1, 62, /hop/);
    fails('SELECT COUNT(*) FROM input GROUP BY TumblingWindow(day, 8)', 'INVALID_ARGUMENT', 1, 57, /7 days/);
  });
});

describe('semantic checks', () => {
  const known = { inputs: ['input', 'other'], references: ['products'], outputs: ['out'] };

  test('unknown inputs, outputs and step columns', () => {
    fails('SELECT a INTO out FROM nowhere', 'UNKNOWN_INPUT', 1, 24, /unknown input nowhere/, known);
    fails('SELECT a INTO elsewhere FROM input', 'UNKNOWN_OUTPUT', 1, 15, undefined, known);
    fails('WITH s AS (SELECT a, b AS c FROM input)\nSELECT d INTO out FROM s', 'UNKNOWN_COLUMN', 2, 8, /unknown column d/, known);
    fails('WITH s AS (SELECT a FROM input) SELECT x.ArrayValue, x.Nope FROM s CROSS APPLY GetArrayElements(s.a) AS x', 'UNKNOWN_COLUMN', 1, 56);
  });

  test('aggregates need a window and belong in SELECT or HAVING', () => {
    fails('SELECT COUNT(*) AS n FROM input', 'AGGREGATE_WITHOUT_WINDOW', 1, 8);
    fails('SELECT a FROM input WHERE SUM(a) > 1', 'AGGREGATE_NOT_ALLOWED', 1, 27);
    fails('SELECT a, COUNT(*) FROM input GROUP BY a', 'MISSING_WINDOW', 1, 31);
    fails('SELECT a, b, COUNT(*) FROM input GROUP BY a, TumblingWindow(second, 1)', 'COLUMN_NOT_GROUPED', 1, 11);
    fails('SELECT SUM(MAX(a)) FROM input GROUP BY TumblingWindow(second, 1)', 'AGGREGATE_NOT_ALLOWED', 1, 12);
  });

  test('every spelling of every window kind is a window in GROUP BY, and nowhere else', () => {
    const windows = [
      ['TumblingWindow', 'second, 10'], ['Tumbling', 'second, 10'], ['HoppingWindow', 'second, 10, 5'], ['Hopping', 'second, 10, 5'],
      ['SlidingWindow', 'second, 10'], ['Sliding', 'second, 10'], ['SessionWindow', 'second, 10, 60'], ['Session', 'second, 10, 60'],
    ] as const;
    for (const [name, args] of windows) {
      assert.doesNotThrow(() => compileQuery(`SELECT COUNT(*) FROM input GROUP BY ${name}(${args})`), name);
      fails(`SELECT ${name}(${args}) FROM input`, 'WINDOW_NOT_ALLOWED', 1, 8, new RegExp(`${name} is a window`));
    }
    fails('SELECT COUNT(*) FROM input GROUP BY Windows(Window(\'a\', TumblingWindow(second, 1)))', 'UNSUPPORTED', 1, 37);
    fails("SELECT COUNT(*) FROM input GROUP BY Window('a', TumblingWindow(second, 1))", 'UNSUPPORTED', 1, 37);
    fails("SELECT Window('a', TumblingWindow(second, 1)) FROM input", 'WINDOW_NOT_ALLOWED', 1, 8);
    fails('SELECT a, COUNT(*) FROM input GROUP BY a', 'MISSING_WINDOW', 1, 31,
      /needs a window \(TumblingWindow, HoppingWindow, SlidingWindow, SessionWindow\) or System\.Timestamp\(\)/);
  });

  test('windows belong in GROUP BY; analytic functions need LIMIT DURATION', () => {
    fails('SELECT TumblingWindow(second, 1) FROM input', 'WINDOW_NOT_ALLOWED', 1, 8);
    fails('SELECT LAG(a) OVER (PARTITION BY b) FROM input', 'MISSING_LIMIT_DURATION', 1, 8);
    fails('SELECT a FROM input TIMESTAMP BY LAG(t) OVER (LIMIT DURATION(second, 1))', 'ANALYTIC_NOT_ALLOWED', 1, 34);
    fails('SELECT i.a FROM input i JOIN other o ON DATEDIFF(second, i, o) BETWEEN 0 AND 1 WHERE LAG(o.a) OVER (LIMIT DURATION(second, 1)) > 0', 'ANALYTIC_NOT_ALLOWED', 1, 90, /FROM source only/);
    fails('SELECT TopOne() FROM input GROUP BY TumblingWindow(second, 1)', 'SYNTAX_ERROR', 1, 8, /ORDER BY/);
  });

  test('joins: reference data only on the right; stream joins need a DATEDIFF bound', () => {
    fails('SELECT * FROM products', 'REFERENCE_NOT_ALLOWED', 1, 15, undefined, known);
    fails('SELECT * FROM input i JOIN other o ON i.a = o.a', 'JOIN_WITHOUT_TIME_BOUND', 1, 23, undefined, known);
    fails('SELECT * FROM input i JOIN products p TIMESTAMP BY t ON i.a = p.a', 'TIMESTAMP_BY_NOT_ALLOWED', 1, 52, undefined, known);
  });

  test('unknown functions and wrong argument counts', () => {
    fails('SELECT FROBNICATE(a) FROM input', 'UNKNOWN_FUNCTION', 1, 8);
    fails('SELECT SUBSTRING(a, 1) FROM input', 'WRONG_ARGUMENT_COUNT', 1, 8, /takes 3 arguments/);
    fails('SELECT DATEADD(fortnight, 1, a) FROM input', 'INVALID_ARGUMENT', 1, 16, /date part/);
    fails('WITH s AS (SELECT a FROM input), S AS (SELECT a FROM input) SELECT a FROM s', 'DUPLICATE_NAME', 1, 34);
  });
});
