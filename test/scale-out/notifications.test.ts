// Changes other processes must hear: a device created, changed or deleted, and the keys changed,
// are notified through PostgreSQL by triggers (whoever writes them), to the listeners of the same
// schema only; activity (lastActivityTime) is not a change.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { KEYS_CHANNEL, PostgresKeyStore } from '../../src/auth/postgres-key-store.js';
import { PostgresNotifications } from '../../src/postgres/postgres-notifications.js';
import { DEVICE_CHANNEL, PostgresRegistry } from '../../src/registry/postgres-registry.js';
import { eventually } from '../helpers/jobs.js';
import { createSchema, PG_URL, skipWithoutPostgres } from '../helpers/postgres.js';

test('device and key changes are notified to listeners of their schema, activity is not', async (t) => {
  if (await skipWithoutPostgres(t)) return;
  const [mine, other] = await Promise.all([createSchema(), createSchema()]);
  const pool = new pg.Pool({ connectionString: PG_URL, max: 4 });
  const target = { pool, schema: mine.name };
  const heard: string[] = [];
  const notifications = await PostgresNotifications.open(target, () => {});
  notifications.on(DEVICE_CHANNEL, (id) => heard.push(`device ${id}`));
  notifications.on(KEYS_CHANNEL, () => heard.push('keys'));
  const registry = await PostgresRegistry.open(target);
  const keys = await PostgresKeyStore.open(target);
  const elsewhere = await PostgresRegistry.open({ pool, schema: other.name });
  try {
    await elsewhere.create({ deviceId: 'not-mine' });
    await registry.create({ deviceId: 'd1' });
    await registry.recordActivity(new Map([['d1', new Date()]]));
    await registry.update({ deviceId: 'd1', status: 'disabled' }, '*');
    await registry.delete('d1');
    await keys.addAppKey('brand-b');
    await eventually('every change to be heard', async () => (heard.length >= 5 ? true : undefined));
    // A last change, so that anything wrongly notified before it has arrived too.
    await registry.create({ deviceId: 'd2' });
    await eventually('the last change to be heard', async () => (heard.includes('device d2') ? true : undefined));
    // The first 'keys': a new key store is seeded with the default policies when it opens.
    assert.deepEqual(heard, ['keys', 'device d1', 'device d1', 'device d1', 'keys', 'device d2']);
  } finally {
    await notifications.close();
    await Promise.all([registry.close(), keys.close(), elsewhere.close()]);
    await pool.end();
    await Promise.all([mine.drop(), other.drop()]);
  }
});
