import assert from 'node:assert/strict';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_CONFIG, loadConfig } from '../src/config.js';
import { OmniError } from '../src/core/errors.js';
import { tempDir } from './helpers/server.js';

test('defaults are pinned: 4 partitions, 7-day retention, 24 h dedup, port 8080, any origin for devices', () => {
  const c = loadConfig({ env: {} });
  assert.equal(c.log.partitions, 4);
  assert.equal(c.log.retentionMs, 7 * 86_400_000);
  assert.equal(c.log.dedupWindowMs, 86_400_000);
  assert.equal(c.log.durability, 'process');
  assert.equal(c.http.port, 8080);
  assert.deepEqual(c.cors.deviceOrigins, ['*']);
  assert.deepEqual(c.cors.adminOrigins, []);
  assert.equal(c.hostName, DEFAULT_CONFIG.hostName);
});

test('file < environment < flags', () => {
  const dir = tempDir();
  const file = join(dir, 'omnistream.json');
  writeFileSync(file, JSON.stringify({ hostName: 'from-file', http: { port: 1000 }, log: { retention: '2d', partitions: 8 } }));
  const c = loadConfig({ file, env: { OMNISTREAM_HTTP_PORT: '2000', OMNISTREAM_HOST_NAME: 'from-env' }, flags: { 'http.port': '3000' } });
  assert.equal(c.http.port, 3000);
  assert.equal(c.hostName, 'from-env');
  assert.equal(c.log.retentionMs, 2 * 86_400_000);
  assert.equal(c.log.partitions, 8);
  rmSync(dir, { recursive: true, force: true });
});

test('invalid settings name the setting and what is expected', () => {
  const bad = (raw: Record<string, unknown>, re: RegExp) => assert.throws(() => loadConfig({ env: {}, flags: raw }), (e: unknown) => e instanceof OmniError && re.test(e.message));
  bad({ 'log.partitions': 0 }, /log.partitions: expected an integer from 1 to 32/);
  bad({ 'log.retention': 'forever' }, /log.retention/);
  bad({ 'log.durability': 'maybe' }, /one of process, fsync/);
  bad({ 'http.tlsCert': '/x.pem' }, /tlsCert and http.tlsKey go together/);
  bad({ nonsense: 1 }, /unknown setting 'nonsense'/);
  bad({ 'log.bogus': 1 }, /unknown setting 'log.bogus'/);
});
