import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteJobStore } from '../../src/jobs/sqlite-job-store.js';
import { tempDir } from '../helpers/server.js';
import { jobStoreContract } from './job-store.contract.js';

await jobStoreContract({
  name: 'jobs.db',
  fixture: async () => {
    const dir = tempDir();
    return {
      open: async () => new SqliteJobStore(join(dir, 'jobs.db')),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
});
