// Self-registration with a public app key.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('POST /api/register', () => {
  let s: TestServer;
  let appKey: string;
  before(async () => {
    s = await startTestServer({ register: { perMinute: 60, burst: 40 } });
    appKey = (await s.keys.addAppKey('brand-b')).key;
  });
  after(() => s.stop());

  const register = (body: unknown, headers: Record<string, string> = {}) =>
    s.fetch('/api/register', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  test('creates a device of the key\'s tenant and returns a working SAS token', async () => {
    const res = await register({ appKey, kind: 'browser' }, { origin: 'https://brand-b.example' });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://brand-b.example');
    const body = (await res.json()) as { deviceId: string; primaryKey: string; sasToken: string; expiresAt: string; hostName: string };
    assert.match(body.deviceId, /^browser-[0-9a-f-]{36}$/);
    assert.equal(body.hostName, 'localhost');
    assert.ok(Date.parse(body.expiresAt) > Date.now() + 3_000_000);
    const device = (await s.registry.get(body.deviceId))!;
    assert.equal(device.tenant, 'brand-b');
    assert.equal(device.kind, 'browser');
    assert.equal(device.authentication.symmetricKey.primaryKey, body.primaryKey);
    const sent = await s.fetch(`/devices/${body.deviceId}/messages/events`, { method: 'POST', headers: { authorization: body.sasToken }, body: '{"event":"hello"}' });
    assert.equal(sent.status, 204);
    const page = await s.log.read((await s.log.partitions()).findIndex((p) => !p.isEmpty), { kind: 'earliest' }, 10);
    assert.equal(page.messages[0]!.tenant, 'brand-b');
  });

  test('the response never carries a policy key', async () => {
    const res = await register({ appKey, deviceId: 'chosen-id' });
    const text = await res.text();
    for (const p of s.keys.policies()) {
      assert.ok(!text.includes(p.primaryKey) && !text.includes(p.secondaryKey), p.name);
    }
    assert.equal(JSON.parse(text).deviceId, 'chosen-id');
  });

  test('errors: unknown or revoked app key 401, taken id 409, bad id or kind 400, wrong content type 415', async () => {
    const code = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;
    let res = await register({ appKey: 'ak_nope' });
    assert.equal(res.status, 401);
    assert.equal(await code(res), 'invalid_app_key');
    res = await register({ appKey, deviceId: 'chosen-id' });
    assert.equal(res.status, 409);
    assert.equal(await code(res), 'device_exists');
    res = await register({ appKey, deviceId: 'bad id' });
    assert.equal(res.status, 400);
    res = await register({ appKey, kind: 'Not A Kind' });
    assert.equal(res.status, 400);
    res = await s.fetch('/api/register', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `appKey=${appKey}` });
    assert.equal(res.status, 415);
    assert.equal(await code(res), 'unsupported_media_type');
    res = await s.fetch('/api/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"appKey":' });
    assert.equal(res.status, 400);
    const revoked = (await s.keys.addAppKey('brand-c')).key;
    await s.keys.revokeAppKey(revoked);
    res = await register({ appKey: revoked });
    assert.equal(res.status, 401);
  });

  test('an app key revoked by another process (the CLI) stops working within a second or so', async () => {
    const { FileKeyStore } = await import('../../src/auth/file-key-store.js');
    const key = (await s.keys.addAppKey('brand-d')).key;
    assert.equal((await register({ appKey: key })).status, 201);
    // A second KeyStore on the same file is what `omnistream keys revoke-app` opens.
    await FileKeyStore.open(s.dataDir).revokeAppKey(key);
    let status = 0;
    for (let i = 0; i < 30 && status !== 401; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await register({ appKey: key })).status;
    }
    assert.equal(status, 401);
  });

  test('registrations are rate-limited per client address with Retry-After', async () => {
    let limited: Response | undefined;
    for (let i = 0; i < 60 && !limited; i++) {
      const res = await register({ appKey });
      if (res.status === 429) limited = res;
    }
    assert.ok(limited, 'expected a 429 within the burst');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.equal(((await limited.json()) as { error: { code: string } }).error.code, 'rate_limited');
  });
});
