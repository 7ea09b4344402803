// Keeps the layers of ARCHITECTURE §2: this is the one place the layer order is written.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { checkImports, readImports, type Import, type Rules } from './import-graph.js';

export const RULES: Rules = {
  layers: [
    ['cli.ts', 'cli'],
    ['app.ts', 'storage.ts', 'demo'],
    // Features: each hands the HTTP shell its routes; app.ts mounts them.
    ['ingest', 'feed', 'registry', 'jobs', 'recs', 'dashboard'],
    ['log', 'auth', 'http', 'config', 'tls'],
    // What features build on: the engine, reference data, output sinks, metrics and logs; the
    // sandbox that runs the engine's JavaScript functions (the engine itself stays pure).
    ['query', 'reference', 'outputs', 'telemetry', 'scripting'],
    // The PostgreSQL plumbing the adapters share: pools, errors, schema migrations.
    ['postgres'],
    ['core'],
  ],
  pure: ['core', 'query'],
  // Buffer utilities are not I/O.
  allowedNodeModules: ['node:buffer'],
};

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

test('src/ keeps its layers: imports run downward, no folder cycles, core/ and query/ pure', () => {
  const imports = readImports(SRC);
  assert.ok(imports.length > 100, 'the import graph was read');
  assert.deepEqual(checkImports(imports, RULES), []);
});

describe('the import-graph check itself', () => {
  const imp = (from: string, to: string): Import => ({ from, to, external: false });
  const base: Import[] = [imp('app.ts', 'feed/feed.ts'), imp('feed/feed.ts', 'log/event-log.ts'), imp('log/event-log.ts', 'core/message.ts')];

  test('passes a graph that runs downward', () => {
    assert.deepEqual(checkImports(base, RULES), []);
  });

  test('fails an upward import, naming both files and layers', () => {
    const problems = checkImports([...base, imp('log/sqlite-event-log.ts', 'feed/wire-message.ts')], RULES);
    assert.match(problems[0]!, /log\/sqlite-event-log\.ts imports feed\/wire-message\.ts: log \(layer 4\) may not import feed \(layer 3\)/);
    assert.match(problems[1]!, /import cycle between feed, log/, 'it closes a cycle too');
    assert.equal(problems.length, 2);
    assert.deepEqual(checkImports([imp('jobs.ts', 'ingest/x.ts'), imp('cli.ts', 'jobs.ts')], { ...RULES, layers: [['cli.ts'], ['ingest'], ['jobs.ts']] }).length, 1,
      'an upward import without a cycle is found too');
  });

  test('fails a cycle between sibling folders, at any depth', () => {
    const top = checkImports([...base, imp('ingest/ingestion.ts', 'registry/registry.ts'), imp('registry/registry-routes.ts', 'ingest/rate-limiter.ts')], RULES);
    assert.equal(top.length, 1);
    assert.match(top[0]!, /import cycle between ingest, registry/);
    const nested = checkImports([imp('query/runtime/build.ts', 'query/operators/filter.ts'), imp('query/operators/filter.ts', 'query/runtime/frame.ts')], RULES);
    assert.match(nested.join('\n'), /import cycle between query\/operators, query\/runtime/);
    assert.deepEqual(checkImports([imp('query/a.ts', 'query/b.ts'), imp('query/b.ts', 'query/a.ts')], RULES), [], 'files of one folder may use each other');
  });

  test('fails Node I/O or a package in a pure layer, and a folder in no layer', () => {
    const problems = checkImports([{ from: 'core/x.ts', to: 'node:fs', external: true }, { from: 'query/y.ts', to: 'yaml', external: true }, imp('attic/old.ts', 'core/x.ts')], RULES);
    assert.equal(problems.length, 3);
    assert.match(problems.join('\n'), /core\/x\.ts imports node:fs/);
    assert.match(problems.join('\n'), /query\/y\.ts imports yaml/);
    assert.match(problems.join('\n'), /attic is in no layer/);
    assert.deepEqual(checkImports([{ from: 'core/json-body.ts', to: 'node:buffer', external: true }], RULES), []);
  });
});
