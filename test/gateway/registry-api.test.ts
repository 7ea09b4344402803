// IoT Hub's registry REST API through the real server.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('registry REST API', () => {
  let s: TestServer;
  before(async () => { s = await startTestServer(); });
  after(() => s.stop());

  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}, policy = 'iothubowner') =>
    s.fetch(`${path}${path.includes('?') ? '&' : '?'}api-version=2021-04-12`, {
      method,
      headers: { authorization: s.policyToken(policy), 'content-type': 'application/json; charset=utf-8', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  async function iothubError(res: Response) {
    const body = (await res.json()) as { Message: string; ExceptionMessage: string };
    assert.match(body.ExceptionMessage, /^Tracking ID:\w+-G:0-TimeStamp:\d\d\/\d\d\/\d{4} \d\d:\d\d:\d\d$/);
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    const [code] = body.Message.replace(/^ErrorCode:/, '').split(';');
    assert.equal(res.headers.get('iothub-errorcode'), code);
    return code;
  }

  test('create with empty keys (as the SDK sends) generates them; 200 with JSON and an ETag', async () => {
    const res = await call('PUT', '/devices/reg-1', { deviceId: 'reg-1', authentication: { type: 'sas', symmetricKey: { primaryKey: '', secondaryKey: '' } } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    const d = (await res.json()) as { deviceId: string; etag: string; authentication: { symmetricKey: { primaryKey: string } }; status: string; cloudToDeviceMessageCount: number };
    assert.equal(res.headers.get('etag'), `"${d.etag}"`);
    assert.equal(d.deviceId, 'reg-1');
    assert.equal(d.status, 'enabled');
    assert.equal(d.cloudToDeviceMessageCount, 0);
    assert.equal(Buffer.from(d.authentication.symmetricKey.primaryKey, 'base64').length, 32);
  });

  test('a second create is 409 DeviceAlreadyExists in IoT Hub shape', async () => {
    const res = await call('PUT', '/devices/reg-1', { deviceId: 'reg-1' });
    assert.equal(res.status, 409);
    assert.equal(await iothubError(res), 'DeviceAlreadyExists');
  });

  test('get, list (with and without the trailing slash), update with If-Match, delete', async () => {
    const got = await call('GET', '/devices/reg-1');
    assert.equal(got.status, 200);
    const d = (await got.json()) as { etag: string };
    for (const path of ['/devices', '/devices/']) {
      const list = (await (await call('GET', path)).json()) as Array<{ deviceId: string }>;
      assert.ok(list.some((x) => x.deviceId === 'reg-1'), path);
    }
    const stale = await call('PUT', '/devices/reg-1', { deviceId: 'reg-1', status: 'disabled' }, { 'if-match': '"bogus"' });
    assert.equal(stale.status, 412);
    assert.equal(await iothubError(stale), 'PreconditionFailed');
    const upd = await call('PUT', '/devices/reg-1', { deviceId: 'reg-1', status: 'disabled' }, { 'if-match': `"${d.etag}"` });
    assert.equal(upd.status, 200);
    assert.equal(((await upd.json()) as { status: string }).status, 'disabled');
    assert.equal((await call('DELETE', '/devices/reg-1', undefined, { 'if-match': '*' })).status, 204);
    const gone = await call('GET', '/devices/reg-1');
    assert.equal(gone.status, 404);
    assert.equal(await iothubError(gone), 'DeviceNotFound');
    const again = await call('DELETE', '/devices/reg-1', undefined, { 'if-match': '*' });
    assert.equal(again.status, 404);
  });

  test('rights: registryRead may read but not write; service may do neither; device tokens are refused', async () => {
    await call('PUT', '/devices/reg-2', {});
    assert.equal((await call('GET', '/devices/reg-2', undefined, {}, 'registryRead')).status, 200);
    const w = await call('PUT', '/devices/reg-3', {}, {}, 'registryRead');
    assert.equal(w.status, 401);
    assert.equal(await iothubError(w), 'IotHubUnauthorized');
    assert.equal((await call('GET', '/devices/reg-2', undefined, {}, 'service')).status, 401);
    assert.equal((await call('PUT', '/devices/reg-3', {}, {}, 'registryReadWrite')).status, 200);
    const dev = (await s.registry.get('reg-2'))!;
    const asDevice = await s.fetch('/devices/reg-2', { headers: { authorization: s.deviceToken(dev) } });
    assert.equal(asDevice.status, 401);
  });

  test('bad device JSON and ids are 400 ArgumentInvalid and create nothing', async () => {
    const cases: Array<[string, unknown]> = [
      ['/devices/mismatch', { deviceId: 'other' }],
      ['/devices/badkey', { authentication: { symmetricKey: { primaryKey: 'not base64!' } } }],
      ['/devices/x509', { authentication: { type: 'selfSigned' } }],
      ['/devices/badstatus', { status: 'paused' }],
      [`/devices/${'y'.repeat(129)}`, {}],
      ['/devices/a%20b', {}],
    ];
    for (const [path, body] of cases) {
      const res = await call('PUT', path, body);
      assert.equal(res.status, 400, path);
      assert.equal(await iothubError(res), 'ArgumentInvalid');
    }
    const raw = await s.fetch('/devices/badjson', { method: 'PUT', headers: { authorization: s.policyToken() }, body: '{nope' });
    assert.equal(raw.status, 400);
    for (const id of ['mismatch', 'badkey', 'x509', 'badstatus', 'badjson']) assert.equal(await s.registry.get(id), undefined, id);
  });
});
