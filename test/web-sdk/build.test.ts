// The SDK's build: an ESM module and a classic script setting window.Omnistream, each within the
// 5 KB gzipped budget, with nothing but the SDK in them; and the server's /sdk/ routes serving
// them to pages of any origin, gzipped, revalidated by ETag.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { runInNewContext } from 'node:vm';
import { HttpServer } from '../../src/http/server.js';
import { sdkRoutes } from '../../src/ingest/sdk-routes.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { buildSdk, SDK_GZIP_BUDGET, type SdkFile } from '../../web-sdk/build.js';

const out = mkdtempSync(join(tmpdir(), 'omnistream-sdk-'));
after(() => rmSync(out, { recursive: true, force: true }));
const API = ['flush', 'identify', 'init', 'page', 'stats', 'track'];

describe('the SDK build', () => {
  let built: { js: SdkFile; mjs: SdkFile };
  before(async () => {
    built = await buildSdk(out);
  });

  test('each file is at most 5 KB gzipped', (t) => {
    for (const f of [built.js, built.mjs]) {
      t.diagnostic(`${f.path}: ${f.bytes} bytes, ${f.gzipBytes} gzipped (budget ${SDK_GZIP_BUDGET})`);
      assert.ok(f.gzipBytes <= SDK_GZIP_BUDGET, `${f.path} is ${f.gzipBytes} bytes gzipped`);
      assert.ok(f.gzipBytes > 1_000, 'the file holds the SDK');
    }
  });

  test('the classic script defines Omnistream and touches nothing else until init; the module exports the same', () => {
    const context: Record<string, unknown> = {};
    runInNewContext(readFileSync(built.js.path, 'utf8'), context);
    assert.deepEqual(Object.keys(context), ['Omnistream']);
    assert.deepEqual(Object.keys(context.Omnistream as object).sort(), API);
    const esm = readFileSync(built.mjs.path, 'utf8');
    const exported = /export\{([^}]*)\}/.exec(esm)![1]!.split(',').map((e) => e.split(' as ').pop()!.trim());
    assert.deepEqual(exported.sort(), API);
    assert.doesNotMatch(esm, /\bimport\b|require\(/, 'no dependencies');
  });
});

describe('GET /sdk/omnistream.js and .mjs', () => {
  let server: HttpServer;
  let base: string;
  before(async () => {
    await buildSdk(out);
    // Device origins closed: the script is public all the same.
    server = new HttpServer({
      plugins: [sdkRoutes(out)], cors: { deviceOrigins: [], adminOrigins: [] }, trustProxy: false, metrics: new Metrics(), logger: createLogger('error', new PassThrough()),
    });
    base = `http://127.0.0.1:${(await server.listen(0, '127.0.0.1')).port}`;
  });
  after(() => server.close());

  test('served as JavaScript to any origin, gzipped when accepted, cached briefly and revalidated by ETag', async () => {
    for (const name of ['omnistream.js', 'omnistream.mjs']) {
      const file = readFileSync(join(out, name));
      const res = await fetch(`${base}/sdk/${name}`, { headers: { origin: 'https://shop.example' } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/javascript; charset=utf-8');
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      assert.equal(res.headers.get('cross-origin-resource-policy'), 'cross-origin');
      assert.equal(res.headers.get('cache-control'), 'public, max-age=300');
      assert.equal(res.headers.get('content-encoding'), 'gzip', 'fetch asks for gzip');
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), file);
      const etag = res.headers.get('etag')!;
      const again = await fetch(`${base}/sdk/${name}`, { headers: { 'if-none-match': etag } });
      assert.equal(again.status, 304);
      const raw = await fetch(`${base}/sdk/${name}`, { headers: { 'accept-encoding': 'identity' } });
      assert.equal(raw.headers.get('content-encoding'), null);
      assert.deepEqual(Buffer.from(await raw.arrayBuffer()), file);
    }
  });

  test('a rebuild is served at once, under a new ETag', async () => {
    const before = (await fetch(`${base}/sdk/omnistream.js`)).headers.get('etag');
    const path = join(out, 'omnistream.js');
    writeFileSync(path, `${readFileSync(path, 'utf8')}\n//rebuilt`);
    const res = await fetch(`${base}/sdk/omnistream.js`);
    assert.notEqual(res.headers.get('etag'), before);
    assert.match(await res.text(), /\/\/rebuilt$/);
  });

  test('not built: a 503 that says how to build it', async () => {
    const bare = new HttpServer({
      plugins: [sdkRoutes(join(out, 'nothing-here'))], cors: { deviceOrigins: [], adminOrigins: [] }, trustProxy: false, metrics: new Metrics(), logger: createLogger('error', new PassThrough()),
    });
    const url = `http://127.0.0.1:${(await bare.listen(0, '127.0.0.1')).port}`;
    try {
      const res = await fetch(`${url}/sdk/omnistream.js`);
      assert.equal(res.status, 503);
      assert.match(await res.text(), /npm run build/);
    } finally {
      await bare.close();
    }
  });
});
