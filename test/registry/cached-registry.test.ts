// The server reads devices through CachedRegistry, so it is the registry that must keep the
// contract: a cache that served a stale record after a write would break it.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { CachedRegistry } from '../../src/registry/cached-registry.js';
import { SqliteRegistry } from '../../src/registry/sqlite-registry.js';
import { tempDir } from '../helpers/server.js';
import { registryContract } from './registry.contract.js';

await registryContract({
  name: 'SQLite behind CachedRegistry (1 s)',
  fixture: async () => {
    const dir = tempDir();
    const registry = new CachedRegistry(new SqliteRegistry(join(dir, 'registry.db')), 1_000);
    return { registry, cleanup: async () => { await registry.close(); rmSync(dir, { recursive: true, force: true }); } };
  },
});
