import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  currentSettingsTable, duration, integer, loadConfig, loadSettings, nearestName, path, records, renderSettingsTable,
  replaceSettingsTable, section, SETTINGS, text, walkSettings,
} from '../src/config/index.js';
import { OmniError } from '../src/core/errors.js';
import { tempDir } from './helpers/server.js';

const dir = tempDir();
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: string): string {
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}

/** Asserts that loading fails with exactly these lines. */
function fails(load: () => unknown, ...lines: (string | RegExp)[]): void {
  assert.throws(load, (e: unknown) => {
    assert.ok(e instanceof OmniError, String(e));
    const got = e.message.split('\n');
    assert.equal(got.length, lines.length, e.message);
    lines.forEach((line, i) => (typeof line === 'string' ? assert.equal(got[i], line) : assert.match(got[i]!, line)));
    return true;
  });
}

test('defaults are pinned: 4 partitions, 7-day retention, 24 h dedup, port 8080, any origin for devices', () => {
  const c = loadConfig({ env: {} });
  assert.equal(c.log.partitions, 4);
  assert.equal(c.log.retention, 7 * 86_400_000);
  assert.equal(c.log.dedupWindow, 86_400_000);
  assert.equal(c.log.retentionInterval, 60_000);
  assert.equal(c.log.durability, 'process');
  assert.equal(c.http.port, 8080);
  assert.equal(c.http.tlsCert, null);
  assert.deepEqual(c.cors.deviceOrigins, ['*']);
  assert.deepEqual(c.cors.adminOrigins, []);
  assert.equal(c.registryCache, 1_000);
  assert.equal(c.hostName, 'localhost');
  assert.equal(c.dataDir, resolve('data'));
  assert.equal(c.ownerKey, null);
});

test('file < environment < flags, for JSON and YAML files alike', () => {
  const json = write('omnistream.json', JSON.stringify({ hostName: 'from-file', http: { port: 1000 }, log: { retention: '2d', partitions: 8 } }));
  const yaml = write('omnistream.yaml', 'hostName: from-file\nhttp:\n  port: 1000\nlog:\n  retention: 2d\n  partitions: 8\n');
  for (const file of [json, yaml]) {
    const c = loadConfig({ file, env: { OMNISTREAM_HTTP_PORT: '2000', OMNISTREAM_HOST_NAME: 'from-env' }, flags: { 'http.port': '3000' } });
    assert.equal(c.http.port, 3000);
    assert.equal(c.hostName, 'from-env');
    assert.equal(c.log.retention, 2 * 86_400_000);
    assert.equal(c.log.partitions, 8);
  }
});

test('variables are text: numbers, lists and booleans read from it; an empty variable is unset', () => {
  const c = loadConfig({ env: { OMNISTREAM_PARTITIONS: '16', OMNISTREAM_HTTP_HOST: '', OMNISTREAM_LOG_LEVEL: 'warn' }, flags: { 'cors.adminOrigins': 'https://a.example, https://b.example', 'http.trustProxy': 'true' } });
  assert.equal(c.log.partitions, 16);
  assert.equal(c.http.host, '0.0.0.0');
  assert.equal(c.logLevel, 'warn');
  assert.deepEqual(c.cors.adminOrigins, ['https://a.example', 'https://b.example']);
  assert.equal(c.http.trustProxy, true);
});

test('OMNISTREAM_OWNER_KEY sets ownerKey, and is checked like any setting', () => {
  const key = Buffer.alloc(32, 7).toString('base64');
  assert.equal(loadConfig({ env: { OMNISTREAM_OWNER_KEY: key } }).ownerKey, key);
  fails(() => loadConfig({ env: { OMNISTREAM_OWNER_KEY: 'short' } }), 'OMNISTREAM_OWNER_KEY: ownerKey: expected a base64 key of 16 to 64 bytes, got "short"');
});

test('invalid settings name the setting and what is expected', () => {
  const bad = (flags: Record<string, unknown>, re: RegExp) => fails(() => loadConfig({ env: {}, flags }), re);
  bad({ 'log.partitions': 0 }, /log.partitions: expected an integer from 1 to 32, got 0/);
  bad({ 'log.retention': 'forever' }, /log.retention: expected a duration such as 500ms, 15s, 5m, 24h or 7d, got "forever"/);
  bad({ 'log.durability': 'maybe' }, /one of process, fsync/);
  bad({ 'http.tlsCert': '/x.pem' }, /^--tls-cert: http.tlsCert: goes with http.tlsKey: set both or neither$/);
  bad({ nonsense: 1 }, /unknown setting 'nonsense'/);
  bad({ 'log.bogus': 1 }, /unknown setting 'log.bogus'/);
});

test('errors name the file, variable or flag the value came from; every problem is listed', () => {
  const file = write('wrong.yaml', 'http:\n  port: 99999\nlog:\n  partitions: 0\n  partitons: 3\nport: 80\n');
  fails(() => loadConfig({ file, env: { OMNISTREAM_RETENTION: 'forever' }, flags: { hostName: '' } }),
    `--host-name: hostName: expected a non-empty string, got ""`,
    `${file}: http.port: expected an integer from 0 to 65535, got 99999`,
    `${file}: log.partitions: expected an integer from 1 to 32, got 0`,
    `OMNISTREAM_RETENTION: log.retention: expected a duration such as 500ms, 15s, 5m, 24h or 7d, got "forever"`,
    `${file}: unknown setting 'log.partitons'; did you mean 'log.partitions'?`,
    `${file}: unknown setting 'port'; did you mean 'http.port' or 'mqtt.port'?`);
  fails(() => loadConfig({ file: write('section.yaml', 'log: 5\n'), env: {} }), /section\.yaml: log: expected settings by name, got 5$/);
  fails(() => loadConfig({ file: write('proto.json', '{"__proto__": {"demo": true}}'), env: {} }), /proto\.json: unknown setting '__proto__'$/);
});

test('a syntax error names the file, line and column; so does a file that is not settings', () => {
  fails(() => loadConfig({ file: write('broken.yaml', 'http:\n  port: 80\n host: x\n'), env: {} }), `${join(dir, 'broken.yaml')}:3:1: All mapping items must start at the same column`);
  fails(() => loadConfig({ file: write('dup.yml', 'demo: true\ndemo: false\n'), env: {} }), /dup\.yml:2:1: Map keys must be unique/);
  fails(() => loadConfig({ file: write('broken.json', '{\n  "http": {"port": 80,}\n}'), env: {} }), /broken\.json:2:23: /);
  fails(() => loadConfig({ file: write('list.yaml', '- a\n- b\n'), env: {} }), /list\.yaml: expected settings by name .* got \["a","b"\]/);
  fails(() => loadConfig({ file: join(dir, 'missing.yaml'), env: {} }), /missing\.yaml: cannot read the config file \(ENOENT\)/);
  assert.equal(loadConfig({ file: write('empty.yaml', '# nothing set\n'), env: {} }).http.port, 8080);
});

test('paths in a file are relative to its folder; from a variable or flag, to the working directory', () => {
  mkdirSync(join(dir, 'etc'), { recursive: true });
  const file = write('etc/omni.yaml', 'dataDir: ./state\nhttp: {tlsCert: tls/cert.pem, tlsKey: /abs/key.pem}\n');
  const c = loadConfig({ file, env: {} });
  assert.equal(c.dataDir, join(dir, 'etc', 'state'));
  assert.equal(c.http.tlsCert, join(dir, 'etc', 'tls', 'cert.pem'));
  assert.equal(c.http.tlsKey, '/abs/key.pem');
  assert.equal(loadConfig({ file, env: { OMNISTREAM_DATA: 'here' } }).dataDir, resolve('here'));
  assert.equal(loadConfig({ file, env: {}, flags: { dataDir: 'there' } }).dataDir, resolve('there'));
});

describe('a section of records, as a feature declares one', () => {
  // What the reference-data issue will declare; this shape is the test's own.
  const root = section({
    ...SETTINGS.settings,
    reference: records(section({
      file: path({ doc: 'CSV or JSON snapshot' }),
      refresh: duration({ doc: 'how often the file is read again', default: '1m' }),
      keyColumn: text({ doc: 'the column rows are found by', default: 'id' }),
    }), { doc: 'reference data sets by name' }),
  });

  test('entries are validated, defaulted, and their paths resolved against the config file', () => {
    mkdirSync(join(dir, 'conf'), { recursive: true });
    const file = write('conf/omni.yaml', 'reference:\n  catalogue:\n    file: data/catalogue.csv\n    refresh: 5m\n  stores:\n    file: /srv/stores.json\n');
    const c = loadSettings(root, { file, env: {} });
    assert.deepEqual(c.reference, {
      catalogue: { file: join(dir, 'conf', 'data', 'catalogue.csv'), refresh: 300_000, keyColumn: 'id' },
      stores: { file: '/srv/stores.json', refresh: 60_000, keyColumn: 'id' },
    });
    assert.equal(c.log.partitions, 4, 'the rest of the settings are there too');
    assert.deepEqual(loadSettings(root, { env: {} }).reference, {}, 'no entries by default');
  });

  test('a wrong entry is named by its path', () => {
    const file = write('bad-ref.yaml', 'reference:\n  catalogue:\n    refresh: soon\n    fiel: x.csv\n  stores: x.csv\n');
    fails(() => loadSettings(root, { file, env: {} }),
      `${file}: reference.catalogue.file: expected a file path, got nothing`,
      `${file}: reference.catalogue.refresh: expected a duration such as 500ms, 15s, 5m, 24h or 7d, got "soon"`,
      `${file}: unknown setting 'reference.catalogue.fiel'; did you mean 'reference.catalogue.file'?`,
      `${file}: reference.stores: expected settings by name, got "x.csv"`);
  });

  test('the docs table shows entries by a placeholder name; settings in records take no variable or flag', () => {
    const table = renderSettingsTable(root);
    const rows = table.split('\n');
    assert.ok(rows.includes('| `reference` |  |  |  | reference data sets by name; one entry per `<name>` you choose |'), table);
    assert.ok(rows.includes('| `reference.<name>.file` |  |  | required | CSV or JSON snapshot |'), table);
    assert.ok(rows.includes('| `reference.<name>.refresh` |  |  | `1m` | how often the file is read again |'), table);
    assert.throws(() => records(section({ port: integer({ doc: 'x', min: 1, max: 2, env: 'OMNISTREAM_X' }) }), { doc: 'x' }), /has a variable or flag/);
  });
});

test('every variable and flag belongs to one setting', () => {
  const settings = [...walkSettings(SETTINGS)].flatMap(({ node }) => (node.kind === 'setting' ? [node] : []));
  const envs = settings.flatMap((s) => (s.env ? [s.env] : []));
  const flags = settings.flatMap((s) => (s.flag ? [s.flag] : []));
  assert.equal(new Set(envs).size, envs.length);
  assert.equal(new Set(flags).size, flags.length);
  assert.ok(envs.includes('OMNISTREAM_OWNER_KEY'));
  assert.deepEqual(flags, ['data', 'host-name', 'http-port', 'https-port', 'tls-cert', 'tls-key', 'mqtts-port', 'mqtt-port', 'log', 'log-stream', 'db', 'db-schema', 'role', 'demo', 'rate']);
});

test('docs/operations.md carries the settings table the schema renders', () => {
  const page = readFileSync(fileURLToPath(new URL('../docs/operations.md', import.meta.url)), 'utf8');
  assert.equal(currentSettingsTable(page), renderSettingsTable(SETTINGS),
    'the settings table is out of date: run `npx tsx src/cli.ts config docs --into docs/operations.md`');
  assert.equal(replaceSettingsTable(page, renderSettingsTable(SETTINGS)), page, 'regenerating changes nothing');
});

test('nearestName suggests a slip of the keyboard, not a different word', () => {
  assert.equal(nearestName('strat', ['start', 'keys', 'token']), 'start');
  assert.equal(nearestName('partitons', ['partitions', 'retention']), 'partitions');
  assert.equal(nearestName('HTTP-PORT', ['http-port']), 'http-port');
  assert.equal(nearestName('bogus', ['burst', 'perMinute']), undefined);
  assert.equal(nearestName('nonsense', ['start', 'keys']), undefined);
});
