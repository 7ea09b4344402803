// CORS by audience: browsers on the configured shop sites may send events and register, only the
// configured admin sites may call registry and feed routes, and neither list opens the other's routes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Device } from '../../src/core/device.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const SHOP = 'https://shop.example';
const ADMIN = 'https://admin.example';
const STRANGER = 'https://elsewhere.example';

interface Fixture {
  s: TestServer;
  device: Device;
  appKey: string;
}

interface RouteCase {
  readonly name: string;
  readonly audience: 'device' | 'admin';
  readonly method: 'GET' | 'POST';
  readonly path: string;
  /** IoT Hub routes refuse in IoT Hub's shape (401, as for any missing right); ours with 403. */
  readonly refusedStatus: number;
  /** The real request a browser would send after its preflight, with valid credentials. */
  readonly request: (f: Fixture) => { headers: Record<string, string>; body?: string };
  readonly okStatus: number;
}

const ROUTES: readonly RouteCase[] = [
  {
    name: 'POST /devices/{id}/messages/events', audience: 'device', method: 'POST', path: '/devices/cors-device/messages/events', refusedStatus: 401,
    request: (f) => ({ headers: { authorization: f.s.deviceToken(f.device) }, body: '{"event":"viewed"}' }), okStatus: 204,
  },
  {
    name: 'POST /api/register', audience: 'device', method: 'POST', path: '/api/register', refusedStatus: 403,
    request: (f) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify({ appKey: f.appKey, kind: 'browser' }) }), okStatus: 201,
  },
  {
    name: 'GET /devices', audience: 'admin', method: 'GET', path: '/devices', refusedStatus: 401,
    request: (f) => ({ headers: { authorization: f.s.policyToken('registryRead') } }), okStatus: 200,
  },
  {
    name: 'GET /api/partitions', audience: 'admin', method: 'GET', path: '/api/partitions', refusedStatus: 403,
    request: (f) => ({ headers: { authorization: f.s.policyToken('service') } }), okStatus: 200,
  },
];

async function fixture(settings: Record<string, unknown>): Promise<Fixture> {
  const s = await startTestServer(settings);
  return { s, device: await s.createDevice('cors-device'), appKey: (await s.keys.addAppKey('shop')).key };
}

function preflight(f: Fixture, route: RouteCase, origin: string): Promise<Response> {
  return f.s.fetch(route.path, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': route.method, 'access-control-request-headers': 'authorization, content-type' },
  });
}

async function actual(f: Fixture, route: RouteCase, origin: string): Promise<Response> {
  const { headers, body } = route.request(f);
  return f.s.fetch(route.path, { method: route.method, headers: { origin, ...headers }, body });
}

function assertAllowedPreflight(res: Response, route: RouteCase, origin: string): void {
  assert.equal(res.status, 204);
  assert.equal(res.headers.get('access-control-allow-origin'), origin);
  assert.ok(res.headers.get('access-control-allow-methods')!.split(', ').includes(route.method), res.headers.get('access-control-allow-methods')!);
  assert.deepEqual(res.headers.get('access-control-allow-headers')!.split(', ').filter((h) => h === 'authorization' || h === 'content-type').sort(), ['authorization', 'content-type']);
  // A cache must not hand one origin's preflight answer to another.
  assert.match(res.headers.get('vary') ?? '', /Origin/);
}

async function assertRefusedPreflight(res: Response, route: RouteCase): Promise<void> {
  assert.equal(res.status, route.refusedStatus, await res.clone().text());
  for (const h of ['access-control-allow-origin', 'access-control-allow-methods', 'access-control-allow-headers']) assert.equal(res.headers.get(h), null, h);
  const body = (await res.json()) as { error?: { code: string }; Message?: string };
  if (route.path.startsWith('/devices')) assert.match(body.Message ?? '', /^ErrorCode:IotHubUnauthorized;.*not allowed/);
  else assert.equal(body.error?.code, 'forbidden');
}

describe('CORS with configured origins', () => {
  let f: Fixture;
  before(async () => {
    f = await fixture({ cors: { deviceOrigins: [SHOP], adminOrigins: [ADMIN] } });
  });
  after(() => f.s.stop());

  for (const route of ROUTES) {
    const allowed = route.audience === 'device' ? SHOP : ADMIN;
    // The other audience's origin is refused too: one list never opens the other's routes.
    const refused = [route.audience === 'device' ? ADMIN : SHOP, STRANGER];

    test(`${route.name}: a preflight from ${allowed} is answered`, async () => {
      assertAllowedPreflight(await preflight(f, route, allowed), route, allowed);
    });

    test(`${route.name}: the request from ${allowed} carries the CORS headers`, async () => {
      const res = await actual(f, route, allowed);
      assert.equal(res.status, route.okStatus, await res.clone().text());
      assert.equal(res.headers.get('access-control-allow-origin'), allowed);
      assert.match(res.headers.get('access-control-expose-headers') ?? '', /iothub-errorcode/);
    });

    for (const origin of refused) {
      test(`${route.name}: a preflight from ${origin} is refused without CORS headers`, async () => {
        await assertRefusedPreflight(await preflight(f, route, origin), route);
      });

      test(`${route.name}: the request from ${origin} carries no CORS headers, so the browser keeps the answer from the page`, async () => {
        const res = await actual(f, route, origin);
        assert.equal(res.status, route.okStatus, await res.clone().text());
        assert.equal(res.headers.get('access-control-allow-origin'), null);
        assert.equal(res.headers.get('access-control-expose-headers'), null);
      });
    }
  }

  test('an error answered to an allowed origin carries the CORS headers, so the page can read why', async () => {
    const res = await f.s.fetch('/devices/cors-device/messages/events', { method: 'POST', headers: { origin: SHOP, authorization: 'SharedAccessSignature sig=nope' }, body: 'x' });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('access-control-allow-origin'), SHOP);
    assert.ok(res.headers.get('access-control-expose-headers')!.split(', ').includes('iothub-errorcode'));
    assert.equal(res.headers.get('iothub-errorcode'), 'IotHubUnauthorizedAccess');
  });
});

describe('CORS defaults: any origin on device routes, none on admin routes', () => {
  let f: Fixture;
  before(async () => {
    f = await fixture({});
  });
  after(() => f.s.stop());

  for (const route of ROUTES) {
    for (const origin of [SHOP, ADMIN, STRANGER]) {
      if (route.audience === 'device') {
        test(`${route.name}: ${origin} is allowed`, async () => {
          assertAllowedPreflight(await preflight(f, route, origin), route, origin);
          const res = await actual(f, route, origin);
          assert.equal(res.status, route.okStatus, await res.clone().text());
          assert.equal(res.headers.get('access-control-allow-origin'), origin);
        });
      } else {
        test(`${route.name}: ${origin} is refused`, async () => {
          await assertRefusedPreflight(await preflight(f, route, origin), route);
          const res = await actual(f, route, origin);
          assert.equal(res.status, route.okStatus, await res.clone().text());
          assert.equal(res.headers.get('access-control-allow-origin'), null);
        });
      }
    }
  }
});
