// The query engine's folders import one way, in the order src/query/index.ts states, and the
// engine imports no Node module: it stays pure, and each stage can be understood without the
// stages built on it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../src/query/', import.meta.url));
const src = resolve(root, '..');

/** Folders from highest to lowest, as the comment in index.ts lists them; '' is src/query itself. */
function folderOrder(): string[] {
  const text = readFileSync(join(root, 'index.ts'), 'utf8');
  return [...text.matchAll(/^\/\/ {3}(\(this folder\)|[\w-]+\/) /gm)].map((m) => (m[1] === '(this folder)' ? '' : m[1]!.slice(0, -1)));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

/** Every module specifier a file imports or re-exports, type-only ones included. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\s)(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'|import\s*\(?\s*'([^']+)'/g)].map((m) => m[1] ?? m[2]!);
}

const order = folderOrder();
const files = sourceFiles(root);
const folderOf = (file: string) => relative(root, dirname(file)).split('/')[0]!;

describe('src/query imports', () => {
  test('index.ts lists every folder once', () => {
    const folders = [...new Set(files.map(folderOf))].sort();
    assert.deepEqual([...order].sort(), folders);
  });

  test('a folder imports only from the folders below it', () => {
    const upward: string[] = [];
    for (const file of files) {
      for (const specifier of importsOf(file)) {
        if (!specifier.startsWith('.')) continue;
        const target = resolve(dirname(file), specifier);
        if (!target.startsWith(root)) continue;
        const from = folderOf(file), to = folderOf(target);
        if (from !== to && order.indexOf(to) <= order.indexOf(from)) upward.push(`${relative(src, file)} imports ${specifier}`);
      }
    }
    assert.deepEqual(upward, []);
  });

  test('no Node module, and nothing outside the engine but the pure domain (src/core)', () => {
    const outside: string[] = [];
    for (const file of files) {
      for (const specifier of importsOf(file)) {
        const target = specifier.startsWith('.') ? resolve(dirname(file), specifier) : null;
        const allowed = target !== null && (target.startsWith(root) || target.startsWith(join(src, 'core') + '/'));
        if (!allowed) outside.push(`${relative(src, file)} imports ${specifier}`);
      }
    }
    assert.deepEqual(outside, []);
  });
});
