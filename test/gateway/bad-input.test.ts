// Every kind of bad request gets a clear status and error body, and stores nothing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { signSasToken, deviceResource } from '../../src/auth/sas.js';
import type { Device } from '../../src/core/device.js';
import { readAll, startTestServer, type TestServer } from '../helpers/server.js';

describe('bad input is refused and stores nothing', () => {
  let s: TestServer;
  let dev: Device;
  let other: Device;
  let disabled: Device;
  before(async () => {
    s = await startTestServer();
    dev = await s.createDevice('good');
    other = await s.createDevice('other');
    disabled = await s.createDevice('off', { status: 'disabled' });
  });
  after(() => s.stop());

  const key = () => dev.authentication.symmetricKey.primaryKey;
  const soon = () => Math.floor(Date.now() / 1000) + 600;

  interface Case {
    name: string;
    path?: string;
    method?: string;
    headers?: Record<string, string>;
    body?: NonNullable<RequestInit['body']>;
    status: number;
    /** IoT Hub error code (iothub-errorcode) or Omnistream error code. */
    code: string;
    message?: RegExp;
  }

  const big = 'x'.repeat(256 * 1024 + 1);
  const batchType = { 'content-type': 'application/vnd.microsoft.iothub.json' };
  const cases = (): Case[] => [
    { name: 'no Authorization header', headers: {}, status: 401, code: 'IotHubUnauthorizedAccess', message: /missing/ },
    { name: 'malformed SAS', headers: { authorization: 'SharedAccessSignature sig=abc' }, status: 401, code: 'IotHubUnauthorizedAccess', message: /Malformed/ },
    { name: 'not a SAS at all', headers: { authorization: 'Bearer abc' }, status: 401, code: 'IotHubUnauthorizedAccess' },
    { name: 'expired SAS', headers: { authorization: signSasToken({ resource: deviceResource('localhost', 'good'), key: key(), expiry: Math.floor(Date.now() / 1000) - 400 }) }, status: 401, code: 'IotHubUnauthorizedAccess', message: /expired/ },
    { name: 'wrong key', headers: { authorization: signSasToken({ resource: deviceResource('localhost', 'good'), key: other.authentication.symmetricKey.primaryKey, expiry: soon() }) }, status: 401, code: 'IotHubUnauthorizedAccess', message: /invalid signature/ },
    { name: "another device's token", headers: { authorization: s.deviceToken(other) }, status: 401, code: 'IotHubUnauthorizedAccess', message: /does not cover/ },
    { name: 'a token for another hub', headers: { authorization: signSasToken({ resource: deviceResource('otherhub', 'good'), key: key(), expiry: soon() }) }, status: 401, code: 'IotHubUnauthorizedAccess', message: /otherhub/ },
    { name: 'a policy without DeviceConnect', headers: { authorization: s.policyToken('registryReadWrite') }, status: 401, code: 'IotHubUnauthorized', message: /DeviceConnect/ },
    { name: 'an unknown policy', headers: { authorization: signSasToken({ resource: 'localhost', key: key(), keyName: 'nobody', expiry: soon() }) }, status: 401, code: 'IotHubUnauthorizedAccess' },
    { name: 'a disabled device', path: '/devices/off/messages/events', headers: { authorization: s.deviceToken(disabled) }, status: 401, code: 'IotHubUnauthorized', message: /disabled/ },
    { name: 'an unknown device with its own token', path: '/devices/ghost/messages/events', headers: { authorization: signSasToken({ resource: deviceResource('localhost', 'ghost'), key: key(), expiry: soon() }) }, status: 401, code: 'IotHubUnauthorizedAccess' },
    { name: 'an unknown device with a policy token', path: '/devices/ghost/messages/events', headers: { authorization: s.policyToken('device') }, status: 404, code: 'DeviceNotFound' },
    { name: 'an invalid device id', path: '/devices/bad%20id/messages/events', status: 400, code: 'ArgumentInvalid', message: /Invalid device id/ },
    { name: 'a device id over 128 characters', path: `/devices/${'a'.repeat(129)}/messages/events`, status: 400, code: 'ArgumentInvalid' },
    { name: 'a single body over 256 KB', body: big, status: 413, code: 'MessageTooLarge' },
    { name: 'a chunked single body over 256 KB', body: new Blob([big]).stream() as unknown as NonNullable<RequestInit['body']>, status: 413, code: 'MessageTooLarge' },
    { name: 'properties that push a message over 256 KB', headers: { 'iothub-app-pad': 'p'.repeat(8000) }, body: 'x'.repeat(256 * 1024 - 4000), status: 413, code: 'MessageTooLarge' },
    { name: 'a batch of 501', headers: batchType, body: JSON.stringify(Array.from({ length: 501 }, () => ({ body: 'YQ==' }))), status: 400, code: 'ArgumentInvalid', message: /at most 500/ },
    { name: 'a batch over 256 KB', headers: batchType, body: JSON.stringify(Array.from({ length: 3 }, () => ({ body: Buffer.alloc(90_000).toString('base64') }))), status: 413, code: 'MessageTooLarge' },
    { name: 'a batch that is not JSON', headers: batchType, body: '[{"body": "YQ=="', status: 400, code: 'ArgumentInvalid', message: /not valid JSON/ },
    { name: 'a batch that is not an array', headers: batchType, body: '{"body": "YQ=="}', status: 400, code: 'ArgumentInvalid', message: /array/ },
    { name: 'an empty batch', headers: batchType, body: '[]', status: 400, code: 'ArgumentInvalid' },
    { name: 'a batch with one malformed entry', headers: batchType, body: JSON.stringify([{ body: 'YQ==' }, { nobody: 1 }]), status: 400, code: 'ArgumentInvalid', message: /message 1: missing body/ },
    { name: 'a batch with bad base64', headers: batchType, body: JSON.stringify([{ body: 'YQ==' }, { body: 'not base64!' }]), status: 400, code: 'ArgumentInvalid', message: /base64/ },
    { name: 'a batch with a non-string property', headers: batchType, body: JSON.stringify([{ body: 'YQ==', properties: { k: { nested: 1 } } }]), status: 400, code: 'ArgumentInvalid' },
    { name: 'an unknown IoT Hub route', path: '/devices/good/messages/nowhere', status: 404, code: 'ArgumentInvalid' },
    { name: 'a wrong method on the events route', method: 'PUT', status: 405, code: 'ArgumentInvalid' },
    { name: 'an unknown route', path: '/api/nothing-here', status: 404, code: 'route_not_found' },
    { name: 'a wrong method on a known route', path: '/api/register', method: 'GET', status: 405, code: 'method_not_allowed' },
    { name: 'a beacon with the wrong content type', path: '/api/beacon', headers: { 'content-type': 'application/xml' }, body: '<x/>', status: 415, code: 'unsupported_media_type' },
    { name: 'a beacon without a token', path: '/api/beacon', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ deviceId: 'good', messages: [{ body: 1 }] }), status: 401, code: 'unauthorized' },
    { name: 'a beacon that is not JSON', path: '/api/beacon', headers: { 'content-type': 'text/plain' }, body: 'event=1', status: 400, code: 'invalid_body' },
    { name: 'a beacon with a bad token', path: '/api/beacon', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ deviceId: 'good', token: s.deviceToken(other), messages: [{ body: 1 }] }), status: 401, code: 'unauthorized' },
  ];

  test('each case', async () => {
    const before = (await readAll(s)).length;
    for (const c of cases()) {
      const headers = { authorization: s.deviceToken(dev), ...c.headers };
      if (c.name === 'no Authorization header') delete (headers as Record<string, string>).authorization;
      const init: RequestInit & { duplex?: string } = { method: c.method ?? 'POST', headers, body: c.body ?? (c.method === 'GET' ? undefined : 'payload') };
      if (c.body instanceof ReadableStream) init.duplex = 'half';
      const res = await s.fetch(c.path ?? '/devices/good/messages/events', init);
      assert.equal(res.status, c.status, `${c.name}: status`);
      assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8', `${c.name}: content type`);
      const body = (await res.json()) as { Message?: string; error?: { code: string; message: string } };
      if (body.Message !== undefined) {
        assert.equal(res.headers.get('iothub-errorcode'), c.code, `${c.name}: iothub-errorcode`);
        assert.ok(body.Message.startsWith(`ErrorCode:${c.code};`), `${c.name}: ${body.Message}`);
        if (c.message) assert.match(body.Message, c.message, c.name);
      } else {
        assert.equal(body.error?.code, c.code, `${c.name}: code`);
        if (c.message) assert.match(body.error!.message, c.message, c.name);
      }
    }
    assert.equal((await readAll(s)).length, before, 'nothing stored');
    // The server is still healthy and accepts good input afterwards.
    assert.equal((await s.fetch('/devices/good/messages/events', { method: 'POST', headers: { authorization: s.deviceToken(dev) }, body: 'ok' })).status, 204);
    assert.equal((await readAll(s)).length, before + 1);
  });

  test('rejections are counted by reason in /metrics', async () => {
    const text = await (await s.fetch('/metrics')).text();
    for (const reason of ['unauthorized', 'token_expired', 'forbidden', 'device_disabled', 'message_too_large', 'batch_too_large', 'invalid_body', 'route_not_found']) {
      assert.match(text, new RegExp(`omnistream_rejected_requests_total\\{reason="${reason}"\\} [1-9]`), reason);
    }
  });
});
