// External outputs through their real interfaces: a PostgreSQL table, an HTTP receiver, a file.
// Each must take a batch delivered twice (after a crash) without keeping two copies.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { SqliteJobStore } from '../../src/jobs/sqlite-job-store.js';
import { FileSink } from '../../src/outputs/file-sink.js';
import { OutputDispatcher } from '../../src/outputs/output-dispatcher.js';
import type { NewOutputRow, OutputRow } from '../../src/outputs/output-row.js';
import { PostgresSink } from '../../src/outputs/postgres-sink.js';
import { WebhookSink } from '../../src/outputs/webhook-sink.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { createSchema, skipWithoutPostgres } from '../helpers/postgres.js';
import { eventually } from '../helpers/jobs.js';
import { tempDir } from '../helpers/server.js';

const T0 = Date.UTC(2026, 11, 6, 10, 0, 0);
let nextId = 1;
const row = (ts: number, n: number, fields: Record<string, unknown>, extra: Partial<OutputRow> = {}): OutputRow => ({
  id: nextId++, output: 'Sales', job: 'sales', tenant: 'brand-a', timestampMs: ts, n, row: fields, committedClockMs: ts, ...extra,
});

test('PostgreSQL: the table is created, rows are upserted by identity, configured columns filled, a replay forgets', async (t) => {
  if (await skipWithoutPostgres(t)) return;
  const schema = await createSchema();
  const sink = new PostgresSink({ url: schema.url, table: 'sales_by_sku', columns: { sku: 'text', units: 'bigint', revenue: 'double precision' } });
  try {
    const batch = [row(T0, 0, { sku: 'A', units: 3, revenue: 29.97 }), row(T0, 1, { sku: 'B', units: 1, revenue: 5 }), row(T0 + 60_000, 0, { sku: 'A', units: 1, revenue: 9.99, extra: { a: [1] } })];
    await sink.write(batch);
    await sink.write(batch); // redelivered after a crash
    await sink.write([row(T0, 1, { sku: 'B', units: 2, revenue: 10 })]); // a replay's new value for the same identity
    const rows = await schema.query<{ job: string; tenant: string; window_end: Date; n: number; sku: string; units: string; revenue: number; row: unknown }>(
      'SELECT job, tenant, window_end, n, sku, units, revenue, row FROM sales_by_sku ORDER BY window_end, n');
    assert.equal(rows.length, 3);
    assert.deepEqual(rows.map((r) => [r.window_end.getTime(), r.n, r.sku, r.units, r.revenue]), [[T0, 0, 'A', '3', 29.97], [T0, 1, 'B', '2', 10], [T0 + 60_000, 0, 'A', '1', 9.99]]);
    assert.deepEqual(rows[2]!.row, { sku: 'A', units: 1, revenue: 9.99, extra: { a: [1] } });
    await sink.forget('sales', T0 + 1);
    assert.equal((await schema.query('SELECT 1 FROM sales_by_sku')).length, 2);
    await sink.forget('sales', null);
    assert.equal((await schema.query('SELECT 1 FROM sales_by_sku')).length, 0);
    assert.throws(() => new PostgresSink({ url: schema.url, table: 'bad name; drop', columns: {} }), /is not a table name/);
    assert.throws(() => new PostgresSink({ url: schema.url, table: 't', columns: { row: 'text' } }), /is a column Omnistream fills itself/);
  } finally {
    await sink.close();
    await schema.drop();
  }
});

interface Received {
  readonly idempotencyKey: string;
  readonly secret: string | undefined;
  readonly body: { output: string; rows: { key: string; tenant: string; timestamp: string; row: Record<string, unknown> }[] };
}

async function receiver(answer: (n: number) => number) {
  const received: Received[] = [];
  let requests = 0;
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = answer(requests++);
      if (status < 300) received.push({ idempotencyKey: String(req.headers['idempotency-key']), secret: req.headers['x-omnistream-secret'] as string | undefined, body: JSON.parse(Buffer.concat(chunks).toString()) as Received['body'] });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received, requests: () => requests, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test('webhook: a JSON batch with each row\'s key, the configured header, and an idempotency key that repeats with the batch', async () => {
  const hook = await receiver(() => 200);
  const sink = new WebhookSink({ url: hook.url, headers: { 'x-omnistream-secret': 's3cret' }, timeoutMs: 5_000 });
  try {
    const batch = [row(T0, 0, { sku: 'A' }), row(T0, 1, { sku: 'B' })];
    await sink.write(batch);
    await sink.write(batch);
    assert.equal(hook.received.length, 2);
    assert.equal(hook.received[0]!.secret, 's3cret');
    assert.equal(hook.received[0]!.idempotencyKey, hook.received[1]!.idempotencyKey);
    assert.deepEqual(hook.received[0]!.body.rows.map((r) => [r.key, r.timestamp, r.row.sku]), [
      [`sales/Sales/brand-a/${T0}/0`, new Date(T0).toISOString(), 'A'], [`sales/Sales/brand-a/${T0}/1`, new Date(T0).toISOString(), 'B'],
    ]);
  } finally {
    await hook.close();
  }
});

test('a failing webhook is retried with backoff and recovers without losing or reordering a row', async () => {
  const dir = tempDir();
  const store = new SqliteJobStore(join(dir, 'jobs.db'));
  // Fails the first three requests, then accepts.
  const hook = await receiver((n) => (n < 3 ? 500 : 200));
  const metrics = new Metrics();
  const dispatcher = new OutputDispatcher({
    output: 'Alerts', sink: new WebhookSink({ url: hook.url, headers: {}, timeoutMs: 5_000 }), ledger: store, batchRows: 2,
    logger: createLogger('error', new PassThrough()), delivered: metrics.counter('delivered', 'x'), failures: metrics.counter('failures', 'x'),
  });
  try {
    const rows: NewOutputRow[] = Array.from({ length: 5 }, (_, i) => ({ output: 'Alerts', job: 'j', tenant: 't', timestampMs: T0 + i, n: 0, row: { i } }));
    await store.commit('j', {}, rows, T0, []);
    dispatcher.start();
    // Done once the last batch is recorded as delivered (the receiver has it a moment before).
    await eventually('every row delivered', async () => (await store.backlog('Alerts')) === 0 && dispatcher.status().failures === 0 ? true : undefined, 20_000);
    assert.deepEqual(hook.received.flatMap((r) => r.body.rows.map((x) => x.row.i)), [0, 1, 2, 3, 4], 'every row, once, in order');
    assert.equal(hook.requests(), 3 + 3, 'three failures, then three batches of at most two');
    assert.equal(await store.backlog('Alerts'), 0);
    assert.equal(dispatcher.status().failures, 0);
    assert.match(metrics.render(), /failures\{output="Alerts"\} 3/);
  } finally {
    await dispatcher.close();
    await store.close();
    await hook.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('file: JSON lines; a batch redelivered after a restart is not written twice; rotation keeps the newest files', async () => {
  const dir = tempDir();
  const path = join(dir, 'out', 'sales.jsonl');
  try {
    const first = new FileSink({ path, maxBytes: 1 << 20, maxFiles: 2 });
    const batch = [row(T0, 0, { sku: 'A' }), row(T0, 1, { sku: 'B' }), row(T0, 2, { sku: 'C' })];
    await first.write(batch.slice(0, 2));
    await first.close();
    // The process died after writing, before the delivery position moved: the same rows come again.
    const second = new FileSink({ path, maxBytes: 1 << 20, maxFiles: 2 });
    await second.write(batch);
    await second.close();
    const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { key: string; row: { sku: string } });
    assert.deepEqual(lines.map((l) => l.row.sku), ['A', 'B', 'C']);
    // A torn last line (the crash cut it short) is not a key: nothing is skipped.
    writeFileSync(path, `${readFileSync(path, 'utf8')}{"key":"sales/Sa`);
    const third = new FileSink({ path, maxBytes: 400, maxFiles: 2 });
    for (let i = 0; i < 12; i++) await third.write([row(T0 + 1000 * i, 0, { sku: `R${i}` })]);
    await third.close();
    const files = readdirSync(join(dir, 'out')).sort();
    assert.equal(files.filter((f) => f !== 'sales.jsonl').length, 2, `kept two rotated files: ${files.join(', ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
