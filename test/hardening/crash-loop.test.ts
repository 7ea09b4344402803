// kill -9, again and again, at moments drawn from a seeded random source: devices send while a
// consumer-group reader reads and checkpoints and a job closes 500 ms windows (checkpointing every
// 100 ms), and the server is killed CYCLES times. Each restart
// must come up on the data directory as it was left (no repair); clients resend what was never
// acknowledged with the same messageId. At the end: every acknowledged message is stored exactly
// once, nothing else is stored, sequence numbers have no gaps, and the reader never got back a
// message it had checkpointed, while every stored message reached it at least once; the job's rows
// are exactly those of an uninterrupted run over the stored messages (none missing, none twice).
//   OMNISTREAM_CRASH_CYCLES=N (default 20), OMNISTREAM_FUZZ_SEED=N to replay the kill moments
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { FileKeyStore } from '../../src/auth/file-key-store.js';
import { deviceResource, signSasToken } from '../../src/auth/sas.js';
import type { StoredMessage } from '../../src/core/message.js';
import { SqliteEventLog } from '../../src/log/sqlite-event-log.js';
import { SqliteRegistry } from '../../src/registry/sqlite-registry.js';
import { comparable, eventually, oracle, sortRows, type WireRow } from '../helpers/jobs.js';
import { spawnServer, type ServerProcess } from '../helpers/process.js';
import { tempDir } from '../helpers/server.js';

const CYCLES = Number(process.env.OMNISTREAM_CRASH_CYCLES ?? 20);
const SEED = Number(process.env.OMNISTREAM_FUZZ_SEED ?? Date.now() % 2 ** 31);
const DEVICES = 8;
const GROUP = 'crash-reader';
const QUERY = `
  SELECT sku, COUNT(*) AS events, SUM(qty) AS units, MAX(n) AS last, System.Timestamp() AS windowEnd
  INTO Counts FROM events GROUP BY sku, TumblingWindow(millisecond, 500)`;

async function readLog(dataDir: string): Promise<StoredMessage[]> {
  const log = new SqliteEventLog({ path: join(dataDir, 'log.db'), partitions: 4, retentionMs: 1e12, dedupWindowMs: 86_400_000, maxPendingMessages: 1e5, durability: 'process' });
  const out: StoredMessage[] = [];
  for (let p = 0; p < 4; p++) out.push(...(await log.read(p, { kind: 'earliest' }, 1e6)).messages);
  await log.close();
  return out;
}

interface Page { messages: Array<{ messageId: string }>; cursor: string }

test(`kill -9 at ${CYCLES} random moments during ingestion and checkpoints (seed ${SEED}): nothing acknowledged lost or doubled, nothing checkpointed handed out again, no window row missing or doubled`, { timeout: 60_000 + CYCLES * 15_000 }, async () => {
  const dataDir = tempDir();
  try {
    const config = join(dataDir, 'omnistream.yaml');
    writeFileSync(config, ['outputs:', '  Counts: { type: dashboard }', 'jobs:', '  counts:', `    query: ${JSON.stringify(QUERY)}`, '    eventOrdering: { lateArrival: 0s }', '    checkpointInterval: 100ms'].join('\n'));
    const registry = new SqliteRegistry(join(dataDir, 'registry.db'));
    const devices = await Promise.all(Array.from({ length: DEVICES }, (_, i) => registry.create({ deviceId: `loop-${i}` })));
    await registry.close();
    const expiry = Math.floor(Date.now() / 1000) + 3600;
    const tokens = devices.map((d) => signSasToken({ resource: deviceResource('localhost', d.deviceId), key: d.authentication.symmetricKey.primaryKey, expiry }));
    const killAfterMs = fc.sample(fc.integer({ min: 100, max: 1_000 }), { numRuns: CYCLES, seed: SEED });

    const attempted = new Map<string, { device: number; body: string }>();
    const acked = new Set<string>();
    const delivered = new Set<string>();
    const checkpointed = new Set<string>();
    const redelivered: string[] = [];
    let n = 0;
    let service = '';

    const send = async (url: string, id: string, device: number, body: string): Promise<boolean> => {
      const res = await fetch(`${url}/devices/loop-${device}/messages/events`, { method: 'POST', headers: { authorization: tokens[device]!, 'iothub-messageid': id }, body });
      if (res.status !== 204) throw new Error(`${id}: ${res.status} ${await res.text()}`);
      return true;
    };
    /** One cycle's traffic until `stop`: a crash cuts requests off (fetch's TypeError); any other failure is a defect. */
    async function traffic(server: ServerProcess, stopped: () => boolean): Promise<void> {
      const sender = async (w: number) => {
        while (!stopped()) {
          const i = n++;
          const id = `c-${w}-${i}`;
          const device = i % DEVICES;
          const body = JSON.stringify({ id, sku: `SKU-${i % 5}`, qty: 1 + (i % 3), n: i });
          attempted.set(id, { device, body });
          try {
            await send(server.url, id, device, body);
            acked.add(id);
          } catch (err) {
            if (stopped() && err instanceof TypeError) return;
            throw err;
          }
        }
      };
      const reader = async () => {
        while (!stopped()) {
          try {
            const res = await fetch(`${server.url}/api/consumergroups/${GROUP}/messages?max=50&wait_ms=50`, { headers: { authorization: service } });
            if (res.status !== 200) throw new Error(`read: ${res.status} ${await res.text()}`);
            const page = (await res.json()) as Page;
            for (const m of page.messages) {
              if (checkpointed.has(m.messageId)) redelivered.push(m.messageId);
              delivered.add(m.messageId);
            }
            if (page.messages.length === 0) continue;
            const cp = await fetch(`${server.url}/api/consumergroups/${GROUP}/checkpoint`, {
              method: 'POST', headers: { authorization: service, 'content-type': 'application/json' }, body: JSON.stringify({ cursor: page.cursor }),
            });
            if (cp.status !== 204) throw new Error(`checkpoint: ${cp.status} ${await cp.text()}`);
            for (const m of page.messages) checkpointed.add(m.messageId);
          } catch (err) {
            if (stopped() && err instanceof TypeError) return;
            throw err;
          }
        }
      };
      await Promise.all([...Array.from({ length: 6 }, (_, w) => sender(w)), reader()]);
    }

    for (let cycle = 0; cycle < CYCLES; cycle++) {
      // Each start is on the directory the kill left: it must need no repair.
      const server = await spawnServer(['--config', config, '--data', dataDir]);
      if (cycle === 0) {
        const owner = FileKeyStore.open(dataDir).policy('service')!;
        service = signSasToken({ resource: 'localhost', key: owner.primaryKey, keyName: 'service', expiry });
        const put = await fetch(`${server.url}/api/consumergroups/${GROUP}`, { method: 'PUT', headers: { authorization: service, 'content-type': 'application/json' }, body: '{}' });
        assert.equal(put.status, 201);
      }
      // Clients resend what they never saw acknowledged, with the same id.
      for (const [id, { device, body }] of attempted) if (!acked.has(id) && await send(server.url, id, device, body)) acked.add(id);
      let killed = false;
      const running = traffic(server, () => killed);
      await new Promise((resolve) => setTimeout(resolve, killAfterMs[cycle]));
      killed = true;
      server.child.kill('SIGKILL');
      assert.equal(await server.exited, 'SIGKILL');
      await running;
    }

    const last = await spawnServer(['--config', config, '--data', dataDir]);
    let rows: unknown;
    let storedCount = 0;
    try {
      for (const [id, { device, body }] of attempted) if (!acked.has(id) && await send(last.url, id, device, body)) acked.add(id);
      const stored: string[] = [];
      const partitions = ((await (await fetch(`${last.url}/api/partitions`, { headers: { authorization: service } })).json()) as { partitions: Array<{ partitionId: string }> }).partitions;
      for (const { partitionId } of partitions) {
        let after = '';
        for (;;) {
          const page = (await (await fetch(`${last.url}/api/partitions/${partitionId}/messages?max=1000${after ? `&after_offset=${after}` : ''}`, { headers: { authorization: service } })).json()) as { messages: Array<{ messageId: string; sequenceNumber: number; offset: string }> };
          if (page.messages.length === 0) break;
          for (const m of page.messages) {
            assert.equal(m.sequenceNumber, stored.filter((x) => x.startsWith(`${partitionId}:`)).length, `partition ${partitionId} has no gap`);
            stored.push(`${partitionId}:${m.messageId}`);
          }
          after = page.messages.at(-1)!.offset;
        }
      }
      const ids = stored.map((s) => s.slice(s.indexOf(':') + 1));
      const counts = new Map<string, number>();
      for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
      assert.deepEqual([...counts].filter(([, c]) => c > 1), [], 'stored twice');
      assert.deepEqual([...acked].filter((id) => !counts.has(id)), [], 'acknowledged but lost');
      assert.deepEqual(ids.filter((id) => !attempted.has(id)), [], 'stored but never sent');
      assert.equal(acked.size, attempted.size, 'every message was acknowledged in the end');
      // The reader goes on to the end: every stored message reaches it, none it checkpointed again.
      for (;;) {
        const page = (await (await fetch(`${last.url}/api/consumergroups/${GROUP}/messages?max=500`, { headers: { authorization: service } })).json()) as Page;
        if (page.messages.length === 0) break;
        for (const m of page.messages) {
          if (checkpointed.has(m.messageId)) redelivered.push(m.messageId);
          delivered.add(m.messageId);
        }
        await fetch(`${last.url}/api/consumergroups/${GROUP}/checkpoint`, { method: 'POST', headers: { authorization: service, 'content-type': 'application/json' }, body: JSON.stringify({ cursor: page.cursor }) });
        for (const m of page.messages) checkpointed.add(m.messageId);
      }
      assert.deepEqual(redelivered, [], 'handed out again after its checkpoint was acknowledged');
      assert.deepEqual(ids.filter((id) => !delivered.has(id)), [], 'stored but never delivered to the group');
      assert.ok(acked.size > CYCLES, `${acked.size} messages over ${CYCLES} crashes`);
      storedCount = ids.length;
      const lastEnqueued = Date.now();
      await eventually('the job to read everything and close its windows', async () => {
        const status = (await (await fetch(`${last.url}/api/jobs/counts`, { headers: { authorization: service } })).json()) as { eventsIn: number; clock: string | null; state: string };
        return status.state === 'running' && status.eventsIn >= storedCount && status.clock !== null && Date.parse(status.clock) > lastEnqueued + 1_000 ? true : undefined;
      }, 60_000);
      rows = (await (await fetch(`${last.url}/api/outputs/Counts?limit=10000`, { headers: { authorization: service } })).json() as { rows: WireRow[] }).rows;
    } finally {
      last.child.kill('SIGTERM');
      await last.exited;
    }
    // The oracle: the same query over the stored messages, in one uninterrupted pass.
    const messages = await readLog(dataDir);
    assert.equal(messages.length, storedCount);
    const expected = sortRows(oracle(QUERY, messages, { policy: { lateArrivalToleranceMs: 0 } }));
    assert.ok(expected.length > CYCLES, `${expected.length} windows`);
    assert.deepEqual(sortRows(comparable('Counts', rows as WireRow[])), expected, 'the job\'s rows after the crashes: none missing, none twice');
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
