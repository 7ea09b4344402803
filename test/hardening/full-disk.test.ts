// A full disk: the data directory on a small tmpfs the test mounts (root only; skipped otherwise,
// or failed under OMNISTREAM_REQUIRE_SERVICES=1). Once the disk fills, appends fail cleanly — a
// 503 with Retry-After in IoT Hub's shape, never a 204, never a 500 — and store nothing; when
// space returns the server takes messages again without a restart, and every acknowledged message
// is stored once.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Device } from '../../src/core/device.js';
import { readAll, startTestServer, type TestServer } from '../helpers/server.js';

const SIZE_MB = 16;

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
    s = await startTestServer({}, dataDir);
    d = await s.createDevice('disk-filler');
  });
  after(async () => {
    await s.close();
    execFileSync('umount', [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });

  const send = (id: string) => s.fetch(`/devices/${d.deviceId}/messages/events`, {
    method: 'POST', headers: { authorization: s.deviceToken(d), 'iothub-messageid': id }, body: Buffer.alloc(50_000, 'x'),
  });

  test('appends fail with 503 and Retry-After, store nothing, and the server takes messages again once space returns', async () => {
    const acked: string[] = [];
    let refusal: Response | undefined;
    let i = 0;
    // Fill most of the disk with a file of our own, then fill the rest with messages.
    writeFileSync(filler, Buffer.alloc((SIZE_MB - 4) * 2 ** 20));
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
    const stored = (await readAll(s)).map((m) => m.messageId);
    assert.equal(new Set(stored).size, stored.length, 'nothing stored twice');
    assert.deepEqual(acked.filter((id) => !stored.includes(id)), [], 'acknowledged but lost');
    assert.ok(!stored.includes(refusedId), 'the refused message is not stored');
    assert.equal((await s.fetch('/healthz')).status, 200);
  });
});
