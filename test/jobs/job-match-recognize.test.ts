// MATCH_RECOGNIZE in a continuous job over the live log: the retail funnel found from events posted
// by devices, with the server restarted in the middle of a shopper's funnel — the job resumes from
// what it last committed (its state, half a funnel included, then the messages after it) and
// completes the funnel on the next event. Restores in the middle of a match are tested exactly, at
// every point, in test/query/match-recognize.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Device } from '../../src/core/device.js';
import { eventually, type WireRow } from '../helpers/jobs.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const FUNNEL = `
  SELECT * INTO Funnel FROM events
  MATCH_RECOGNIZE (
    LIMIT DURATION (minute, 30)
    PARTITION BY shopper, product
    MEASURES Count(Viewed.kind) AS views, Count(TriedOn.kind) AS tryOns, Last(Bought.price) AS price
    PATTERN (Viewed+ TriedOn+ Bought)
    DEFINE Viewed AS Viewed.kind = 'view', TriedOn AS TriedOn.kind = 'tryon', Bought AS Bought.kind = 'purchase'
  ) AS F`;

const settings = {
  outputs: { Funnel: { type: 'dashboard' } },
  jobs: { funnel: { query: FUNNEL, eventOrdering: { lateArrival: '0s' } } },
};

async function post(s: TestServer, device: Device, body: Record<string, unknown>): Promise<void> {
  const res = await s.fetch(`/devices/${device.deviceId}/messages/events`, { method: 'POST', headers: { authorization: s.deviceToken(device) }, body: JSON.stringify(body) });
  assert.equal(res.status, 204);
}

async function eventsIn(s: TestServer): Promise<number> {
  const res = await s.fetch('/api/jobs/funnel', { headers: { authorization: s.policyToken('service') } });
  return ((await res.json()) as { eventsIn: number }).eventsIn;
}

test('the funnel over the live log, across a restart in the middle of a match', { timeout: 60_000 }, async () => {
  const first = await startTestServer(settings);
  const phone = await first.createDevice('phone-ann', { tenant: 'brand-a' });
  const kiosk = await first.createDevice('kiosk-bob', { tenant: 'brand-a' });
  await post(first, phone, { shopper: 'ann', product: 'boots', kind: 'view' });
  await post(first, kiosk, { shopper: 'bob', product: 'boots', kind: 'view' });
  await post(first, phone, { shopper: 'ann', product: 'boots', kind: 'view' });
  await post(first, phone, { shopper: 'ann', product: 'boots', kind: 'tryon' });
  await eventually('the job to read the first events', async () => ((await eventsIn(first)) >= 4 ? true : undefined));
  await first.close();

  const second = await startTestServer(settings, first.dataDir);
  try {
    await post(second, phone, { shopper: 'ann', product: 'boots', kind: 'purchase', price: 120 });
    await post(second, kiosk, { shopper: 'bob', product: 'boots', kind: 'purchase', price: 90 }); // bob never tried them on
    const rows = await eventually('the funnel row', async () => {
      const res = await second.fetch('/api/outputs/Funnel?limit=100', { headers: { authorization: second.policyToken('service') } });
      const { rows } = (await res.json()) as { rows: WireRow[] };
      return rows.length > 0 ? rows : undefined;
    });
    // Give a wrong second row (bob) the time to show up before the assertion.
    await new Promise((r) => setTimeout(r, 1_500));
    const res = await second.fetch('/api/outputs/Funnel?limit=100', { headers: { authorization: second.policyToken('service') } });
    const all = ((await res.json()) as { rows: WireRow[] }).rows;
    assert.deepEqual(all.map((r) => [r.tenant, r.row]), [['brand-a', { shopper: 'ann', product: 'boots', views: 2, tryOns: 1, price: 120 }]]);
    assert.equal(rows.length, 1);
  } finally {
    await second.stop();
  }
});
