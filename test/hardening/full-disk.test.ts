// A full disk: the data directory on a small tmpfs the test mounts (root only; skipped otherwise,
// or failed under OMNISTREAM_REQUIRE_SERVICES=1). Once the disk fills, appends fail cleanly — a
// 503 with Retry-After in IoT Hub's shape, never a 204, never a 500 — and store nothing; when
// space returns the server takes messages again without a restart, and every acknowledged message
// is stored once. The same for the other stores in the data directory, each its own SQLite file:
// a consumer-group checkpoint (groups.db) and a device registration (registry.db) are refused with
// 503 storage_full and change nothing, and a job whose commit (jobs.db) fails recovers once space
// returns with exactly the rows an uninterrupted run gives; the recommender's checkpoint (recs.db)
// fails, and once space returns the model holds every event once. One server goes through all of
// it, never restarted.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statfsSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import type { Device } from '../../src/core/device.js';
import { comparable, eventually, oracle, sortRows, type WireRow } from '../helpers/jobs.js';
import { readAll, startTestServer, type TestServer } from '../helpers/server.js';

const SIZE_MB = 16;
const QUERY = `
  SELECT sku, COUNT(*) AS events, SUM(qty) AS units, System.Timestamp() AS windowEnd
  INTO Counts FROM events GROUP BY sku, TumblingWindow(millisecond, 500)`;

function mountTmpfs(dir: string): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${SIZE_MB}m`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `cannot mount a ${SIZE_MB} MB tmpfs (root is needed): ${(err as Error).message.split('\n')[0]}`;
  }
}

const mountPoint = mkdtempSync(join(tmpdir(), 'omnistream-full-disk-'));
const cannot = mountTmpfs(mountPoint);
if (cannot && process.env.OMNISTREAM_REQUIRE_SERVICES === '1') throw new Error(cannot);

describe('a full disk', { skip: cannot }, () => {
  let s: TestServer;
  let d: Device;
  const filler = join(mountPoint, 'filler');
  before(async () => {
    const dataDir = join(mountPoint, 'data');
    mkdirSync(dataDir);
    s = await startTestServer({
      outputs: { Counts: { type: 'dashboard' } },
      jobs: { counts: { query: QUERY, eventOrdering: { lateArrival: '0s' }, checkpointInterval: '100ms' } },
      // Long enough that events can be stored and absorbed before the disk fills under the checkpoint.
      recommendations: { enabled: true, checkpointInterval: '5s', events: { viewed: { weight: 1 } } },
    }, dataDir);
    d = await s.createDevice('disk-filler');
  });
  after(async () => {
    await s.close();
    execFileSync('umount', [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });

  /** Fills the file system to its last page; returns what gives the space back. */
  const fillDisk = (): (() => void) => {
    const fd = openSync(filler, 'w');
    try {
      for (const size of [2 ** 20, 4096]) {
        const chunk = Buffer.alloc(size, 1);
        for (;;) {
          try {
            writeSync(fd, chunk);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
            break;
          }
        }
      }
    } finally {
      closeSync(fd);
    }
    return () => rmSync(filler);
  };
  const service = () => ({ authorization: s.policyToken('service') });
  /** A refusal for a full disk in Omnistream's error shape. */
  const assertStorageFull = async (res: Response, what: string) => {
    const text = await res.text();
    assert.equal(res.status, 503, `${what}: ${text}`);
    assert.equal((JSON.parse(text) as { error: { code: string } }).error.code, 'storage_full', text);
    assert.ok(Number(res.headers.get('retry-after')) > 0, 'Retry-After');
  };

  const send = (id: string) => s.fetch(`/devices/${d.deviceId}/messages/events`, {
    method: 'POST', headers: { authorization: s.deviceToken(d), 'iothub-messageid': id }, body: Buffer.alloc(50_000, 'x'),
  });

  // First, while the file system has room for the checkpoint once the filler is gone (the appends'
  // test below leaves the log holding most of it).
  test('the recommender\'s checkpoint fails on a full disk; once space returns it commits, and the model has absorbed every event once', async () => {
    const headers = service();
    // A batch of distinct items: their rows and pairs are more than recs.db's WAL file already holds
    // room for (a small checkpoint would be written into it without asking the file system for more).
    const post = (batch: number) => s.fetch(`/devices/${d.deviceId}/messages/events`, {
      method: 'POST',
      headers: { authorization: s.deviceToken(d), 'content-type': 'application/vnd.microsoft.iothub.json' },
      body: JSON.stringify(Array.from({ length: 250 }, (_, i) => ({ body: Buffer.from(JSON.stringify({ event: 'viewed', sku: `SKU-R${batch * 250 + i}` })).toString('base64') }))),
    });
    const model = async () => ((await (await s.fetch('/api/recommendations/items/SKU-0?k=3', { headers })).json()) as { model: { events: number } }).model.events;
    const metric = async (name: string) => Number((await (await s.fetch('/metrics')).text()).match(new RegExp(`^${name}(?:\\{\\})? (\\d+)`, 'm'))?.[1] ?? 0);
    const N = 500;
    const start = await model();
    for (let b = 0; b < N / 250; b++) assert.equal((await post(b)).status, 204);
    await eventually('the model to absorb the events', async () => ((await model()) === start + N ? true : undefined), 10_000);
    const failuresBefore = await metric('omnistream_recs_failures_total');
    // The checkpoint that would commit them comes within its 5 s interval, onto a full disk.
    const free = fillDisk();
    try {
      await eventually('the recommender\'s checkpoint to fail', async () => ((await metric('omnistream_recs_failures_total')) > failuresBefore ? true : undefined), 20_000);
    } finally {
      free();
    }
    // It reopens from its last checkpoint (after its 5 s pause), reads the events again and commits.
    const stored = () => {
      const db = new Database(join(s.dataDir, 'recs.db'), { readonly: true });
      try {
        const row = db.prepare<[], { checkpoint: string }>('SELECT checkpoint FROM recs_checkpoint WHERE id = 1').get();
        return row === undefined ? 0 : (JSON.parse(row.checkpoint) as { absorbed: number }).absorbed;
      } finally {
        db.close();
      }
    };
    await eventually('recs.db to hold a checkpoint of every event', async () => (stored() === start + N ? true : undefined), 30_000);
    assert.equal(await model(), start + N, 'every event once: none lost with the failed checkpoint, none counted twice after it');
    assert.equal(await metric('omnistream_recs_events_absorbed'), start + N);
  });

  test('appends fail with 503 and Retry-After, store nothing, and the server takes messages again once space returns', async () => {
    const acked: string[] = [];
    let refusal: Response | undefined;
    let i = 0;
    // Fill most of the disk with a file of our own (all but 3 MB of what is free), then fill the rest with messages.
    const { bavail, bsize } = statfsSync(mountPoint);
    writeFileSync(filler, Buffer.alloc(Math.max(0, bavail * bsize - 3 * 2 ** 20)));
    for (; i < 2_000 && !refusal; i++) {
      const r = await send(`m-${i}`);
      if (r.status === 204) acked.push(`m-${i}`);
      else refusal = r;
    }
    assert.ok(refusal, 'the disk filled');
    const text = await refusal.text();
    assert.equal(refusal.status, 503, text);
    assert.equal(refusal.headers.get('iothub-errorcode'), 'ServiceUnavailable');
    assert.ok(refusal.headers.get('retry-after'));
    const refusedId = `m-${i - 1}`;
    // Space returns: the next append is taken (a few may still fail while SQLite finds its feet).
    rmSync(filler);
    let back: Response | undefined;
    for (let j = 0; j < 50 && back?.status !== 204; j++) {
      back = await send(`after-${j}`);
      if (back.status === 204) acked.push(`after-${j}`);
      else assert.equal(back.status, 503, await back.text());
    }
    assert.equal(back?.status, 204, 'taken again after space returned');
    // This test's messages (the recommender's test before it sent others, without ids).
    const stored = (await readAll(s)).map((m) => m.messageId).filter((id) => id !== undefined && /^(m|after)-/.test(id));
    assert.equal(new Set(stored).size, stored.length, 'nothing stored twice');
    assert.deepEqual(acked.filter((id) => !stored.includes(id)), [], 'acknowledged but lost');
    assert.ok(!stored.includes(refusedId), 'the refused message is not stored');
    assert.equal((await s.fetch('/healthz')).status, 200);
  });

  test('a consumer-group checkpoint is refused with 503 storage_full, the previous checkpoint stays, and the same cursor commits once space returns', async () => {
    const group = 'disk-reader';
    const headers = { ...service(), 'content-type': 'application/json' };
    assert.equal((await s.fetch(`/api/consumergroups/${group}`, { method: 'PUT', headers, body: '{"startFrom":"earliest"}' })).status, 201);
    const committed = async () => ((await (await s.fetch(`/api/consumergroups/${group}`, { headers })).json()) as { partitions: Array<{ committedSequenceNumber: number }> }).partitions.map((p) => p.committedSequenceNumber);
    const page = async () => (await (await s.fetch(`/api/consumergroups/${group}/messages?max=2`, { headers })).json()) as { messages: unknown[]; cursor: string };
    const commit = (cursor: string) => s.fetch(`/api/consumergroups/${group}/checkpoint`, { method: 'POST', headers, body: JSON.stringify({ cursor }) });
    assert.equal((await commit((await page()).cursor)).status, 204);
    const before = await committed();
    const next = await page();
    assert.equal(next.messages.length, 2);
    const free = fillDisk();
    try {
      await assertStorageFull(await commit(next.cursor), 'a checkpoint on a full disk');
      assert.deepEqual(await committed(), before, 'the previous checkpoint stays');
    } finally {
      free();
    }
    assert.equal((await commit(next.cursor)).status, 204, 'the same cursor commits once space returns');
    assert.notDeepEqual(await committed(), before);
  });

  test('a device registration is refused with 503 storage_full and creates nothing; the same registration succeeds once space returns', async () => {
    const appKey = (await s.keys.addAppKey('disk-brand')).key;
    const register = () => s.fetch('/api/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ appKey, deviceId: 'registered-on-full-disk' }) });
    const owner = { authorization: s.policyToken(), 'content-type': 'application/json' };
    const devicesBefore = (await s.registry.list()).map((x) => x.deviceId);
    const free = fillDisk();
    try {
      await assertStorageFull(await register(), 'self-registration on a full disk');
      const put = await s.fetch('/devices/created-on-full-disk?api-version=2021-04-12', { method: 'PUT', headers: owner, body: '{"deviceId":"created-on-full-disk"}' });
      assert.equal(put.status, 503, await put.clone().text());
      assert.equal(put.headers.get('iothub-errorcode'), 'ServiceUnavailable');
      assert.deepEqual((await s.registry.list()).map((x) => x.deviceId), devicesBefore, 'nothing half-created');
    } finally {
      free();
    }
    const res = await register();
    assert.equal(res.status, 201, await res.clone().text());
    const { sasToken } = (await res.json()) as { sasToken: string };
    const sent = await s.fetch('/devices/registered-on-full-disk/messages/events', { method: 'POST', headers: { authorization: sasToken }, body: '{"sku":"SKU-R","qty":1}' });
    assert.equal(sent.status, 204, 'the registered device sends');
  });

  test('a job whose commit fails on a full disk recovers once space returns, with exactly the rows of an uninterrupted run', async (t) => {
    const headers = service();
    const status = async () => (await (await s.fetch('/api/jobs/counts', { headers })).json()) as { state: string; clock: string | null; lastError: { message: string } | null };
    const post = (i: number) => s.fetch(`/devices/${d.deviceId}/messages/events`, {
      method: 'POST', headers: { authorization: s.deviceToken(d), 'iothub-messageid': `job-${i}` }, body: JSON.stringify({ sku: `SKU-${i % 3}`, qty: 1 + (i % 4) }),
    });
    for (let i = 0; i < 20; i++) assert.equal((await post(i)).status, 204);
    // The windows these events opened close while the disk is full: their commit must fail.
    const free = fillDisk();
    let failure: string;
    let refused = 0;
    try {
      failure = await eventually('the job\'s commit to fail', async () => {
        const st = await status();
        return st.state === 'failed' ? st.lastError?.message : undefined;
      }, 20_000);
      // Appends meanwhile may be taken (the log's own file may have room) or refused; never a 5xx other than 503.
      for (let i = 20; i < 30; i++) {
        const r = await post(i);
        assert.ok(r.status === 204 || r.status === 503, `${r.status} ${await r.text()}`);
        if (r.status === 503) refused++;
      }
    } finally {
      free();
    }
    assert.match(failure, /full/);
    t.diagnostic(`the job failed with: ${failure}; ${refused} of 10 appends refused meanwhile`);
    const lastSent = Date.now();
    await eventually('the job to recover and close every window', async () => {
      const st = await status();
      return st.state === 'running' && st.clock !== null && Date.parse(st.clock) > lastSent + 1_000 ? true : undefined;
    }, 30_000);
    const rows = ((await (await s.fetch('/api/outputs/Counts?limit=10000', { headers })).json()) as { rows: WireRow[] }).rows;
    const expected = sortRows(oracle(QUERY, await readAll(s), { policy: { lateArrivalToleranceMs: 0 } }));
    assert.ok(expected.length > 0);
    assert.deepEqual(sortRows(comparable('Counts', rows)), expected, 'no window row missing or doubled');
    assert.equal((await s.fetch('/healthz')).status, 200);
  });

});
