// What the dashboard pages read, through the real server: viewer keys (bound to a tenant, they see
// only its rows in every answer and stream), the dashboards and their tiles' problems, live events,
// and the pages and assets themselves.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { Device } from '../../src/core/device.js';
import { pageRoutes } from '../../src/dashboard/page-routes.js';
import { HttpServer } from '../../src/http/server.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { eventually, type WireRow } from '../helpers/jobs.js';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js';

const QUERY = 'SELECT sku, COUNT(*) AS views, System.Timestamp() AS t INTO Views FROM events GROUP BY sku, TumblingWindow(second, 1)';

describe('dashboards, viewer keys and live events', () => {
  let s: TestServer;
  let a: Device;
  let b: Device;
  let brandKey: string;
  let allKey: string;
  const post = (d: Device, body: unknown, channel = 'web') =>
    s.fetch(`/devices/${d.deviceId}/messages/events`, { method: 'POST', headers: { authorization: s.deviceToken(d), 'iothub-app-channel': channel }, body: JSON.stringify(body) });
  const json = async <T>(path: string, status = 200): Promise<T> => {
    const res = await s.fetch(path);
    assert.equal(res.status, status, `${path}: ${res.status} ${await res.clone().text()}`);
    return (await res.json()) as T;
  };

  before(async () => {
    s = await startTestServer({
      outputs: { Views: { type: 'dashboard' } },
      jobs: { views: { query: QUERY, eventOrdering: { lateArrival: '0s' } } },
      dashboards: {
        retail: {
          title: 'Retail live',
          tiles: [
            { type: 'bar', title: 'Top viewed', output: 'views', key: 'sku', value: 'views' },
            { type: 'card', title: 'Typo', output: 'Veiws', value: 'views' },
          ],
        },
      },
    });
    a = await s.createDevice('web-a', { tenant: 'brand-a' });
    b = await s.createDevice('web-b', { tenant: 'brand-b' });
    brandKey = (await s.keys.addViewerKey('brand-a')).key;
    allKey = (await s.keys.addViewerKey(null)).key;
    for (let i = 0; i < 6; i++) {
      assert.equal((await post(i % 2 === 0 ? a : b, { event: 'product_viewed', sku: i % 2 === 0 ? 'A-1' : 'B-1' }, i % 3 === 0 ? 'ios' : 'web')).status, 204);
    }
    await eventually('rows of both tenants', async () => {
      const { rows } = await json<{ rows: WireRow[] }>(`/api/outputs/Views?key=${allKey}`);
      return new Set(rows.map((r) => r.tenant)).size === 2 ? true : undefined;
    });
  });
  after(() => s.stop());

  test('a viewer key bound to a tenant sees only its rows; asking for another tenant is refused', async () => {
    const mine = await json<{ rows: WireRow[] }>(`/api/outputs/Views?key=${brandKey}`);
    assert.ok(mine.rows.length > 0);
    assert.ok(mine.rows.every((r) => r.tenant === 'brand-a' && r.row.sku === 'A-1'));
    const other = await json<{ error: { code: string; message: string } }>(`/api/outputs/Views?key=${brandKey}&tenant=brand-b`, 403);
    assert.match(other.error.message, /sees only tenant 'brand-a'/);
    const everything = await json<{ rows: WireRow[] }>(`/api/outputs/Views?key=${allKey}`);
    assert.deepEqual(new Set(everything.rows.map((r) => r.tenant)), new Set(['brand-a', 'brand-b']));
    const listed = await json<{ outputs: Array<Record<string, unknown>> }>(`/api/outputs?key=${brandKey}`);
    assert.ok(listed.outputs.every((o) => !('delivery' in o)), 'delivery details are for operators');
  });

  test('the stream of a bound viewer carries only its tenant\'s rows', async () => {
    const controller = new AbortController();
    const res = await s.fetch(`/api/outputs/Views/stream?key=${brandKey}`, { signal: controller.signal });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    let text = '';
    await post(b, { event: 'product_viewed', sku: 'B-1' });
    await post(a, { event: 'product_viewed', sku: 'A-1' });
    await eventually('a rows event', async () => {
      const { value } = await reader.read();
      text += Buffer.from(value!).toString();
      return /event: rows/.test(text) ? true : undefined;
    });
    // Give brand-b's window time to close too: it must not come through.
    await new Promise((r) => setTimeout(r, 1_500));
    controller.abort();
    const rows = [...text.matchAll(/event: rows\ndata: (.*)\n/g)].flatMap((m) => (JSON.parse(m[1]!) as { rows: WireRow[] }).rows);
    assert.ok(rows.length > 0 && rows.every((r) => r.tenant === 'brand-a'), JSON.stringify(rows));
  });

  test('one stream for a page\'s outputs: rows of each named output in commit order, a reset when a job recomputes', async () => {
    const controller = new AbortController();
    const res = await s.fetch(`/api/stream?outputs=Views,$deadletters&key=${allKey}`, { signal: controller.signal });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    let text = '';
    const read = async (pattern: RegExp) => eventually(`${pattern}`, async () => {
      const { value } = await reader.read();
      text += Buffer.from(value!).toString();
      return pattern.test(text) ? true : undefined;
    });
    await read(/event: status\ndata: \{"writers":\{"Views":\[\{"job":"views"/);
    assert.equal((await s.fetch(`/devices/${a.deviceId}/messages/events`, { method: 'POST', headers: { authorization: s.deviceToken(a) }, body: 'not json' })).status, 204);
    await post(a, { event: 'product_viewed', sku: 'A-9' });
    await read(/"output":"\$deadletters"/);
    await read(/"output":"Views","rows":\[[^\n]*A-9/);
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    assert.deepEqual(ids, [...ids].sort((x, y) => x - y), 'ids rise across outputs');
    const replay = await s.fetch('/api/jobs/views/replay', { method: 'POST', headers: { authorization: s.policyToken('service'), 'content-type': 'application/json' }, body: '{"from":"earliest"}' });
    assert.equal(replay.status, 200);
    await read(/event: reset\ndata: \{"job":"views","outputs":\["Views","\$deadletters"\],"from":null\}/);
    controller.abort();
    assert.equal((await s.fetch(`/api/stream?key=${allKey}`)).status, 400);
    assert.equal((await s.fetch(`/api/stream?outputs=Views,Nope&key=${allKey}`)).status, 404);
  });

  test('wrong, revoked or missing credentials get a 401 that says what to do', async () => {
    const unknown = await json<{ error: { code: string; message: string } }>('/api/outputs/Views?key=vk_nope', 401);
    assert.equal(unknown.error.code, 'invalid_viewer_key');
    const none = await json<{ error: { code: string; message: string } }>('/api/dashboards', 401);
    assert.match(none.error.message, /viewer key \(\?key=vk_…\)/);
    const revoked = (await s.keys.addViewerKey('brand-a')).key;
    assert.equal((await s.fetch(`/api/dashboards?key=${revoked}`)).status, 200);
    const open = await s.fetch(`/api/stream?outputs=Views&key=${revoked}`);
    assert.equal(open.status, 200);
    await s.keys.revokeViewerKey(revoked);
    assert.equal((await s.fetch(`/api/dashboards?key=${revoked}`)).status, 401);
    // A stream opened with the key ends within a status tick of the revocation.
    const reader = open.body!.getReader();
    await eventually('the stream to end', async () => ((await reader.read()).done ? true : undefined), 10_000);
    // A device token is no viewer.
    assert.equal((await s.fetch('/api/dashboards', { headers: { authorization: s.deviceToken(a) } })).status, 401);
    // A policy token is.
    assert.equal((await s.fetch('/api/dashboards', { headers: { authorization: s.policyToken('service') } })).status, 200);
  });

  test('dashboards: the list, one dashboard with its tiles, a tile reading an unknown output says so', async () => {
    const list = await json<{ dashboards: Array<{ name: string; title: string; tiles: number }>; viewer: { tenant: string | null } }>(`/api/dashboards?key=${brandKey}`);
    assert.deepEqual(list.dashboards, [{ name: 'retail', title: 'Retail live', description: null, tiles: 2 }]);
    assert.deepEqual(list.viewer, { tenant: 'brand-a' });
    const retail = await json<{ tiles: Array<{ output: string; problem: string | null; top: number; format: string }> }>(`/api/dashboards/retail?key=${allKey}`);
    assert.equal(retail.tiles[0]!.output, 'Views', 'the output\'s configured name');
    assert.equal(retail.tiles[0]!.problem, null);
    assert.equal(retail.tiles[0]!.top, 10, 'defaults filled in');
    assert.match(retail.tiles[1]!.problem!, /'Veiws', which is not configured; did you mean 'Views'\?/);
    const missing = await json<{ error: { code: string; message: string } }>(`/api/dashboards/nope?key=${allKey}`, 404);
    assert.equal(missing.error.code, 'dashboard_not_found');
    assert.match(missing.error.message, /there are: retail/);
  });

  test('live events: recent and tailed, only the viewer\'s tenant, filtered by device, channel and event', async () => {
    const recent = await json<{ events: Array<{ deviceId: string; tenant: string; channel: string | null; event: string | null; body: unknown }> }>(`/api/events?key=${brandKey}`);
    assert.ok(recent.events.length >= 3);
    assert.ok(recent.events.every((e) => e.tenant === 'brand-a' && e.deviceId === 'web-a'));
    assert.deepEqual(recent.events[0]!.body, { event: 'product_viewed', sku: 'A-1' });
    const ios = await json<{ events: Array<{ channel: string }> }>(`/api/events?key=${allKey}&channel=ios`);
    assert.ok(ios.events.length > 0 && ios.events.every((e) => e.channel === 'ios'));
    assert.equal((await json<{ events: unknown[] }>(`/api/events?key=${allKey}&event=order_completed`)).events.length, 0);

    const controller = new AbortController();
    const res = await s.fetch(`/api/events/stream?key=${brandKey}&event=added_to_cart`, { signal: controller.signal });
    const reader = res.body!.getReader();
    await new Promise((r) => setTimeout(r, 100));
    await post(b, { event: 'added_to_cart', sku: 'B-1' });
    await post(a, { event: 'product_viewed', sku: 'A-1' });
    await post(a, { event: 'added_to_cart', sku: 'A-2' });
    let text = '';
    await eventually('the tailed event', async () => {
      const { value } = await reader.read();
      text += Buffer.from(value!).toString();
      return /A-2/.test(text) ? true : undefined;
    });
    controller.abort();
    const events = [...text.matchAll(/event: message\ndata: (.*)\n/g)].map((m) => JSON.parse(m[1]!) as { tenant: string; event: string; body: { sku: string } });
    assert.deepEqual(events.map((e) => [e.tenant, e.event, e.body.sku]), [['brand-a', 'added_to_cart', 'A-2']]);
  });
});

describe('the web pages', () => {
  let server: HttpServer;
  let base: string;
  let dir: string;
  before(async () => {
    dir = tempDir();
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Omnistream</title><script src="/assets/app-ABCDEF12.js"></script>');
    writeFileSync(join(dir, 'assets', 'app-ABCDEF12.js'), 'console.log(1)');
    server = new HttpServer({
      plugins: [pageRoutes(dir)], cors: { deviceOrigins: [], adminOrigins: [] }, trustProxy: false, metrics: new Metrics(), logger: createLogger('error', new PassThrough()),
    });
    base = `http://127.0.0.1:${(await server.listen(0, '127.0.0.1')).port}`;
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('/, /dashboards/{name} and /events serve the page; hashed assets are cached for good; docs are text', async () => {
    for (const path of ['/', '/dashboards/retail', '/events']) {
      const res = await fetch(`${base}${path}`);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type')!, /text\/html/);
      assert.match(await res.text(), /<title>Omnistream<\/title>/);
    }
    const asset = await fetch(`${base}/assets/app-ABCDEF12.js`);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('content-type')!, /text\/javascript/);
    assert.match(asset.headers.get('cache-control')!, /immutable/);
    const doc = await fetch(`${base}/docs/jobs.md`);
    assert.equal(doc.status, 200);
    assert.match(await doc.text(), /^# Continuous jobs/);
    for (const path of ['/assets/missing.js', '/assets/..%2Fsecret', '/docs/..%2F..%2Fpackage', '/docs/nope']) assert.equal((await fetch(`${base}${path}`)).status, 404, path);
  });

  test('without a build the page says how to build it, not a blank page', async () => {
    const bare = new HttpServer({
      plugins: [pageRoutes(join(dir, 'nothing-here'))], cors: { deviceOrigins: [], adminOrigins: [] }, trustProxy: false, metrics: new Metrics(), logger: createLogger('error', new PassThrough()),
    });
    const url = `http://127.0.0.1:${(await bare.listen(0, '127.0.0.1')).port}`;
    try {
      const res = await fetch(`${url}/dashboards/retail`);
      assert.equal(res.status, 503);
      assert.match(await res.text(), /Run <code>npm run build<\/code>/);
    } finally {
      await bare.close();
    }
  });
});
