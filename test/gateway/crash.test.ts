// kill -9 during concurrent ingestion: every acknowledged message survives exactly once, and
// clients that retry what was in flight (same messageId) do not create duplicates.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileKeyStore } from '../../src/auth/file-key-store.js';
import { deviceResource, signSasToken } from '../../src/auth/sas.js';
import { SqliteEventLog } from '../../src/log/sqlite-event-log.js';
import { SqliteRegistry } from '../../src/registry/sqlite-registry.js';
import type { StoredMessage } from '../../src/core/message.js';
import { spawnServer } from '../helpers/process.js';
import { tempDir } from '../helpers/server.js';

const DEVICES = 24;
const WORKERS = 48;

/** The server answered, but not 204: never what a crash does. */
class UnexpectedStatus extends Error {}

test('kill -9 during concurrent ingestion loses and duplicates nothing acknowledged', { timeout: 120_000 }, async () => {
  const dataDir = tempDir();
  try {
    // Devices are registered before the server starts, through the same registry code.
    const registry = new SqliteRegistry(join(dataDir, 'registry.db'));
    const devices = await Promise.all(Array.from({ length: DEVICES }, (_, i) => registry.create({ deviceId: `crash-${i}` })));
    await registry.close();
    const tokens = devices.map((d) => signSasToken({ resource: deviceResource('localhost', d.deviceId), key: d.authentication.symmetricKey.primaryKey, expiry: Math.floor(Date.now() / 1000) + 3600 }));

    const first = await spawnServer(['--data', dataDir]);
    const acked = new Set<string>();
    const attempted = new Map<string, { device: number; body: string }>();
    let stop = false;
    let killed = false;
    let n = 0;
    const send = async (url: string, id: string, device: number, body: string, batch: boolean) => {
      const res = await fetch(`${url}/devices/crash-${device}/messages/events`, {
        method: 'POST',
        headers: batch
          ? { authorization: tokens[device]!, 'content-type': 'application/vnd.microsoft.iothub.json' }
          : { authorization: tokens[device]!, 'iothub-messageid': id },
        body: batch ? JSON.stringify([{ body: Buffer.from(body).toString('base64'), properties: { 'iothub-messageid': id } }]) : body,
      });
      if (res.status !== 204) throw new UnexpectedStatus(`${id}: ${res.status} ${await res.text().catch(() => '')}`);
    };
    const worker = async (w: number) => {
      while (!stop) {
        const id = `m-${w}-${n++}`;
        const device = n % DEVICES;
        const body = JSON.stringify({ id, w });
        attempted.set(id, { device, body });
        try {
          await send(first.url, id, device, body, n % 3 === 0);
          acked.add(id);
        } catch (err) {
          // The kill may cut a request off (fetch fails with a TypeError); anything else, and any
          // failure before the kill, is a defect of the server that must not pass as the crash.
          if (!killed || !(err instanceof TypeError)) throw err;
          return;
        }
      }
    };
    let failure: unknown;
    const workers = Array.from({ length: WORKERS }, (_, w) => worker(w).catch((err: unknown) => {
      failure ??= err;
      stop = true;
    }));
    // Kill once a good number of messages are acknowledged, with many requests still in flight.
    while (acked.size < 3000 && failure === undefined) await new Promise((r) => setTimeout(r, 20));
    killed = true;
    first.child.kill('SIGKILL');
    stop = true;
    assert.equal(await first.exited, 'SIGKILL');
    await Promise.all(workers);
    if (failure !== undefined) throw failure;
    assert.ok(acked.size >= 3000);

    // Restart; clients retry everything they never saw acknowledged, with the same messageId.
    const second = await spawnServer(['--data', dataDir]);
    const unacked = [...attempted].filter(([id]) => !acked.has(id));
    for (const [id, { device, body }] of unacked) await send(second.url, id, device, body, false);
    const owner = FileKeyStore.open(dataDir).policy('iothubowner')!;
    const partitions = (await (await fetch(`${second.url}/api/partitions`, {
      headers: { authorization: signSasToken({ resource: 'localhost', key: owner.primaryKey, keyName: 'iothubowner', expiry: Math.floor(Date.now() / 1000) + 60 }) },
    })).json()) as { partitions: Array<{ lastEnqueuedSequenceNumber: number }> };
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0, 'graceful stop exits 0');

    const log = new SqliteEventLog({ path: join(dataDir, 'log.db'), partitions: 4, retentionMs: 1e12, dedupWindowMs: 1e12, maxPendingMessages: 1e5, durability: 'process' });
    const all: StoredMessage[] = [];
    for (let p = 0; p < 4; p++) {
      const page = await log.read(p, { kind: 'earliest' }, 1_000_000);
      // Sequence numbers stay gap-free across the crash.
      assert.deepEqual(page.messages.map((m) => m.sequenceNumber), page.messages.map((_, i) => i), `partition ${p}`);
      assert.equal(page.messages.length, partitions.partitions[p]!.lastEnqueuedSequenceNumber + 1);
      all.push(...page.messages);
    }
    await log.close();
    const counts = new Map<string, number>();
    for (const m of all) counts.set(m.messageId!, (counts.get(m.messageId!) ?? 0) + 1);
    for (const id of acked) assert.equal(counts.get(id), 1, `acknowledged ${id} stored exactly once`);
    for (const [id] of unacked) assert.equal(counts.get(id), 1, `retried ${id} stored exactly once`);
    assert.equal(all.length, attempted.size, 'nothing else was stored');
    for (const m of all) assert.equal(m.body.toString(), attempted.get(m.messageId!)!.body);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
