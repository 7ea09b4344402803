// The Ruby worker example (examples/ruby-worker) against a live server: it must receive every
// message exactly as sent, checkpoint them all, and stop by itself.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { requireOrSkip } from '../helpers/services.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createDevices, putGroup, service } from './feed-client.js';

const WORKER = fileURLToPath(new URL('../../examples/ruby-worker/worker.rb', import.meta.url));

interface Sent {
  deviceId: string;
  body: Buffer;
  json: boolean;
  properties: Record<string, string>;
}

interface Received {
  partition: number;
  sequenceNumber: number;
  deviceId: string;
  messageId: string;
  properties: Record<string, string>;
  body: unknown;
}

function runWorker(s: TestServer, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const key = s.keys.policy('service')!.primaryKey;
  const child = spawn('ruby', [WORKER, ...args], {
    env: { ...process.env, OMNISTREAM_URL: s.url, OMNISTREAM_CONNECTION_STRING: `HostName=${s.config.hostName};SharedAccessKeyName=service;SharedAccessKey=${key}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
  return new Promise((resolve) => child.on('exit', (code) => {
    clearTimeout(timer);
    resolve({ code, stdout, stderr });
  }));
}

test('the Ruby worker receives every message exactly as sent, commits them and stops by itself', { timeout: 90_000 }, async (t) => {
  const ruby = spawnSync('ruby', ['-v']);
  if (requireOrSkip(t, ruby.status === 0 ? undefined : 'ruby is not installed (apt-get install -y ruby)')) return;
  const s = await startTestServer();
  try {
    const devices = await createDevices(s, 6, 'ruby-src');
    const sent = new Map<string, Sent>();
    const send = (round: number) => Promise.all(devices.map(async (d, di) => {
      const token = s.deviceToken(d);
      for (let i = 0; i < 25; i++) {
        const messageId = `${d.deviceId}-${round}-${i}`;
        // Every fifth message is binary (bytes that are not UTF-8), the rest JSON with unicode.
        const binary = i % 5 === 4;
        const body = binary ? Buffer.from([0xff, 0x00, di, i, 0x80, 0xfe]) : Buffer.from(JSON.stringify({ sku: `SKU-${i}`, round, name: 'café ☕', n: i * 1.5 }));
        const properties = { channel: di % 2 ? 'app' : 'web' };
        const res = await s.fetch(`/devices/${d.deviceId}/messages/events`, {
          method: 'POST', body,
          headers: { authorization: token, 'iothub-messageid': messageId, 'iothub-app-channel': properties.channel, ...(binary ? { 'content-type': 'application/octet-stream' } : {}) },
        });
        assert.equal(res.status, 204);
        sent.set(messageId, { deviceId: d.deviceId, body, json: !binary, properties });
      }
    }));
    assert.equal((await putGroup(s, 'ruby-recs')).status, 201);
    await send(0);
    const worker = runWorker(s, ['--group', 'ruby-recs', '--reader', 'ruby-1', '--page-size', '40', '--wait-ms', '5000', '--max-messages', '300', '--idle-exit', '20']);
    await send(1); // while the worker runs: it long-polls for these
    const { code, stdout, stderr } = await worker;
    assert.equal(code, 0, stderr);
    const received = stdout.trim().split('\n').map((l) => JSON.parse(l) as Received);
    assert.equal(received.length, 300, stderr);
    assert.equal(new Set(received.map((r) => r.messageId)).size, 300, 'no message twice');
    for (const r of received) {
      const want = sent.get(r.messageId);
      assert.ok(want, `unexpected message ${r.messageId}`);
      assert.equal(r.deviceId, want.deviceId);
      assert.deepEqual(r.properties, want.properties);
      if (want.json) assert.deepEqual(r.body, JSON.parse(want.body.toString('utf8')));
      else assert.deepEqual(Buffer.from((r.body as { base64: string }).base64, 'base64'), want.body);
    }
    // Each device's messages in the order sent.
    for (const d of devices) {
      const ids = received.filter((r) => r.deviceId === d.deviceId).map((r) => r.messageId);
      assert.deepEqual(ids, [0, 1].flatMap((round) => Array.from({ length: 25 }, (_, i) => `${d.deviceId}-${round}-${i}`)));
    }
    const status = (await (await s.fetch('/api/consumergroups/ruby-recs', { headers: service(s) })).json()) as { partitions: Array<{ lagMessages: number }> };
    assert.equal(status.partitions.reduce((n, p) => n + p.lagMessages, 0), 0, 'everything was checkpointed');
    // Nothing left: the same reader run again holds every partition, finds nothing and stops when idle.
    const again = await runWorker(s, ['--group', 'ruby-recs', '--reader', 'ruby-1', '--idle-exit', '1']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, '');
  } finally {
    await s.stop();
  }
});
