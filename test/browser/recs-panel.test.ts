// The dashboard's "shoppers who tried this also bought" (dashboards.<name>.recommendations) in a
// real browser: the web app built from source into a temporary folder (dist/ is left alone) and
// served in place of the built one, the recommender fed over HTTP, no console errors.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { buildWeb } from '../../web/build.js';
import { requireOrSkip } from '../helpers/services.js';
import { startTestServer, tempDir } from '../helpers/server.js';

const CHROMIUM = '/usr/bin/chromium';

test('a dashboard with recommendations shows what goes with the most popular items', { timeout: 120_000 }, async (t) => {
  if (requireOrSkip(t, existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed (apt-get install -y chromium)`)) return;
  const web = tempDir('omnistream-web-');
  await buildWeb(web);
  const s = await startTestServer({
    recommendations: { enabled: true, shopper: 'shopper', events: { viewed: { weight: 1 }, bought: { weight: 5, purchase: true } } },
    dashboards: { shop: { title: 'Shop', tiles: [], recommendations: true } },
  });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-component-update', '--disable-sync'] });
  try {
    const device = await s.createDevice('app-1', { tenant: 'brand-a' });
    const post = async (body: unknown) => assert.equal((await s.fetch(`/devices/app-1/messages/events`, { method: 'POST', headers: { authorization: s.deviceToken(device) }, body: JSON.stringify(body) })).status, 204);
    for (let u = 0; u < 6; u++) {
      await post({ event: 'viewed', sku: 'PARKA-1', shopper: `u${u}` });
      await post({ event: 'bought', sku: 'BEANIE-7', shopper: `u${u}` });
    }
    const viewer = await s.keys.addViewerKey('brand-a');
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(e.message));
    // The page and its assets from the fresh build; the APIs from the server.
    await page.route((url) => url.pathname === '/dashboards/shop', (route) => route.fulfill({ contentType: 'text/html', body: readFileSync(join(web, 'index.html'), 'utf8') }));
    await page.route((url) => url.pathname.startsWith('/assets/'), (route) => {
      const file = join(web, new URL(route.request().url()).pathname);
      return route.fulfill({ contentType: file.endsWith('.css') ? 'text/css' : 'text/javascript', body: readFileSync(file) });
    });
    await page.goto(`${s.url}/dashboards/shop?key=${viewer.key}`);
    await page.waitForFunction(`[...document.querySelectorAll('.recs tbody tr')].some((tr) => tr.textContent.includes('BEANIE-7'))`, undefined, { timeout: 30_000 });
    const rows = (await page.evaluate(`[...document.querySelectorAll('.recs tbody tr')].map((tr) => [...tr.children].map((td) => td.textContent))`)) as string[][];
    assert.deepEqual(rows, [['BEANIE-7', 'PARKA-1'], ['PARKA-1', 'BEANIE-7']]);
    assert.equal(await page.textContent('.recs h2'), 'Shoppers who tried this also bought');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await s.stop();
    rmSync(web, { recursive: true, force: true });
  }
});
