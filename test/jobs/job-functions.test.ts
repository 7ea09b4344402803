// JavaScript functions in continuous jobs: a config's `functions` (paths relative to the config
// file's folder) loaded at start, a UDA and a UDF computing rows through the real server, and a
// job whose function file does not parse refused at start with file:line:column while the rest run.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import type { Device } from '../../src/core/device.js';
import { jobsConfigOf } from '../../src/jobs/jobs-config.js';
import { eventually, type WireRow } from '../helpers/jobs.js';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js';

const BASKET_SUM = `// A window's basket value, as a JavaScript aggregate.
function main() {
  this.init = function () { this.total = 0; };
  this.accumulate = function (value, timestamp) { this.total += value.price * value.qty; };
  this.computeResult = function () { return this.total; };
}`;
const LABEL = 'function label(store, n) { return store.toUpperCase() + "#" + n; }';

const BASKETS = `
  SELECT store, uda.basketSum(e) AS value, SUM(e.price * e.qty) AS builtin, COUNT(*) AS lines, udf.label(store, COUNT(*)) AS label,
    System.Timestamp() AS windowEnd
  INTO Baskets FROM events e
  GROUP BY store, TumblingWindow(second, 1)`;

describe('continuous jobs with JavaScript functions', () => {
  let s: TestServer;
  let dir: string;
  let device: Device;

  before(async () => {
    dir = tempDir();
    writeFileSync(join(dir, 'basket-sum.js'), BASKET_SUM);
    writeFileSync(join(dir, 'label.js'), LABEL);
    writeFileSync(join(dir, 'broken.js'), 'function broken(x) {\n  return x +* 2;\n}\n');
    writeFileSync(join(dir, 'picky.js'), 'function picky(store) { if (store === "Bergen") throw new Error("not Bergen"); return store; }');
    s = await startTestServer({
      outputs: { Baskets: { type: 'dashboard' }, Other: { type: 'dashboard' } },
      jobs: {
        baskets: {
          query: BASKETS,
          functions: { basketSum: { uda: join(dir, 'basket-sum.js') }, label: { udf: join(dir, 'label.js') } },
          eventOrdering: { lateArrival: '0s' },
        },
        broken: { query: 'SELECT udf.broken(n) AS b INTO Other FROM events', functions: { broken: { udf: join(dir, 'broken.js') } } },
        picky: { query: 'SELECT udf.picky(store) AS p INTO Other FROM events', functions: { picky: { udf: join(dir, 'picky.js') } } },
      },
    });
    device = await s.createDevice('till-1', { tenant: 'brand-a' });
  });
  after(async () => {
    await s.stop();
  });

  test('a UDA and a UDF compute window rows on the live log, the UDA equal to the built-in SUM', async () => {
    const lines = [['Oslo', 19.9, 1], ['Oslo', 5.5, 2], ['Bergen', 12, 1], ['Oslo', 3.25, 4]] as const;
    for (let round = 0; round < 3; round++) {
      for (const [store, price, qty] of lines) {
        const res = await s.fetch(`/devices/${device.deviceId}/messages/events`, { method: 'POST', headers: { authorization: s.deviceToken(device) }, body: JSON.stringify({ store, price, qty }) });
        assert.equal(res.status, 204);
      }
      await new Promise((r) => setTimeout(r, 400));
    }
    // A later event moves the watermark past the last window.
    await new Promise((r) => setTimeout(r, 1100));
    await s.fetch(`/devices/${device.deviceId}/messages/events`, { method: 'POST', headers: { authorization: s.deviceToken(device) }, body: JSON.stringify({ store: 'Oslo', price: 1, qty: 1 }) });
    const rows = await eventually('the baskets rows', async () => {
      const res = await s.fetch('/api/outputs/Baskets?limit=1000', { headers: { authorization: s.policyToken('service') } });
      const { rows } = (await res.json()) as { rows: WireRow[] };
      return rows.reduce((n, r) => n + (r.row.lines as number), 0) >= 12 ? rows : undefined;
    });
    for (const { row } of rows) {
      assert.ok(Math.abs((row.value as number) - (row.builtin as number)) < 1e-9, JSON.stringify(row));
      assert.equal(row.label, `${String(row.store).toUpperCase()}#${row.lines}`);
    }
    assert.ok(rows.some((r) => r.row.store === 'Bergen') && rows.some((r) => r.row.store === 'Oslo'));
  });

  test('a UDF that throws on some events: counted in the job\'s diagnostics, NULL for those events, the job runs on', async () => {
    const status = await eventually('picky\'s diagnostics', async () => {
      const res = await s.fetch('/api/jobs/picky', { headers: { authorization: s.policyToken('service') } });
      const body = (await res.json()) as { state: string; diagnostics: Record<string, number>; eventsIn: number };
      return body.eventsIn >= 13 ? body : undefined;
    });
    assert.equal(status.state, 'running');
    // Bergen's three events of the first test.
    assert.deepEqual(status.diagnostics, { USER_FUNCTION_FAILED: 3 });
    const res = await s.fetch('/api/outputs/Other?limit=100', { headers: { authorization: s.policyToken('service') } });
    const { rows } = (await res.json()) as { rows: WireRow[] };
    assert.equal(rows.filter((r) => r.row.p === null).length, 3);
    assert.equal(rows.filter((r) => r.row.p === 'Oslo').length, 10);
  });

  test('a job whose function file does not parse is refused at start with file:line:column; the other runs', async () => {
    const ready = (await (await s.fetch('/readyz')).json()) as { jobs: { refused: { job: string; message: string; at: string | null }[] } };
    const broken = ready.jobs.refused.find((p) => p.job === 'broken');
    assert.deepEqual(broken && { ...broken }, { job: 'broken', message: 'INVALID_FUNCTION_FILE: not valid JavaScript: Unexpected token', at: `${join(dir, 'broken.js')}:2:13` });
    assert.equal(ready.jobs.refused.some((p) => p.job === 'baskets'), false);
  });
});

test('functions in a config file are found relative to the config file\'s folder', async () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'functions'));
  writeFileSync(join(dir, 'functions', 'label.js'), LABEL);
  writeFileSync(join(dir, 'omnistream.yaml'), [
    'outputs:', '  Out: { type: dashboard }',
    'jobs:', '  labels:', '    query: SELECT udf.label(store, 1) AS l INTO Out FROM events',
    '    functions:', '      label: { udf: ./functions/label.js }',
  ].join('\n'));
  const { jobs, problems } = await jobsConfigOf(loadConfig({ file: join(dir, 'omnistream.yaml'), env: {} }));
  assert.deepEqual(problems, []);
  assert.equal(jobs.jobs[0]!.functions.udf!.label!.call(['oslo', 1]), 'OSLO#1');
});

test('a UDA\'s state in the middle of a window survives a restart of the server (the job\'s checkpoint)', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'basket-sum.js'), BASKET_SUM);
  const dataDir = tempDir();
  const settings = {
    outputs: { Baskets: { type: 'dashboard' } },
    jobs: {
      baskets: {
        query: `SELECT uda.basketSum(e) AS value, SUM(e.price * e.qty) AS builtin, COUNT(*) AS lines, System.Timestamp() AS windowEnd
          INTO Baskets FROM events e GROUP BY TumblingWindow(second, 10)`,
        functions: { basketSum: { uda: join(dir, 'basket-sum.js') } },
        eventOrdering: { lateArrival: '0s' },
        checkpointInterval: '100ms',
      },
    },
  };
  // Start just after a window opens, so that both halves land in it.
  await new Promise((r) => setTimeout(r, 10_000 - (Date.now() % 10_000) + 200));
  let s = await startTestServer(settings, dataDir);
  const device = await s.createDevice('till-1', { tenant: 'brand-a' });
  const post = async (price: number, qty: number) => {
    const res = await s.fetch(`/devices/${device.deviceId}/messages/events`, { method: 'POST', headers: { authorization: s.deviceToken(device) }, body: JSON.stringify({ price, qty }) });
    assert.equal(res.status, 204);
  };
  await post(10, 1);
  await post(2.5, 4);
  await new Promise((r) => setTimeout(r, 500));
  await s.close();
  s = await startTestServer(settings, dataDir);
  await post(7, 3);
  try {
    const rows = await eventually('the window\'s row', async () => {
      const res = await s.fetch('/api/outputs/Baskets?limit=10', { headers: { authorization: s.policyToken('service') } });
      const { rows } = (await res.json()) as { rows: WireRow[] };
      return rows.length > 0 ? rows : undefined;
    }, 30_000);
    // One window holds all three events: the restart (about a second) fell inside its 10 s.
    assert.deepEqual(rows[0]!.row.lines, 3, JSON.stringify(rows));
    assert.deepEqual({ value: rows[0]!.row.value, builtin: rows[0]!.row.builtin }, { value: 10 + 2.5 * 4 + 7 * 3, builtin: 41 });
  } finally {
    await s.stop();
  }
});
