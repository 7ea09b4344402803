// The key store port: shared access policies (IoT Hub's) and app keys (public, per tenant). Every
// backend — the embedded keys.json now, PostgreSQL for scale-out — passes the contract suite in
// test/auth/key-store.contract.ts.
import type { Right } from '../core/rights.js';

export interface Policy {
  readonly name: string;
  readonly primaryKey: string;
  readonly secondaryKey: string;
  readonly rights: readonly Right[];
}

export interface AppKey {
  readonly key: string;
  readonly tenant: string;
  readonly createdAt: string;
  readonly revokedAt?: string;
}

/**
 * A read-only key for dashboards and the output APIs. Bound to a tenant, it sees only that
 * tenant's rows; unbound (`tenant` null), every tenant's.
 */
export interface ViewerKey {
  readonly key: string;
  readonly tenant: string | null;
  readonly createdAt: string;
  readonly revokedAt?: string;
}

/**
 * Reads are synchronous: every request is authorized against them, so an adapter answers from
 * memory and keeps that copy fresh itself, seeing another process's changes (the CLI revoking a
 * key) within a second. Writes go to storage before they resolve.
 */
export interface KeyStore {
  policy(name: string): Policy | undefined;
  policies(): Policy[];
  /** The tenant of a live app key, or undefined when unknown or revoked. */
  tenantOfAppKey(key: string): string | undefined;
  /** Live app keys, oldest first. */
  appKeys(): AppKey[];
  addAppKey(tenant: string): Promise<AppKey>;
  /** Fails with `invalid_app_key` when the key is unknown or already revoked. */
  revokeAppKey(key: string): Promise<void>;
  /** The live viewer key of that value, or undefined. */
  viewerKey(key: string): ViewerKey | undefined;
  /** Live viewer keys, oldest first. */
  viewerKeys(): ViewerKey[];
  /** A viewer key for one tenant, or for every tenant when `tenant` is null. */
  addViewerKey(tenant: string | null): Promise<ViewerKey>;
  /** Fails with `invalid_viewer_key` when the key is unknown or already revoked. */
  revokeViewerKey(key: string): Promise<void>;
  close(): Promise<void>;
}

/** How long a store may serve its copy before looking at storage again. */
export const KEY_REFRESH_MS = 1_000;
