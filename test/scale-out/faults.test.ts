// NATS or PostgreSQL lost while a gateway runs (through the real command line): appends are refused
// with 503 and Retry-After, never acknowledged falsely; /readyz goes unready; when the server is
// back the gateway recovers by itself. NATS is a private nats-server the test kills and restarts;
// PostgreSQL is the machine's, reached through a TCP relay the test cuts and restores.
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { deviceResource, signSasToken } from '../../src/auth/sas.js';
import { eventually } from '../helpers/jobs.js';
import { freshPrefix, natsServerMissing, NATS_URL, startPrivateNats } from '../helpers/nats.js';
import { PG_URL } from '../helpers/postgres.js';
import { spawnServer, type ServerProcess } from '../helpers/process.js';
import { OWNER_KEY, sharedHub, skipWithoutScaleOut, stopProcess } from '../helpers/scale-out.js';
import { requireOrSkip } from '../helpers/services.js';
import { tempDir } from '../helpers/server.js';

const expiry = () => Math.floor(Date.now() / 1000) + 3_600;
const owner = () => signSasToken({ resource: 'localhost', key: OWNER_KEY, keyName: 'iothubowner', expiry: expiry() });

/** Creates a device through the gateway and returns a sender of one event as it. */
async function deviceSender(url: string, id: string): Promise<(body: string) => Promise<Response>> {
  const r = await fetch(`${url}/devices/${id}?api-version=2021-04-12`, { method: 'PUT', headers: { authorization: owner(), 'content-type': 'application/json' }, body: JSON.stringify({ deviceId: id }) });
  assert.equal(r.status, 200, await r.clone().text());
  const key = ((await r.json()) as { authentication: { symmetricKey: { primaryKey: string } } }).authentication.symmetricKey.primaryKey;
  const authorization = signSasToken({ resource: deviceResource('localhost', id), key, expiry: expiry() });
  return (body) => fetch(`${url}/devices/${id}/messages/events`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body });
}

const readyStatus = async (p: ServerProcess) => (await fetch(`${p.url}/readyz`)).status;

/** A TCP relay to PostgreSQL that the test can cut (every connection dropped, new ones refused) and restore. */
async function postgresRelay(): Promise<{ readonly url: string; cut(): Promise<void>; restore(): Promise<void>; close(): Promise<void> }> {
  const target = new URL(PG_URL);
  const sockets = new Set<Socket>();
  let server: Server;
  let port = 0;
  const listen = async () => {
    server = createServer((client) => {
      const upstream = connect(Number(target.port || 5432), target.hostname);
      sockets.add(client).add(upstream);
      const drop = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  };
  const cut = async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  };
  await listen();
  const url = new URL(PG_URL);
  url.host = `127.0.0.1:${port}`;
  return { url: url.toString(), cut, restore: listen, close: cut };
}

describe('a backend lost while the gateway runs', () => {
  test('NATS lost: appends refused with 503 and Retry-After, /readyz unready; back: the gateway recovers by itself', async (t) => {
    if (await skipWithoutScaleOut(t) || requireOrSkip(t, await natsServerMissing())) return;
    const nats = await startPrivateNats();
    const hub = sharedHub();
    const stream = freshPrefix();
    let gateway: ServerProcess | undefined;
    try {
      gateway = await spawnServer(['--data', tempDir(), '--role', 'gateway', '--log', nats.url, '--log-stream', stream, '--db', PG_URL, '--db-schema', hub.schema], { OMNISTREAM_OWNER_KEY: OWNER_KEY });
      const send = await deviceSender(gateway.url, 'door-1');
      assert.equal((await send('{"n":1}')).status, 204);
      assert.equal(await readyStatus(gateway), 200);

      await nats.kill();
      const refused = await eventually('an append to be refused', async () => {
        const r = await send('{"n":2}');
        return r.status === 204 ? undefined : r;
      });
      assert.equal(refused.status, 503);
      assert.ok(Number(refused.headers.get('retry-after')) >= 1, 'Retry-After');
      await eventually('/readyz to say not ready', async () => ((await readyStatus(gateway!)) === 503 ? true : undefined));

      await nats.start();
      await eventually('/readyz to be ready again', async () => ((await readyStatus(gateway!)) === 200 ? true : undefined), 30_000);
      await eventually('appends to be acknowledged again', async () => ((await send('{"n":3}')).status === 204 ? true : undefined), 30_000);
    } finally {
      await stopProcess(gateway);
      await nats.stop();
      await hub.remove();
    }
  });

  test('PostgreSQL lost: a device it has to look up gets 503 and Retry-After, /readyz unready; back: the gateway recovers by itself', async (t) => {
    if (await skipWithoutScaleOut(t)) return;
    const relay = await postgresRelay();
    const hub = sharedHub();
    let gateway: ServerProcess | undefined;
    try {
      gateway = await spawnServer(['--data', tempDir(), '--role', 'gateway', '--log', NATS_URL, '--log-stream', hub.stream, '--db', relay.url, '--db-schema', hub.schema], { OMNISTREAM_OWNER_KEY: OWNER_KEY });
      const known = await deviceSender(gateway.url, 'till-1');
      const unknown = await deviceSender(gateway.url, 'till-2');
      assert.equal((await known('{"n":1}')).status, 204);
      assert.equal(await readyStatus(gateway), 200);

      await relay.cut();
      await eventually('/readyz to say not ready', async () => ((await readyStatus(gateway!)) === 503 ? true : undefined));
      // till-2 was created through this gateway (its own write leaves its cache), so it must be looked up.
      const refused = await unknown('{"n":1}');
      assert.equal(refused.status, 503, await refused.clone().text());
      assert.ok(Number(refused.headers.get('retry-after')) >= 1, 'Retry-After');

      await relay.restore();
      await eventually('/readyz to be ready again', async () => ((await readyStatus(gateway!)) === 200 ? true : undefined), 30_000);
      await eventually('the device to be looked up again', async () => ((await unknown('{"n":2}')).status === 204 ? true : undefined), 30_000);
    } finally {
      await stopProcess(gateway);
      await relay.close();
      await hub.remove();
    }
  });
});
