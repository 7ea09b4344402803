// Reference data kept current: a changed file or query result becomes a new version valid from
// the clock; a failed load keeps the last good snapshot and says so; versions survive a restart.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { FileReferenceSource } from '../../src/reference/file-reference-source.js';
import { PostgresReferenceSource } from '../../src/reference/postgres-reference-source.js';
import { ReferenceCatalog } from '../../src/reference/reference-catalog.js';
import type { ReferenceSource } from '../../src/reference/reference-source.js';
import { SqliteReferenceVersionStore } from '../../src/reference/sqlite-reference-version-store.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { createSchema, skipWithoutPostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/server.js';

function catalogOf(dir: string, sources: Map<string, ReferenceSource>, clock: () => number, metrics = new Metrics()) {
  const store = new SqliteReferenceVersionStore(join(dir, 'references.db'));
  const logs = new PassThrough();
  let logged = '';
  logs.on('data', (d: Buffer) => { logged += d.toString(); });
  const catalog = new ReferenceCatalog({ sources, store, clock, keepMs: 86_400_000, logger: createLogger('info', logs), metrics });
  return { catalog, store, metrics, logs: () => logged, close: async () => { await catalog.close(); await store.close(); } };
}

test('a file: loaded at start, a change makes a new version valid from the clock, a rewrite of the same rows does not', async () => {
  const dir = tempDir();
  const file = join(dir, 'catalog.csv');
  writeFileSync(file, 'sku,price\nA,10\nB,20\n');
  let now = 1_000;
  const c = catalogOf(dir, new Map([['products', new FileReferenceSource(file)]]), () => now);
  try {
    await c.catalog.open();
    const products = c.catalog.get('PRODUCTS')!;
    assert.deepEqual(products.rowsAt(5_000), [{ sku: 'A', price: '10' }, { sku: 'B', price: '20' }]);
    now = 2_000;
    writeFileSync(file, 'sku,price\nA,11\nB,20\n');
    await c.catalog.refreshNow('products');
    assert.equal(products.rowsAt(1_500)[0]!.price, '10', 'an event before the change joins the old row');
    assert.equal(products.rowsAt(2_000)[0]!.price, '11');
    now = 3_000;
    writeFileSync(file, 'sku,price\r\nA,11\r\nB,20\r\n');
    await c.catalog.refreshNow('products');
    assert.equal(products.count, 2, 'the same rows written again make no version');
    const [status] = c.catalog.status();
    assert.equal(status!.rows, 2);
    assert.equal(status!.validFrom, new Date(2_000).toISOString());
    assert.equal(status!.error, null);
  } finally {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a broken file keeps the last good snapshot, says so in status, metrics and log, and recovers', async () => {
  const dir = tempDir();
  const file = join(dir, 'catalog.json');
  writeFileSync(file, '[{"sku":"A","price":10}]');
  let now = 1_000;
  const c = catalogOf(dir, new Map([['products', new FileReferenceSource(file)]]), () => now);
  try {
    await c.catalog.open();
    writeFileSync(file, '[{"sku":"A","price":');
    now = 2_000;
    await c.catalog.refreshNow('products');
    const products = c.catalog.get('products')!;
    assert.deepEqual(products.rowsAt(now), [{ sku: 'A', price: 10 }], 'the table is never emptied');
    const [failing] = c.catalog.status();
    assert.match(failing!.error!.message, /catalog\.json: malformed JSON/);
    assert.match(c.metrics.render(), /omnistream_reference_failing\{reference="products"\} 1/);
    assert.match(c.metrics.render(), /omnistream_reference_load_failures_total\{reference="products"\} 1/);
    assert.match(c.logs(), /reference load failed; the last good snapshot stays in use/);
    writeFileSync(file, '[{"sku":"A","price":12}]');
    now = 3_000;
    await c.catalog.refreshNow('products');
    assert.equal(products.rowsAt(now)[0]!.price, 12);
    assert.equal(c.catalog.status()[0]!.error, null);
    assert.match(c.metrics.render(), /omnistream_reference_failing\{reference="products"\} 0/);
  } finally {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('versions survive a restart, so a replay after it still joins the old catalogue; a missing file waits', async () => {
  const dir = tempDir();
  const file = join(dir, 'catalog.csv');
  writeFileSync(file, 'sku,price\nA,1\n');
  let then = 500;
  const first = catalogOf(dir, new Map([['products', new FileReferenceSource(file)]]), () => then);
  await first.catalog.open();
  writeFileSync(file, 'sku,price\nA,2\n');
  then = 1_000;
  await first.catalog.refreshNow('products');
  await first.close();
  writeFileSync(file, 'sku,price\nA,3\n');
  let now = 9_000;
  const second = catalogOf(dir, new Map([['products', new FileReferenceSource(file)], ['stores', new FileReferenceSource(join(dir, 'missing.csv'))]]), () => now);
  try {
    await second.catalog.open();
    const products = second.catalog.get('products')!;
    assert.deepEqual([products.rowsAt(1_000)[0]!.price, products.rowsAt(9_000)[0]!.price], ['2', '3']);
    let ready = false;
    const waiting = second.catalog.whenReady(['products', 'stores']).then(() => { ready = true; });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(ready, false, 'a job needing stores waits for its first version');
    assert.match(second.catalog.status().find((s) => s.name === 'stores')!.error!.message, /cannot read .*missing\.csv: ENOENT/);
    writeFileSync(join(dir, 'missing.csv'), 'store,city\nS1,Oslo\n');
    now = 10_000;
    await second.catalog.refreshNow('stores');
    await waiting;
    assert.equal(ready, true);
  } finally {
    await second.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a PostgreSQL query: refreshed on its interval; an unreachable server keeps the last snapshot', async (t) => {
  if (await skipWithoutPostgres(t)) return;
  const schema = await createSchema();
  const dir = tempDir();
  await schema.query('CREATE TABLE products (sku text PRIMARY KEY, name text, price numeric(10,2), launched date, stock integer)');
  await schema.query("INSERT INTO products VALUES ('SKU-1', 'Coat', 120.50, '2026-01-02', 3), ('SKU-2', 'Scarf', 19, '2026-02-03', null)");
  let now = 1_000;
  const pgSource = new PostgresReferenceSource({ url: schema.url, query: 'SELECT sku, name, price, launched, stock FROM products ORDER BY sku', refreshMs: 60_000, timeoutMs: 5_000 });
  const c = catalogOf(dir, new Map([['products', pgSource]]), () => now);
  try {
    await c.catalog.open();
    const products = c.catalog.get('products')!;
    assert.deepEqual(products.rowsAt(now)[0], { sku: 'SKU-1', name: 'Coat', price: '120.50', launched: new Date(2026, 0, 2).toISOString(), stock: 3 });
    await schema.query("UPDATE products SET price = 99 WHERE sku = 'SKU-1'");
    now = 2_000;
    await c.catalog.refreshNow('products');
    assert.equal(products.rowsAt(1_500)[0]!.price, '120.50');
    assert.equal(products.rowsAt(2_000)[0]!.price, '99.00');
    // The query now fails (the table is gone): the last good snapshot stays.
    await schema.query('ALTER TABLE products RENAME TO products_old');
    now = 3_000;
    await c.catalog.refreshNow('products');
    assert.equal(products.rowsAt(3_000)[0]!.price, '99.00');
    assert.match(c.catalog.status()[0]!.error!.message, /PostgreSQL reference query failed: relation "products" does not exist/);
    assert.doesNotMatch(c.catalog.status()[0]!.source, /password/);
  } finally {
    await c.close();
    await schema.drop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unreachable PostgreSQL at start: reported, retried, no version until it answers', async () => {
  const dir = tempDir();
  const source = new PostgresReferenceSource({ url: 'postgres://postgres:secret@127.0.0.1:1/none', query: 'SELECT 1', refreshMs: 60_000, timeoutMs: 2_000 });
  const c = catalogOf(dir, new Map([['products', source]]), () => 1_000);
  try {
    await c.catalog.open();
    const [status] = c.catalog.status();
    assert.equal(status!.versions, 0);
    assert.match(status!.error!.message, /PostgreSQL reference query failed: .*ECONNREFUSED/);
    assert.doesNotMatch(status!.source, /secret/, 'the password is not shown');
  } finally {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
