// kill -9 while a job runs, mid-window, with events flowing: after the restart the job's rows are
// exactly the rows an uninterrupted run gives — none missing, none twice — and a replay from the
// earliest message reproduces them row by row.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileKeyStore } from '../../src/auth/file-key-store.js';
import { deviceResource, signSasToken } from '../../src/auth/sas.js';
import type { StoredMessage } from '../../src/core/message.js';
import { SqliteEventLog } from '../../src/log/sqlite-event-log.js';
import { SqliteRegistry } from '../../src/registry/sqlite-registry.js';
import { comparable, eventually, oracle, sortRows, type ComparableRow, type WireRow } from '../helpers/jobs.js';
import { spawnServer, type ServerProcess } from '../helpers/process.js';
import { tempDir } from '../helpers/server.js';

const QUERY = `
  SELECT sku, COUNT(*) AS events, SUM(qty) AS units, MAX(n) AS last, System.Timestamp() AS windowEnd
  INTO Counts FROM events GROUP BY sku, TumblingWindow(millisecond, 500)`;

const DEVICES = 6;

test('kill -9 mid-run (twice), then restart: exactly the rows an uninterrupted run gives; a replay reproduces them', { timeout: 120_000 }, async () => {
  const dataDir = tempDir();
  const config = join(dataDir, 'omnistream.yaml');
  writeFileSync(config, [
    'outputs:',
    '  Counts: { type: dashboard }',
    'jobs:',
    '  counts:',
    `    query: ${JSON.stringify(QUERY)}`,
    '    eventOrdering: { lateArrival: 0s }',
    '    checkpointInterval: 100ms',
  ].join('\n'));
  let server: ServerProcess | undefined;
  try {
    const registry = new SqliteRegistry(join(dataDir, 'registry.db'));
    const devices = await Promise.all(Array.from({ length: DEVICES }, (_, i) => registry.create({ deviceId: `shop-${i}`, tenant: i % 2 === 0 ? 'brand-a' : 'brand-b' })));
    await registry.close();
    const tokens = devices.map((d) => signSasToken({ resource: deviceResource('localhost', d.deviceId), key: d.authentication.symmetricKey.primaryKey, expiry: Math.floor(Date.now() / 1000) + 3600 }));
    const unacked = new Map<string, { device: number; body: string }>();
    let n = 0;
    const send = async (url: string, id: string, device: number, body: string): Promise<boolean> => {
      let res: Response;
      try {
        res = await fetch(`${url}/devices/shop-${device}/messages/events`, { method: 'POST', headers: { authorization: tokens[device]!, 'iothub-messageid': id }, body });
      } catch {
        return false; // cut off by the kill: retried after the restart
      }
      assert.equal(res.status, 204, `${id}: ${res.status}`);
      return true;
    };
    /** Posts events from a few workers until `stop` says so. */
    const flow = async (url: string, stop: () => boolean) => {
      await Promise.all(Array.from({ length: 4 }, async () => {
        while (!stop()) {
          const i = n++;
          const id = `e-${i}`;
          const device = i % DEVICES;
          const body = JSON.stringify({ sku: `SKU-${i % 5}`, qty: 1 + (i % 3), n: i });
          unacked.set(id, { device, body });
          if (await send(url, id, device, body)) unacked.delete(id);
          else return;
        }
      }));
    };

    // Two kills at random moments, each mid-window with events flowing and checkpoints behind.
    for (let crash = 0; crash < 2; crash++) {
      server = await spawnServer(['--config', config, '--data', dataDir]);
      // Clients retry what they never saw acknowledged (the same messageId is stored once).
      for (const [id, { device, body }] of unacked) assert.ok(await send(server.url, id, device, body), `retry of ${id}`);
      unacked.clear();
      let killed = false;
      const flowing = flow(server.url, () => killed);
      await new Promise((r) => setTimeout(r, 1_000 + Math.random() * 500));
      killed = true;
      server.child.kill('SIGKILL');
      await server.exited;
      await flowing;
    }

    server = await spawnServer(['--config', config, '--data', dataDir]);
    for (const [id, { device, body }] of unacked) assert.ok(await send(server.url, id, device, body), `retry of ${id}`);
    unacked.clear();
    let stopped = false;
    const more = flow(server.url, () => stopped);
    await new Promise((r) => setTimeout(r, 800));
    stopped = true;
    await more;

    const owner = FileKeyStore.open(dataDir).policy('service')!;
    const auth = { authorization: signSasToken({ resource: 'localhost', key: owner.primaryKey, keyName: 'service', expiry: Math.floor(Date.now() / 1000) + 600 }) };
    const url = server.url;
    const jobRows = async (): Promise<ComparableRow[]> => {
      const { rows } = (await (await fetch(`${url}/api/outputs/Counts?limit=10000`, { headers: auth })).json()) as { rows: WireRow[] };
      return sortRows(comparable('Counts', rows));
    };
    const caughtUp = async () => {
      const status = (await (await fetch(`${url}/api/jobs/counts`, { headers: auth })).json()) as { inputLag: number; clock: string | null; eventsIn: number; state: string };
      // Every message read, and the clock past the last window's end: every row is out.
      return status.state === 'running' && status.eventsIn >= n && status.clock !== null && Date.parse(status.clock) > lastEnqueued + 1_000 ? status : undefined;
    };
    let lastEnqueued = Date.now();
    await eventually('the job to catch up and close its windows', caughtUp, 30_000);
    const afterCrash = await jobRows();

    // The oracle reads the same stored messages, after a graceful stop.
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
    const messages = await readLog(dataDir);
    assert.equal(messages.length, n, 'every event stored once');
    const expected = sortRows(oracle(QUERY, messages, { policy: { lateArrivalToleranceMs: 0 } }));
    assert.ok(expected.length > 10, `windows were closed: ${expected.length}`);
    assert.deepEqual(afterCrash, expected, 'after kill -9 and restart: no duplicate and no missing row');

    // A replay from the earliest message recomputes the same rows.
    server = await spawnServer(['--config', config, '--data', dataDir]);
    const replay = await fetch(`${server.url}/api/jobs/counts/replay`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"from":"earliest"}' });
    assert.equal(replay.status, 200);
    lastEnqueued = Math.max(...messages.map((m) => m.enqueuedTimeUtc.getTime()));
    const replayUrl = server.url;
    await eventually('the replay to finish', async () => {
      const status = (await (await fetch(`${replayUrl}/api/jobs/counts`, { headers: auth })).json()) as { eventsIn: number; clock: string | null };
      return status.eventsIn >= n && status.clock !== null && Date.parse(status.clock) > lastEnqueued + 1_000 ? true : undefined;
    }, 30_000);
    const { rows } = (await (await fetch(`${replayUrl}/api/outputs/Counts?limit=10000`, { headers: auth })).json()) as { rows: WireRow[] };
    assert.deepEqual(sortRows(comparable('Counts', rows)), expected, 'a replay reproduces the rows');
  } finally {
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
});

async function readLog(dataDir: string): Promise<StoredMessage[]> {
  const log = new SqliteEventLog({ path: join(dataDir, 'log.db'), partitions: 4, retentionMs: 1e12, dedupWindowMs: 86_400_000, maxPendingMessages: 1e5, durability: 'process' });
  const out: StoredMessage[] = [];
  for (let p = 0; p < 4; p++) out.push(...(await log.read(p, { kind: 'earliest' }, 1e6)).messages);
  await log.close();
  return out;
}
