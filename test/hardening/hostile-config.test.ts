// Hostile queries and job configs, generated: `omnistream query run` (in process, exactly as the
// command line runs it) over mutated and random query texts, and config files whose jobs section
// is mutated, through the config loader and the query compiler as a starting server uses them.
// Each must end in a result or a clear error — exit code 0, 1 or 2 for the command; an
// invalid_argument OmniError from the loader; a QueryError from the compiler — never an
// exception of another kind (a crash of the command or of the server's start).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { queryRunCommand } from '../../src/cli/query-run.js';
import { loadConfig } from '../../src/config/index.js';
import { isOmniError } from '../../src/core/errors.js';
import { jobsConfigOf } from '../../src/jobs/jobs-config.js';
import { compileQuery, QueryError } from '../../src/query/index.js';

const SEED = Number(process.env.OMNISTREAM_FUZZ_SEED ?? Date.now() % 2 ** 31);
const SCALE = Number(process.env.OMNISTREAM_FUZZ_SCALE ?? 1);
const FIXTURES = new URL('../query/fixtures/', import.meta.url);
const DEMO = new URL('../../demo/queries/', import.meta.url);

const seeds = [
  readFileSync(new URL('toll.saql', FIXTURES), 'utf8'),
  readFileSync(new URL('late.saql', FIXTURES), 'utf8'),
  ...['channels', 'products', 'stores', 'tried-not-bought', 'fitting-rooms'].map((n) => readFileSync(new URL(`${n}.saql`, DEMO), 'utf8')),
];

const words = ['SELECT', 'FROM', 'WHERE', 'GROUP BY', 'HAVING', 'INTO', 'TIMESTAMP BY', 'OVER', 'JOIN', 'ON', 'UNION', 'WITH', 'AS', 'CASE', 'WHEN', 'END',
  'TumblingWindow(second, 0)', 'HoppingWindow(second, -1, 10)', 'SlidingWindow(day, 99999999999)', 'SessionWindow(ms, 1, 0)', 'COUNT(*)', 'LAG(x) OVER (LIMIT DURATION(hour, 1))',
  'CAST(x AS bigint)', 'CAST(\'1e999\' AS float)', 'DATEDIFF(second, a, b) BETWEEN 0 AND 5', 'System.Timestamp()', 'GetArrayElements(x)', 'CROSS APPLY', '(', ')', ',', '.', "'", '"', '[', ']',
  '--', '/*', '*/', '\u0000', '\uFFFF', '1/0', '9'.repeat(400), 'NULL', 'TOPONE() OVER (ORDER BY x)', 'PERCENTILE_CONT(2)', 'MATCH_RECOGNIZE', 'udf.f(1)', ';', '*', '%', '\\'];

/** Query texts: mutations of real ones (tokens deleted, repeated, swapped, cut short) and noise. */
const queryText = fc.oneof(
  fc.tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.nat(), fc.constantFrom('delete', 'insert', 'duplicate', 'truncate')), { minLength: 1, maxLength: 4 }), fc.constantFrom(...words))
    .map(([text, edits, word]) => edits.reduce((t, [a, b, op]) => {
      if (t.length === 0) return t;
      const i = a % t.length;
      const j = Math.min(t.length, i + (b % 20));
      switch (op) {
        case 'delete': return t.slice(0, i) + t.slice(j);
        case 'insert': return `${t.slice(0, i)} ${word} ${t.slice(i)}`;
        case 'duplicate': return t.slice(0, j) + t.slice(i, j) + t.slice(j);
        default: return t.slice(0, i);
      }
    }, text)),
  fc.array(fc.constantFrom(...words, 'x', 'e', 'Entry', 'Booths', 'counts', '1', "'a'"), { maxLength: 40 }).map((w) => w.join(' ')),
  fc.string({ maxLength: 300 }),
  fc.integer({ min: 1, max: 5_000 }).map((n) => `SELECT ${'('.repeat(n)}1${')'.repeat(n)} AS x INTO o FROM Entry`),
  fc.integer({ min: 1, max: 5_000 }).map((n) => `SELECT ${Array.from({ length: n }, () => '1').join(' + ')} AS x INTO o FROM Entry`),
  fc.integer({ min: 1, max: 500 }).map((n) => `${Array.from({ length: n }, (_, i) => `s${i} AS (SELECT * FROM ${i === 0 ? 'Entry' : `s${i - 1}`})`).join(',\n').replace(/^/, 'WITH ')}\nSELECT * INTO o FROM s${n - 1}`),
);

const sink = (): Writable & { text: string } => Object.assign(new Writable({ write(chunk, _enc, done) { (this as unknown as { text: string }).text += String(chunk); done(); } }), { text: '' });

describe(`hostile queries and job configs (seed ${SEED})`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'omnistream-hostile-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test(`${400 * SCALE} generated queries through omnistream query run: a result or exit code 1/2 with a message, never a crash`, async () => {
    const entry = new URL('entry.jsonl', FIXTURES).pathname;
    const booths = new URL('booths.csv', FIXTURES).pathname;
    const problems: string[] = [];
    let i = 0;
    for (const text of fc.sample(queryText, { numRuns: 400 * SCALE, seed: SEED })) {
      const file = join(dir, `q${i++ % 8}.saql`);
      writeFileSync(file, text);
      const out = sink();
      const err = sink();
      try {
        const code = await queryRunCommand([file, '--input', `Entry=${entry}`, '--reference', `Booths=${booths}`], { stdout: out, stderr: err });
        if (code !== 0 && code !== 1 && code !== 2) problems.push(`exit ${code} for ${JSON.stringify(text.slice(0, 200))}`);
        if (code !== 0 && err.text.trim() === '') problems.push(`exit ${code} with no message for ${JSON.stringify(text.slice(0, 200))}`);
        if (code === 2 && !/:\d+:\d+: error |: error /.test(err.text)) problems.push(`a query error without its position or code: ${err.text.slice(0, 200)}`);
      } catch (e) {
        problems.push(`${(e as Error).name}: ${(e as Error).message.slice(0, 200)} for ${JSON.stringify(text.slice(0, 200))}`);
      }
      if (problems.length > 10) break;
    }
    assert.deepEqual(problems, []);
  });

  /** A job entry with any of its settings replaced by generated JSON. */
  const jobEntry = fc.record({
    query: fc.oneof(queryText, fc.jsonValue({ maxDepth: 2 }), fc.constantFrom('./missing.saql', '../../../../etc/passwd.saql', '/dev/zero', dir)),
    inputs: fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 3 }), fc.dictionary(fc.string({ maxLength: 10 }), fc.record({ from: fc.oneof(fc.constant('log'), fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 1 })) }))),
    startFrom: fc.oneof(fc.constant(undefined), fc.constantFrom('earliest', 'latest', 'checkpoint', '2026-01-01T00:00:00Z', '2026-13-45T99:99:99Z', '', 'yesterday'), fc.jsonValue({ maxDepth: 1 })),
    eventOrdering: fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 2 }), fc.record({ lateArrival: fc.oneof(fc.string({ maxLength: 10 }), fc.integer()), outOfOrder: fc.oneof(fc.string({ maxLength: 10 }), fc.integer()), action: fc.string({ maxLength: 10 }) }, { requiredKeys: [] })),
    tenants: fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 1 })),
    checkpointInterval: fc.oneof(fc.constant(undefined), fc.string({ maxLength: 8 }), fc.integer()),
    deadLetters: fc.oneof(fc.constant(undefined), fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 1 })),
  }, { requiredKeys: ['query'] });
  const configFile = fc.record({
    jobs: fc.oneof(fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), jobEntry, { minKeys: 1, maxKeys: 3 }), fc.jsonValue({ maxDepth: 3 })),
    outputs: fc.oneof(fc.constant(undefined), fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.record({ type: fc.constantFrom('dashboard', 'log', 'file', 'webhook', 'nope'), url: fc.oneof(fc.constant(undefined), fc.string({ maxLength: 20 })), path: fc.oneof(fc.constant(undefined), fc.string({ maxLength: 20 })) }, { requiredKeys: ['type'] }), { maxKeys: 2 })),
  }, { requiredKeys: ['jobs'] });

  test(`${300 * SCALE} generated job configs through the config loader and the compiler: a config or an invalid_argument error, a compiled job or a QueryError`, async () => {
    const problems: string[] = [];
    let loaded = 0;
    for (const [n, value] of fc.sample(configFile, { numRuns: 300 * SCALE, seed: SEED + 1 }).entries()) {
      const file = join(dir, `config-${n % 8}.json`);
      writeFileSync(file, JSON.stringify({ dataDir: dir, ...value }));
      let config;
      try {
        config = loadConfig({ file, env: {} });
      } catch (e) {
        if (!isOmniError(e) || e.code !== 'invalid_argument') problems.push(`loader: ${(e as Error).name}: ${(e as Error).message.slice(0, 200)}`);
        continue;
      }
      loaded++;
      try {
        const { jobs } = await jobsConfigOf(config);
        for (const j of jobs.jobs) {
          try {
            compileQuery(j.queryText, { inputs: Object.keys(j.inputs), references: [], outputs: jobs.outputs.map((o) => o.name) });
          } catch (e) {
            if (!(e instanceof QueryError)) problems.push(`compile: ${(e as Error).name}: ${(e as Error).message.slice(0, 200)} for ${JSON.stringify(j.queryText.slice(0, 200))}`);
          }
        }
      } catch (e) {
        problems.push(`jobs config: ${(e as Error).name}: ${(e as Error).message.slice(0, 200)}`);
      }
      if (problems.length > 10) break;
    }
    assert.deepEqual(problems, []);
    assert.ok(loaded > 0, 'some generated configs are valid, so the compiler is reached');
  });
});
