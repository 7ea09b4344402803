// The SDK's client in Node against the real server (through a proxy that can cut the network or
// refuse with 429/503): registration once, the wire format, retries that honour Retry-After, the
// bounded queue and its drop reports, token renewal signed with the device key, beacons, and a
// closed page's queue adopted by the next — every event stored once, read back through the feed.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, type DropReason, type Options } from '../../web-sdk/src/client.js';
import { memoryStorage } from '../../web-sdk/src/memory-storage.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { countsByN, faultProxy, nodeEnv, readFeed, until, type FaultProxy, type NodeEnv } from './sdk-harness.js';

describe('the browser SDK client against the real server', () => {
  let s: TestServer;
  let proxy: FaultProxy;
  let appKey: string;
  before(async () => {
    s = await startTestServer({ register: { tokenTtlSeconds: 600 } });
    proxy = await faultProxy(s.url);
    appKey = s.keys.appKeys()[0]!.key;
  });
  after(async () => {
    await proxy.close();
    await s.stop();
  });

  const open = (env: NodeEnv, extra: Partial<Options> = {}): Client => new Client(env, { endpoint: `${proxy.url}/`, appKey, flushAt: 5, flushIntervalMs: 50, ...extra });
  /** Events with `run` as their run and n = from…to-1, tracked on `c`. */
  const trackRange = (c: Client, run: string, from: number, to: number): void => {
    for (let n = from; n < to; n++) c.track('product_viewed', { run, n, sku: `SKU-${n}` });
  };
  const stored = async (run: string) => (await readFeed(s)).filter((m) => m.body.run === run);
  const allStored = (run: string, count: number) => until(`${count} events of ${run}`, async () => {
    const got = await stored(run);
    return countsByN(got).size >= count ? got : undefined;
  });
  const exactlyOnce = (got: Awaited<ReturnType<typeof stored>>, count: number): void => {
    const counts = countsByN(got);
    assert.deepEqual([...counts.keys()].sort((a, b) => a - b), Array.from({ length: count }, (_, i) => i));
    assert.deepEqual([...counts.values()].filter((c) => c !== 1), [], 'no event stored twice');
  };

  test('registers once, keeps the credential, and sends each event once in IoT Hub batches with messageId, times, channel and shopper', async () => {
    const env = nodeEnv();
    const c = open(env, { channel: 'web' });
    c.identify('shopper-42');
    trackRange(c, 'wire', 0, 12);
    c.page({ n: 12, run: 'wire' });
    const got = await allStored('wire', 13);
    exactlyOnce(got, 13);
    const m = got.find((x) => x.body.n === 3)!;
    assert.deepEqual(m.properties, { channel: 'web' });
    assert.match(m.messageId!, /^[0-9a-f-]{36}$/);
    assert.equal(m.body.event, 'product_viewed');
    assert.equal(m.body.shopper, 'shopper-42');
    assert.equal(m.body.sku, 'SKU-3');
    for (const field of ['time', 'originalTimestamp', 'sentAt']) assert.match(String(m.body[field]), /^\d{4}-\d\d-\d\dT.*Z$/, field);
    assert.ok(Date.parse(String(m.body.sentAt)) >= Date.parse(String(m.body.originalTimestamp)));
    const pageView = got.find((x) => x.body.n === 12)!;
    assert.equal(pageView.body.event, 'page_viewed');
    assert.equal(pageView.body.path, '/p');
    assert.ok(got.every((x) => x.deviceId === got[0]!.deviceId), 'one device');
    assert.match(got[0]!.deviceId, /^browser-/);
    assert.equal(c.stats().sent, 13);
    // A later page with the same storage is the same device and does not register again.
    const registrations = proxy.log.filter((l) => l.path === '/api/register').length;
    const again = open(nodeEnv(env.storage));
    trackRange(again, 'wire2', 0, 1);
    const second = await allStored('wire2', 1);
    assert.equal(second[0]!.deviceId, got[0]!.deviceId);
    assert.equal(proxy.log.filter((l) => l.path === '/api/register').length, registrations);
    // The SDK's own fields cannot be overridden by properties.
    again.track('added_to_cart', { event: 'spoofed', time: 'yesterday', n: 1, run: 'wire2' });
    const spoof = await until('the spoofed event', async () => (await stored('wire2')).find((x) => x.body.n === 1));
    assert.equal(spoof.body.event, 'added_to_cart');
    assert.notEqual(spoof.body.time, 'yesterday');
  });

  test('a 503 and then a 429 storm with Retry-After delay delivery, never sooner than the server asked, and lose nothing', async () => {
    const c = open(nodeEnv());
    // Registered first, so the refusals fall on the batches.
    trackRange(c, 'warm', 0, 1);
    await allStored('warm', 1);
    const from = proxy.log.length;
    proxy.refuse(503, 1, 1, /\/messages\/events$/);
    trackRange(c, 'storm', 0, 5);
    await until('the 503', () => (proxy.log.some((l, i) => i >= from && l.status === 503) ? true : undefined));
    proxy.refuse(429, 1, 3, /\/messages\/events$/);
    trackRange(c, 'storm', 5, 40);
    exactlyOnce(await allStored('storm', 40), 40);
    const sends = proxy.log.slice(from).filter((l) => l.path.endsWith('/messages/events'));
    const refused = sends.filter((l) => l.status === 429 || l.status === 503);
    assert.equal(refused.length, 4);
    for (const r of refused) {
      const next = sends[sends.indexOf(r) + 1]!;
      assert.ok(next.at - r.at >= r.retryAfter! * 1000, `a retry ${next.at - r.at} ms after a ${r.status} with Retry-After: ${r.retryAfter}`);
    }
    assert.equal(c.stats().dropped, 0);
  });

  test('a cut network is retried with backoff; what does not fit the queue is dropped oldest first and reported', async () => {
    const drops: [number, DropReason][] = [];
    const c = open(nodeEnv(), { maxQueueEvents: 6, onDrop: (n, why) => drops.push([n, why]) });
    trackRange(c, 'cut-warm', 0, 1);
    await allStored('cut-warm', 1);
    proxy.down();
    for (let n = 0; n < 9; n++) c.track('product_viewed', { run: 'cut', n });
    await until('a failed attempt', () => (c.stats().queued === 6 ? true : undefined));
    assert.deepEqual(c.stats(), { queued: 6, sent: 1, dropped: 3 });
    assert.equal(drops.reduce((a, [n]) => a + n, 0), 3);
    assert.ok(drops.every(([, why]) => why === 'queue_full'));
    proxy.up();
    const got = await until('the six newest', async () => {
      const g = await stored('cut');
      return g.length >= 6 ? g : undefined;
    });
    assert.deepEqual(got.map((m) => m.body.n).sort(), [3, 4, 5, 6, 7, 8]);
  });

  test('a token near its expiry is renewed with the device key (same device); a refused token is signed again', async () => {
    const env = nodeEnv();
    const c = open(env);
    trackRange(c, 'renew', 0, 1);
    const [first] = await allStored('renew', 1);
    const registered = JSON.parse(env.storage.getItem(`omnistream:c:${proxy.url} ${appKey}`)!) as { t: string; e: number };
    // 9 of the token's 10 minutes gone by this page's clock: under a fifth left.
    env.skew = 9 * 60_000;
    trackRange(c, 'renew', 1, 2);
    const renewed = await allStored('renew', 2);
    const now = JSON.parse(env.storage.getItem(`omnistream:c:${proxy.url} ${appKey}`)!) as { t: string; e: number };
    assert.notEqual(now.t, registered.t, 'a new token');
    assert.ok(now.e > registered.e);
    assert.ok(renewed.every((m) => m.deviceId === first!.deviceId), 'the same device');
    // A stored token the server refuses (a rotated key would do this): signed again, sent again.
    env.skew = 0;
    const bad = { ...now, t: now.t.replace(/sig=[^&]+/, 'sig=AAAA'), e: Date.now() + 600_000 };
    env.storage.setItem(`omnistream:c:${proxy.url} ${appKey}`, JSON.stringify(bad));
    const from = proxy.log.length;
    trackRange(c, 'renew', 2, 3);
    exactlyOnce(await allStored('renew', 3), 3);
    assert.deepEqual(proxy.log.slice(from).filter((l) => l.path.endsWith('/messages/events')).map((l) => l.status), [401, 204]);
  });

  test('a closing page beacons its queue; the next page adopts it and resends, and the server stores each event once', async () => {
    const storage = memoryStorage();
    const first = nodeEnv(storage);
    const c = open(first, { flushAt: 500, flushIntervalMs: 60_000 });
    trackRange(c, 'warm-beacon', 0, 1);
    c.flush();
    await allStored('warm-beacon', 1);
    trackRange(c, 'beacon', 0, 30);
    first.page$('hide');
    first.page$('close');
    assert.equal(first.beacons.length, 1, 'hidden then closed: one beacon');
    assert.deepEqual(await Promise.all(first.beacons), [204]);
    exactlyOnce(await allStored('beacon', 30), 30);
    // The page's own unload handler tracking one more: a beacon too, nothing else can go now.
    c.track('page_left', { run: 'beacon', n: 30 });
    assert.equal(first.beacons.length, 2);
    exactlyOnce(await allStored('beacon', 31), 31);
    assert.ok(storage.length > 0, 'the closed page left its queue for the next');
    // The next page: it cannot know the beacon arrived, so it sends the queue again.
    const next = open(nodeEnv(storage));
    await until('the adopted queue sent', () => (next.stats().sent >= 31 ? true : undefined));
    exactlyOnce(await stored('beacon'), 31);
  });

  test('a device disabled by an operator: its events are refused and reported as dropped, not retried for ever', async () => {
    const env = nodeEnv();
    const drops: DropReason[] = [];
    const c = open(env, { onDrop: (_n, why) => drops.push(why) });
    trackRange(c, 'disabled-warm', 0, 1);
    const [m] = await allStored('disabled-warm', 1);
    const device = (await s.registry.get(m!.deviceId))!;
    await s.registry.update({ deviceId: device.deviceId, status: 'disabled', symmetricKey: device.authentication.symmetricKey, tenant: device.tenant, kind: device.kind }, '*');
    trackRange(c, 'disabled', 0, 3);
    await until('the drop', () => (drops.length > 0 ? true : undefined));
    assert.deepEqual(drops, ['rejected']);
    assert.deepEqual(c.stats(), { queued: 0, sent: 1, dropped: 3 });
  });
});
