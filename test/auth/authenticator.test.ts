// Verified tokens are remembered, so a reader's repeated requests skip the HMAC; the answer must
// still follow the keys: a rotated key or a missing right is refused even for a token seen before.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Authenticator } from '../../src/auth/authenticator.js';
import { FileKeyStore } from '../../src/auth/file-key-store.js';
import { signSasToken } from '../../src/auth/sas.js';
import { OmniError } from '../../src/core/errors.js';
import { SqliteRegistry } from '../../src/registry/sqlite-registry.js';
import { tempDir } from '../helpers/server.js';

test('a policy token verified before is refused once its key is rotated, and never gains a right', async () => {
  const dir = tempDir();
  const registry = new SqliteRegistry(join(dir, 'registry.db'));
  try {
    const keys = FileKeyStore.open(dir);
    const auth = new Authenticator('localhost', keys, registry);
    const sign = (keyName: string, key: string) => signSasToken({ resource: 'localhost', key, keyName, expiry: Math.floor(Date.now() / 1000) + 3600 });
    const service = sign('service', keys.policy('service')!.primaryKey);
    const reader = sign('registryRead', keys.policy('registryRead')!.secondaryKey);
    for (let i = 0; i < 3; i++) {
      assert.equal(auth.service(service, 'ServiceConnect').name, 'service');
      assert.equal(auth.service(reader, 'RegistryRead').name, 'registryRead');
      assert.throws(() => auth.service(reader, 'RegistryWrite'), (e: unknown) => e instanceof OmniError && e.code === 'forbidden');
    }
    // Rotate the service policy's keys on disk, as an operator editing keys.json would.
    const file = join(dir, 'keys.json');
    const data = JSON.parse(readFileSync(file, 'utf8')) as { policies: Record<string, { primaryKey: string; secondaryKey: string }> };
    data.policies.service!.primaryKey = Buffer.alloc(32, 1).toString('base64');
    data.policies.service!.secondaryKey = Buffer.alloc(32, 2).toString('base64');
    await sleep(1_100); // the key file is checked for changes at most once a second
    writeFileSync(file, JSON.stringify(data));
    await sleep(1_100);
    assert.throws(() => auth.service(service, 'ServiceConnect'), (e: unknown) => e instanceof OmniError && e.code === 'unauthorized');
    assert.equal(auth.service(reader, 'RegistryRead').name, 'registryRead', 'other policies are untouched');
  } finally {
    await registry.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
