import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteRecsStore } from '../../src/recs/sqlite-recs-store.js';
import { tempDir } from '../helpers/server.js';
import { recsStoreContract } from './recs-store.contract.js';

await recsStoreContract({
  name: 'recs.db',
  fixture: async () => {
    const dir = tempDir();
    return {
      open: async () => new SqliteRecsStore(join(dir, 'recs.db')),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
});
