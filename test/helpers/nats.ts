// The real NATS the tests use (OMNISTREAM_NATS_URL, default the machine's local server, which CI
// starts with JetStream), a fresh stream prefix per fixture, and a private nats-server for tests
// that stop and restart it (never the shared one).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { TestContext } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { tempDir } from './server.js';
import { requireOrSkip } from './services.js';

export const NATS_URL = process.env.OMNISTREAM_NATS_URL ?? 'nats://127.0.0.1:4222';
/** The server binary for tests that run their own (OMNISTREAM_NATS_SERVER, default `nats-server` on the PATH). */
export const NATS_SERVER = process.env.OMNISTREAM_NATS_SERVER ?? 'nats-server';

let probe: Promise<string | undefined> | undefined;

/** Why NATS JetStream cannot be used here, or undefined when it can. */
export function natsUnavailable(): Promise<string | undefined> {
  probe ??= (async () => {
    try {
      const nc = await connect({ servers: NATS_URL, timeout: 2_000, maxReconnectAttempts: 0 });
      try {
        await jetstreamManager(nc);
        return undefined;
      } catch (err) {
        return `NATS at ${NATS_URL} has no JetStream: ${err instanceof Error ? err.message : String(err)}`;
      } finally {
        await nc.close();
      }
    } catch (err) {
      return `NATS at ${NATS_URL} is not reachable: ${err instanceof Error ? err.message : String(err)}`;
    }
  })();
  return probe;
}

/** Skips (or fails under OMNISTREAM_REQUIRE_SERVICES=1) when NATS JetStream is missing. */
export async function skipWithoutNats(t: TestContext): Promise<boolean> {
  return requireOrSkip(t, await natsUnavailable());
}

/** A stream prefix no other test or run uses. */
export function freshPrefix(): string {
  return `t${randomBytes(6).toString('hex')}`;
}

/** Deletes every stream (and KV bucket) whose name starts with `prefix`. */
export async function deleteStreams(prefix: string, url = NATS_URL): Promise<void> {
  const nc = await connect({ servers: url, timeout: 2_000, maxReconnectAttempts: 0 });
  try {
    const jsm = await jetstreamManager(nc);
    const names: string[] = [];
    for await (const name of jsm.streams.names()) {
      if (name.startsWith(prefix) || name.startsWith(`KV_${prefix}`)) names.push(name);
    }
    await Promise.all(names.map((n) => jsm.streams.delete(n).catch(() => false)));
  } finally {
    await nc.close();
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface PrivateNats {
  readonly url: string;
  /** Kills the server (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Starts it again on the same port and store directory. */
  start(): Promise<void>;
  /** Kills it and removes its store. */
  stop(): Promise<void>;
}

/** Why a private nats-server cannot run here, or undefined. */
export async function natsServerMissing(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(NATS_SERVER, ['--version'], { stdio: 'ignore' });
    child.once('error', (err) => resolve(`${NATS_SERVER} cannot run: ${err.message}`));
    child.once('exit', (code) => resolve(code === 0 ? undefined : `${NATS_SERVER} --version exited with ${code}`));
  });
}

/** A nats-server with JetStream on a free loopback port and a temporary store, for tests that stop it. */
export async function startPrivateNats(): Promise<PrivateNats> {
  const port = await freePort();
  const dir = tempDir('omnistream-nats-');
  const url = `nats://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        const nc = await connect({ servers: url, timeout: 500, maxReconnectAttempts: 0 });
        await jetstreamManager(nc);
        await nc.close();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`the private nats-server on ${url} did not start`, { cause: err });
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  const kill = async () => {
    const c = child;
    child = undefined;
    if (c === undefined || c.exitCode !== null) return;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGKILL');
    await exited;
  };
  await start();
  return { url, kill, start, stop: async () => { await kill(); rmSync(dir, { recursive: true, force: true }); } };
}
