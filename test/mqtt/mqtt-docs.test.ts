// docs/mqtt.md promises what a client sees: its CONNACK table must be the error catalogue's, and
// its table of reasons must name every reason a connection can end for.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { errorCatalogue, type ErrorCode } from '../../src/core/errors.js';
import { SESSION_END_REASONS } from '../../src/ingest/mqtt/mqtt-connection.js';

const page = readFileSync(new URL('../../docs/mqtt.md', import.meta.url), 'utf8');

/** Rows of the first table whose header row is `header`, as cells. */
function table(header: string): string[][] {
  const lines = page.split('\n');
  const start = lines.findIndex((l) => l.trim() === header);
  assert.ok(start >= 0, `docs/mqtt.md has a table headed ${header}`);
  const rows: string[][] = [];
  for (let i = start + 2; i < lines.length && lines[i]!.startsWith('|'); i++) rows.push(lines[i]!.slice(1, -1).split('|').map((c) => c.trim()));
  return rows;
}

const codesIn = (cell: string) => [...cell.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!);
const catalogue = errorCatalogue as Readonly<Record<ErrorCode, { readonly connack?: number }>>;

test('docs/mqtt.md\'s CONNACK table is the catalogue\'s: every code with a CONNACK return code, with that code', () => {
  const documented = new Map(table('| code | CONNACK | when |').map(([code, connack]) => [codesIn(code!)[0]!, Number(connack)]));
  const expected = new Map(Object.entries(catalogue).filter(([, spec]) => spec.connack !== undefined).map(([code, spec]) => [code, spec.connack!]));
  assert.deepEqual([...documented].sort(), [...expected].sort());
});

test('docs/mqtt.md names every reason a connection ends for, and only codes that exist', () => {
  const named = table('| reason | when |').flatMap(([reasons]) => codesIn(reasons!));
  for (const reason of SESSION_END_REASONS) assert.ok(named.includes(reason), reason);
  for (const reason of named) assert.ok((SESSION_END_REASONS as readonly string[]).includes(reason) || Object.hasOwn(errorCatalogue, reason), `${reason} is neither a code nor a reason`);
  for (const code of ['topic_not_allowed', 'qos_not_supported', 'message_too_large', 'protocol_error']) assert.ok(named.includes(code), code);
});
