import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { compileQuery, QueryError } from '../../src/query/index.js';
import { runQuery, t } from './run-query.js';

/** Every spelling of every unit, as the Stream Analytics reference and its examples write them. */
const timeUnits = {
  day: ['day', 'days', 'dd', 'd'],
  hour: ['hour', 'hours', 'hh'],
  minute: ['minute', 'minutes', 'mi', 'n'],
  second: ['second', 'seconds', 'ss', 's'],
  millisecond: ['millisecond', 'milliseconds', 'ms'],
  microsecond: ['microsecond', 'microseconds', 'mcs'],
} as const;
const calendarParts = {
  year: ['year', 'yy', 'yyyy'],
  quarter: ['quarter', 'qq', 'q'],
  month: ['month', 'mm', 'm'],
  dayofyear: ['dayofyear', 'dy', 'y'],
  week: ['week', 'wk', 'ww'],
  weekday: ['weekday', 'dw', 'w'],
} as const;
const unitList = 'day, hour, minute, second, millisecond, microsecond';
/** A size of each unit that makes a valid window (whole milliseconds, at most 7 days). */
const windowSize = { day: 1, hour: 2, minute: 3, second: 4, millisecond: 5, microsecond: 6000 } as const;

function rejects(text: string, code: string, line: number, column: number, message: RegExp): void {
  assert.throws(() => compileQuery(text), (e: unknown) => {
    assert.ok(e instanceof QueryError, String(e));
    assert.deepEqual([e.code, e.position], [code, { line, column }], e.message);
    assert.match(e.message, message);
    return true;
  });
}

describe('time units: one table for every clause that takes a unit', () => {
  test('every spelling of a time unit is accepted by windows, LIMIT DURATION, ISFIRST and stream joins', () => {
    for (const [unit, spellings] of Object.entries(timeUnits)) {
      for (const s of spellings) {
        const size = windowSize[unit as keyof typeof windowSize];
        for (const q of [
          `SELECT COUNT(*) FROM input GROUP BY TumblingWindow(${s}, ${size})`,
          `SELECT COUNT(*) FROM input GROUP BY HoppingWindow(Duration(${s}, ${size}), Hop(${s}, ${size}), Offset(${s}, 0))`,
          `SELECT LAST(a) OVER (LIMIT DURATION(${s}, 1)) FROM input`,
          `SELECT ISFIRST(${s}, 1) FROM input`,
          `SELECT a.x FROM a JOIN b ON DATEDIFF(${s}, a, b) BETWEEN 0 AND 1`,
        ]) assert.doesNotThrow(() => compileQuery(q), q);
      }
    }
  });

  test('every spelling of a date part means that part in DATEADD', () => {
    const time = '2023-01-31T10:20:30.400Z';
    for (const [part, spellings] of Object.entries({ ...timeUnits, ...calendarParts })) {
      const expected = runQuery(`SELECT DATEADD(${part}, 3000, time) AS v FROM input`, [{ time }]).rows[0]?.row.v;
      for (const s of spellings) {
        assert.deepEqual(runQuery(`SELECT DATEADD(${s}, 3000, time) AS v FROM input`, [{ time }]).rows[0]?.row.v, expected, s);
      }
    }
  });

  test('a stream join bound is measured in its unit, microseconds and plurals included', () => {
    const matches = (unit: string, high: number, apartMs: number) => runQuery(
      `SELECT a.id FROM a TIMESTAMP BY time JOIN b TIMESTAMP BY time ON a.id = b.id AND DATEDIFF(${unit}, a, b) BETWEEN 0 AND ${high}`,
      [['a', { id: 1, time: t(1) }], ['b', { id: 1, time: new Date(Date.parse(t(1)) + apartMs).toISOString() }]],
    ).rows.length;
    assert.equal(matches('mcs', 1000, 1), 1);
    assert.equal(matches('mcs', 1000, 2), 0);
    assert.equal(matches('seconds', 2, 2000), 1);
    assert.equal(matches('seconds', 2, 2001), 0);
  });

  test('DATEDIFF between two sources counts microseconds exactly', () => {
    const { rows } = runQuery(
      `SELECT DATEDIFF(microsecond, a, b) AS us FROM a TIMESTAMP BY time JOIN b TIMESTAMP BY time ON a.id = b.id AND DATEDIFF(ms, a, b) BETWEEN 0 AND 5`,
      [['a', { id: 1, time: '2023-01-01T00:00:00.000Z' }], ['b', { id: 1, time: '2023-01-01T00:00:00.003Z' }]],
    );
    assert.deepEqual(rows.map((r) => r.row), [{ us: 3000 }]);
  });

  test('a word that is no time unit is rejected where it is written, and the message lists the units', () => {
    const units = new RegExp(`\\(${unitList}\\)`);
    rejects('SELECT COUNT(*) FROM input GROUP BY TumblingWindow(fortnight, 1)', 'INVALID_ARGUMENT', 1, 52, units);
    rejects('SELECT COUNT(*) FROM input GROUP BY TumblingWindow(month, 1)', 'INVALID_ARGUMENT', 1, 52, units);
    rejects('SELECT COUNT(*) FROM input GROUP BY SlidingWindow(Duration(weeks, 1))', 'INVALID_ARGUMENT', 1, 60, units);
    rejects('SELECT LAG(a) OVER (LIMIT DURATION(fortnight, 1)) FROM input', 'SYNTAX_ERROR', 1, 36, units);
    rejects('SELECT ISFIRST(fortnight, 1) FROM input', 'INVALID_ARGUMENT', 1, 16, units);
    rejects('SELECT DATEADD(fortnight, 1, t) FROM input', 'INVALID_ARGUMENT', 1, 16,
      /\(year, quarter, month, dayofyear, day, week, weekday, hour, minute, second, millisecond, microsecond\)/);
    rejects('SELECT DATEDIFF(month, a, b) FROM a JOIN b ON DATEDIFF(second, a, b) BETWEEN 0 AND 1', 'INVALID_ARGUMENT', 1, 17,
      /day, hour, minute, second, millisecond or microsecond/);
  });

  test('docs/query-language.md lists every spelling of every time unit', () => {
    const page = readFileSync(new URL('../../docs/query-language.md', import.meta.url), 'utf8');
    for (const spellings of Object.values(timeUnits)) assert.ok(page.includes(`\`${spellings.join('|')}\``), spellings.join('|'));
  });
});
