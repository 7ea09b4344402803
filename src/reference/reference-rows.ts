// Reference data files as rows: CSV with a header row (every value is text, as in the cloud
// service), a JSON array of objects, or JSON lines. Large catalogues (100k rows) are parsed in
// slices with the event loop free between them, so a reload never stalls ingestion.
import { setField, type Row } from '../query/index.js';

/** Rows parsed between two yields to the event loop. */
const SLICE = 2_000;

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A reference file or query result that cannot be used: the last good snapshot stays in use. */
export class ReferenceDataError extends Error {
  override readonly name = 'ReferenceDataError';
}

/** Reads `text` as the format its name says: `.csv`, else JSON (an array, or one object per line). */
export function parseReferenceText(text: string, source: string): Promise<Row[]> {
  return source.toLowerCase().endsWith('.csv') ? parseCsvRows(text, source) : parseJsonRows(text, source);
}

/** RFC 4180 records: quoted fields may hold commas, quotes (doubled) and line breaks. */
function* csvRecords(text: string, source: string): Generator<{ record: string[]; line: number }> {
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let startLine = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') { field += '"'; i++; } else quoted = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === ',') { record.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      field = '';
      if (record.length > 1 || record[0] !== '') yield { record, line: startLine };
      record = [];
      startLine = ++line;
    } else field += c;
  }
  if (quoted) throw new ReferenceDataError(`${source}: the quoted field starting on line ${startLine} is not closed`);
  record.push(field);
  if (record.length > 1 || record[0] !== '') yield { record, line: startLine };
}

export async function parseCsvRows(text: string, source: string): Promise<Row[]> {
  const rows: Row[] = [];
  let header: string[] | undefined;
  let n = 0;
  for (const { record, line } of csvRecords(text, source)) {
    if (!header) {
      header = record;
      const seen = new Set<string>();
      for (const name of header) {
        if (name === '') throw new ReferenceDataError(`${source}: line 1: a column has no name`);
        if (seen.has(name.toLowerCase())) throw new ReferenceDataError(`${source}: line 1: the column '${name}' appears twice`);
        seen.add(name.toLowerCase());
      }
      continue;
    }
    if (record.length > header.length) throw new ReferenceDataError(`${source}: line ${line}: ${record.length} fields, but the header names ${header.length}`);
    const row: Row = {};
    for (let k = 0; k < header.length; k++) setField(row, header[k]!, record[k] ?? null);
    rows.push(row);
    if (++n % SLICE === 0) await yieldToLoop();
  }
  return rows;
}

export async function parseJsonRows(text: string, source: string): Promise<Row[]> {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new ReferenceDataError(`${source}: malformed JSON: ${(e as Error).message}`);
    }
    (parsed as unknown[]).forEach((v, i) => checkRow(v, source, `element ${i + 1}`));
    return parsed as Row[];
  }
  const rows: Row[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new ReferenceDataError(`${source}: line ${i + 1}: malformed JSON: ${(e as Error).message}`);
    }
    rows.push(checkRow(value, source, `line ${i + 1}`));
    if (rows.length % SLICE === 0) await yieldToLoop();
  }
  return rows;
}

function checkRow(value: unknown, source: string, where: string): Row {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ReferenceDataError(`${source}: ${where}: a reference row must be a JSON object, not ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  return value as Row;
}
