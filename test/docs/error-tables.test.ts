// The docs promise that every error code, its status and its IoT Hub name come from one catalogue
// (src/core/errors.ts). Clients are written against the docs, so the two must not drift: a code
// missing from the docs, a documented code that does not exist, or a status that differs fails here.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { errorCatalogue, type ErrorCode } from '../../src/core/errors.js';

const DOCS = new URL('../../docs/', import.meta.url);
const FULL_TABLE_FILE = 'http-api.md';

interface Spec { readonly status: number; readonly iothubCode: string; readonly iothubStatus?: number }
const catalogue = errorCatalogue as Readonly<Record<ErrorCode, Spec>>;
const codes = Object.keys(catalogue) as ErrorCode[];
const isCode = (name: string): name is ErrorCode => Object.hasOwn(catalogue, name);
const iothubStatus = (spec: Spec) => spec.iothubStatus ?? spec.status;

interface Table {
  readonly where: string;
  /** Lower-cased header cells. */
  readonly headers: readonly string[];
  readonly rows: ReadonlyArray<{ readonly where: string; readonly cells: readonly string[] }>;
}

const docs = readdirSync(DOCS).filter((f) => f.endsWith('.md')).sort().map((file) => ({ file, text: readFileSync(new URL(file, DOCS), 'utf8') }));

/** The Markdown tables of a file: a header row, a `|---|` row, then body rows. */
function tablesOf(file: string, text: string): Table[] {
  const lines = text.split('\n');
  const cellsOf = (line: string) => line.trim().replace(/^\||\|$/g, '').split(/(?<!\\)\|/).map((c) => c.trim());
  const tables: Table[] = [];
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!lines[i]!.trim().startsWith('|') || !/^\|?\s*:?-{3,}/.test(lines[i + 1]!.trim())) continue;
    const headers = cellsOf(lines[i]!).map((h) => h.toLowerCase());
    const rows = [];
    let j = i + 2;
    for (; j < lines.length && lines[j]!.trim().startsWith('|'); j++) rows.push({ where: `${file}:${j + 1}`, cells: cellsOf(lines[j]!) });
    tables.push({ where: `${file}:${i + 1}`, headers, rows });
    i = j;
  }
  return tables;
}

/** `a`, `b` / c, d → [a, b, c, d]. */
const names = (cell: string) => cell.split(/[,/]/).map((n) => n.replace(/`/g, '').trim()).filter(Boolean);

/** Tables of errors: a status column beside a code column (ours) or an IoT Hub code column. */
const errorTables = docs.flatMap(({ file, text }) => tablesOf(file, text))
  .filter((t) => t.headers.includes('status') && (t.headers.includes('code') || t.headers.includes('iot hub code')));

function column(t: Table, header: string): number {
  return t.headers.indexOf(header);
}

test('docs/http-api.md has one row per code of the catalogue, with its status, IoT Hub code and IoT Hub status', () => {
  const full = errorTables.filter((t) => t.where.startsWith(FULL_TABLE_FILE) && ['code', 'status', 'iot hub code', 'iot hub status'].every((h) => t.headers.includes(h)));
  assert.equal(full.length, 1, `${FULL_TABLE_FILE} has one table with the columns code, status, IoT Hub code, IoT Hub status`);
  const t = full[0]!;
  const documented = t.rows.map((r) => names(r.cells[column(t, 'code')]!));
  assert.ok(documented.every((n) => n.length === 1), 'one code per row');
  const rows = documented.map((n) => n[0]!);
  assert.deepEqual([...rows].sort(), [...codes].sort(), 'the codes of the table are those of the catalogue, each once');
  const problems: string[] = [];
  for (const r of t.rows) {
    const code = names(r.cells[column(t, 'code')]!)[0]!;
    if (!isCode(code)) continue;
    const spec = catalogue[code];
    const got = {
      status: Number(r.cells[column(t, 'status')]), iothubCode: names(r.cells[column(t, 'iot hub code')]!).join(), iothubStatus: Number(r.cells[column(t, 'iot hub status')]),
    };
    const want = { status: spec.status, iothubCode: spec.iothubCode, iothubStatus: iothubStatus(spec) };
    if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`${r.where} ${code}: documented ${JSON.stringify(got)}, catalogue ${JSON.stringify(want)}`);
  }
  assert.deepEqual(problems, []);
});

test('every error table in docs/ names codes that exist, with the status the catalogue gives them', () => {
  assert.ok(errorTables.length >= 4, `error tables found: ${errorTables.map((t) => t.where).join(', ')}`);
  const problems: string[] = [];
  for (const t of errorTables) {
    const status = column(t, 'status');
    const ours = column(t, 'code');
    const iothub = column(t, 'iot hub code');
    for (const r of t.rows) {
      const documented = Number(r.cells[status]);
      if (ours >= 0) {
        for (const code of names(r.cells[ours]!)) {
          if (!isCode(code)) problems.push(`${r.where}: '${code}' is not in the catalogue`);
          else if (catalogue[code].status !== documented) problems.push(`${r.where}: '${code}' is documented as ${documented}, the catalogue says ${catalogue[code].status}`);
        }
      } else {
        // IoT Hub's routes: some code of the catalogue must give this name with this status there.
        for (const name of names(r.cells[iothub]!)) {
          const matching = codes.filter((c) => catalogue[c].iothubCode === name);
          if (matching.length === 0) problems.push(`${r.where}: IoT Hub code '${name}' is not in the catalogue`);
          else if (!matching.some((c) => iothubStatus(catalogue[c]) === documented)) {
            problems.push(`${r.where}: ${documented} ${name} matches no code of the catalogue (${matching.map((c) => `${c}: ${iothubStatus(catalogue[c])}`).join(', ')})`);
          }
        }
      }
    }
  }
  assert.deepEqual(problems, []);
});

test('every "<status> `<code>`" written in docs/ agrees with the catalogue', () => {
  const problems: string[] = [];
  let mentions = 0;
  for (const { file, text } of docs) {
    for (const m of text.matchAll(/\b([1-5]\d\d)\s+`([A-Za-z_]+)`/g)) {
      mentions++;
      const [, status, name] = m as unknown as [string, string, string];
      const line = text.slice(0, m.index).split('\n').length;
      const where = `${file}:${line}: ${status} ${name}`;
      if (isCode(name)) {
        if (catalogue[name].status !== Number(status)) problems.push(`${where}: the catalogue says ${catalogue[name].status}`);
      } else if (!codes.some((c) => catalogue[c].iothubCode === name && iothubStatus(catalogue[c]) === Number(status))) {
        problems.push(`${where}: neither a code of the catalogue nor an IoT Hub code with that status`);
      }
    }
  }
  assert.ok(mentions > 0, 'the pattern still finds the mentions it is meant to check');
  assert.deepEqual(problems, []);
});
