// The web build: index.html linking content-hashed assets that exist, nothing fetched from
// elsewhere, and a bundle that stays lean (ECharts' modular build, not all of it).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildWeb } from '../../web/build.js';

const out = mkdtempSync(join(tmpdir(), 'omnistream-web-'));
after(() => rmSync(out, { recursive: true, force: true }));

test('builds index.html and content-hashed assets, with nothing from another origin', async () => {
  const built = await buildWeb(out);
  const html = readFileSync(join(out, 'index.html'), 'utf8');
  const links = [...html.matchAll(/(?:src|href)="\/assets\/([^"]+)"/g)].map((m) => m[1]!);
  assert.deepEqual(links.sort(), [built.css.path, built.js.path].map((p) => p.replace('assets/', '')).sort());
  // The server caches names like these for good (src/dashboard/page-routes.ts).
  for (const name of links) {
    assert.match(name, /^app-[A-Za-z0-9]{8,}\.(js|css)$/);
    assert.ok(existsSync(join(out, 'assets', name)), name);
  }
  assert.doesNotMatch(html, /https?:\/\//, 'no CDN: the machine may be offline');
  assert.doesNotMatch(readFileSync(join(out, built.js.path), 'utf8'), /from\s*["']node:|https:\/\/cdn/);
  assert.deepEqual(built.packages, ['echarts', 'tslib', 'zrender']);
  assert.match(readFileSync(join(out, 'assets', 'third-party-licenses.txt'), 'utf8'), /==== echarts: LICENSE ====/);
  // The whole of ECharts alone is 1.1 MB minified; the app with the parts it uses is well under.
  assert.ok(built.js.bytes < 800 * 1024, `bundle is ${built.js.bytes} bytes`);
});

test('a build keeps the assets of the one before (a running server links them) and removes older ones', async () => {
  const old = join(out, 'assets', 'app-OLDOLDOL.js');
  writeFileSync(old, '');
  const first = await buildWeb(out);
  assert.equal(existsSync(old), false);
  writeFileSync(join(out, 'index.html'), first.html.replace(first.js.path.replace('assets/', ''), 'app-PREVIOUS.js'));
  writeFileSync(join(out, 'assets', 'app-PREVIOUS.js'), '');
  await buildWeb(out);
  assert.ok(existsSync(join(out, 'assets', 'app-PREVIOUS.js')));
  assert.ok(existsSync(join(out, first.js.path)), 'the newest build is there too');
  await buildWeb(out);
  assert.equal(existsSync(join(out, 'assets', 'app-PREVIOUS.js')), false);
});
