// A job joined with a catalogue in the real PostgreSQL, writing to a PostgreSQL table and a webhook:
// a catalogue change shows in later windows after the refresh, a replay joins the old rows for old
// events, and a webhook that fails for a while recovers without losing a row.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Device } from '../../src/core/device.js';
import { createSchema, postgresUnavailable, skipWithoutPostgres, type TestSchema } from '../helpers/postgres.js';
import { eventually, type WireRow } from '../helpers/jobs.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const QUERY = `
  WITH byCategory AS (
    SELECT p.category, COUNT(*) AS units, SUM(CAST(p.price AS float)) AS revenue, System.Timestamp() AS windowEnd
    FROM events e JOIN products p ON e.sku = p.sku
    GROUP BY p.category, TumblingWindow(second, 1)
  )
  SELECT * INTO Sales FROM byCategory
  SELECT * INTO Hook FROM byCategory`;

interface SaleRow { category: string; units: string; revenue: number; window_end: Date; tenant: string }

describe('jobs with PostgreSQL reference data and outputs', () => {
  let s: TestServer | undefined;
  let schema: TestSchema;
  let device: Device;
  let hookRequests = 0;
  const received = new Map<string, Record<string, unknown>>();
  const hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // The first three deliveries fail: the output retries them, nothing is lost.
      if (hookRequests++ < 3 || req.headers['x-secret'] !== 'hush') {
        res.writeHead(500).end();
        return;
      }
      for (const r of (JSON.parse(Buffer.concat(chunks).toString()) as { rows: { key: string; row: Record<string, unknown> }[] }).rows) received.set(r.key, r.row);
      res.writeHead(204).end();
    });
  });

  before(async () => {
    // Without PostgreSQL each test skips (or fails in CI) by itself.
    if (await postgresUnavailable()) return;
    schema = await createSchema();
    await schema.query('CREATE TABLE products (sku text PRIMARY KEY, category text NOT NULL, price numeric(10,2) NOT NULL)');
    await schema.query("INSERT INTO products VALUES ('SKU-1', 'coats', 100), ('SKU-2', 'scarves', 20)");
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    s = await startTestServer({
      reference: { products: { postgres: { url: schema.url, query: 'SELECT sku, category, price::text AS price FROM products', refreshSeconds: 1 } } },
      outputs: {
        Sales: { type: 'postgres', url: schema.url, table: 'sales_by_category', columns: { category: 'text', revenue: 'double precision' } },
        Hook: { type: 'webhook', url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/rows`, headers: { 'x-secret': 'hush' } },
      },
      jobs: { sales: { query: QUERY, eventOrdering: { lateArrival: '0s' } } },
    });
    device = await s.createDevice('pos-1', { tenant: 'brand-a' });
  });
  after(async () => {
    await s?.stop();
    await schema?.drop();
    hook.close();
  });

  const admin = () => ({ authorization: s!.policyToken('service') });
  const post = async (sku: string) => {
    const res = await s!.fetch(`/devices/${device.deviceId}/messages/events`, { method: 'POST', headers: { authorization: s!.deviceToken(device) }, body: JSON.stringify({ sku }) });
    assert.equal(res.status, 204);
  };
  const sales = () => schema.query<SaleRow>("SELECT category, row->>'units' AS units, revenue, window_end, tenant FROM sales_by_category ORDER BY window_end, category");
  const settle = async (units: number) => eventually(`${units} units in the table`, async () => {
    const rows = await sales();
    return rows.reduce((n, r) => n + Number(r.units), 0) === units ? rows : undefined;
  }, 20_000);

  test('rows reach the table; a catalogue change shows in later windows; a replay joins the old rows for old events', async (t) => {
    if (await skipWithoutPostgres(t)) return;
    for (let i = 0; i < 4; i++) await post('SKU-1');
    await post('SKU-2');
    const first = await settle(5);
    assert.ok(first.every((r) => r.tenant === 'brand-a'));
    assert.equal(first.filter((r) => r.category === 'coats').reduce((sum, r) => sum + r.revenue, 0), 400);
    const changedAt = Date.now();
    await schema.query("UPDATE products SET price = 150 WHERE sku = 'SKU-1'");
    await eventually('the refreshed catalogue', async () => {
      const { references } = await (await s!.fetch('/api/jobs', { headers: admin() })).json() as { references: Array<{ validFrom: string | null }> };
      return Date.parse(references[0]!.validFrom!) > changedAt ? true : undefined;
    });
    await new Promise((r) => setTimeout(r, 20));
    for (let i = 0; i < 2; i++) await post('SKU-1');
    const second = await settle(7);
    const laterCoats = second.filter((r) => r.category === 'coats' && r.window_end.getTime() > first.at(-1)!.window_end.getTime());
    assert.equal(laterCoats.reduce((sum, r) => sum + r.revenue, 0), 300, 'windows after the refresh join the new price');

    const replay = await s!.fetch('/api/jobs/sales/replay', { method: 'POST', headers: { ...admin(), 'content-type': 'application/json' }, body: '{"from":"earliest"}' });
    assert.equal(replay.status, 200);
    await eventually('the replayed table', async () => {
      const status = await (await s!.fetch('/api/jobs/sales', { headers: admin() })).json() as { eventsIn: number; clock: string | null };
      return status.eventsIn >= 7 && status.clock && Date.parse(status.clock) > Date.now() - 500 ? true : undefined;
    });
    const replayed = await settle(7);
    assert.deepEqual(replayed.map((r) => [r.category, r.units, r.revenue, r.window_end.getTime()]), second.map((r) => [r.category, r.units, r.revenue, r.window_end.getTime()]),
      'the replay joined each event with the catalogue valid at its time');
  });

  test('a webhook that fails at first gets every row, once, after retries', async (t) => {
    if (await skipWithoutPostgres(t)) return;
    const dashboard = await eventually('every row delivered', async () => {
      const status = await (await s!.fetch('/api/outputs', { headers: admin() })).json() as { outputs: Array<{ name: string; delivery: { backlog: number; failures: number } | null }> };
      const hookStatus = status.outputs.find((o) => o.name === 'Hook')!;
      return hookStatus.delivery!.backlog === 0 && received.size > 0 ? hookStatus : undefined;
    }, 30_000);
    assert.equal(dashboard.delivery!.failures, 0, 'recovered');
    assert.ok(hookRequests > 3);
    const table = await sales();
    // Every row the table holds (replay included) reached the webhook under its key.
    for (const r of table) {
      const delivered = [...received.values()].filter((row) => Date.parse(String(row.windowEnd)) === r.window_end.getTime() && row.category === r.category);
      assert.equal(delivered.length, 1, `the ${r.category} row of ${r.window_end.toISOString()} reached the webhook`);
      assert.equal(delivered[0]!.revenue, r.revenue);
    }
    const { rows } = await (await s!.fetch('/api/outputs/Hook?limit=100', { headers: admin() })).json() as { rows: WireRow[] };
    assert.ok(rows.length >= table.length);
  });
});
