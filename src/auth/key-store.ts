// Shared access policies and app keys, kept in `<data>/keys.json` (mode 0600).
// The CLI edits the file; a running server notices within a second, so revoking an app key
// takes effect without a restart.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OmniError } from '../core/errors.js';
import { DEFAULT_POLICIES, isRight, type Right } from '../core/rights.js';
import { DEFAULT_TENANT, validateSymmetricKey, validateTenant } from '../core/device.js';
import { generateKey } from './sas.js';

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

interface KeysFile {
  policies: Record<string, { primaryKey: string; secondaryKey: string; rights: Right[] }>;
  appKeys: AppKey[];
}

const RELOAD_CHECK_MS = 1_000;

function newAppKey(): string {
  return `ak_${randomBytes(18).toString('base64url')}`;
}

export class KeyStore {
  private data: KeysFile;
  private mtimeMs = 0;
  private checkedAt = 0;

  private constructor(
    private readonly path: string,
    private readonly ownerKey: string | undefined,
  ) {
    this.data = this.read();
  }

  /**
   * Opens the key file, creating it with IoT Hub's default policies and one app key on first
   * start. `ownerKey` (from OMNISTREAM_OWNER_KEY) fixes the iothubowner primary key.
   */
  static open(dataDir: string, ownerKey: string | undefined = process.env.OMNISTREAM_OWNER_KEY): KeyStore {
    if (ownerKey !== undefined && ownerKey !== '') validateSymmetricKey(ownerKey, 'OMNISTREAM_OWNER_KEY');
    mkdirSync(dataDir, { recursive: true });
    const path = join(dataDir, 'keys.json');
    if (!existsSync(path)) {
      const policies: KeysFile['policies'] = {};
      for (const [name, rights] of Object.entries(DEFAULT_POLICIES)) {
        policies[name] = { primaryKey: generateKey(), secondaryKey: generateKey(), rights: [...rights] };
      }
      writeKeysFile(path, { policies, appKeys: [{ key: newAppKey(), tenant: DEFAULT_TENANT, createdAt: new Date().toISOString() }] });
    }
    return new KeyStore(path, ownerKey || undefined);
  }

  private read(): KeysFile {
    let parsed: KeysFile;
    try {
      const st = statSync(this.path);
      this.mtimeMs = st.mtimeMs;
      parsed = JSON.parse(readFileSync(this.path, 'utf8')) as KeysFile;
    } catch (cause) {
      throw new OmniError('internal', `cannot read ${this.path}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
    for (const [name, p] of Object.entries(parsed.policies ?? {})) {
      if (!Array.isArray(p.rights) || !p.rights.every(isRight)) throw new OmniError('internal', `${this.path}: policy ${name} has unknown rights`);
    }
    parsed.appKeys ??= [];
    return parsed;
  }

  private fresh(): KeysFile {
    const now = Date.now();
    if (now - this.checkedAt >= RELOAD_CHECK_MS) {
      this.checkedAt = now;
      try {
        if (statSync(this.path).mtimeMs !== this.mtimeMs) this.data = this.read();
      } catch {
        // A half-written file or a transient error: keep serving the keys we have.
      }
    }
    return this.data;
  }

  policy(name: string): Policy | undefined {
    const p = this.fresh().policies[name];
    if (!p) return undefined;
    const primaryKey = name === 'iothubowner' && this.ownerKey ? this.ownerKey : p.primaryKey;
    return { name, primaryKey, secondaryKey: p.secondaryKey, rights: p.rights };
  }

  policies(): Policy[] {
    return Object.keys(this.fresh().policies).map((n) => this.policy(n)!);
  }

  /** The tenant of a live app key, or undefined when unknown or revoked. */
  tenantOfAppKey(key: string): string | undefined {
    const found = this.fresh().appKeys.find((k) => k.key === key && !k.revokedAt);
    return found?.tenant;
  }

  appKeys(): AppKey[] {
    return this.fresh().appKeys.filter((k) => !k.revokedAt);
  }

  addAppKey(tenant: string): AppKey {
    validateTenant(tenant);
    const data = this.read();
    const key: AppKey = { key: newAppKey(), tenant, createdAt: new Date().toISOString() };
    data.appKeys.push(key);
    this.write(data);
    return key;
  }

  revokeAppKey(key: string): void {
    const data = this.read();
    const found = data.appKeys.find((k) => k.key === key && !k.revokedAt);
    if (!found) throw new OmniError('invalid_app_key', `no live app key ${key}`);
    data.appKeys = data.appKeys.map((k) => (k === found ? { ...k, revokedAt: new Date().toISOString() } : k));
    this.write(data);
  }

  private write(data: KeysFile): void {
    writeKeysFile(this.path, data);
    this.data = this.read();
  }
}

/** Writes atomically (temp file + rename) so a reader never sees half a file. */
function writeKeysFile(path: string, data: KeysFile): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}
