// The browser SDK in a real headless Chromium, on a shop page served from another origin than the
// server (localhost vs 127.0.0.1, another port), loading the script from the server's /sdk/ route
// through a proxy that can cut the network or answer 429/503 with Retry-After. Every event is read
// back through the feed and must be stored exactly once.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildSdk } from '../../web-sdk/build.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { servicesRequired } from '../helpers/services.js';
import { countsByN, faultProxy, readFeed, until, type FaultProxy, type FedMessage } from '../web-sdk/sdk-harness.js';
import { CHROMIUM, launchChromium } from './dashboard-probe.js';

const missing = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed (apt-get install -y chromium)`;
if (missing && servicesRequired) throw new Error(`required by OMNISTREAM_REQUIRE_SERVICES=1: ${missing}`);

interface Stats {
  readonly queued: number;
  readonly sent: number;
  readonly dropped: number;
}

/** The shop: loads the SDK from the server (classic script, or `?esm` the module) and starts it with the page's query. */
function shopPage(endpoint: string, appKey: string, query: URLSearchParams): string {
  const options = JSON.stringify({ endpoint, appKey, flushAt: Number(query.get('flushAt') ?? 10), flushIntervalMs: Number(query.get('interval') ?? 200) });
  const start = query.has('esm')
    ? `<script type="module">import * as Omnistream from ${JSON.stringify(`${endpoint}/sdk/omnistream.mjs`)}; window.Omnistream = Omnistream; Omnistream.init(${options});</script>`
    : `<script src="${endpoint}/sdk/omnistream.js"></script><script>Omnistream.init(${options});</script>`;
  return `<!doctype html><html><head><meta charset="utf-8"><title>Shop</title>${start}</head><body>shop</body></html>`;
}

describe('the browser SDK in Chromium, on a page of another origin', { skip: missing }, () => {
  let s: TestServer;
  let proxy: FaultProxy;
  let site: Server;
  let shop: string;
  let browser: Browser;
  before(async () => {
    // The server serves dist/sdk: built here, as npm run build does.
    await buildSdk();
    s = await startTestServer();
    proxy = await faultProxy(s.url);
    const appKey = s.keys.appKeys()[0]!.key;
    site = createServer((req, res) => {
      const query = new URL(req.url ?? '/', 'http://x').searchParams;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(shopPage(proxy.url, appKey, query));
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    shop = `http://localhost:${(site.address() as AddressInfo).port}/`;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    site?.close();
    await proxy?.close();
    await s?.stop();
  });

  const track = (page: Page, run: string, from: number, to: number) => page.evaluate(([run, from, to]) => {
    const sdk = (globalThis as unknown as { Omnistream: { track(e: string, p: object): void } }).Omnistream;
    for (let n = from; n < to; n++) sdk.track('product_viewed', { run, n, sku: `SKU-${n % 7}` });
  }, [run, from, to] as const);
  const stats = (page: Page) => page.evaluate(() => (globalThis as unknown as { Omnistream: { stats(): Stats } }).Omnistream.stats());
  const stored = async (run: string): Promise<FedMessage[]> => (await readFeed(s)).filter((m) => m.body.run === run);
  const allStored = (run: string, count: number, timeoutMs = 60_000) => until(`${count} events of ${run}`, async () => {
    const got = await stored(run);
    return countsByN(got).size >= count ? got : undefined;
  }, timeoutMs);
  const exactlyOnce = (got: readonly FedMessage[], count: number): void => {
    const counts = countsByN(got);
    assert.deepEqual([...counts.keys()].sort((a, b) => a - b), Array.from({ length: count }, (_, i) => i), 'every event stored');
    assert.deepEqual([...counts].filter(([, c]) => c !== 1), [], 'no event stored twice');
  };
  const open = async (context: BrowserContext, query = ''): Promise<Page> => {
    const page = await context.newPage();
    await page.goto(`${shop}${query}`);
    await page.waitForFunction(() => 'Omnistream' in globalThis);
    return page;
  };

  test('200 events across three page loads, the network cut and restored between them, the last page closed mid-batch: each stored once', { timeout: 180_000 }, async (t) => {
    const context = await browser.newContext();
    try {
      // Load 1: delivered as it goes; then the network to the server is cut, and the page reloads with events queued.
      const page = await open(context);
      await track(page, 'loads', 0, 60);
      await until('the first 60 sent', async () => ((await stats(page)).queued === 0 ? true : undefined));
      proxy.down();
      await track(page, 'loads', 60, 100);
      await until('a failed attempt', async () => ((await stats(page)).queued === 40 ? true : undefined));
      await page.reload();
      await page.waitForFunction(() => 'Omnistream' in globalThis);
      // Load 2: the 40 are back from localStorage; the browser goes offline (Playwright's offline mode), tracks 50, comes back.
      const adopted = await stats(page);
      assert.equal(adopted.queued, 40, 'the reloaded page holds the previous page\'s queue');
      await context.setOffline(true);
      proxy.up();
      await track(page, 'loads', 100, 150);
      await until('a failed attempt offline', async () => ((await stats(page)).queued === 90 ? true : undefined));
      assert.equal((await stored('loads')).length, 60, 'nothing went out offline');
      await context.setOffline(false);
      await until('back online: the 90 sent', async () => ((await stats(page)).queued === 0 ? true : undefined));
      exactlyOnce(await allStored('loads', 150), 150);
      // Load 3 ends mid-batch: the server is slow, a batch is in flight when the page closes.
      proxy.delay(2_000);
      const from = proxy.log.length;
      await track(page, 'loads', 150, 200);
      const batches = () => [...proxy.pending].filter(([path, n]) => path.endsWith('/messages/events') && n > 0).length;
      await until('a batch in flight', () => (batches() > 0 ? true : undefined));
      await page.close({ runBeforeUnload: true });
      proxy.delay(0);
      const last = await open(context);
      await allStored('loads', 200);
      // The closed page's batch (held, then forwarded), its beacon and the next page's resends of
      // the queue it adopted: all of it stored, once.
      await until('the last page\'s queue sent', async () => ((await stats(last)).queued === 0 ? true : undefined));
      await until('the held requests answered', () => ([...proxy.pending.values()].every((n) => n === 0) ? true : undefined));
      const got = await stored('loads');
      exactlyOnce(got, 200);
      assert.ok(got.every((m) => m.deviceId === got[0]!.deviceId), 'one device across the loads');
      const answered = proxy.log.slice(from).map((l) => `${l.path.replace(/\/devices\/[^/]+/, '/devices/…')} ${l.status}`);
      t.diagnostic(`after the last load's events: ${answered.join(', ')}; the next page sent ${(await stats(last)).sent}`);
      assert.ok(answered.includes('/api/beacon 204'), 'the closing page sent a beacon');
      assert.ok((await stats(last)).sent > 0, 'the next page sent the queue it adopted');
    } finally {
      await context.close();
    }
  });

  test('a 503 and a 429 storm with Retry-After delay delivery, never sooner than asked, and lose nothing', { timeout: 120_000 }, async () => {
    const context = await browser.newContext();
    try {
      const page = await open(context);
      await track(page, 'storm-warm', 0, 1);
      await allStored('storm-warm', 1);
      const from = proxy.log.length;
      proxy.refuse(503, 1, 1, /\/messages\/events$/);
      await track(page, 'storm', 0, 10);
      await until('the 503', () => (proxy.log.slice(from).some((l) => l.status === 503) ? true : undefined));
      proxy.refuse(429, 2, 4, /\/messages\/events$/);
      await track(page, 'storm', 10, 100);
      exactlyOnce(await allStored('storm', 100), 100);
      const sends = proxy.log.slice(from).filter((l) => l.path.endsWith('/messages/events'));
      const refused = sends.filter((l) => l.status !== 204);
      assert.deepEqual(refused.map((l) => l.status), [503, 429, 429, 429, 429]);
      for (const r of refused) {
        const next = sends[sends.indexOf(r) + 1]!;
        assert.ok(next.at - r.at >= r.retryAfter! * 1000, `a retry ${next.at - r.at} ms after a ${r.status} with Retry-After: ${r.retryAfter}`);
      }
      assert.deepEqual(await stats(page), { queued: 0, sent: 101, dropped: 0 });
    } finally {
      await context.close();
    }
  });

  test('a page that goes away before its interval sends its events in a beacon', { timeout: 60_000 }, async () => {
    const context = await browser.newContext();
    try {
      const page = await open(context, '?flushAt=500&interval=600000');
      await page.evaluate(() => (globalThis as unknown as { Omnistream: { flush(): void } }).Omnistream.flush());
      await track(page, 'beacon-warm', 0, 1);
      await page.evaluate(() => (globalThis as unknown as { Omnistream: { flush(): void } }).Omnistream.flush());
      await allStored('beacon-warm', 1);
      const from = proxy.log.length;
      await track(page, 'beacon', 0, 30);
      await page.goto('about:blank');
      const got = await allStored('beacon', 30);
      exactlyOnce(got, 30);
      assert.deepEqual([...new Set(proxy.log.slice(from).map((l) => `${l.method} ${l.path} ${l.status}`))], ['POST /api/beacon 204']);
    } finally {
      await context.close();
    }
  });

  test('two tabs register one device, and a closed tab\'s queue is taken over by the other at once', { timeout: 120_000 }, async () => {
    const context = await browser.newContext();
    try {
      const registrations = () => proxy.log.filter((l) => l.path === '/api/register' && l.status === 201).length;
      const before = registrations();
      const [a, b] = await Promise.all([open(context), open(context)]);
      // Both tabs' first events at once, on a slow network: without a lock both would register.
      proxy.delay(1_000);
      await Promise.all([track(a, 'tabs', 0, 10), track(b, 'tabs', 10, 20)]);
      await allStored('tabs', 20);
      proxy.delay(0);
      proxy.down();
      await Promise.all([track(a, 'tabs', 20, 30), track(b, 'tabs', 30, 40)]);
      await until('both queues full', async () => ((await stats(a)).queued === 10 && (await stats(b)).queued === 10 ? true : undefined));
      // Tab a closes while the server is out of reach: its queue is left closed in localStorage…
      await a.close({ runBeforeUnload: true });
      // …and tab b, told by the storage event, holds both tabs' events.
      await until('tab b adopted tab a\'s queue', async () => ((await stats(b)).queued === 20 ? true : undefined));
      proxy.up();
      const got = await allStored('tabs', 40);
      exactlyOnce(got, 40);
      assert.equal(new Set(got.map((m) => m.deviceId)).size, 1, 'one device for the two tabs');
      assert.equal(registrations() - before, 1, 'registered once (Web Locks)');
    } finally {
      await context.close();
    }
  });

  test('the module build imported from another origin works the same', { timeout: 60_000 }, async () => {
    const context = await browser.newContext();
    try {
      const page = await open(context, '?esm');
      await page.evaluate(() => (globalThis as unknown as { Omnistream: { identify(id: string): void } }).Omnistream.identify('shopper-7'));
      await track(page, 'esm', 0, 3);
      const got = await allStored('esm', 3);
      exactlyOnce(got, 3);
      assert.equal(got[0]!.body.shopper, 'shopper-7');
      assert.deepEqual(got[0]!.properties, { channel: 'web' });
    } finally {
      await context.close();
    }
  });
});
