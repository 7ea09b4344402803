// The command line as an operator runs it: a real process, its output and its exit code.
import assert from 'node:assert/strict';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { isExpired, parseSasToken, signatureMatches } from '../../src/auth/sas.js';
import { tempDir } from '../helpers/server.js';
import { omnistream } from './run-cli.js';

interface KeysJson {
  hostName: string;
  policies: Record<string, { key: string; rights: string[]; connectionString: string }>;
  appKeys: Array<{ key: string; tenant: string }>;
}

describe('omnistream CLI', () => {
  const data = tempDir();
  after(() => rmSync(data, { recursive: true, force: true }));

  test('keys --json: IoT Hub policies, one app key, connection strings; the key file is 0600', async () => {
    const { code, stdout } = await omnistream(['keys', '--data', data, '--json']);
    assert.equal(code, 0);
    const keys = JSON.parse(stdout) as KeysJson;
    assert.equal(keys.hostName, 'localhost');
    assert.deepEqual(Object.keys(keys.policies).sort(), ['device', 'iothubowner', 'registryRead', 'registryReadWrite', 'service']);
    assert.deepEqual(keys.policies.registryReadWrite!.rights, ['RegistryRead', 'RegistryWrite']);
    assert.equal(keys.policies.service!.connectionString, `HostName=localhost;SharedAccessKeyName=service;SharedAccessKey=${keys.policies.service!.key}`);
    assert.equal(keys.appKeys.length, 1);
    assert.equal(keys.appKeys[0]!.tenant, 'default');
    assert.equal(statSync(join(data, 'keys.json')).mode & 0o777, 0o600);
    const again = JSON.parse((await omnistream(['keys', '--data', data, '--json'])).stdout) as KeysJson;
    assert.deepEqual(again, keys, 'keys are generated once and kept');
  });

  test('OMNISTREAM_OWNER_KEY fixes the owner key; a malformed one is refused', async () => {
    const fixed = Buffer.alloc(32, 9).toString('base64');
    const keys = JSON.parse((await omnistream(['keys', '--data', data, '--json'], { OMNISTREAM_OWNER_KEY: fixed })).stdout) as KeysJson;
    assert.equal(keys.policies.iothubowner!.key, fixed);
    const bad = await omnistream(['keys', '--data', data], { OMNISTREAM_OWNER_KEY: 'short' });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /OMNISTREAM_OWNER_KEY: ownerKey: expected a base64 key of 16 to 64 bytes/);
  });

  test('app keys are added per tenant and revoked', async () => {
    const added = JSON.parse((await omnistream(['keys', 'add-app', '--tenant', 'brand-z', '--data', data, '--json'])).stdout) as { key: string; tenant: string };
    assert.equal(added.tenant, 'brand-z');
    let keys = JSON.parse((await omnistream(['keys', '--data', data, '--json'])).stdout) as KeysJson;
    assert.ok(keys.appKeys.some((k) => k.key === added.key && k.tenant === 'brand-z'));
    assert.equal((await omnistream(['keys', 'revoke-app', added.key, '--data', data])).code, 0);
    keys = JSON.parse((await omnistream(['keys', '--data', data, '--json'])).stdout) as KeysJson;
    assert.ok(!keys.appKeys.some((k) => k.key === added.key));
    const twice = await omnistream(['keys', 'revoke-app', added.key, '--data', data]);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /no live app key/);
    const noTenant = await omnistream(['keys', 'add-app', '--data', data]);
    assert.equal(noTenant.code, 64);
    assert.match(noTenant.stderr, /--tenant/);
  });

  test('viewer keys: per tenant or for every tenant, listed with their dashboard link, revoked', async () => {
    const brand = JSON.parse((await omnistream(['keys', 'add-viewer', '--tenant', 'brand-z', '--data', data, '--json'])).stdout) as { key: string; tenant: string | null };
    assert.equal(brand.tenant, 'brand-z');
    assert.match(brand.key, /^vk_/);
    const all = await omnistream(['keys', 'add-viewer', '--data', data]);
    assert.equal(all.code, 0);
    assert.match(all.stdout, /tenant=\(every tenant\)\n {2}http:\/\/localhost:8080\/\?key=vk_/);
    const keys = JSON.parse((await omnistream(['keys', '--data', data, '--json'])).stdout) as KeysJson & { viewerKeys: { key: string; tenant: string | null }[] };
    assert.deepEqual(keys.viewerKeys.map((k) => k.tenant), ['brand-z', null]);
    const text = (await omnistream(['keys', '--data', data])).stdout;
    assert.match(text, new RegExp(`${brand.key}  tenant=brand-z\\n {4}http://localhost:8080/\\?key=${brand.key}`));
    assert.equal((await omnistream(['keys', 'revoke-viewer', brand.key, '--data', data])).code, 0);
    const twice = await omnistream(['keys', 'revoke-viewer', brand.key, '--data', data]);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /no live viewer key/);
    assert.equal((await omnistream(['keys', 'revoke-viewer', '--data', data])).code, 64);
  });

  test('device create/get/list/disable/delete and token', async () => {
    const created = JSON.parse((await omnistream(['device', 'create', 'store-12-rfid', '--tenant', 'brand-z', '--kind', 'sensor', '--data', data])).stdout) as { deviceId: string; tenant: string; authentication: { symmetricKey: { primaryKey: string } } };
    assert.equal(created.tenant, 'brand-z');
    const dup = await omnistream(['device', 'create', 'store-12-rfid', '--data', data]);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /already registered/);
    const got = JSON.parse((await omnistream(['device', 'get', 'store-12-rfid', '--data', data])).stdout) as { deviceId: string };
    assert.equal(got.deviceId, 'store-12-rfid');
    const list = JSON.parse((await omnistream(['device', 'list', '--data', data])).stdout) as Array<{ deviceId: string }>;
    assert.deepEqual(list.map((d) => d.deviceId), ['store-12-rfid']);
    const off = JSON.parse((await omnistream(['device', 'disable', 'store-12-rfid', '--data', data])).stdout) as { status: string };
    assert.equal(off.status, 'disabled');

    const token = (await omnistream(['token', '--device', 'store-12-rfid', '--ttl', '120', '--data', data])).stdout.trim();
    const parsed = parseSasToken(token);
    assert.equal(parsed.resource, 'localhost/devices/store-12-rfid');
    assert.ok(signatureMatches(parsed, [created.authentication.symmetricKey.primaryKey]));
    assert.ok(!isExpired(parsed, Date.now()) && parsed.expiry <= Date.now() / 1000 + 121);
    const keys = JSON.parse((await omnistream(['keys', '--data', data, '--json'])).stdout) as KeysJson;
    const policyToken = parseSasToken((await omnistream(['token', '--policy', 'service', '--data', data])).stdout.trim());
    assert.equal(policyToken.keyName, 'service');
    assert.ok(signatureMatches(policyToken, [keys.policies.service!.key]));

    assert.equal((await omnistream(['device', 'delete', 'store-12-rfid', '--data', data])).code, 0);
    const missing = await omnistream(['device', 'get', 'store-12-rfid', '--data', data]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not registered/);
  });

  test('usage mistakes exit 64 with the usage line; bad values exit 1 with the reason', async () => {
    for (const args of [['nonsense'], ['token'], ['token', '--device', 'a', '--policy', 'b'], ['device'], ['device', 'explode', 'x'], ['keys', '--bogus'], ['start', '--http-port']]) {
      const r = await omnistream([...args, '--data', data]);
      assert.equal(r.code, 64, args.join(' '));
      assert.match(r.stderr, /usage: omnistream/, args.join(' '));
    }
    const badId = await omnistream(['device', 'create', 'bad id', '--data', data]);
    assert.equal(badId.code, 1);
    assert.match(badId.stderr, /Invalid device id/);
    const badPort = await omnistream(['start', '--http-port', '99999', '--data', data]);
    assert.equal(badPort.code, 1);
    assert.match(badPort.stderr, /http.port: expected an integer from 0 to 65535/);
    const badConfig = await omnistream(['start', '--config', join(data, 'missing.json')]);
    assert.equal(badConfig.code, 1);
    assert.match(badConfig.stderr, /config file/);
  });
});
