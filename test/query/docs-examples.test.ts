// Every example of docs/query-language.md, run through `omnistream query run` (in process) and
// compared with the output the page shows.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { queryRunCommand } from '../../src/cli/query-run.js';
import { queryErrorCatalogue } from '../../src/query/index.js';

interface Example {
  readonly name: string;
  readonly query: string;
  /** Inputs and references; `udf` / `uda`: a JavaScript function file (```js udf=NAME). */
  readonly files: { readonly kind: 'input' | 'reference' | 'udf' | 'uda'; readonly name: string; readonly ext: string; readonly text: string }[];
  readonly output: string;
  /** More `query run` flags, from a ```text flags block (the event-ordering policy). */
  readonly flags: readonly string[];
}

function examplesOf(markdown: string): Example[] {
  const parts = markdown.split(/<!-- example: ([\w-]+) -->/).slice(1);
  const examples: Example[] = [];
  for (let i = 0; i < parts.length; i += 2) {
    const name = parts[i]!;
    const body = parts[i + 1]!.split(/\n## |\n### /)[0]!;
    let query = '';
    let output = '';
    let flags: string[] = [];
    const files: Example['files'][number][] = [];
    for (const m of body.matchAll(/```(\w+)([^\n]*)\n([\s\S]*?)```/g)) {
      const [, lang, info, text] = m as unknown as [string, string, string, string];
      const attr = /(input|reference|udf|uda)=(\w+)/.exec(info);
      if (lang === 'sql') query = text;
      else if (attr) files.push({ kind: attr[1] as Example['files'][number]['kind'], name: attr[2]!, ext: lang === 'csv' || lang === 'js' || lang === 'json' ? lang : 'jsonl', text });
      else if (info.trim() === 'output') output = text;
      else if (info.trim() === 'flags') flags = text.trim().split(/\s+/);
    }
    examples.push({ name, query, files, output, flags });
  }
  return examples;
}

async function run(example: Example): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'omnistream-docs-'));
  writeFileSync(join(dir, 'query.saql'), example.query);
  const args = [join(dir, 'query.saql')];
  for (const f of example.files) {
    const path = join(dir, `${f.name}.${f.ext}`);
    writeFileSync(path, f.text);
    args.push(`--${f.kind}`, `${f.name}=${path}`);
  }
  args.push(...example.flags);
  let stdout = '', stderr = '';
  const sink = (append: (s: string) => void) => new Writable({ write(chunk, _e, done) { append(String(chunk)); done(); } });
  const code = await queryRunCommand(args, { stdout: sink((s) => { stdout += s; }), stderr: sink((s) => { stderr += s; }) });
  return { code, stdout, stderr };
}

const markdown = readFileSync(new URL('../../docs/query-language.md', import.meta.url), 'utf8');
const examples = examplesOf(markdown);

describe('docs/query-language.md examples', () => {
  test('the page has an example per feature', () => {
    assert.ok(examples.length >= 18, `${examples.length} examples`);
  });
  test('the page documents every query error code', () => {
    for (const code of Object.keys(queryErrorCatalogue)) assert.ok(markdown.includes(`\`${code}\``), code);
  });
  for (const example of examples) {
    test(example.name, async () => {
      const { code, stdout, stderr } = await run(example);
      assert.equal(code, 0, stderr);
      const lines = (s: string) => s.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown);
      assert.deepEqual(lines(stdout), lines(example.output));
    });
  }
});
