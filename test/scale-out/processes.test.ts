// Scale-out through the real command line: the log on NATS JetStream and the state in PostgreSQL
// chosen by --log and --db, what a start does when either is unreachable, --db on the store
// commands, a device change heard by a running gateway, and the gateway and jobs roles.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { deviceResource, signSasToken } from '../../src/auth/sas.js';
import { omnistream } from '../cli/run-cli.js';
import { eventually } from '../helpers/jobs.js';
import { freePort, NATS_URL } from '../helpers/nats.js';
import { PG_URL } from '../helpers/postgres.js';
import type { ServerProcess } from '../helpers/process.js';
import { OWNER_KEY, sharedHub, skipWithoutScaleOut, startProcess, stopProcess, type SharedHub } from '../helpers/scale-out.js';
import { tempDir } from '../helpers/server.js';

const COUNT = 'SELECT COUNT(*) AS n, System.Timestamp() AS t INTO Counts FROM events GROUP BY TumblingWindow(second, 1)';

function jobsConfig(dir: string): string {
  const file = join(dir, 'omnistream.yaml');
  writeFileSync(file, [
    'registryCache: 1h',
    'outputs:',
    '  Counts: {type: dashboard}',
    'jobs:',
    `  counts: {query: "${COUNT}", eventOrdering: {lateArrival: 0s}}`,
  ].join('\n'));
  return file;
}

/** The first `rows` event of an output's SSE stream, then the stream is closed. */
async function firstRowsEvent(url: string, authorization: string): Promise<{ output: string; rows: { row: { n: number } }[] }> {
  const ac = new AbortController();
  // Gives up rather than hanging the run when no row ever comes.
  const r = await fetch(url, { headers: { authorization }, signal: AbortSignal.any([ac.signal, AbortSignal.timeout(60_000)]) });
  assert.equal(r.status, 200);
  const decoder = new TextDecoder();
  let text = '';
  try {
    for await (const chunk of r.body!) {
      text += decoder.decode(chunk as Uint8Array, { stream: true });
      const event = /event: rows\ndata: (.*)\n\n/.exec(text);
      if (event) return JSON.parse(event[1]!) as { output: string; rows: { row: { n: number } }[] };
    }
    throw new Error(`the stream ended without rows: ${text}`);
  } finally {
    ac.abort();
  }
}

describe('starting against NATS and PostgreSQL', () => {
  test('NATS unreachable at start: exit 1, naming NATS and its address', async (t) => {
    if (await skipWithoutScaleOut(t)) return;
    const hub = sharedHub();
    try {
      const port = await freePort();
      const r = await omnistream(['start', '--data', tempDir(), '--http-port', '0', '--log', `nats://127.0.0.1:${port}`, '--db', PG_URL, '--db-schema', hub.schema]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^omnistream: Cannot reach NATS at nats://127\\.0\\.0\\.1:${port}: `));
    } finally {
      await hub.remove();
    }
  });

  test('PostgreSQL unreachable at start: exit 1, naming the database and never its password', async (t) => {
    if (await skipWithoutScaleOut(t)) return;
    const port = await freePort();
    const r = await omnistream(['start', '--data', tempDir(), '--http-port', '0', '--log', NATS_URL, '--db', `postgres://omni:s3cret@127.0.0.1:${port}/hub`]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^omnistream: .* cannot reach its database, PostgreSQL at omni@127\\.0\\.0\\.1:${port}/hub \\(schema omnistream\\): `));
    assert.doesNotMatch(r.stderr, /s3cret/);
  });

  test('--role gateway or jobs needs both --log and --db', async () => {
    for (const role of ['gateway', 'jobs']) {
      const r = await omnistream(['start', '--data', tempDir(), '--role', role, '--db', PG_URL]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, new RegExp(`a ${role} process runs beside others, so it needs the log and database they share`));
    }
  });
});

describe('a gateway and a jobs process on one hub', () => {
  let hub: SharedHub;
  let gateway: ServerProcess | undefined;
  let worker: ServerProcess | undefined;
  let skipped = false;
  const dir = tempDir();
  const config = jobsConfig(dir);
  const cli = (...args: string[]) => omnistream([...args, '--config', config, '--db', PG_URL, '--db-schema', hub.schema], { OMNISTREAM_OWNER_KEY: OWNER_KEY });

  before(async (t) => {
    skipped = await skipWithoutScaleOut(t as never);
    if (skipped) return;
    hub = sharedHub();
    [gateway, worker] = await Promise.all([
      startProcess(hub, ['--config', config, '--data', join(dir, 'g'), '--role', 'gateway']),
      startProcess(hub, ['--config', config, '--data', join(dir, 'j'), '--role', 'jobs']),
    ]);
  });

  after(async () => {
    await Promise.all([stopProcess(gateway), stopProcess(worker)]);
    await hub?.remove();
  });

  test('keys, device and token take --db: what they write, the gateway serves; a device disabled by the CLI is refused at once', async (t) => {
    if (skipped) return t.skip('NATS or PostgreSQL missing');
    const keys = await cli('keys', '--json');
    assert.equal(keys.code, 0, keys.stderr);
    assert.equal((JSON.parse(keys.stdout) as { policies: { iothubowner: { key: string } } }).policies.iothubowner.key, OWNER_KEY);
    const created = await cli('device', 'create', 'till-1', '--tenant', 'brand-a');
    assert.equal(created.code, 0, created.stderr);
    const token = await cli('token', '--device', 'till-1');
    assert.equal(token.code, 0, token.stderr);
    const authorization = token.stdout.trim();
    const send = () => fetch(`${gateway!.url}/devices/till-1/messages/events`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: '{"sku":"A1"}' });
    assert.equal((await send()).status, 204);
    // The gateway now holds the device in its cache for an hour (registryCache: 1h); only the
    // notification from PostgreSQL can make it see the change.
    assert.equal((await cli('device', 'disable', 'till-1')).code, 0);
    await eventually('the gateway to refuse the disabled device', async () => ((await send()).status === 401 ? true : undefined));
    assert.equal((await cli('device', 'enable', 'till-1')).code, 0);
    await eventually('the gateway to take the device again', async () => ((await send()).status === 204 ? true : undefined));
  });

  test('the jobs process runs the job and its port serves health, metrics and jobs only; the gateway runs no job, answers for its output and streams its rows live', async (t) => {
    if (skipped) return t.skip('NATS or PostgreSQL missing');
    const ready = await (await fetch(`${worker!.url}/readyz`)).json() as { status: string; jobs: { owned: string[] } };
    assert.equal(ready.status, 'ready');
    await eventually('the jobs process to own the job', async () => {
      const r = await (await fetch(`${worker!.url}/readyz`)).json() as { jobs: { owned: string[] } };
      return r.jobs.owned.includes('job:counts') ? true : undefined;
    });
    assert.equal((await fetch(`${worker!.url}/metrics`)).status, 200);
    assert.equal((await fetch(`${worker!.url}/devices/till-1/messages/events`, { method: 'POST', body: '{}' })).status, 404);
    assert.equal((await fetch(`${worker!.url}/api/partitions`)).status, 404);
    const gatewayReady = await (await fetch(`${gateway!.url}/readyz`)).json() as Record<string, unknown>;
    assert.deepEqual(gatewayReady, { status: 'ready' });
    // Events sent to the gateway are counted by the job in the other process.
    const device = await cli('device', 'create', 'till-2');
    assert.equal(device.code, 0, device.stderr);
    const key = (JSON.parse(device.stdout) as { authentication: { symmetricKey: { primaryKey: string } } }).authentication.symmetricKey.primaryKey;
    const authorization = signSasToken({ resource: deviceResource('localhost', 'till-2'), key, expiry: Math.floor(Date.now() / 1000) + 600 });
    // A dashboard following the output on the gateway: rows committed in the jobs process reach it live.
    const service = await cli('token', '--policy', 'service');
    const live = firstRowsEvent(`${gateway!.url}/api/outputs/Counts/stream`, service.stdout.trim());
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${gateway!.url}/devices/till-2/messages/events`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify({ i }) });
      assert.equal(r.status, 204);
    }
    const streamed = await live;
    assert.equal(streamed.output, 'Counts');
    assert.ok(streamed.rows.length > 0 && streamed.rows.every((r) => r.row.n > 0), JSON.stringify(streamed));
    const total = await eventually('the job\'s rows, read through the gateway', async () => {
      const r = await fetch(`${gateway!.url}/api/outputs/Counts?limit=1000`, { headers: { authorization: service.stdout.trim() } });
      const body = await r.json() as { rows: { row: { n: number } }[] };
      const n = body.rows.reduce((sum, row) => sum + row.row.n, 0);
      // till-1 stored two events in the test before (the first, and the first after it was enabled again).
      return n >= 7 ? n : undefined;
    });
    assert.equal(total, 7);
  });
});
