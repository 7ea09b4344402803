// The behaviour every KeyStore backend must have. Each backend's test calls keyStoreContract.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KEY_REFRESH_MS, type KeyStore } from '../../src/auth/key-store.js';
import { OmniError } from '../../src/core/errors.js';
import { DEFAULT_POLICIES } from '../../src/core/rights.js';
import { contractSuite, type Backend } from '../helpers/backend.js';

export interface KeyStoreFixture {
  /** Opens a store on this fixture's storage; every call opens the same keys. */
  open(options?: { ownerKey?: string }): Promise<KeyStore>;
  cleanup(): Promise<void>;
}

const rejectsWith = (code: string) => (err: unknown) => err instanceof OmniError && err.code === code;

export function keyStoreContract(backend: Backend<KeyStoreFixture>): Promise<void> {
  return contractSuite('KeyStore', backend, (fixture) => {
    async function withStore(body: (store: KeyStore, f: KeyStoreFixture) => Promise<void>): Promise<void> {
      const f = await fixture();
      const store = await f.open();
      try {
        await body(store, f);
      } finally {
        await store.close();
        await f.cleanup();
      }
    }

    test('a new store holds IoT Hub\'s policies with fresh 256-bit keys, and one app key of the default tenant', () => withStore(async (store) => {
      assert.deepEqual(store.policies().map((p) => p.name).sort(), Object.keys(DEFAULT_POLICIES).sort());
      for (const p of store.policies()) {
        assert.deepEqual([...p.rights], [...DEFAULT_POLICIES[p.name]!]);
        assert.equal(Buffer.from(p.primaryKey, 'base64').length, 32);
        assert.notEqual(p.primaryKey, p.secondaryKey);
        assert.deepEqual(store.policy(p.name), p);
      }
      assert.equal(store.policy('no-such-policy'), undefined);
      const apps = store.appKeys();
      assert.equal(apps.length, 1);
      assert.equal(apps[0]!.tenant, 'default');
      assert.equal(store.tenantOfAppKey(apps[0]!.key), 'default');
    }));

    test('keys persist: a store opened again has the same ones', () => withStore(async (store, f) => {
      const again = await f.open();
      try {
        assert.deepEqual(again.policies(), store.policies());
        assert.deepEqual(again.appKeys(), store.appKeys());
      } finally {
        await again.close();
      }
    }));

    test('an owner key fixes the iothubowner primary key only; a malformed one is refused', () => withStore(async (store, f) => {
      const ownerKey = Buffer.alloc(32, 7).toString('base64');
      const fixed = await f.open({ ownerKey });
      try {
        assert.equal(fixed.policy('iothubowner')!.primaryKey, ownerKey);
        assert.equal(fixed.policy('iothubowner')!.secondaryKey, store.policy('iothubowner')!.secondaryKey);
        assert.deepEqual(fixed.policy('service'), store.policy('service'));
      } finally {
        await fixed.close();
      }
      await assert.rejects(async () => f.open({ ownerKey: 'short' }), rejectsWith('invalid_argument'));
    }));

    test('app keys are added per tenant and revoked once; unknown, revoked and bad input are refused', () => withStore(async (store) => {
      const a = await store.addAppKey('brand-a');
      const b = await store.addAppKey('brand-b');
      assert.match(a.key, /^ak_[A-Za-z0-9_-]{20,}$/);
      assert.notEqual(a.key, b.key);
      assert.ok(!Number.isNaN(Date.parse(a.createdAt)));
      assert.equal(store.tenantOfAppKey(a.key), 'brand-a');
      assert.equal(store.tenantOfAppKey(b.key), 'brand-b');
      assert.deepEqual(store.appKeys().slice(-2).map((k) => k.key), [a.key, b.key]);
      await store.revokeAppKey(a.key);
      assert.equal(store.tenantOfAppKey(a.key), undefined);
      assert.ok(!store.appKeys().some((k) => k.key === a.key));
      assert.equal(store.tenantOfAppKey(b.key), 'brand-b', 'other keys stay live');
      await assert.rejects(store.revokeAppKey(a.key), rejectsWith('invalid_app_key'));
      await assert.rejects(store.revokeAppKey('ak_never-issued'), rejectsWith('invalid_app_key'));
      await assert.rejects(async () => store.addAppKey('not a tenant!'), rejectsWith('invalid_argument'));
      assert.equal(store.tenantOfAppKey(''), undefined);
    }));

    test('viewer keys: per tenant or for every tenant, revoked once; a new store has none', () => withStore(async (store, f) => {
      assert.deepEqual(store.viewerKeys(), []);
      const brand = await store.addViewerKey('brand-a');
      const all = await store.addViewerKey(null);
      assert.match(brand.key, /^vk_[A-Za-z0-9_-]{30,}$/);
      assert.equal(store.viewerKey(brand.key)!.tenant, 'brand-a');
      assert.equal(store.viewerKey(all.key)!.tenant, null);
      assert.equal(store.viewerKey('vk_unknown'), undefined);
      assert.equal(store.tenantOfAppKey(brand.key), undefined, 'a viewer key is no app key');
      const again = await f.open();
      try {
        assert.deepEqual(again.viewerKeys().map((k) => k.key), [brand.key, all.key]);
      } finally {
        await again.close();
      }
      await store.revokeViewerKey(brand.key);
      assert.equal(store.viewerKey(brand.key), undefined);
      await assert.rejects(store.revokeViewerKey(brand.key), rejectsWith('invalid_viewer_key'));
      await assert.rejects(async () => store.addViewerKey('bad tenant!'), rejectsWith('invalid_argument'));
    }));

    test('another store on the same keys sees additions and revocations within the refresh interval', () => withStore(async (store, f) => {
      const other = await f.open();
      try {
        const added = await other.addAppKey('brand-c');
        await other.revokeAppKey(store.appKeys()[0]!.key);
        const revoked = (await f.open()).appKeys();
        assert.ok(!revoked.some((k) => k.tenant === 'default'), 'a fresh open sees the revocation at once');
        await sleep(KEY_REFRESH_MS + 200);
        assert.equal(store.tenantOfAppKey(added.key), 'brand-c');
        assert.ok(!store.appKeys().some((k) => k.tenant === 'default'));
      } finally {
        await other.close();
      }
    }));
  });
}
