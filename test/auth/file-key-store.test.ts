import assert from 'node:assert/strict';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileKeyStore } from '../../src/auth/file-key-store.js';
import { tempDir } from '../helpers/server.js';
import { keyStoreContract } from './key-store.contract.js';

await keyStoreContract({
  name: 'keys.json',
  fixture: async () => {
    const dir = tempDir();
    return {
      open: async (options = {}) => FileKeyStore.open(dir, options.ownerKey),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
});

test('keys.json is readable by its owner only', async () => {
  const dir = tempDir();
  const store = FileKeyStore.open(dir);
  await store.addAppKey('brand');
  assert.equal(statSync(join(dir, 'keys.json')).mode & 0o777, 0o600);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});
