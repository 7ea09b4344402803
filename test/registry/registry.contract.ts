// The behaviour every Registry adapter must have. Each adapter's test calls registryContract.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { OmniError } from '../../src/core/errors.js';
import type { Registry } from '../../src/registry/registry.js';
import { contractSuite, type Backend } from '../helpers/backend.js';

export interface RegistryFixture {
  readonly registry: Registry;
  cleanup(): Promise<void>;
}

function rejectsWith(code: string) {
  return (err: unknown) => err instanceof OmniError && err.code === code;
}

/** The cases share one registry, in order: each builds on the devices the ones before created. */
export function registryContract(backend: Backend<RegistryFixture>): Promise<void> {
  return contractSuite('Registry', backend, (open) => {
    let registry: Registry;
    let cleanup: () => Promise<void>;
    before(async () => ({ registry, cleanup } = await open()));
    after(async () => cleanup());

    test('create generates keys, generation id and etag; get returns the same device', async () => {
      const d = await registry.create({ deviceId: 'dev-a' });
      assert.equal(d.deviceId, 'dev-a');
      assert.equal(d.status, 'enabled');
      assert.equal(d.tenant, 'default');
      assert.equal(Buffer.from(d.authentication.symmetricKey.primaryKey, 'base64').length, 32);
      assert.notEqual(d.authentication.symmetricKey.primaryKey, d.authentication.symmetricKey.secondaryKey);
      assert.match(d.generationId, /^\d+$/);
      assert.ok(d.etag.length > 0);
      assert.equal(d.connectionState, 'Disconnected');
      assert.equal(d.lastActivityTime, '0001-01-01T00:00:00');
      assert.deepEqual(await registry.get('dev-a'), d);
    });

    test('create keeps given keys and tenant; an existing id is refused', async () => {
      const primaryKey = Buffer.alloc(32, 1).toString('base64');
      const d = await registry.create({ deviceId: 'dev-b', tenant: 'brand-x', symmetricKey: { primaryKey } });
      assert.equal(d.authentication.symmetricKey.primaryKey, primaryKey);
      assert.equal(d.tenant, 'brand-x');
      await assert.rejects(registry.create({ deviceId: 'dev-b' }), rejectsWith('device_exists'));
    });

    test('bad ids, keys and tenants are refused', async () => {
      await assert.rejects(registry.create({ deviceId: 'has space' }), rejectsWith('invalid_device_id'));
      await assert.rejects(registry.create({ deviceId: 'x'.repeat(129) }), rejectsWith('invalid_device_id'));
      await assert.rejects(registry.create({ deviceId: 'a#b' }), rejectsWith('invalid_device_id'));
      await assert.rejects(registry.create({ deviceId: 'k', symmetricKey: { primaryKey: 'short' } }), rejectsWith('invalid_argument'));
      await assert.rejects(registry.create({ deviceId: 't', tenant: 'no spaces' }), rejectsWith('invalid_argument'));
      assert.equal(await registry.get('k'), undefined);
    });

    test('the full IoT Hub id alphabet and 128 characters are accepted', async () => {
      const id = `-.%_*?!(),:=@$'${'a'.repeat(113)}`;
      assert.equal(id.length, 128);
      assert.equal((await registry.create({ deviceId: id })).deviceId, id);
    });

    test('update needs a matching etag or *, changes the etag, keeps the generation id', async () => {
      const d = await registry.create({ deviceId: 'dev-c' });
      await assert.rejects(registry.update({ deviceId: 'dev-c', status: 'disabled' }, 'not-the-etag'), rejectsWith('precondition_failed'));
      const u = await registry.update({ deviceId: 'dev-c', status: 'disabled' }, `"${d.etag}"`);
      assert.equal(u.status, 'disabled');
      assert.notEqual(u.etag, d.etag);
      assert.equal(u.generationId, d.generationId);
      assert.deepEqual(u.authentication, d.authentication);
      const again = await registry.update({ deviceId: 'dev-c', status: 'enabled' }, '*');
      assert.equal(again.status, 'enabled');
      await assert.rejects(registry.update({ deviceId: 'missing' }, '*'), rejectsWith('precondition_failed'));
    });

    test('list returns devices in id order, bounded by top', async () => {
      const all = await registry.list();
      const ids = all.map((d) => d.deviceId);
      assert.deepEqual(ids, [...ids].sort());
      assert.ok(ids.includes('dev-a') && ids.includes('dev-b'));
      assert.equal((await registry.list({ top: 2 })).length, 2);
    });

    test('delete honours If-Match; a re-created device gets a new generation id', async () => {
      const d = await registry.create({ deviceId: 'dev-d' });
      await assert.rejects(registry.delete('dev-d', 'stale'), rejectsWith('precondition_failed'));
      await registry.delete('dev-d', d.etag);
      assert.equal(await registry.get('dev-d'), undefined);
      await assert.rejects(registry.delete('dev-d'), rejectsWith('device_not_found'));
      const again = await registry.create({ deviceId: 'dev-d' });
      assert.notEqual(again.generationId, d.generationId);
    });

    test('recordActivity sets lastActivityTime without changing the etag', async () => {
      const d = await registry.create({ deviceId: 'dev-e' });
      assert.equal((await registry.get('dev-e'))!.lastActivityTime, '0001-01-01T00:00:00', 'read once before, as a cache would keep it');
      const at = new Date('2026-01-02T03:04:05.000Z');
      await registry.recordActivity(new Map([['dev-e', at], ['no-such-device', at]]));
      const after = (await registry.get('dev-e'))!;
      assert.equal(after.lastActivityTime, at.toISOString());
      assert.equal(after.etag, d.etag);
    });

    test('a read right after a write sees it: absent, created, updated, deleted', async () => {
      assert.equal(await registry.get('dev-f'), undefined);
      const created = await registry.create({ deviceId: 'dev-f' });
      assert.deepEqual(await registry.get('dev-f'), created);
      const updated = await registry.update({ deviceId: 'dev-f', status: 'disabled' }, '*');
      assert.equal((await registry.get('dev-f'))!.status, 'disabled');
      assert.deepEqual(await registry.get('dev-f'), updated);
      await registry.delete('dev-f');
      assert.equal(await registry.get('dev-f'), undefined);
    });
  });
}
