// A 3-node NATS cluster with JetStream on loopback, run by the test that uses it (never the
// machine's shared server): three nats-server processes, each with its own config file, store
// directory and ports, routed to each other. docs/scale-out.md, "A 3-node NATS cluster", shows the
// file clusterConfig() writes.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { freePort, NATS_SERVER } from './nats.js';
import { tempDir } from './server.js';

export interface ClusterNode {
  /** The server_name JetStream reports as a stream's leader or replica. */
  readonly name: string;
  readonly url: string;
  /** SIGKILL, as a crash would; the store stays. */
  kill(): Promise<void>;
  /** Starts it again with the same config and store. */
  start(): Promise<void>;
}

export interface NatsCluster {
  readonly nodes: readonly ClusterNode[];
  /** Every node's URL, comma-separated, as `--log` and openJetStreamEventLog take them. */
  readonly urls: string;
  node(name: string): ClusterNode;
  /** Kills every node and removes the stores and config files. */
  stop(): Promise<void>;
}

export interface NodeConfig {
  readonly name: string;
  readonly host: string;
  readonly clientPort: number;
  readonly clusterPort: number;
  readonly storeDir: string;
  /** Every node's cluster address (its own included: a server skips the route to itself). */
  readonly routes: readonly string[];
}

/** One node's nats-server configuration file. */
export function clusterConfig(c: NodeConfig): string {
  return `server_name: ${c.name}
listen: ${c.host}:${c.clientPort}

jetstream {
  store_dir: "${c.storeDir}"
}

cluster {
  name: omnistream
  listen: ${c.host}:${c.clusterPort}
  routes: [
${c.routes.map((r) => `    nats-route://${r}`).join('\n')}
  ]
}
`;
}

/** Waits until `url` answers JetStream requests (in a cluster: once its meta leader is elected). */
async function jetStreamReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const nc = await connect({ servers: url, timeout: 500, maxReconnectAttempts: 0 });
      try {
        await (await jetstreamManager(nc, { timeout: 1_000 })).getAccountInfo();
        return;
      } finally {
        await nc.close();
      }
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`nats-server at ${url} has no JetStream after ${timeoutMs} ms`, { cause: err });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Starts three routed nats-server processes with JetStream on free loopback ports. */
export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const root = tempDir('omnistream-nats-cluster-');
  const ports = await Promise.all(Array.from({ length: size * 2 }, () => freePort()));
  const configs: NodeConfig[] = Array.from({ length: size }, (_, i) => ({
    name: `n${i + 1}`, host: '127.0.0.1', clientPort: ports[i]!, clusterPort: ports[size + i]!,
    storeDir: join(root, `n${i + 1}`), routes: ports.slice(size).map((p) => `127.0.0.1:${p}`),
  }));
  const nodes = configs.map((c) => {
    const file = join(root, `${c.name}.conf`);
    writeFileSync(file, clusterConfig(c));
    let child: ChildProcess | undefined;
    let log = '';
    const node: ClusterNode = {
      name: c.name,
      url: `nats://${c.host}:${c.clientPort}`,
      start: async () => {
        if (child) return;
        log = '';
        const started = spawn(NATS_SERVER, ['-c', file], { stdio: ['ignore', 'ignore', 'pipe'] });
        started.stderr!.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-4_000); });
        started.once('exit', () => { if (child === started) child = undefined; });
        child = started;
      },
      kill: async () => {
        const c2 = child;
        child = undefined;
        if (c2 === undefined || c2.exitCode !== null) return;
        const exited = new Promise((resolve) => c2.once('exit', resolve));
        c2.kill('SIGKILL');
        await exited;
      },
    };
    return { node, tail: () => log };
  });
  const stop = async () => {
    await Promise.all(nodes.map(({ node }) => node.kill()));
    rmSync(root, { recursive: true, force: true });
  };
  try {
    for (const { node } of nodes) await node.start();
    await Promise.all(nodes.map(async ({ node, tail }) => {
      await jetStreamReady(node.url, 20_000).catch((err: Error) => { throw new Error(`${err.message}\n${tail()}`, { cause: err }); });
    }));
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    nodes: nodes.map((n) => n.node),
    urls: nodes.map((n) => n.node.url).join(','),
    node: (name) => nodes.find((n) => n.node.name === name)?.node ?? assertNever(name),
    stop,
  };
}

function assertNever(name: string): never {
  throw new Error(`no node named ${name}`);
}
