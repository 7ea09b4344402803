// Jobs chain: one job's `log` output is another job's input, read exactly once in commit order;
// and a `file` output gets JSON lines.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Device } from '../../src/core/device.js';
import { eventually, type WireRow } from '../helpers/jobs.js';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js';

describe('chained jobs and file outputs', () => {
  let s: TestServer;
  let dir: string;
  let devices: Device[];
  before(async () => {
    dir = tempDir();
    s = await startTestServer({
      outputs: {
        Enriched: { type: 'log' },
        Totals: { type: 'dashboard' },
        Archive: { type: 'file', path: join(dir, 'archive', 'totals.jsonl') },
      },
      jobs: {
        enrich: {
          query: "SELECT sku, qty, qty * 10 AS value, GetMetadataPropertyValue(e, '[User].[channel]') AS channel INTO Enriched FROM events e",
          eventOrdering: { lateArrival: '0s' },
        },
        totals: {
          query: `SELECT channel, SUM(value) AS value, COUNT(*) AS lines, System.Timestamp() AS windowEnd INTO Totals FROM enriched GROUP BY channel, TumblingWindow(second, 1)
                  SELECT channel, SUM(value) AS value INTO Archive FROM enriched GROUP BY channel, TumblingWindow(second, 1)`,
          inputs: { enriched: { from: 'Enriched' } },
          eventOrdering: { lateArrival: '0s' },
        },
      },
    });
    devices = [await s.createDevice('web-1', { tenant: 'brand-a' }), await s.createDevice('app-1', { tenant: 'brand-a' })];
  });
  after(() => s.stop());

  test('the second job reads the first one\'s rows once each and keeps their tenant; a file output gets JSON lines', async () => {
    let expected = 0;
    for (let i = 0; i < 30; i++) {
      const d = devices[i % 2]!;
      const qty = 1 + (i % 4);
      expected += qty * 10;
      const res = await s.fetch(`/devices/${d.deviceId}/messages/events`, {
        method: 'POST', headers: { authorization: s.deviceToken(d), 'iothub-app-channel': i % 2 === 0 ? 'web' : 'app' }, body: JSON.stringify({ sku: `S${i % 3}`, qty }),
      });
      assert.equal(res.status, 204);
      if (i % 10 === 9) await new Promise((r) => setTimeout(r, 300));
    }
    const headers = { authorization: s.policyToken('service') };
    const totals = await eventually('every value totalled', async () => {
      const { rows } = (await (await s.fetch('/api/outputs/Totals?limit=1000', { headers })).json()) as { rows: WireRow[] };
      return rows.reduce((n, r) => n + Number(r.row.value), 0) === expected ? rows : undefined;
    });
    assert.equal(totals.reduce((n, r) => n + Number(r.row.lines), 0), 30, 'each chained row read once');
    assert.deepEqual(new Set(totals.map((r) => r.row.channel)), new Set(['web', 'app']), 'metadata read in the first job travels as a field');
    assert.ok(totals.every((r) => r.tenant === 'brand-a'));
    const status = (await (await s.fetch('/api/jobs/totals', { headers })).json()) as { eventsIn: number; inputLag: number };
    assert.equal(status.eventsIn, 30);
    const lines = await eventually('the archive file', async () => {
      let text: string;
      try {
        text = readFileSync(join(dir, 'archive', 'totals.jsonl'), 'utf8');
      } catch {
        return undefined;
      }
      const parsed = text.trim().split('\n').map((l) => JSON.parse(l) as { key: string; tenant: string; row: { value: number } });
      return parsed.reduce((n, l) => n + l.row.value, 0) === expected ? parsed : undefined;
    });
    assert.equal(new Set(lines.map((l) => l.key)).size, lines.length, 'no line twice');
    assert.match(lines[0]!.key, /^totals\/Archive\/brand-a\/\d+\/\d+$/);
  });

  test('a job may not read an output that is not a log, nor read what it writes through a circle', async () => {
    const other = await startTestServer({
      outputs: { A: { type: 'log' }, B: { type: 'log' }, D: { type: 'dashboard' } },
      jobs: {
        one: { query: 'SELECT * INTO A FROM b', inputs: { b: { from: 'B' } } },
        two: { query: 'SELECT * INTO B FROM a', inputs: { a: { from: 'A' } } },
        three: { query: 'SELECT * INTO A FROM d', inputs: { d: { from: 'D' } } },
      },
    });
    try {
      const ready = (await (await other.fetch('/readyz')).json()) as { jobs: { refused: Array<{ job: string; message: string }> } };
      const refused = Object.fromEntries(ready.jobs.refused.map((p) => [p.job, p.message]));
      assert.match(refused.three!, /output 'D', which is a dashboard output; a job can read only 'log' outputs/);
      assert.match(refused.one!, /circle/);
      assert.match(refused.two!, /circle/);
    } finally {
      await other.stop();
    }
  });
});
