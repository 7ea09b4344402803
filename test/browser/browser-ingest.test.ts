// A real headless Chromium: a shop page served from another origin registers with the public app
// key and sends events with fetch and sendBeacon, straight to the gateway (no proxy).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { readAll, startTestServer } from '../helpers/server.js';
import { requireOrSkip } from '../helpers/services.js';

const CHROMIUM = '/usr/bin/chromium';

function shopPage(gateway: string, appKey: string): string {
  return `<!doctype html><html><body><script type="module">
const gw = ${JSON.stringify(gateway)};
try {
  const reg = await fetch(gw + '/api/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ appKey: ${JSON.stringify(appKey)}, kind: 'browser' }) });
  const { deviceId, sasToken } = await reg.json();
  const one = await fetch(gw + '/devices/' + encodeURIComponent(deviceId) + '/messages/events?api-version=2021-04-12', {
    method: 'POST',
    headers: { authorization: sasToken, 'content-type': 'application/json', 'iothub-app-channel': 'web', 'iothub-messageid': 'pv-1' },
    body: JSON.stringify({ event: 'product_viewed', sku: 'SKU-7' }),
  });
  const batch = await fetch(gw + '/devices/' + encodeURIComponent(deviceId) + '/messages/events', {
    method: 'POST',
    headers: { authorization: sasToken, 'content-type': 'application/vnd.microsoft.iothub.json' },
    body: JSON.stringify([{ body: { event: 'add_to_cart', sku: 'SKU-7' } }, { body: { event: 'purchase', sku: 'SKU-7' } }]),
  });
  const beacon = navigator.sendBeacon(gw + '/api/beacon', JSON.stringify({ deviceId, token: sasToken, messages: [{ body: { event: 'page_hidden', dwellMs: 3100 } }] }));
  let adminBlocked;
  try { await fetch(gw + '/api/partitions', { headers: { authorization: sasToken } }); adminBlocked = false; } catch { adminBlocked = true; }
  window.result = { deviceId, register: reg.status, one: one.status, batch: batch.status, beacon, adminBlocked };
} catch (e) {
  window.result = { error: String(e) };
}
</script></body></html>`;
}

test('a page from another origin registers and posts events with fetch and sendBeacon', { timeout: 60_000 }, async (t) => {
  if (requireOrSkip(t, existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed (apt-get install -y chromium)`)) return;
  const s = await startTestServer();
  const appKey = s.keys.appKeys()[0]!.key;
  const site: Server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(shopPage(s.url, appKey));
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  // localhost vs 127.0.0.1 and another port: a different origin, so every call is cross-origin.
  const pageUrl = `http://localhost:${(site.address() as AddressInfo).port}/`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-component-update', '--disable-sync'] });
  try {
    const page = await browser.newPage();
    await page.goto(pageUrl);
    await page.waitForFunction(() => (globalThis as unknown as { result?: unknown }).result !== undefined, undefined, { timeout: 20_000 });
    const result = (await page.evaluate(() => (globalThis as unknown as { result: Record<string, unknown> }).result)) as Record<string, unknown>;
    assert.equal(result.error, undefined, String(result.error));
    assert.deepEqual({ ...result, deviceId: undefined }, { deviceId: undefined, register: 201, one: 204, batch: 204, beacon: true, adminBlocked: true });
    // The beacon is fire-and-forget: wait for it to land.
    let events: string[] = [];
    for (let i = 0; i < 50 && events.length < 4; i++) {
      events = (await readAll(s)).filter((m) => m.deviceId === result.deviceId).map((m) => (JSON.parse(m.body.toString()) as { event: string }).event);
      if (events.length < 4) await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(events.sort(), ['add_to_cart', 'page_hidden', 'product_viewed', 'purchase']);
    const viewed = (await readAll(s)).find((m) => m.messageId === 'pv-1')!;
    assert.deepEqual(viewed.properties, { channel: 'web' });
    assert.equal(viewed.tenant, 'default');
  } finally {
    await browser.close();
    site.close();
    await s.stop();
  }
});
