// The demo's data and shoppers: the committed CSVs are the generator's output; journeys stay within
// their brand and fill every tile (funnel in order, fitting-room reads close enough for sessions);
// the simulator registers its devices through /api/register and posts through the real routes,
// single and batched, and a response lost on the way is retried with its messageId (stored once).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { renderDemoData } from '../../demo/generate-data.js';
import { DEMO_DIR, readDemoBrands } from '../../src/demo/demo-data.js';
import { ensureDemoKeys } from '../../src/demo/demo-mode.js';
import { FITTING_ROOM_READ_MS, JourneyPlanner, seededRandom, type Brand, type PlannedEvent } from '../../src/demo/shopper-journeys.js';
import { ShopperSimulator } from '../../src/demo/shopper-simulator.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { readAll, startTestServer, type TestServer } from '../helpers/server.js';
import { PassThrough } from 'node:stream';

let brands: Brand[];
before(async () => {
  brands = await readDemoBrands();
});

test('demo/catalog.csv and demo/stores.csv are what demo/generate-data.ts makes: a few hundred SKUs, two brands with stores', () => {
  const { catalog, stores } = renderDemoData();
  assert.equal(readFileSync(`${DEMO_DIR}catalog.csv`, 'utf8'), catalog, 'run npx tsx demo/generate-data.ts');
  assert.equal(readFileSync(`${DEMO_DIR}stores.csv`, 'utf8'), stores, 'run npx tsx demo/generate-data.ts');
  assert.deepEqual(brands.map((b) => b.tenant), ['nordvik', 'solenne']);
  const skus = brands.flatMap((b) => b.products.map((p) => p.sku));
  assert.ok(skus.length >= 200 && skus.length <= 500, `${skus.length} SKUs`);
  assert.equal(new Set(skus).size, skus.length, 'SKUs are unique');
  for (const b of brands) {
    assert.ok(b.stores.length >= 3, `${b.tenant} has stores`);
    assert.ok(b.stores.every((s) => s.fittingRooms > 0));
    const prefix = b.tenant === 'nordvik' ? 'NV-' : 'SL-';
    assert.ok(b.products.every((p) => p.sku.startsWith(prefix) && p.price > 0), `${b.tenant}'s SKUs start with ${prefix}`);
    assert.ok(b.stores.every((s) => s.store.startsWith(prefix)), `${b.tenant}'s stores start with ${prefix}`);
  }
});

describe('shopper journeys', () => {
  const sample = (brand: Brand, journeys: number): PlannedEvent[] => {
    const planner = new JourneyPlanner(brand, seededRandom(3));
    return Array.from({ length: journeys }, (_, i) => planner.plan(i * 500)).flat();
  };

  test('are the same for the same seed, and use only their brand\'s products and stores', () => {
    const [nordvik, solenne] = brands as [Brand, Brand];
    assert.deepEqual(sample(nordvik, 50), sample(nordvik, 50));
    for (const brand of [nordvik, solenne]) {
      const skus = new Set(brand.products.map((p) => p.sku));
      const stores = new Set(brand.stores.map((s) => s.store));
      for (const e of sample(brand, 300)) {
        assert.equal(e.tenant, brand.tenant);
        const b = e.body as { sku?: string; store?: string; items?: { sku: string }[]; time: string };
        assert.equal(Date.parse(b.time), e.atMs);
        for (const sku of [b.sku, ...(b.items ?? []).map((i) => i.sku)]) if (sku !== undefined) assert.ok(skus.has(sku), `${brand.tenant}: ${sku}`);
        if (b.store !== undefined) assert.ok(stores.has(b.store), `${brand.tenant}: ${b.store}`);
        if (e.sender.channel === 'sensor') assert.equal(e.sender.store, b.store);
      }
    }
  });

  test('fill every tile: the funnel narrows step by step, every channel and event kind appears, popular products lead', () => {
    const events = sample(brands[0]!, 2_000);
    const count = (event: string) => events.filter((e) => e.body.event === event).length;
    const bought = events.filter((e) => e.body.event === 'order_completed').reduce((n, e) => n + (e.body.items as unknown[]).length, 0);
    assert.ok(count('product_viewed') > count('product_tried_on'), 'viewed > tried on');
    assert.ok(count('product_tried_on') > count('added_to_cart'), 'tried on > added to cart');
    assert.ok(count('added_to_cart') > 0 && bought > 0 && bought < count('product_tried_on'), 'bought < tried on');
    for (const event of ['store_entered', 'store_exited', 'fitting_room_entered', 'fitting_room_seen', 'fitting_room_exited']) assert.ok(count(event) > 0, event);
    assert.deepEqual(new Set(events.map((e) => e.sender.channel)), new Set(['web', 'ios', 'android', 'sensor']));
    const views = new Map<string, number>();
    for (const e of events) if (e.body.event === 'product_viewed') views.set(String(e.body.sku), (views.get(String(e.body.sku)) ?? 0) + 1);
    const ranked = [...views.values()].sort((a, b) => b - a);
    assert.ok(ranked[0]! > 5 * ranked[Math.floor(ranked.length / 2)]!, `a popularity skew: ${ranked.slice(0, 5).join(', ')} … ${ranked.at(-1)}`);
  });

  test('a fitting-room visit is one session: reads every few seconds from entering to leaving, dwell of tens of seconds to minutes', () => {
    const visits = new Map<string, number[]>();
    for (const e of sample(brands[1]!, 2_000)) {
      if (!String(e.body.event).startsWith('fitting_room_')) continue;
      const times = visits.get(String(e.body.tag)) ?? [];
      times.push(e.atMs);
      visits.set(String(e.body.tag), times);
    }
    assert.ok(visits.size > 100);
    for (const times of visits.values()) {
      times.sort((a, b) => a - b);
      for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! <= FITTING_ROOM_READ_MS, 'no gap longer than a read interval (the sessions\' timeout is twice that)');
      const dwell = times.at(-1)! - times[0]!;
      assert.ok(dwell >= 15_000 && dwell <= 240_000, `dwell ${dwell} ms`);
    }
  });
});

describe('the shopper simulator against a real server', () => {
  let s: TestServer;
  let proxy: Server;
  let proxyUrl: string;
  /** While true, the proxy forwards requests but drops the server's answers: a response lost on the way. */
  let dropAnswers = false;
  const contentTypes: string[] = [];

  before(async () => {
    s = await startTestServer({ register: { perMinute: 10, burst: 20 } });
    proxy = createServer((req, res) => {
      if (req.url?.includes('/messages/events')) contentTypes.push(String(req.headers['content-type']));
      const target = new URL(req.url!, s.url);
      const upstream = request(target, { method: req.method, headers: req.headers }, (answer) => {
        if (dropAnswers && req.url?.includes('/messages/events')) {
          answer.resume();
          res.destroy();
          return;
        }
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
  });
  after(async () => {
    proxy.closeAllConnections();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
    await s.stop();
  });

  test('registers web, iOS, Android and store devices per brand, posts single and batched events with a channel and a messageId, retries lost answers without duplicates', { timeout: 30_000 }, async () => {
    const keys = await ensureDemoKeys(s.keys, brands.map((b) => b.tenant));
    const again = await ensureDemoKeys(s.keys, brands.map((b) => b.tenant));
    assert.deepEqual(again, keys, 'the keys are made once');
    const out = new PassThrough();
    let logged = '';
    out.on('data', (d: Buffer) => { logged += d.toString(); });
    const simulator = new ShopperSimulator({
      url: proxyUrl,
      rate: 300,
      brands: brands.map((brand) => ({ brand, appKey: keys.find((k) => k.tenant === brand.tenant)!.appKey })),
      logger: createLogger('info', out),
      random: seededRandom(11),
    });
    simulator.start();
    await new Promise((r) => setTimeout(r, 1_500));
    dropAnswers = true;
    await new Promise((r) => setTimeout(r, 1_500));
    dropAnswers = false;
    await new Promise((r) => setTimeout(r, 2_500));
    const stopping = Date.now();
    await simulator.stop();
    assert.ok(Date.now() - stopping < 4_000, 'stops promptly');
    const stats = simulator.stats();

    assert.ok(stats.failedRequests > 0, 'answers were lost');
    assert.match(logged, /"msg":"shopper simulator: the server did not answer; retrying"/);
    assert.match(logged, /"msg":"shopper simulator delivering again"/);
    const messages = await readAll(s);
    assert.equal(messages.length, stats.sent, 'each event stored once, retries included');
    assert.equal(new Set(messages.map((m) => m.messageId)).size, messages.length, 'a messageId per event');
    assert.ok(stats.sent > 300 * 4, `about the rate: ${stats.sent} events in 5.5 s at 300/s`);
    assert.ok(contentTypes.includes('application/vnd.microsoft.iothub.json'), 'batches');
    assert.ok(contentTypes.includes('application/json'), 'single messages');

    const devices = await s.registry.list({ top: 1_000 });
    const kinds = (tenant: string) => new Set(devices.filter((d) => d.tenant === tenant).map((d) => d.kind));
    for (const b of brands) {
      assert.deepEqual(kinds(b.tenant), new Set(['browser', 'ios', 'android', 'sensor']), `${b.tenant}'s devices`);
      const own = new Set([...b.products.map((p) => p.sku), ...b.stores.map((st) => st.store)]);
      const mine = messages.filter((m) => m.tenant === b.tenant);
      assert.ok(mine.length > 100, `${b.tenant} has events`);
      for (const m of mine) {
        const body = JSON.parse(m.body.toString()) as { event: string; time: string; sku?: string; store?: string; items?: { sku: string }[] };
        assert.ok(['web', 'ios', 'android', 'sensor'].includes(m.properties.channel!), `channel ${m.properties.channel}`);
        assert.equal(m.contentType, 'application/json');
        assert.ok(body.event && !Number.isNaN(Date.parse(body.time)));
        for (const ref of [body.sku, body.store, ...(body.items ?? []).map((i) => i.sku)]) if (ref !== undefined) assert.ok(own.has(ref), `${b.tenant}'s event names ${ref}`);
      }
    }
  });
});
