import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteReferenceVersionStore } from '../../src/reference/sqlite-reference-version-store.js';
import { tempDir } from '../helpers/server.js';
import { referenceVersionStoreContract } from './reference-version-store.contract.js';

await referenceVersionStoreContract({
  name: 'references.db',
  fixture: async () => {
    const dir = tempDir();
    return {
      open: async () => new SqliteReferenceVersionStore(join(dir, 'references.db')),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
});
