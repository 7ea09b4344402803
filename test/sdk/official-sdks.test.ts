// The official azure-iothub Registry and azure-iot-device-http client, unmodified, against the
// gateway on https://localhost:443 (the SDKs hard-code port 443) with a self-signed certificate.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readAll, startTestServer, tempDir } from '../helpers/server.js';
import { requireOrSkip } from '../helpers/services.js';

const CLIENT = fileURLToPath(new URL('./sdk-client.ts', import.meta.url));

function selfSignedCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  return { cert, key };
}

test('official Azure IoT SDKs: registry create/409/get/list/404/delete, device sendEvent and sendEventBatch', { timeout: 60_000 }, async (t) => {
  const why = process.getuid?.() !== 0 ? 'binding port 443 needs root' : undefined;
  if (requireOrSkip(t, why)) return;
  const dir = tempDir();
  const tls = selfSignedCert(dir);
  const s = await startTestServer({ http: { host: '127.0.0.1', port: 443, tlsCert: tls.cert, tlsKey: tls.key } }, join(dir, 'data'));
  try {
    const owner = s.keys.policy('iothubowner')!;
    const run = spawn(process.execPath, ['--import', 'tsx', CLIENT], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: tls.cert, SERVICE_CS: `HostName=localhost;SharedAccessKeyName=iothubowner;SharedAccessKey=${owner.primaryKey}` },
    });
    let stdout = '';
    let stderr = '';
    run.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    run.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const code = await new Promise((r) => run.once('exit', r));
    assert.equal(code, 0, stderr);
    const out = JSON.parse(stdout) as Record<string, unknown>;
    assert.equal((out.created as { deviceId: string }).deviceId, 'sdk-dev');
    assert.equal(out.createAgain, 'DeviceAlreadyExistsError');
    assert.equal(out.got, 'sdk-dev');
    assert.deepEqual(out.listed, ['sdk-dev']);
    assert.equal(out.getMissing, 'DeviceNotFoundError');
    assert.equal(out.sent, 'MessageEnqueued');
    assert.equal(out.batchSent, 'MessageEnqueued');
    assert.equal(out.wrongKey, 'UnauthorizedError');
    assert.equal(out.deleted, 204);

    const stored = (await readAll(s)).filter((m) => m.deviceId === 'sdk-dev');
    assert.deepEqual(stored.map((m) => m.body.toString()), ['{"event":"tried_on","sku":"JKT-9"}', 'one', 'two', 'three']);
    const [first] = stored;
    assert.equal(first!.messageId, 'sdk-mid-1');
    assert.equal(first!.correlationId, 'sdk-cid-1');
    assert.equal(first!.contentType, 'application/json');
    assert.equal(first!.contentEncoding, 'utf-8');
    assert.deepEqual(first!.properties, { channel: 'ios' });
    assert.deepEqual(stored[2]!.properties, { n: 'two' });
  } finally {
    await s.stop();
  }
});
