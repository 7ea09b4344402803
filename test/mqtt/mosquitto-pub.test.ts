// A client no one here wrote: Debian's mosquitto_pub (package mosquitto-clients) publishing to the
// gateway with a SAS token as its password, on the plain MQTT port and on MQTTS with --cafile.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import type { Device } from '../../src/core/device.js';
import { readAll, startTestServer, type TestServer } from '../helpers/server.js';
import { requireOrSkip } from '../helpers/services.js';
import { usernameOf } from './mqtt-test-client.js';

function missingMosquittoPub(): string | undefined {
  try {
    execFileSync('mosquitto_pub', ['--help'], { stdio: 'ignore' });
    return undefined;
  } catch (err) {
    // --help exits 1 after printing its usage; only a missing program is a reason to skip.
    return (err as { code?: string }).code === 'ENOENT' ? 'mosquitto_pub is not installed (apt-get install mosquitto-clients)' : undefined;
  }
}

function mosquittoPub(args: string[], input?: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile('mosquitto_pub', ['-V', 'mqttv311', ...args], { timeout: 15_000 }, (err, _stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr });
    });
    child.stdin!.end(input ?? '');
  });
}

describe('mosquitto_pub', () => {
  let s: TestServer;
  let d: Device;
  before(async () => {
    s = await startTestServer({ mqtt: { port: 0, tlsPort: 0 } });
    d = await s.createDevice('store-12-door', { tenant: 'brand-b' });
  });
  after(() => s.stop());

  const login = (device: Device) => ['-i', device.deviceId, '-u', usernameOf(device.deviceId), '-P', s.deviceToken(device)];
  const stored = async () => (await readAll(s)).filter((m) => m.deviceId === d.deviceId);

  test('publishes QoS 1 with a SAS password to the plain MQTT port; the property bag becomes the message\'s fields', async (t) => {
    if (requireOrSkip(t, missingMosquittoPub())) return;
    const r = await mosquittoPub(['-h', '127.0.0.1', '-p', String(s.mqttPort), ...login(d), '-q', '1',
      '-t', `devices/${d.deviceId}/messages/events/%24.mid=door-1&%24.ct=application%2Fjson&sent%20by=mosquitto_pub`, '-m', '{"event":"door_open","count":3}']);
    assert.equal(r.code, 0, r.stderr);
    const [m] = await stored();
    assert.deepEqual(JSON.parse(m!.body.toString()), { event: 'door_open', count: 3 });
    assert.equal(m!.messageId, 'door-1');
    assert.equal(m!.contentType, 'application/json');
    assert.deepEqual(m!.properties, { 'sent by': 'mosquitto_pub' });
    assert.equal(m!.tenant, 'brand-b');
  });

  test('publishes over MQTTS trusting the generated certificate with --cafile; one message per line with -l', async (t) => {
    if (requireOrSkip(t, missingMosquittoPub())) return;
    const before = (await stored()).length;
    const r = await mosquittoPub(['-h', 'localhost', '-p', String(s.mqttsPort), '--cafile', s.certificateFile!, ...login(d), '-q', '1',
      '-t', `devices/${d.deviceId}/messages/events/`, '-l'], 'line one\nline two\nline three\n');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await stored()).slice(before).map((m) => m.body.toString()), ['line one', 'line two', 'line three']);
  });

  test('a wrong password is refused as not authorised and stores nothing', async (t) => {
    if (requireOrSkip(t, missingMosquittoPub())) return;
    const before = (await stored()).length;
    const r = await mosquittoPub(['-h', '127.0.0.1', '-p', String(s.mqttPort), '-i', d.deviceId, '-u', usernameOf(d.deviceId), '-P', 'SharedAccessSignature sr=localhost%2Fdevices%2Fstore-12-door&sig=AAAA&se=9999999999',
      '-q', '1', '-t', `devices/${d.deviceId}/messages/events/`, '-m', 'nope']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /not authori[sz]ed/i);
    assert.equal((await stored()).length, before);
  });
});
