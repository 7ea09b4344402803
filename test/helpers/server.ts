// Starts the real server in-process on a free port with its own data directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp, type RunningApp } from '../../src/app.js';
import { deviceResource, signSasToken } from '../../src/auth/sas.js';
import { buildConfig } from '../../src/config/index.js';
import type { Device } from '../../src/core/device.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { PassThrough } from 'node:stream';

export interface TestServer extends RunningApp {
  readonly dataDir: string;
  /** A token for a shared access policy of this server (default iothubowner). */
  policyToken(name?: string, ttlSeconds?: number): string;
  deviceToken(device: Device, ttlSeconds?: number): string;
  createDevice(id: string, extra?: { tenant?: string; status?: 'enabled' | 'disabled' }): Promise<Device>;
  /** fetch against the server's base URL. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Stops the server and deletes its data directory. */
  stop(): Promise<void>;
}

export function tempDir(prefix = 'omnistream-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startTestServer(settings: Record<string, unknown> = {}, dataDir = tempDir()): Promise<TestServer> {
  const { log, register, ...rest } = settings as { log?: object; register?: object };
  const config = buildConfig({
    dataDir,
    http: { host: '127.0.0.1', port: 0 },
    logLevel: 'error',
    ...rest,
    log: { retentionInterval: '1h', ...log },
    register: { perMinute: 600, burst: 600, ...register },
  });
  const app = await startApp(config, createLogger('error', new PassThrough()));
  const expiry = (ttl: number): number => Math.floor(Date.now() / 1000) + ttl;
  return Object.assign(Object.create(null), app, {
    dataDir,
    close: () => app.close(),
    policyToken(name = 'iothubowner', ttl = 3600) {
      const p = app.keys.policy(name)!;
      return signSasToken({ resource: config.hostName, key: p.primaryKey, keyName: name, expiry: expiry(ttl) });
    },
    deviceToken(device: Device, ttl = 3600) {
      return signSasToken({ resource: deviceResource(config.hostName, device.deviceId), key: device.authentication.symmetricKey.primaryKey, expiry: expiry(ttl) });
    },
    createDevice(id: string, extra = {}) {
      return app.registry.create({ deviceId: id, ...extra });
    },
    fetch(path: string, init?: RequestInit) {
      return fetch(`${app.url}${path}`, init);
    },
    async stop() {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  }) as TestServer;
}

/** Every message stored in the log, across partitions, in partition then sequence order. */
export async function readAll(app: RunningApp) {
  const out = [];
  for (let p = 0; p < app.log.partitionCount; p++) {
    let from = 0;
    for (;;) {
      const page = await app.log.read(p, { kind: 'sequence', sequenceNumber: from }, 1000);
      out.push(...page.messages);
      if (page.messages.length === 0) break;
      from = page.nextSequenceNumber;
    }
  }
  return out;
}
