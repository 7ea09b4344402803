import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixtures = 'test/query/fixtures';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'query', 'run', ...args], { cwd: root, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('omnistream query run', () => {
  test('prints one JSON line per output row in emission order; a malformed line is reported and skipped', () => {
    const r = cli(`${fixtures}/toll.saql`, '--input', `Entry=${fixtures}/entry.jsonl`, '--reference', `Booths=${fixtures}/booths.csv`);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').map((l) => JSON.parse(l)), [
      { output: 'counts', row: { WindowEnd: '2023-01-01T00:00:10.0000000Z', TollId: 1, City: 'Seattle', Cars: 3 } },
      { output: 'counts', row: { WindowEnd: '2023-01-01T00:00:10.0000000Z', TollId: 2, City: 'Redmond, WA', Cars: 1 } },
      { output: 'counts', row: { WindowEnd: '2023-01-01T00:00:20.0000000Z', TollId: 2, City: 'Redmond, WA', Cars: 1 } },
    ]);
    assert.match(r.stderr, /input Entry \(.*entry\.jsonl\) line 3: malformed JSON/);
  });

  test('--on-bad-line fail stops with exit code 1 and the line number', () => {
    const r = cli(`${fixtures}/toll.saql`, '--input', `Entry=${fixtures}/entry.jsonl`, '--reference', `Booths=${fixtures}/booths.csv`, '--on-bad-line', 'fail');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /line 3: malformed JSON/);
    assert.equal(r.stdout, '');
  });

  test('a query error exits 2 with file:line:column and no stack trace', () => {
    const r = cli(`${fixtures}/bad.saql`, '--input', `Entry=${fixtures}/entry.jsonl`);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `${fixtures}/bad.saql:4:1: error SYNTAX_ERROR: expected ')' but found end of query\n`);
  });

  test('JSON array input, arrival from EventEnqueuedUtcTime, policy flags', () => {
    const r = cli(`${fixtures}/late.saql`, '--input', `input=${fixtures}/late.json`, '--late-arrival-tolerance', '00:00:15');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').map((l) => JSON.parse(l).row), [
      { ts: '2023-01-01T12:00:45.0000000Z', id: 1 },
    ]);
    const dropped = cli(`${fixtures}/late.saql`, '--input', `input=${fixtures}/late.json`, '--late-arrival-tolerance', '15s', '--out-of-order-action', 'drop');
    assert.equal(dropped.stdout, '');
    assert.match(dropped.stderr, /LATE_EVENT_DROPPED/);
  });

  test('out of order: adjusted to the watermark by default, dropped with --out-of-order-action drop, reordered within --out-of-order-tolerance', () => {
    // Event 2 is 3 s behind event 1: within the 5 s late-arrival default, behind the 0 s out-of-order one.
    const rows = (r: { code: number | null; stdout: string; stderr: string }) => {
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim().split('\n').map((l) => JSON.parse(l).row as unknown);
    };
    const args = [`${fixtures}/ordering.saql`, '--input', `input=${fixtures}/ordering.jsonl`];
    assert.deepEqual(rows(cli(...args)), [
      { id: 1, ts: '2023-01-01T12:00:10.0000000Z' },
      { id: 2, ts: '2023-01-01T12:00:10.0000000Z' },
      { id: 3, ts: '2023-01-01T12:00:12.0000000Z' },
    ]);
    const dropped = cli(...args, '--out-of-order-action', 'drop');
    assert.deepEqual(rows(dropped), [
      { id: 1, ts: '2023-01-01T12:00:10.0000000Z' },
      { id: 3, ts: '2023-01-01T12:00:12.0000000Z' },
    ]);
    assert.equal(dropped.stderr.match(/OUT_OF_ORDER_EVENT_DROPPED/g)?.length, 1);
    assert.deepEqual(rows(cli(...args, '--out-of-order-tolerance', '5s')), [
      { id: 2, ts: '2023-01-01T12:00:07.0000000Z' },
      { id: 1, ts: '2023-01-01T12:00:10.0000000Z' },
      { id: 3, ts: '2023-01-01T12:00:12.0000000Z' },
    ]);
    // 3 s behind is past a 2 s tolerance.
    assert.deepEqual(rows(cli(...args, '--out-of-order-tolerance', '00:00:02', '--out-of-order-action', 'drop')), [
      { id: 1, ts: '2023-01-01T12:00:10.0000000Z' },
      { id: 3, ts: '2023-01-01T12:00:12.0000000Z' },
    ]);
  });

  test('JSON references, as JSON lines or a JSON array, keep their types: the number 1 joins 1, not \'1\'', () => {
    for (const file of ['products.jsonl', 'products.json']) {
      const r = cli(`${fixtures}/products.saql`, '--input', `input=${fixtures}/orders.jsonl`, '--reference', `products=${fixtures}/${file}`);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout.trim().split('\n').map((l) => JSON.parse(l)), [
        { output: 'output', row: { sku: 1, name: 'Tea', amount: 5 } },
        { output: 'output', row: { sku: 2, name: 'Coffee', amount: 3 } },
      ], file);
    }
  });

  test('a malformed JSON reference exits 1 naming the file', () => {
    const r = cli(`${fixtures}/products.saql`, '--input', `input=${fixtures}/orders.jsonl`, '--reference', `products=${fixtures}/ordering.saql`);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /reference test\/query\/fixtures\/ordering\.saql: malformed JSON/);
    assert.equal(r.stdout, '');
  });

  test('an idle input: its window closes once arrival time − 5 s passes the end, between the other input\'s rows', () => {
    const r = cli(`${fixtures}/idle.saql`, '--input', `StoreA=${fixtures}/store-a.jsonl`, '--input', `StoreB=${fixtures}/store-b.jsonl`);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').map((l) => JSON.parse(l)), [
      { output: 'live', row: { id: 1 } },
      { output: 'live', row: { id: 2 } },
      // At 16 s of arrival time, StoreA's watermark is 16 − 5 = 11 > 10: its window is emitted.
      { output: 'perWindow', row: { store: 'A', sales: 1, WindowEnd: '2023-01-01T00:00:10.0000000Z' } },
      { output: 'live', row: { id: 3 } },
      { output: 'live', row: { id: 4 } },
    ]);
  });

  test('usage errors exit 64 with the reason and the usage', () => {
    const missing = cli();
    assert.equal(missing.code, 64);
    assert.match(missing.stderr, /^omnistream: missing the query file\nusage: omnistream query run FILE\.saql/);
    const noName = cli(`${fixtures}/toll.saql`, '--input', 'nofile');
    assert.equal(noName.code, 64);
    assert.match(noName.stderr, /^omnistream: --input takes NAME=FILE, not 'nofile'\n/);
    const badAction = cli(`${fixtures}/toll.saql`, '--input', 'a=b', '--out-of-order-action', 'sometimes');
    assert.equal(badAction.code, 64);
    assert.match(badAction.stderr, /^omnistream: --out-of-order-action takes adjust or drop, not 'sometimes'\n/);
    assert.equal(cli(`${fixtures}/toll.saql`, '--input', 'a=b', '--out-of-order-tolerance', '-1s').code, 64);
  });
});
