// Every kind of bad request gets a clear status and error body, and changes nothing: one test per
// case, so a failure names the input, and each compares everything the server holds before and after.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { signSasToken, deviceResource } from '../../src/auth/sas.js';
import type { Device } from '../../src/core/device.js';
import { assertErrorResponse, errorStyleOf } from '../helpers/error-shape.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { storedState } from '../helpers/stored-state.js';

interface Fixture {
  s: TestServer;
  dev: Device;
  other: Device;
  disabled: Device;
  appKey: string;
}

type Body = NonNullable<RequestInit['body']>;

interface Case {
  readonly name: string;
  /** Default: the events route of device `good`. */
  readonly path?: string;
  /** Default: POST. */
  readonly method?: string;
  /** Default: device `good`'s own token; null sends no Authorization header. */
  readonly auth?: (f: Fixture) => string | null;
  readonly headers?: Record<string, string>;
  /** Default: a small payload (none for GET). */
  readonly body?: (f: Fixture) => Body;
  readonly status: number;
  /** IoT Hub error name (iothub-errorcode) on IoT Hub routes, the catalogue code on ours. */
  readonly code: string;
  readonly message?: RegExp;
}

const soon = () => Math.floor(Date.now() / 1000) + 600;
const goodKey = (f: Fixture) => f.dev.authentication.symmetricKey.primaryKey;
const owner = (f: Fixture) => f.s.policyToken();
const big = 'x'.repeat(256 * 1024 + 1);
const batchType = { 'content-type': 'application/vnd.microsoft.iothub.json' };
const json = { 'content-type': 'application/json' };
const text = (t: string) => () => t;

const CASES: readonly Case[] = [
  // Credentials on the events route.
  { name: 'no Authorization header', auth: () => null, status: 401, code: 'IotHubUnauthorizedAccess', message: /missing/ },
  { name: 'malformed SAS', auth: () => 'SharedAccessSignature sig=abc', status: 401, code: 'IotHubUnauthorizedAccess', message: /Malformed/ },
  { name: 'not a SAS at all', auth: () => 'Bearer abc', status: 401, code: 'IotHubUnauthorizedAccess' },
  { name: 'expired SAS', auth: (f) => signSasToken({ resource: deviceResource('localhost', 'good'), key: goodKey(f), expiry: Math.floor(Date.now() / 1000) - 400 }), status: 401, code: 'IotHubUnauthorizedAccess', message: /expired/ },
  { name: 'wrong key', auth: (f) => signSasToken({ resource: deviceResource('localhost', 'good'), key: f.other.authentication.symmetricKey.primaryKey, expiry: soon() }), status: 401, code: 'IotHubUnauthorizedAccess', message: /invalid signature/ },
  { name: "another device's token", auth: (f) => f.s.deviceToken(f.other), status: 401, code: 'IotHubUnauthorizedAccess', message: /does not cover/ },
  { name: 'a token for another hub', auth: (f) => signSasToken({ resource: deviceResource('otherhub', 'good'), key: goodKey(f), expiry: soon() }), status: 401, code: 'IotHubUnauthorizedAccess', message: /otherhub/ },
  { name: 'a policy without DeviceConnect', auth: (f) => f.s.policyToken('registryReadWrite'), status: 401, code: 'IotHubUnauthorized', message: /DeviceConnect/ },
  { name: 'an unknown policy', auth: (f) => signSasToken({ resource: 'localhost', key: goodKey(f), keyName: 'nobody', expiry: soon() }), status: 401, code: 'IotHubUnauthorizedAccess' },
  { name: 'a disabled device', path: '/devices/off/messages/events', auth: (f) => f.s.deviceToken(f.disabled), status: 401, code: 'IotHubUnauthorized', message: /disabled/ },
  { name: 'an unknown device with its own token', path: '/devices/ghost/messages/events', auth: (f) => signSasToken({ resource: deviceResource('localhost', 'ghost'), key: goodKey(f), expiry: soon() }), status: 401, code: 'IotHubUnauthorizedAccess' },
  { name: 'an unknown device with a policy token', path: '/devices/ghost/messages/events', auth: (f) => f.s.policyToken('device'), status: 404, code: 'DeviceNotFound' },
  // Ids, sizes and batches on the events route.
  { name: 'an invalid device id', path: '/devices/bad%20id/messages/events', status: 400, code: 'ArgumentInvalid', message: /Invalid device id/ },
  { name: 'a device id over 128 characters', path: `/devices/${'a'.repeat(129)}/messages/events`, status: 400, code: 'ArgumentInvalid' },
  { name: 'malformed percent-encoding in the device id', path: '/devices/bad%zzid/messages/events', status: 400, code: 'ArgumentInvalid', message: /percent-encoding/ },
  { name: 'a single body over 256 KB', body: text(big), status: 413, code: 'MessageTooLarge' },
  { name: 'a chunked single body over 256 KB', body: () => new Blob([big]).stream() as unknown as Body, status: 413, code: 'MessageTooLarge' },
  { name: 'properties that push a message over 256 KB', headers: { 'iothub-app-pad': 'p'.repeat(8000) }, body: text('x'.repeat(256 * 1024 - 4000)), status: 413, code: 'MessageTooLarge' },
  { name: 'a batch of 501', headers: batchType, body: text(JSON.stringify(Array.from({ length: 501 }, () => ({ body: 'YQ==' })))), status: 400, code: 'ArgumentInvalid', message: /at most 500/ },
  { name: 'a batch over 256 KB', headers: batchType, body: text(JSON.stringify(Array.from({ length: 3 }, () => ({ body: Buffer.alloc(90_000).toString('base64') })))), status: 413, code: 'MessageTooLarge' },
  { name: 'a batch that is not JSON', headers: batchType, body: text('[{"body": "YQ=="'), status: 400, code: 'ArgumentInvalid', message: /not valid JSON/ },
  { name: 'a batch that is not an array', headers: batchType, body: text('{"body": "YQ=="}'), status: 400, code: 'ArgumentInvalid', message: /array/ },
  { name: 'an empty batch', headers: batchType, body: text('[]'), status: 400, code: 'ArgumentInvalid' },
  { name: 'a batch with one malformed entry', headers: batchType, body: text(JSON.stringify([{ body: 'YQ==' }, { nobody: 1 }])), status: 400, code: 'ArgumentInvalid', message: /message 1: missing body/ },
  { name: 'a batch with bad base64', headers: batchType, body: text(JSON.stringify([{ body: 'YQ==' }, { body: 'not base64!' }])), status: 400, code: 'ArgumentInvalid', message: /base64/ },
  { name: 'a batch with a non-string property', headers: batchType, body: text(JSON.stringify([{ body: 'YQ==', properties: { k: { nested: 1 } } }])), status: 400, code: 'ArgumentInvalid' },
  // Routes and methods.
  { name: 'an unknown IoT Hub route', path: '/devices/good/messages/nowhere', status: 404, code: 'ArgumentInvalid' },
  { name: 'a wrong method on the events route', method: 'PUT', status: 405, code: 'ArgumentInvalid' },
  { name: 'an unknown route', path: '/api/nothing-here', status: 404, code: 'route_not_found' },
  { name: 'a wrong method on a known route', path: '/api/register', method: 'GET', status: 405, code: 'method_not_allowed' },
  // sendBeacon.
  { name: 'a beacon with the wrong content type', path: '/api/beacon', headers: { 'content-type': 'application/xml' }, body: text('<x/>'), status: 415, code: 'unsupported_media_type' },
  { name: 'a beacon without a token', path: '/api/beacon', headers: { 'content-type': 'text/plain' }, body: text(JSON.stringify({ deviceId: 'good', messages: [{ body: 1 }] })), status: 401, code: 'unauthorized' },
  { name: 'a beacon that is not JSON', path: '/api/beacon', headers: { 'content-type': 'text/plain' }, body: text('event=1'), status: 400, code: 'invalid_body' },
  { name: 'a beacon with a bad token', path: '/api/beacon', headers: { 'content-type': 'text/plain' }, body: (f) => JSON.stringify({ deviceId: 'good', token: f.s.deviceToken(f.other), messages: [{ body: 1 }] }), status: 401, code: 'unauthorized' },
  { name: 'a beacon over 256 KB', path: '/api/beacon', headers: { 'content-type': 'text/plain' }, body: (f) => JSON.stringify({ deviceId: 'good', token: f.s.deviceToken(f.dev), messages: [{ body: big, base64Encoded: false }] }), status: 413, code: 'message_too_large' },
  // Self-registration: no device is created.
  { name: 'a registration that is not JSON', path: '/api/register', auth: () => null, headers: json, body: text('{"appKey":'), status: 400, code: 'invalid_body' },
  { name: 'a registration with an invalid device id', path: '/api/register', auth: () => null, headers: json, body: (f) => JSON.stringify({ appKey: f.appKey, deviceId: 'bad id' }), status: 400, code: 'invalid_device_id' },
  { name: 'a registration with a bad kind', path: '/api/register', auth: () => null, headers: json, body: (f) => JSON.stringify({ appKey: f.appKey, kind: 'Not A Kind' }), status: 400, code: 'invalid_argument' },
  { name: 'a registration with an unknown app key', path: '/api/register', auth: () => null, headers: json, body: text(JSON.stringify({ appKey: 'no-such-key', deviceId: 'new-device' })), status: 401, code: 'invalid_app_key' },
  { name: 'a registration of a taken id', path: '/api/register', auth: () => null, headers: json, body: (f) => JSON.stringify({ appKey: f.appKey, deviceId: 'good' }), status: 409, code: 'device_exists' },
  { name: 'a registration in another content type', path: '/api/register', auth: () => null, headers: { 'content-type': 'application/xml' }, body: (f) => JSON.stringify({ appKey: f.appKey, deviceId: 'new-device' }), status: 415, code: 'unsupported_media_type' },
  // The registry: no device is created, changed or deleted.
  { name: 'creating a device whose id is taken', path: '/devices/good', method: 'PUT', auth: owner, headers: json, body: text('{}'), status: 409, code: 'DeviceAlreadyExists' },
  { name: 'a device body that is not JSON', path: '/devices/new-device', method: 'PUT', auth: owner, headers: json, body: text('{"status":'), status: 400, code: 'ArgumentInvalid' },
  { name: "a device body with another device's id", path: '/devices/new-device', method: 'PUT', auth: owner, headers: json, body: text('{"deviceId":"other"}'), status: 400, code: 'ArgumentInvalid', message: /does not match/ },
  { name: 'updating a device with a stale etag', path: '/devices/good', method: 'PUT', auth: owner, headers: { ...json, 'if-match': '"stale"' }, body: text('{"status":"disabled"}'), status: 412, code: 'PreconditionFailed' },
  { name: 'updating a device that does not exist', path: '/devices/new-device', method: 'PUT', auth: owner, headers: { ...json, 'if-match': '*' }, body: text('{}'), status: 412, code: 'PreconditionFailed' },
  { name: 'deleting a device that does not exist', path: '/devices/ghost', method: 'DELETE', auth: owner, status: 404, code: 'DeviceNotFound' },
  { name: 'deleting a device with a stale etag', path: '/devices/good', method: 'DELETE', auth: owner, headers: { 'if-match': '"stale"' }, status: 412, code: 'PreconditionFailed' },
  { name: 'creating a device without RegistryWrite', path: '/devices/new-device', method: 'PUT', auth: (f) => f.s.policyToken('registryRead'), headers: json, body: text('{}'), status: 401, code: 'IotHubUnauthorized' },
  { name: 'deleting a device with its own token', path: '/devices/good', method: 'DELETE', auth: (f) => f.s.deviceToken(f.dev), status: 401, code: 'IotHubUnauthorizedAccess' },
];

describe('bad input is refused and changes nothing', () => {
  const f = {} as Fixture;
  before(async () => {
    f.s = await startTestServer();
    f.dev = await f.s.createDevice('good');
    f.other = await f.s.createDevice('other');
    f.disabled = await f.s.createDevice('off', { status: 'disabled' });
    f.appKey = (await f.s.keys.addAppKey('brand-a')).key;
    // Something stored already, so "unchanged" is more than "still empty".
    const res = await f.s.fetch('/devices/good/messages/events', { method: 'POST', headers: { authorization: f.s.deviceToken(f.dev) }, body: '{"seed":true}' });
    assert.equal(res.status, 204);
  });
  after(() => f.s.stop());

  for (const c of CASES) {
    test(c.name, async () => {
      const path = c.path ?? '/devices/good/messages/events';
      const method = c.method ?? 'POST';
      const authorization = c.auth ? c.auth(f) : f.s.deviceToken(f.dev);
      const body = c.body ? c.body(f) : method === 'GET' ? undefined : 'payload';
      const init: RequestInit & { duplex?: 'half' } = { method, headers: { ...(authorization === null ? {} : { authorization }), ...c.headers }, body };
      if (body instanceof ReadableStream) init.duplex = 'half';
      const stateBefore = await storedState(f.s);
      await assertErrorResponse(await f.s.fetch(path, init), errorStyleOf(path), c);
      assert.deepEqual(await storedState(f.s), stateBefore, 'the log, the registry and the consumer groups are as they were');
    });
  }

  test('the server still accepts good input afterwards', async () => {
    const stored = (await storedState(f.s)).messages as unknown[];
    assert.equal((await f.s.fetch('/devices/good/messages/events', { method: 'POST', headers: { authorization: f.s.deviceToken(f.dev) }, body: 'ok' })).status, 204);
    assert.equal(((await storedState(f.s)).messages as unknown[]).length, stored.length + 1);
  });

  test('rejections of the cases above are counted by reason in /metrics', async () => {
    const text = await (await f.s.fetch('/metrics')).text();
    for (const reason of ['unauthorized', 'token_expired', 'forbidden', 'device_disabled', 'message_too_large', 'batch_too_large', 'invalid_body', 'route_not_found', 'device_exists', 'precondition_failed']) {
      assert.match(text, new RegExp(`omnistream_rejected_requests_total\\{reason="${reason}"\\} [1-9]`), reason);
    }
  });
});
