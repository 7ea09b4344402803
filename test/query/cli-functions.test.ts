// `omnistream query run` with JavaScript functions and aggregates given as files, and a geofence
// joined against a JSON reference file: through the real command line, as a user runs it.
// (broken.js.txt does not parse, on purpose: the .txt keeps it from the linter.)
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = 'test/query/fixtures/functions';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'query', 'run', ...args], { cwd: root, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, rows: r.stdout.trim() === '' ? [] : r.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown) };
}

const baskets = [`${dir}/baskets.saql`, '--input', `input=${dir}/baskets.jsonl`];

describe('omnistream query run --udf / --uda', () => {
  test('a UDF and a UDA from files; a UDF that loops is stopped at --function-time-limit, a warning per event, and the run goes on', () => {
    const r = cli(...baskets, '--udf', `hex2int=${dir}/hex2int.js`, '--udf', `spin=${dir}/spin.js`, '--uda', `basketSum=${dir}/basket-sum.js`, '--function-time-limit', '20ms');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.rows, [
      { output: 'codes', row: { code: 'ff', n: 255, s: 1 } },
      { output: 'codes', row: { code: '0a', n: 10, s: null } },
      { output: 'codes', row: { code: '10', n: 16, s: 1 } },
      // 19.9 + 5.5 · 2 in Oslo, 12 in Bergen; then 3.25 · 4.
      { output: 'baskets', row: { WindowEnd: '2024-03-01T10:01:00.0000000Z', store: 'Oslo', value: 30.9, builtin: 30.9, lines: 2 } },
      { output: 'baskets', row: { WindowEnd: '2024-03-01T10:01:00.0000000Z', store: 'Bergen', value: 12, builtin: 12, lines: 1 } },
      { output: 'codes', row: { code: '01', n: 1, s: null } },
      { output: 'baskets', row: { WindowEnd: '2024-03-01T10:02:00.0000000Z', store: 'Oslo', value: 13, builtin: 13, lines: 1 } },
    ]);
    assert.equal(r.stderr, [
      'warning: USER_FUNCTION_TIMED_OUT: udf.spin: ran longer than its limit of 20 ms and was stopped (query 6:38)',
      'warning: USER_FUNCTION_TIMED_OUT: udf.spin: ran longer than its limit of 20 ms and was stopped (query 6:38)',
      '',
    ].join('\n'));
  });

  test('a function file that does not parse exits 2 with its file:line:column, before any row', () => {
    const r = cli(...baskets, '--udf', `hex2int=${dir}/broken.js.txt`, '--udf', `spin=${dir}/spin.js`, '--uda', `basketSum=${dir}/basket-sum.js`);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `${dir}/broken.js.txt:2:13: error INVALID_FUNCTION_FILE: not valid JavaScript: Unexpected token\n`);
  });

  test('a function the query calls but was not given exits 2, naming it and those given', () => {
    const r = cli(...baskets, '--udf', `spin=${dir}/spin.js`, '--uda', `basketSum=${dir}/basket-sum.js`);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `${dir}/baskets.saql:6:14: error UNKNOWN_FUNCTION: unknown function UDF.Hex2Int; the query was given udf.spin\n`);
  });

  test('a missing file, and NAME=FILE spelled wrong', () => {
    const missing = cli(...baskets, '--udf', `hex2int=${dir}/nope.js`);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read udf hex2int file .*nope\.js: ENOENT/);
    assert.equal(cli(...baskets, '--udf', 'hex2int').code, 64);
  });
});

describe('omnistream query run: a geofence against a JSON reference file', () => {
  test('shoppers within a store\'s polygon (GeoJSON or WKT), with their distance from its entrance', () => {
    const r = cli(`${dir}/geofence.saql`, '--input', `positions=${dir}/positions.jsonl`, '--reference', `stores=${dir}/stores.json`);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.rows as { row: { shopper: string; store: string; metresFromEntrance: number } }[];
    assert.deepEqual(rows.map((x) => [x.row.shopper, x.row.store]), [['s1', 'Oslo'], ['s3', 'Bergen']]);
    assert.equal(rows[0]!.row.metresFromEntrance, 0);
    // 0.0005° of latitude north of the entrance, at 60.39° N: 55.7 m on the ellipsoid.
    assert.ok(Math.abs(rows[1]!.row.metresFromEntrance - 55.71) < 0.01, String(rows[1]!.row.metresFromEntrance));
  });
});
