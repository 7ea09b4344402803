// The official azure-iothub Registry, azure-iot-device-http and azure-iot-device-mqtt clients,
// unmodified, against the gateway on https://localhost:443 and mqtts://localhost:8883 (the SDKs
// hard-code these ports) with a self-signed certificate, the SDK process started with
// NODE_EXTRA_CA_CERTS. Both tests bind 443, so they live in this one file and run one after the other.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readAll, startTestServer, tempDir } from '../helpers/server.js';
import { requireOrSkip } from '../helpers/services.js';

const CLIENT = fileURLToPath(new URL('./sdk-client.ts', import.meta.url));
const MQTT_CLIENT = fileURLToPath(new URL('./sdk-mqtt-client.ts', import.meta.url));

/** Runs an SDK script in its own process (NODE_EXTRA_CA_CERTS is read at start); its stdout is JSON. */
async function runSdk(script: string, env: NodeJS.ProcessEnv): Promise<Record<string, unknown>> {
  const run = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  run.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  run.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const code = await new Promise((r) => run.once('exit', r));
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout) as Record<string, unknown>;
}

const needsRoot = () => (process.getuid?.() !== 0 ? 'binding ports 443 and 8883 needs root' : undefined);

function selfSignedCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  return { cert, key };
}

test('official Azure IoT SDKs: registry create/409/get/list/404/delete, device sendEvent and sendEventBatch', { timeout: 60_000 }, async (t) => {
  if (requireOrSkip(t, needsRoot())) return;
  const dir = tempDir();
  const tls = selfSignedCert(dir);
  // A configured certificate on the HTTPS port; the plain port keeps working beside it.
  const s = await startTestServer({ http: { host: '127.0.0.1', port: 0, httpsPort: 443, tlsCert: tls.cert, tlsKey: tls.key } }, join(dir, 'data'));
  try {
    assert.equal(s.httpsPort, 443);
    assert.equal((await s.fetch('/healthz')).status, 200);
    const owner = s.keys.policy('iothubowner')!;
    const out = await runSdk(CLIENT, { NODE_EXTRA_CA_CERTS: tls.cert, SERVICE_CS: `HostName=localhost;SharedAccessKeyName=iothubowner;SharedAccessKey=${owner.primaryKey}` });
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

test('official MQTT transport (azure-iot-device-mqtt): open, sendEvent with properties and messageId over mqtts://localhost:8883, a wrong key refused as UnauthorizedError; each message read back through the feed', { timeout: 60_000 }, async (t) => {
  if (requireOrSkip(t, needsRoot())) return;
  const dir = tempDir();
  // No certificate configured: the gateway generates one into the data directory for localhost.
  const s = await startTestServer({ http: { host: '127.0.0.1', port: 0, httpsPort: 443 }, mqtt: { tlsPort: 8883 } }, join(dir, 'data'));
  try {
    assert.equal(s.certificateFile, join(dir, 'data', 'tls', 'cert.pem'));
    const owner = s.keys.policy('iothubowner')!;
    const out = await runSdk(MQTT_CLIENT, { NODE_EXTRA_CA_CERTS: s.certificateFile, SERVICE_CS: `HostName=localhost;SharedAccessKeyName=iothubowner;SharedAccessKey=${owner.primaryKey}` });
    assert.equal(out.opened, 'Connected');
    assert.deepEqual(out.sent, ['MessageEnqueued', 'MessageEnqueued', 'MessageEnqueued']);
    assert.equal(out.resent, 'MessageEnqueued');
    assert.deepEqual(out.errors, []);
    assert.equal(out.wrongKey, 'UnauthorizedError');
    assert.equal(out.unknownDevice, 'UnauthorizedError');

    // Read back as any reader would: the feed's partition reads, over plain HTTP.
    const headers = { authorization: s.policyToken('service') };
    const messages: Array<Record<string, unknown>> = [];
    for (let p = 0; p < s.log.partitionCount; p++) {
      const page = await (await s.fetch(`/api/partitions/${p}/messages?max=100`, { headers })).json() as { messages: Array<Record<string, unknown>> };
      messages.push(...page.messages.filter((m) => m.deviceId === 'sdk-mqtt-dev'));
    }
    assert.equal(messages.length, 3, 'three messages, the resent one stored once');
    const [first] = messages;
    assert.deepEqual(first!.body, { event: 'tag_read', epc: 'E2003412', zone: 'fitting-rooms' });
    assert.deepEqual(messages.slice(1).map((m) => [m.bodyEncoding, Buffer.from(m.body as string, 'base64').toString()]), [['base64', 'plain 2'], ['base64', 'plain 3']]);
    assert.equal(first!.messageId, 'mqtt-mid-1');
    assert.equal(first!.correlationId, 'mqtt-cid-1');
    assert.equal(first!.contentType, 'application/json');
    assert.equal(first!.contentEncoding, 'utf-8');
    assert.deepEqual(first!.properties, { store: '12', 'reader kind': 'door/rfid' });
    assert.deepEqual(messages.slice(1).map((m) => [m.messageId, m.properties]), [['mqtt-mid-2', { n: '2' }], ['mqtt-mid-3', { n: '3' }]]);
  } finally {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
