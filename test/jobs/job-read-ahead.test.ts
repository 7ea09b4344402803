// A job reading a long log: after its first pages the log's reader thread reads ahead and hands it
// only the members of the fields its query reads. The rows must be those of the whole events, the
// unreadable events must still be dead letters, with their bodies.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileKeyStore } from '../../src/auth/file-key-store.js';
import { signSasToken } from '../../src/auth/sas.js';
import type { NewMessage, StoredMessage } from '../../src/core/message.js';
import { SqliteEventLog } from '../../src/log/sqlite-event-log.js';
import { comparable, eventually, oracle, sortRows, type WireRow } from '../helpers/jobs.js';
import { spawnServer, type ServerProcess } from '../helpers/process.js';
import { tempDir } from '../helpers/server.js';

// Names in other cases than the bodies', a nested path, and the fields the log adds.
const QUERY = `
  SELECT e.SKU AS sku, COUNT(*) AS events, SUM(e.Qty) AS units, MAX(e.detail.rank) AS top,
         MIN(e.IoTHub.ConnectionDeviceId) AS device, MAX(e.PartitionId) AS part, MAX(e.EventEnqueuedUtcTime) AS lastAt,
         System.Timestamp() AS windowEnd
  INTO Counts FROM events e WHERE e.kind <> 'skip' GROUP BY e.SKU, TumblingWindow(millisecond, 200)`;

const EVENTS = 9_000;

function body(i: number): string | Buffer {
  switch (i % 9) {
    case 0: return JSON.stringify({ sku: `SKU-${i % 7}`, qty: i % 4, detail: { rank: i % 11, note: '{"}' }, kind: 'view', extra: 'x'.repeat(i % 50) });
    case 1: return JSON.stringify({ Sku: `SKU-${i % 7}`, QTY: 2, kind: 'skip' });
    case 2: return `{ "SKU" : "SKU-${i % 7}" , "qty":1, "qty": 3, "partitionid": "mine", "iothub": "theirs" }`;
    case 3: return '[1, 2, 3]';
    case 4: return Buffer.from([0xff, 0xfe, i % 256]);
    case 5: return JSON.stringify({ sku: `SKU-${i % 7}`, 'q\u0074y': 5, text: 'ü \\ "' });
    case 6: return '{"sk\\u0075":"SKU-escaped","qty":1}';
    default: return JSON.stringify({ sku: `SKU-${i % 7}`, qty: 1 });
  }
}

test('after its first pages a job is handed the fields its query reads: the rows of whole events, the dead letters of unreadable ones', { timeout: 120_000 }, async () => {
  const dataDir = tempDir();
  const config = join(dataDir, 'omnistream.yaml');
  writeFileSync(config, [
    'log: { partitions: 2 }',
    'outputs:',
    '  Counts: { type: dashboard }',
    'jobs:',
    '  counts:',
    `    query: ${JSON.stringify(QUERY)}`,
    '    eventOrdering: { lateArrival: 0s }',
  ].join('\n'));
  const log = new SqliteEventLog({ path: join(dataDir, 'log.db'), partitions: 2, retentionMs: 86_400_000, dedupWindowMs: 86_400_000, maxPendingMessages: 1e6, durability: 'process' });
  for (let i = 0; i < EVENTS; i += 300) {
    const batch: NewMessage[] = [];
    for (let j = i; j < i + 300; j++) {
      batch.push({ deviceId: `shop-${j % 5}`, tenant: `brand-${j % 2}`, generationId: '1', authMethod: { scope: 'device', type: 'sas', issuer: 'iothub' }, body: Buffer.from(body(j)), properties: {} });
    }
    await log.append(batch);
    await new Promise((r) => setTimeout(r, 5)); // enqueue times over several windows
  }
  const messages: StoredMessage[] = [];
  for (let p = 0; p < 2; p++) {
    for (let next = 0; ;) {
      const page = await log.read(p, { kind: 'sequence', sequenceNumber: next }, 1000);
      if (page.messages.length === 0) break;
      messages.push(...page.messages);
      next = page.nextSequenceNumber;
    }
  }
  await log.close();
  assert.equal(messages.length, EVENTS);
  assert.ok(messages.filter((m) => m.partition === 0).length > 3_000, 'a partition of several pages, so pages are read ahead');

  let server: ServerProcess | undefined;
  try {
    server = await spawnServer(['--config', config, '--data', dataDir]);
    const owner = FileKeyStore.open(dataDir).policy('service')!;
    const auth = { authorization: signSasToken({ resource: 'localhost', key: owner.primaryKey, keyName: 'service', expiry: Math.floor(Date.now() / 1000) + 600 }) };
    const url = server.url;
    const lastEnqueued = Math.max(...messages.map((m) => m.enqueuedTimeUtc.getTime()));
    const status = await eventually('the job to read every event and close its windows', async () => {
      const s = (await (await fetch(`${url}/api/jobs/counts`, { headers: auth })).json()) as { eventsIn: number; clock: string | null; deadLetters: number };
      return s.eventsIn >= EVENTS && s.clock !== null && Date.parse(s.clock) > lastEnqueued + 400 ? s : undefined;
    }, 60_000);
    const { rows } = (await (await fetch(`${url}/api/outputs/Counts?limit=10000`, { headers: auth })).json()) as { rows: WireRow[] };
    const expected = sortRows(oracle(QUERY, messages, { policy: { lateArrivalToleranceMs: 0 } }));
    assert.ok(expected.length > 20, `windows were closed: ${expected.length}`);
    assert.deepEqual(sortRows(comparable('Counts', rows)), expected);
    // Arrays and binary bodies: two of every nine events, each a dead letter with its body.
    assert.equal(status.deadLetters, 2 * EVENTS / 9);
    const dead = (await (await fetch(`${url}/api/jobs/counts/deadletters?limit=1000`, { headers: auth })).json()) as { deadLetters: Array<{ reason: string; body: string }> };
    const arrays = dead.deadLetters.filter((d) => d.body === '[1, 2, 3]');
    assert.ok(arrays.length > 100 && arrays.every((d) => /an array/.test(d.reason)), JSON.stringify(dead.deadLetters[0]));
  } finally {
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
});
