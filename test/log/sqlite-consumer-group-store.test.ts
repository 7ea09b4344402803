import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteConsumerGroupStore } from '../../src/log/sqlite-consumer-group-store.js';
import { tempDir } from '../helpers/server.js';
import { consumerGroupStoreContract } from './consumer-group-store.contract.js';

await consumerGroupStoreContract({
  name: 'SQLite',
  fixture: async () => {
    const dir = tempDir();
    return {
      open: async (name) => new SqliteConsumerGroupStore(join(dir, `${name}.db`)),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
});
