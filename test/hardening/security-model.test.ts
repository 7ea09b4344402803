// The security model, one test per promise, through the real server: a device's token opens only
// its own routes; every admin route refuses device tokens and policies without its right; expired
// and revoked (regenerated key) tokens are refused, also on the path that remembers verified
// tokens; policy keys appear in no response, log line or metric; files holding keys are readable
// by their owner only; admin routes refuse other origins; TLS refuses protocols before 1.2.
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { startApp, type RunningApp } from '../../src/app.js';
import { deviceResource, signSasToken } from '../../src/auth/sas.js';
import { buildConfig } from '../../src/config/index.js';
import type { Device } from '../../src/core/device.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { tempDir } from '../helpers/server.js';

/**
 * Routes anyone may call without a policy, each with why. Every other route the server mounts —
 * read from the running app, so a route added later is covered without editing this test — must
 * refuse a device token and a policy without its right.
 */
const OPEN_ROUTES: ReadonlyMap<string, string> = new Map([
  ['GET /healthz', 'liveness for load balancers'],
  ['GET /readyz', 'readiness for load balancers'],
  ['GET /metrics', 'Prometheus scrape; holds counts, never keys (tested below)'],
  ['POST /devices/:id/messages/events', 'a device\'s own route: its token is tested above'],
  ['POST /api/beacon', 'a device\'s own route, token in the query'],
  ['POST /api/register', 'self-registration with a public app key'],
  ['GET /sdk/omnistream.js', 'the browser SDK, a static script'],
  ['GET /sdk/omnistream.mjs', 'the browser SDK, a static module'],
  ['GET /', 'a page: static HTML, its data comes from /api with a key'],
  ['GET /dashboards/:name', 'a page'],
  ['GET /events', 'a page'],
  ['GET /assets/:file', 'the pages\' scripts and styles'],
  ['GET /docs/:name', 'the documentation pages'],
]);

/** A request path for a route pattern: each `:param` becomes a value that names nothing real. */
function pathOf(pattern: string): string {
  const sample: Record<string, string> = { partition: '0' };
  const path = pattern.replace(/:(\w+)/g, (_, name: string) => sample[name] ?? 'x');
  if (path.startsWith('/devices')) return `${path}?api-version=2021-04-12`;
  return path.endsWith('/messages') ? `${path}?wait_ms=0` : path;
}

describe('the security model', () => {
  let app: RunningApp;
  let logs = '';
  let a: Device;
  let b: Device;
  const expiry = (s: number) => Math.floor(Date.now() / 1000) + s;
  const tokenOf = (d: Device, key = d.authentication.symmetricKey.primaryKey, ttl = 3600) => signSasToken({ resource: deviceResource('localhost', d.deviceId), key, expiry: expiry(ttl) });
  const policyToken = (name: string) => signSasToken({ resource: 'localhost', key: app.keys.policy(name)!.primaryKey, keyName: name, expiry: expiry(600) });
  const call = (method: string, path: string, authorization?: string, init: RequestInit = {}) => fetch(`${app.url}${path}`, {
    method, ...init, headers: { ...(authorization ? { authorization } : {}), 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
    ...(method === 'GET' || method === 'DELETE' ? {} : { body: init.body ?? '{}' }),
  });
  const dataDir = tempDir();
  let adminRoutes: ReadonlyArray<readonly [string, string]> = [];

  before(async () => {
    const out = new PassThrough();
    out.on('data', (c: Buffer) => { logs += c.toString(); });
    app = await startApp(buildConfig({ dataDir, http: { host: '127.0.0.1', port: 0, httpsPort: 0 }, logLevel: 'debug', log: { retentionInterval: '1h' },
      recommendations: { enabled: true, events: { product_viewed: { weight: 1 } } } }), createLogger('debug', out));
    a = await app.registry.create({ deviceId: 'dev-a', tenant: 'brand-a' });
    b = await app.registry.create({ deviceId: 'dev-b', tenant: 'brand-b' });
    adminRoutes = app.routes
      .filter((r) => !OPEN_ROUTES.has(`${r.method} ${r.path}`))
      .map((r) => [r.method, pathOf(r.path)] as const);
    // The walk covers what a hand-written list used to miss: every feature's admin routes.
    for (const must of ['/api/recommendations/items/x', '/api/consumergroups/x/readers/x', '/api/jobs/x/deadletters', '/api/stream']) {
      assert.ok(adminRoutes.some(([, p]) => p.startsWith(must)), `${must} is walked`);
    }
  });
  after(() => app.close());

  const sendAs = (d: Device, token: string) => fetch(`${app.url}/devices/${d.deviceId}/messages/events`, { method: 'POST', headers: { authorization: token }, body: 'x' });

  test('a device token opens its own events route, not another device\'s, and no admin route', async () => {
    assert.equal((await sendAs(a, tokenOf(a))).status, 204);
    assert.equal((await sendAs(b, tokenOf(a))).status, 401);
    for (const [method, path] of adminRoutes) {
      const r = await call(method, path, tokenOf(a));
      assert.ok(r.status === 401 || r.status === 403, `${method} ${path} with a device token: ${r.status}`);
      await r.body?.cancel();
    }
  });

  test('every admin route refuses a policy without its right (device: DeviceConnect only)', async () => {
    for (const [method, path] of adminRoutes) {
      const r = await call(method, path, policyToken('device'));
      assert.ok(r.status === 401 || r.status === 403, `${method} ${path} with the device policy: ${r.status}`);
      await r.body?.cancel();
    }
    for (const [method, path] of adminRoutes.filter(([m, p]) => p.startsWith('/devices') && m !== 'GET')) {
      const r = await call(method, path, policyToken('registryRead'));
      assert.ok(r.status === 401 || r.status === 403, `${method} ${path} with registryRead: ${r.status}`);
    }
  });

  test('expired tokens, and tokens of a key since regenerated, are refused — also right after the same token was accepted', async () => {
    assert.equal((await sendAs(a, tokenOf(a, undefined, -400))).status, 401, 'expired past the 5-minute skew');
    const old = tokenOf(a);
    assert.equal((await sendAs(a, old)).status, 204, 'accepted, and remembered as verified');
    const current = await app.registry.get(a.deviceId);
    const r = await call('PUT', `/devices/${a.deviceId}?api-version=2021-04-12`, policyToken('iothubowner'), {
      headers: { 'if-match': '*' }, body: JSON.stringify({ deviceId: a.deviceId, status: 'enabled', authentication: { type: 'sas', symmetricKey: { primaryKey: Buffer.alloc(32, 7).toString('base64'), secondaryKey: Buffer.alloc(32, 8).toString('base64') } } }),
    });
    assert.equal(r.status, 200, await r.text());
    assert.notEqual((await app.registry.get(a.deviceId))?.authentication.symmetricKey.primaryKey, current?.authentication.symmetricKey.primaryKey);
    assert.equal((await sendAs(a, old)).status, 401, 'the old key\'s token is refused at once');
    a = (await app.registry.get(a.deviceId))!;
    assert.equal((await sendAs(a, tokenOf(a))).status, 204);
  });

  test('policy keys appear in no response, log line or metric', async () => {
    const keys = ['iothubowner', 'service', 'device', 'registryRead', 'registryReadWrite'].flatMap((n) => {
      const p = app.keys.policy(n);
      return p ? [p.primaryKey, p.secondaryKey] : [];
    });
    assert.ok(keys.length >= 8);
    const bodies: string[] = [];
    for (const [method, path] of adminRoutes.filter(([, p]) => !p.includes('stream'))) {
      for (const token of [policyToken('iothubowner'), tokenOf(b), 'SharedAccessSignature sr=localhost&sig=x&se=1&skn=iothubowner']) {
        bodies.push(await (await call(method, path, token)).text());
      }
    }
    bodies.push(await (await fetch(`${app.url}/metrics`)).text());
    bodies.push(logs);
    for (const key of keys) for (const text of bodies) assert.ok(!text.includes(key), 'a policy key was exposed');
  });

  test('files that hold keys are readable and writable by their owner only (the certificate is public)', () => {
    const holding = [
      ...readdirSync(dataDir).filter((f) => /^(keys\.json|registry\.db.*)$/.test(f)),
      join('tls', 'key.pem'),
    ];
    assert.ok(holding.includes('keys.json') && holding.includes('registry.db'));
    for (const f of holding) {
      const mode = statSync(join(dataDir, f)).mode & 0o777;
      assert.equal(mode & ~0o600, 0, `${f} is ${mode.toString(8)}`);
    }
  });

  test('admin routes refuse other origins (preflight 403, no CORS headers)', async () => {
    const pre = await fetch(`${app.url}/api/partitions`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } });
    assert.equal(pre.status, 403);
    const get = await fetch(`${app.url}/api/partitions`, { headers: { origin: 'https://evil.example', authorization: policyToken('service') } });
    assert.equal(get.headers.get('access-control-allow-origin'), null);
  });

  test('TLS refuses protocols before 1.2', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: app.httpsPort!, maxVersion: 'TLSv1.1', minVersion: 'TLSv1', rejectUnauthorized: false });
      socket.once('secureConnect', () => { socket.destroy(); resolve('connected'); });
      socket.once('error', (err) => resolve(err.message));
    });
    assert.notEqual(outcome, 'connected');
  });
});
