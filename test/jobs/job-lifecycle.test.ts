// A job whose reference data has not loaded waits, visibly, without holding up anything else: the
// other jobs run, it can be stopped, and the server stops at once.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually } from '../helpers/jobs.js';
import { startTestServer, tempDir } from '../helpers/server.js';

test('a job waiting for reference data says so, can be stopped, and starts when the data comes; the server stops at once', async () => {
  const dir = tempDir();
  const catalog = join(dir, 'catalog.csv');
  const s = await startTestServer({
    reference: { products: { file: catalog } },
    outputs: { Out: { type: 'dashboard' } },
    jobs: {
      joined: { query: 'SELECT e.sku, p.name INTO Out FROM events e JOIN products p ON e.sku = p.sku' },
      plain: { query: 'SELECT sku INTO Out FROM events' },
    },
  });
  const headers = { authorization: s.policyToken('service') };
  const status = async (name: string) => (await (await s.fetch(`/api/jobs/${name}`, { headers })).json()) as { state: string; references: Array<{ error: string | null }> };
  try {
    await eventually('the jobs to start', async () => ((await status('plain')).state === 'running' ? true : undefined));
    const waiting = await status('joined');
    assert.equal(waiting.state, 'waiting-for-reference-data');
    assert.match(waiting.references[0]!.error!, /cannot read .*catalog\.csv: ENOENT/);
    assert.equal((await (await s.fetch('/api/jobs/joined/stop', { method: 'POST', headers })).json() as { state: string }).state, 'stopped');
    assert.equal((await (await s.fetch('/api/jobs/joined/start', { method: 'POST', headers })).json() as { state: string }).state, 'waiting-for-reference-data');
    writeFileSync(catalog, 'sku,name\nA,Coat\n');
    await eventually('the catalogue and the job', async () => ((await status('joined')).state === 'running' ? true : undefined), 20_000);
  } finally {
    await s.stop();
  }
});

test('a server whose job waits for reference data that never comes still stops at once', async () => {
  const s = await startTestServer({
    reference: { products: { file: join(tempDir(), 'never.csv') } },
    outputs: { Out: { type: 'dashboard' } },
    jobs: { joined: { query: 'SELECT e.sku, p.name INTO Out FROM events e JOIN products p ON e.sku = p.sku' } },
  });
  const headers = { authorization: s.policyToken('service') };
  await eventually('the job to wait', async () => ((await (await s.fetch('/api/jobs/joined', { headers })).json() as { state: string }).state === 'waiting-for-reference-data' ? true : undefined));
  await s.stop();
});
