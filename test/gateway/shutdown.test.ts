// SIGTERM while requests are in flight: they finish with 204 and are stored; then the process exits 0.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { deviceResource, signSasToken } from '../../src/auth/sas.js';
import { SqliteEventLog } from '../../src/log/sqlite-event-log.js';
import { SqliteRegistry } from '../../src/registry/sqlite-registry.js';
import { spawnServer } from '../helpers/process.js';
import { tempDir } from '../helpers/server.js';

test('graceful shutdown finishes requests and appends in flight', { timeout: 60_000 }, async () => {
  const dataDir = tempDir();
  try {
    const registry = new SqliteRegistry(join(dataDir, 'registry.db'));
    const d = await registry.create({ deviceId: 'slow-sender' });
    await registry.close();
    const token = signSasToken({ resource: deviceResource('localhost', d.deviceId), key: d.authentication.symmetricKey.primaryKey, expiry: Math.floor(Date.now() / 1000) + 600 });
    const server = await spawnServer(['--data', dataDir]);
    const { port } = new URL(server.url);

    // Each request sends half its body, waits for the shutdown signal, then finishes.
    let finish!: () => void;
    const signalSent = new Promise<void>((r) => { finish = r; });
    const inFlight = Array.from({ length: 10 }, (_, i) => new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/devices/slow-sender/messages/events', headers: { authorization: token, 'iothub-messageid': `slow-${i}` } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.write(`{"part":1,`);
      void signalSent.then(() => setTimeout(() => req.end(`"i":${i}}`), 200));
    }));
    await new Promise((r) => setTimeout(r, 300));
    server.child.kill('SIGTERM');
    finish();
    assert.deepEqual(await Promise.all(inFlight), Array(10).fill(204));
    assert.equal(await server.exited, 0);

    const log = new SqliteEventLog({ path: join(dataDir, 'log.db'), partitions: 4, retentionMs: 1e12, dedupWindowMs: 1e12, maxPendingMessages: 1e5, durability: 'process' });
    let bodies: string[] = [];
    for (let p = 0; p < 4; p++) bodies = bodies.concat((await log.read(p, { kind: 'earliest' }, 100)).messages.map((m) => m.body.toString()));
    await log.close();
    assert.equal(bodies.length, 10);
    for (let i = 0; i < 10; i++) assert.ok(bodies.includes(`{"part":1,"i":${i}}`), `message ${i}`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
