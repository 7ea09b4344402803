import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCsvRows, parseJsonRows, parseReferenceText, ReferenceDataError } from '../../src/reference/reference-rows.js';

test('CSV: header row, quoted fields with commas, quotes and line breaks, CRLF, a BOM; every value is text', async () => {
  const text = '\ufeffsku,name,price\r\nSKU-1,"Coat, wool",120.5\r\nSKU-2,"The ""best"" scarf",19\nSKU-3,"Two\nlines",\n';
  assert.deepEqual(await parseCsvRows(text, 'c.csv'), [
    { sku: 'SKU-1', name: 'Coat, wool', price: '120.5' },
    { sku: 'SKU-2', name: 'The "best" scarf', price: '19' },
    { sku: 'SKU-3', name: 'Two\nlines', price: '' },
  ]);
});

test('CSV errors name the file and the line', async () => {
  await assert.rejects(parseCsvRows('a,b\n1,"open\n2,3\n', 'c.csv'), (e: unknown) => e instanceof ReferenceDataError && /c\.csv: the quoted field starting on line 2 is not closed/.test(e.message));
  await assert.rejects(parseCsvRows('a,b\n1,2\n1,2,3\n', 'c.csv'), /c\.csv: line 3: 3 fields, but the header names 2/);
  await assert.rejects(parseCsvRows('a,,b\n', 'c.csv'), /line 1: a column has no name/);
  await assert.rejects(parseCsvRows('sku,SKU\n', 'c.csv'), /the column 'SKU' appears twice/);
});

test('a catalogue of 100k rows parses in slices, with the event loop free between them', async () => {
  const lines = ['sku,name,price'];
  for (let i = 0; i < 100_000; i++) lines.push(`SKU-${i},Product ${i},${i % 300}`);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  const rows = await parseCsvRows(lines.join('\n'), 'big.csv');
  clearInterval(timer);
  assert.equal(rows.length, 100_000);
  assert.deepEqual(rows[99_999], { sku: 'SKU-99999', name: 'Product 99999', price: '99' });
  assert.ok(ticks > 0, 'timers ran while the file was parsed');
});

test('JSON: an array or JSON lines of objects; anything else is refused with where', async () => {
  assert.deepEqual(await parseJsonRows('[{"sku":"a","price":1}]', 'p.json'), [{ sku: 'a', price: 1 }]);
  assert.deepEqual(await parseJsonRows('{"sku":"a"}\n\n{"sku":"b"}\n', 'p.jsonl'), [{ sku: 'a' }, { sku: 'b' }]);
  await assert.rejects(parseJsonRows('[{"sku":"a"}, 3]', 'p.json'), /p\.json: element 2: a reference row must be a JSON object, not number/);
  await assert.rejects(parseJsonRows('{"sku":"a"}\n{"sku":\n', 'p.jsonl'), /p\.jsonl: line 2: malformed JSON/);
  await assert.rejects(parseJsonRows('[{"sku":', 'p.json'), /p\.json: malformed JSON/);
  assert.deepEqual(await parseReferenceText('a\n1\n', 'x.CSV'), [{ a: '1' }]);
});
