// The embedded key store: `<data>/keys.json` (mode 0600). The CLI edits the file; a running
// server notices within a second, so revoking an app key takes effect without a restart.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OmniError } from '../core/errors.js';
import { DEFAULT_POLICIES, isRight, type Right } from '../core/rights.js';
import { DEFAULT_TENANT, validateSymmetricKey, validateTenant } from '../core/device.js';
import { KEY_REFRESH_MS, type AppKey, type KeyStore, type Policy, type ViewerKey } from './key-store.js';
import { generateKey } from './sas.js';


interface KeysFile {
  policies: Record<string, { primaryKey: string; secondaryKey: string; rights: Right[] }>;
  appKeys: AppKey[];
  viewerKeys: ViewerKey[];
}

function newAppKey(): string {
  return `ak_${randomBytes(18).toString('base64url')}`;
}

function newViewerKey(): string {
  return `vk_${randomBytes(24).toString('base64url')}`;
}

export class FileKeyStore implements KeyStore {
  /** The keys being served, and the file's text they came from. */
  private data!: KeysFile;
  /** Compared on refresh; the file's mtime cannot tell, since two writes within one clock tick share it. */
  private text = '';
  private checkedAt = 0;

  private constructor(
    private readonly path: string,
    private readonly ownerKey: string | undefined,
  ) {
    this.serve(readFileSync(this.path, 'utf8'));
  }

  /**
   * Opens the key file, creating it with IoT Hub's default policies and one app key on first
   * start. `ownerKey` (the `ownerKey` setting) fixes the iothubowner primary key.
   */
  static open(dataDir: string, ownerKey?: string | null): FileKeyStore {
    if (ownerKey) validateSymmetricKey(ownerKey, 'the owner key');
    mkdirSync(dataDir, { recursive: true });
    const path = join(dataDir, 'keys.json');
    if (!existsSync(path)) {
      const policies: KeysFile['policies'] = {};
      for (const [name, rights] of Object.entries(DEFAULT_POLICIES)) {
        policies[name] = { primaryKey: generateKey(), secondaryKey: generateKey(), rights: [...rights] };
      }
      writeKeysFile(path, { policies, appKeys: [{ key: newAppKey(), tenant: DEFAULT_TENANT, createdAt: new Date().toISOString() }], viewerKeys: [] });
    }
    return new FileKeyStore(path, ownerKey || undefined);
  }

  /** The file's keys, parsed anew (writers edit this copy, never the one being served). */
  private read(): KeysFile {
    return this.parse(readFileSync(this.path, 'utf8'));
  }

  private serve(text: string): void {
    this.data = this.parse(text);
    this.text = text;
  }

  private parse(text: string): KeysFile {
    let parsed: KeysFile;
    try {
      parsed = JSON.parse(text) as KeysFile;
    } catch (cause) {
      throw new OmniError('internal', `cannot read ${this.path}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
    for (const [name, p] of Object.entries(parsed.policies ?? {})) {
      if (!Array.isArray(p.rights) || !p.rights.every(isRight)) throw new OmniError('internal', `${this.path}: policy ${name} has unknown rights`);
    }
    parsed.appKeys ??= [];
    // Key files from before viewer keys existed have none.
    parsed.viewerKeys ??= [];
    return parsed;
  }

  private fresh(): KeysFile {
    const now = Date.now();
    if (now - this.checkedAt >= KEY_REFRESH_MS) {
      this.checkedAt = now;
      try {
        // Reading a few kilobytes once a second costs less than being wrong about a revocation.
        const text = readFileSync(this.path, 'utf8');
        if (text !== this.text) this.serve(text);
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

  tenantOfAppKey(key: string): string | undefined {
    const found = this.fresh().appKeys.find((k) => k.key === key && !k.revokedAt);
    return found?.tenant;
  }

  appKeys(): AppKey[] {
    return this.fresh().appKeys.filter((k) => !k.revokedAt);
  }

  async addAppKey(tenant: string): Promise<AppKey> {
    validateTenant(tenant);
    const data = this.read();
    const key: AppKey = { key: newAppKey(), tenant, createdAt: new Date().toISOString() };
    data.appKeys.push(key);
    this.write(data);
    return key;
  }

  async revokeAppKey(key: string): Promise<void> {
    const data = this.read();
    const found = data.appKeys.find((k) => k.key === key && !k.revokedAt);
    if (!found) throw new OmniError('invalid_app_key', `no live app key ${key}`);
    data.appKeys = data.appKeys.map((k) => (k === found ? { ...k, revokedAt: new Date().toISOString() } : k));
    this.write(data);
  }

  viewerKey(key: string): ViewerKey | undefined {
    return this.fresh().viewerKeys.find((k) => k.key === key && !k.revokedAt);
  }

  viewerKeys(): ViewerKey[] {
    return this.fresh().viewerKeys.filter((k) => !k.revokedAt);
  }

  async addViewerKey(tenant: string | null): Promise<ViewerKey> {
    if (tenant !== null) validateTenant(tenant);
    const data = this.read();
    const key: ViewerKey = { key: newViewerKey(), tenant, createdAt: new Date().toISOString() };
    data.viewerKeys.push(key);
    this.write(data);
    return key;
  }

  async revokeViewerKey(key: string): Promise<void> {
    const data = this.read();
    const found = data.viewerKeys.find((k) => k.key === key && !k.revokedAt);
    if (!found) throw new OmniError('invalid_viewer_key', `no live viewer key ${key}`);
    data.viewerKeys = data.viewerKeys.map((k) => (k === found ? { ...k, revokedAt: new Date().toISOString() } : k));
    this.write(data);
  }

  async close(): Promise<void> {
    // Nothing is held open: every read and write opens the file.
  }

  private write(data: KeysFile): void {
    writeKeysFile(this.path, data);
    this.serve(readFileSync(this.path, 'utf8'));
  }
}

/** Writes atomically (temp file + rename) so a reader never sees half a file. */
function writeKeysFile(path: string, data: KeysFile): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}
