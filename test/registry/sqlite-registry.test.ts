import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SqliteRegistry } from '../../src/registry/sqlite-registry.js';
import { tempDir } from '../helpers/server.js';
import { registryContract } from './registry.contract.js';

await registryContract({
  name: 'SQLite',
  fixture: async () => {
    const dir = tempDir();
    const registry = new SqliteRegistry(join(dir, 'registry.db'));
    return { registry, cleanup: async () => { await registry.close(); rmSync(dir, { recursive: true, force: true }); } };
  },
});

test('the SQLite registry file holds keys, so only its owner may read it', async () => {
  const dir = tempDir();
  const registry = new SqliteRegistry(join(dir, 'registry.db'));
  assert.equal(statSync(join(dir, 'registry.db')).mode & 0o777, 0o600);
  await registry.close();
  rmSync(dir, { recursive: true, force: true });
});

test('devices survive reopening the file', async () => {
  const dir = tempDir();
  const path = join(dir, 'registry.db');
  const first = new SqliteRegistry(path);
  const d = await first.create({ deviceId: 'persisted', tenant: 'brand' });
  await first.close();
  const second = new SqliteRegistry(path);
  assert.deepEqual(await second.get('persisted'), d);
  await second.close();
  rmSync(dir, { recursive: true, force: true });
});
