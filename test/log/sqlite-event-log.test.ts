import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqliteEventLog } from '../../src/log/sqlite-event-log.js';
import { OmniError } from '../../src/core/errors.js';
import { tempDir } from '../helpers/server.js';
import { eventLogContract, msg } from './event-log.contract.js';

for (const durability of ['process', 'fsync'] as const) {
  eventLogContract(`SQLite (durability ${durability})`, async () => {
    const dir = tempDir();
    return {
      open: async (options, store) => new SqliteEventLog({ partitions: 4, retentionMs: 1e9, dedupWindowMs: 1e9, maxPendingMessages: 1e5, ...options, path: join(dir, `${store}.db`), durability }),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  });
}

test('the partition count of an existing log cannot change', async () => {
  const dir = tempDir();
  const path = join(dir, 'log.db');
  const opts = { retentionMs: 1e9, dedupWindowMs: 1e9, maxPendingMessages: 1e5, durability: 'process' as const, path };
  const log = new SqliteEventLog({ ...opts, partitions: 4 });
  await log.append([msg('d', 'x')]);
  await log.close();
  assert.throws(() => new SqliteEventLog({ ...opts, partitions: 8 }), (e: unknown) => e instanceof OmniError && /cannot change/.test(e.message));
  rmSync(dir, { recursive: true, force: true });
});
