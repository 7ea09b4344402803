// Continuous jobs through the real server: events posted over HTTP become window rows in a
// dashboard output, exactly the rows the engine gives over the same stored messages; tenants stay
// apart; unreadable events are dead letters; jobs are operated over HTTP.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Device } from '../../src/core/device.js';
import { comparable, eventually, oracle, sortRows, type WireRow } from '../helpers/jobs.js';
import { readAll, startTestServer, tempDir, type TestServer } from '../helpers/server.js';

const CATALOG = 'sku,category,price\nSKU-1,coats,120\nSKU-2,coats,80\nSKU-3,scarves,19\n';

const BY_CATEGORY = `
  SELECT p.category, COUNT(*) AS views, SUM(CAST(p.price AS bigint)) AS value, System.Timestamp() AS windowEnd
  INTO ViewsByCategory
  FROM events e JOIN products p ON e.sku = p.sku
  WHERE e.event = 'product_viewed'
  GROUP BY p.category, TumblingWindow(second, 1)`;

const PLATFORM = `
  SELECT COUNT(*) AS events, COUNT(DISTINCT GetMetadataPropertyValue(e, 'Tenant')) AS tenants, System.Timestamp() AS windowEnd
  INTO Platform FROM events e GROUP BY TumblingWindow(second, 1)`;

describe('continuous jobs on the live log', () => {
  let s: TestServer;
  let dir: string;
  const devices: Device[] = [];
  const admin = () => ({ authorization: s.policyToken('service') });
  const get = async <T>(path: string): Promise<T> => {
    const res = await s.fetch(path, { headers: admin() });
    assert.equal(res.status, 200, `${path}: ${res.status} ${await res.clone().text()}`);
    return (await res.json()) as T;
  };
  const post = (device: Device, body: unknown, headers: Record<string, string> = {}) =>
    s.fetch(`/devices/${device.deviceId}/messages/events`, { method: 'POST', headers: { authorization: s.deviceToken(device), ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  before(async () => {
    dir = tempDir();
    writeFileSync(join(dir, 'catalog.csv'), CATALOG);
    writeFileSync(join(dir, 'by-category.saql'), BY_CATEGORY);
    s = await startTestServer({
      reference: { products: { file: join(dir, 'catalog.csv') } },
      outputs: { ViewsByCategory: { type: 'dashboard' }, Platform: { type: 'dashboard' }, Everything: { type: 'dashboard' } },
      jobs: {
        'views-by-category': { query: join(dir, 'by-category.saql'), eventOrdering: { lateArrival: '0s' } },
        platform: { query: PLATFORM, tenants: 'shared', eventOrdering: { lateArrival: '0s' } },
        'with-timestamps': { query: 'SELECT sku, time INTO Everything FROM events TIMESTAMP BY time', eventOrdering: { lateArrival: '1h' } },
        broken: { query: 'SELECT sku INTO Nowhere FROM events' },
        typo: { query: 'SELECT sku\nINTO ViewsByCategory\nFROM events WHERE sku ==== 1' },
      },
    });
    for (const [id, tenant] of [['web-a1', 'brand-a'], ['web-a2', 'brand-a'], ['web-b1', 'brand-b']] as const) devices.push(await s.createDevice(id, { tenant }));
  });
  after(async () => {
    await s.stop();
  });

  test('events posted over HTTP become the window rows the engine gives over the same messages, per tenant', async () => {
    const events = ['product_viewed', 'product_viewed', 'added_to_cart', 'product_viewed'];
    let n = 0;
    for (let round = 0; round < 12; round++) {
      for (const d of devices) {
        const res = await post(d, { event: events[n % events.length], sku: `SKU-${(n % 3) + 1}`, n });
        assert.equal(res.status, 204);
        n++;
      }
      // 12 rounds 200 ms apart span at least two whole 1 s windows, each with both tenants' views:
      // at 90 ms apart a fast machine fitted them into one or two windows and only 3 rows.
      await new Promise((r) => setTimeout(r, 200));
    }
    // A message that is not a JSON object is kept as a dead letter, not dropped.
    assert.equal((await post(devices[0]!, 'not json at all', { 'content-type': 'text/plain' })).status, 204);
    const messages = await readAll(s);
    const expected = sortRows(oracle(BY_CATEGORY, messages, { references: { products: rowsOf(CATALOG) }, policy: { lateArrivalToleranceMs: 0 } }).map((r) => ({ ...r, output: 'ViewsByCategory' })));
    assert.ok(expected.length >= 4, `the oracle has rows: ${expected.length}`);
    const rows = await eventually('every window row', async () => {
      const { rows } = await get<{ rows: WireRow[] }>('/api/outputs/ViewsByCategory?limit=1000');
      return rows.length >= expected.length ? rows : undefined;
    });
    assert.deepEqual(sortRows(comparable('ViewsByCategory', rows)), expected);
    assert.deepEqual(new Set(rows.map((r) => r.tenant)), new Set(['brand-a', 'brand-b']), 'rows are tagged with their tenant');
    const brandB = await get<{ rows: WireRow[] }>('/api/outputs/ViewsByCategory?limit=1000&tenant=brand-b');
    assert.deepEqual(sortRows(comparable('ViewsByCategory', brandB.rows)), expected.filter((r) => r.tenant === 'brand-b'));
  });

  test('two tenants\' events never meet in one window; a shared job sees them together', async () => {
    const platform = await eventually('platform rows', async () => {
      const { rows } = await get<{ rows: WireRow[] }>('/api/outputs/Platform?limit=1000');
      return rows.length > 0 ? rows : undefined;
    });
    assert.ok(platform.every((r) => r.tenant === '*'));
    assert.ok(platform.some((r) => r.row.tenants === 2), 'a shared window counts both brands');
    const { rows } = await get<{ rows: WireRow[] }>('/api/outputs/ViewsByCategory?limit=1000');
    const messages = await readAll(s);
    for (const tenant of ['brand-a', 'brand-b']) {
      const views = messages.filter((m) => m.tenant === tenant && m.body.toString().includes('product_viewed')).length;
      const counted = rows.filter((r) => r.tenant === tenant).reduce((sum, r) => sum + Number(r.row.views), 0);
      assert.equal(counted, views, `${tenant}'s windows count only ${tenant}'s views`);
    }
  });

  test('unreadable events are dead letters with their reason and log position; a bad timestamp too', async () => {
    assert.equal((await post(devices[1]!, { sku: 'SKU-1', time: 'not a time' })).status, 204);
    // Nested deeper than the engine can serialise: a dead letter, where it failed the job at every restart.
    const deep = `{"sku":"SKU-1","deep":${'['.repeat(5_000)}${']'.repeat(5_000)}}`;
    assert.equal((await post(devices[1]!, deep, { 'content-type': 'application/json' })).status, 204);
    const { deadLetters } = await eventually('dead letters', async () => {
      const page = await get<{ deadLetters: Array<Record<string, unknown>> }>('/api/jobs/with-timestamps/deadletters?limit=1000');
      return page.deadLetters.some((d) => String(d.body).includes('not a time')) ? page : undefined;
    });
    const reasons = deadLetters.map((d) => String(d.reason));
    assert.ok(reasons.some((r) => /the body is not JSON/.test(r)), reasons.join('; '));
    assert.ok(reasons.some((r) => /TIMESTAMP BY gave no datetime/.test(r)), reasons.join('; '));
    assert.ok(reasons.some((r) => /nests deeper than 1000 levels/.test(r)), reasons.join('; '));
    // Events without a time field at all are dead letters of this job too: its query needs one.
    const bad = deadLetters.find((d) => String(d.body).includes('not a time'))!;
    assert.match(String(bad.reason), /TIMESTAMP BY gave no datetime/);
    assert.equal(bad.deviceId, 'web-a2');
    assert.equal(typeof bad.sequenceNumber, 'number');
    assert.equal(typeof bad.partition, 'number');
    assert.deepEqual(JSON.parse(String(bad.body)), { sku: 'SKU-1', time: 'not a time' });
    const status = await get<{ deadLetters: number; diagnostics: Record<string, number> }>('/api/jobs/with-timestamps');
    assert.ok(status.deadLetters >= 2);
    assert.ok((status.diagnostics.INVALID_TIMESTAMP ?? 0) >= 1);
    const metrics = await (await s.fetch('/metrics')).text();
    assert.match(metrics, /omnistream_job_dead_letters_total\{job="with-timestamps"\} \d+/);
  });

  test('a job whose query does not compile or names an unconfigured output is refused with where; the rest runs', async () => {
    const ready = await (await s.fetch('/readyz')).json() as { status: string; jobs: { refused: Array<{ job: string; message: string; at: string | null }>; running: number } };
    assert.equal(ready.status, 'ready');
    const refused = Object.fromEntries(ready.jobs.refused.map((p) => [p.job, p]));
    assert.match(refused.broken!.message, /Nowhere/);
    assert.match(refused.typo!.at!, /job typo's query:3:\d+/);
    assert.ok(ready.jobs.running >= 3);
    const res = await s.fetch('/api/jobs/typo/start', { method: 'POST', headers: admin() });
    assert.equal(res.status, 409);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'job_not_runnable');
    assert.equal((await s.fetch('/api/jobs/nope', { headers: admin() })).status, 404);
    assert.equal((await s.fetch('/api/jobs', { headers: { authorization: s.deviceToken(devices[0]!) } })).status, 401);
  });

  test('jobs report state, clock, watermark, lag, counts and reference versions; stop and start over HTTP', async () => {
    const { jobs, references } = await get<{ jobs: Array<Record<string, unknown>>; references: Array<{ name: string; rows: number }> }>('/api/jobs');
    const job = jobs.find((j) => j.name === 'views-by-category')!;
    assert.equal(job.state, 'running');
    assert.equal(job.tenants, 'per-tenant');
    assert.ok(Number(job.eventsIn) >= 37);
    assert.ok(Date.parse(String(job.watermark)) <= Date.parse(String(job.clock)));
    assert.deepEqual((job.references as Array<{ name: string; rows: number }>).map((r) => [r.name, r.rows]), [['products', 3]]);
    assert.deepEqual(references.map((r) => [r.name, r.rows]), [['products', 3]]);
    const stopped = await (await s.fetch('/api/jobs/views-by-category/stop', { method: 'POST', headers: admin() })).json() as { state: string };
    assert.equal(stopped.state, 'stopped');
    const before = (await get<{ eventsIn: number }>('/api/jobs/views-by-category')).eventsIn;
    await post(devices[0]!, { event: 'product_viewed', sku: 'SKU-1' });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await get<{ eventsIn: number; inputLag: number }>('/api/jobs/views-by-category')).eventsIn, before, 'a stopped job reads nothing');
    const started = await (await s.fetch('/api/jobs/views-by-category/start', { method: 'POST', headers: admin() })).json() as { state: string };
    assert.equal(started.state, 'running');
    await eventually('the job to catch up', async () => ((await get<{ eventsIn: number }>('/api/jobs/views-by-category')).eventsIn > before ? true : undefined));
    const metrics = await (await s.fetch('/metrics')).text();
    assert.match(metrics, /omnistream_job_events_total\{job="views-by-category"\} \d+/);
    assert.match(metrics, /omnistream_job_watermark_seconds\{job="views-by-category"\} \d+/);
  });

  test('an output\'s rows stream live over SSE, and a reconnect with Last-Event-ID gets what it missed', async () => {
    const controller = new AbortController();
    const res = await s.fetch('/api/outputs/ViewsByCategory/stream', { headers: admin(), signal: controller.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    const posted = post(devices[2]!, { event: 'product_viewed', sku: 'SKU-3' });
    assert.equal((await posted).status, 204);
    await eventually('a rows event', async () => {
      const { value } = await reader.read();
      text += Buffer.from(value!).toString();
      return /event: rows\ndata: /.test(text) ? true : undefined;
    });
    controller.abort();
    const rowsEvent = /id: (\d+)\nevent: rows\ndata: (.*)\n/.exec(text)!;
    const sent = JSON.parse(rowsEvent[2]!) as { rows: WireRow[] };
    assert.equal(sent.rows.at(-1)!.id, Number(rowsEvent[1]));
    assert.match(text, /event: status\ndata: \{"writers":\[\{"job":"views-by-category"/);
    // Reconnect from an earlier id: the rows after it come first, from the ledger.
    const all = (await get<{ rows: WireRow[] }>('/api/outputs/ViewsByCategory?limit=1000')).rows.sort((a, b) => a.id - b.id);
    const from = all[all.length - 3]!.id;
    const again = new AbortController();
    const res2 = await s.fetch('/api/outputs/ViewsByCategory/stream', { headers: { ...admin(), 'last-event-id': String(from) }, signal: again.signal });
    const r2 = res2.body!.getReader();
    let text2 = '';
    await eventually('the missed rows', async () => {
      const { value } = await r2.read();
      text2 += Buffer.from(value!).toString();
      const ids = [...text2.matchAll(/id: (\d+)/g)].map((m) => Number(m[1]));
      return ids.length > 0 && ids[ids.length - 1]! >= all[all.length - 1]!.id ? true : undefined;
    });
    again.abort();
    const replayed = [...text2.matchAll(/event: rows\ndata: (.*)\n/g)].flatMap((m) => (JSON.parse(m[1]!) as { rows: WireRow[] }).rows.map((r) => r.id));
    assert.deepEqual(replayed.slice(0, 2), all.slice(-2).map((r) => r.id));
  });

  test('bad requests to the job and output routes get clear errors', async () => {
    const replay = (body: string) => s.fetch('/api/jobs/platform/replay', { method: 'POST', headers: { ...admin(), 'content-type': 'application/json' }, body });
    for (const [body, code] of [['{}', 'invalid_body'], ['{"from":"yesterday"}', 'invalid_argument'], ['{"from":{"sequenceNumbers":[-1]}}', 'invalid_argument'], ['nope', 'invalid_body']] as const) {
      const res = await replay(body);
      assert.equal(res.status, 400, body);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, code, body);
    }
    assert.equal((await s.fetch('/api/outputs/Nope', { headers: admin() })).status, 404);
    assert.equal((await s.fetch('/api/outputs/Platform?limit=0', { headers: admin() })).status, 400);
    assert.equal((await s.fetch('/api/outputs/Platform?since=later', { headers: admin() })).status, 400);
    assert.equal((await s.fetch('/api/outputs/Platform?tenant=a%20b', { headers: admin() })).status, 400);
    assert.equal((await s.fetch('/api/jobs/platform/deadletters?limit=5000', { headers: admin() })).status, 400);
  });
});

function rowsOf(csv: string): Record<string, string>[] {
  const [header, ...lines] = csv.trim().split('\n');
  const names = header!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [names[i]!, v])));
}
