// The TLS listeners (HTTPS beside plain HTTP, MQTTS beside plain MQTT): a certificate generated into
// the data directory when none is configured, reused on restart, replaced when it no longer fits;
// a configured one served on both; TLS 1.2 and later only.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import tls from 'node:tls';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { generate } from 'selfsigned';
import { loadCertificate, RENEW_BEFORE_DAYS, replacementReason } from '../../src/tls/tls-certificate.js';
import { readAll, startTestServer, tempDir } from '../helpers/server.js';
import { eventsTopic, usernameOf } from './mqtt-test-client.js';

const DAY_MS = 86_400_000;

function httpsGet(port: number, path: string, ca: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, ca, servername: 'localhost' }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    }).on('error', reject).end();
  });
}

/** The certificate a TLS listener presents, and the protocol it agreed. */
function handshake(port: number, options: tls.ConnectionOptions = {}): Promise<{ cert: Buffer; protocol: string | null } | { error: string }> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
    socket.once('secureConnect', () => {
      resolve({ cert: socket.getPeerCertificate().raw, protocol: socket.getProtocol() });
      socket.destroy();
    });
    socket.once('error', (err: Error & { code?: string }) => resolve({ error: err.code ?? err.message }));
  });
}

describe('TLS listeners', () => {
  test('without a configured certificate one is generated for the host name, localhost and 127.0.0.1 (key 0600), served on HTTPS and MQTTS beside the plain ports, and reused on restart', async () => {
    const dir = tempDir();
    const settings = { hostName: 'hub.store-12.example', http: { host: '127.0.0.1', port: 0, httpsPort: 0 }, mqtt: { tlsPort: 0, port: 0 } };
    let s = await startTestServer(settings, dir);
    try {
      const certFile = join(dir, 'tls', 'cert.pem');
      assert.equal(s.certificateFile, certFile);
      assert.equal(statSync(join(dir, 'tls', 'key.pem')).mode & 0o777, 0o600);
      const pem = readFileSync(certFile);
      const cert = new X509Certificate(pem);
      for (const name of ['DNS:hub.store-12.example', 'DNS:localhost', 'IP Address:127.0.0.1']) assert.ok(cert.subjectAltName!.includes(name), `${name} in ${cert.subjectAltName}`);
      assert.ok(new Date(cert.validTo).getTime() > Date.now() + 300 * DAY_MS);

      // HTTPS and plain HTTP serve the same routes.
      assert.equal(await httpsGet(s.httpsPort!, '/healthz', pem), 200);
      assert.equal((await s.fetch('/healthz')).status, 200);
      // MQTTS with the certificate trusted, as a device would with --cafile or NODE_EXTRA_CA_CERTS.
      const d = await s.createDevice('tls-dev');
      const c = await mqtt.connectAsync(`mqtts://localhost:${s.mqttsPort}`, {
        ca: pem, clientId: d.deviceId, username: usernameOf(d.deviceId, 'hub.store-12.example'), password: s.deviceToken(d), protocolVersion: 4, reconnectPeriod: 0,
      });
      await c.publishAsync(eventsTopic(d.deviceId, 'via=mqtts'), 'over TLS', { qos: 1 });
      await c.endAsync();
      assert.deepEqual((await readAll(s)).map((m) => [m.body.toString(), m.properties]), [['over TLS', { via: 'mqtts' }]]);

      const modified = statSync(certFile).mtimeMs;
      await s.close();
      s = await startTestServer(settings, dir);
      assert.deepEqual(readFileSync(certFile), pem, 'the same certificate after a restart');
      assert.equal(statSync(certFile).mtimeMs, modified, 'not rewritten');
      const served = await handshake(s.mqttsPort!);
      assert.ok('cert' in served && served.cert.equals(cert.raw), 'MQTTS serves it');

      // Another host name: the certificate no longer fits and is replaced.
      await s.close();
      s = await startTestServer({ ...settings, hostName: 'hub.store-13.example' }, dir);
      const replaced = new X509Certificate(readFileSync(certFile));
      assert.notEqual(replaced.fingerprint256, cert.fingerprint256);
      assert.ok(replaced.subjectAltName!.includes('DNS:hub.store-13.example'));
    } finally {
      await s.stop();
    }
  });

  test('a generated certificate is replaced when it nears its end (30 days before) or has expired', async () => {
    const dir = tempDir();
    try {
      const source = { dataDir: dir, hostName: 'localhost', configured: null };
      const first = await loadCertificate(source);
      assert.equal(first.action, 'generated');
      const cert = new X509Certificate(first.credentials.cert);
      const end = new Date(cert.validTo).getTime();
      assert.equal(replacementReason(cert, 'localhost', end - (RENEW_BEFORE_DAYS + 1) * DAY_MS), undefined);
      assert.match(replacementReason(cert, 'localhost', end - (RENEW_BEFORE_DAYS - 1) * DAY_MS)!, /expires on/);
      assert.match(replacementReason(cert, 'other.example', Date.now())!, /does not cover other\.example/);
      assert.equal((await loadCertificate(source)).action, 'reused');
      const later = await loadCertificate(source, end + DAY_MS);
      assert.deepEqual([later.action, later.reason], ['generated', 'it expired']);
      assert.ok(later.credentials.validTo.getTime() > end);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a configured certificate is served on HTTPS and MQTTS; a key of another certificate stops the start with a clear message', async () => {
    const dir = tempDir();
    const one = await generate([{ name: 'commonName', value: 'localhost' }], { keySize: 2048, algorithm: 'sha256' });
    const two = await generate([{ name: 'commonName', value: 'localhost' }], { keySize: 2048, algorithm: 'sha256' });
    writeFileSync(join(dir, 'cert.pem'), one.cert);
    writeFileSync(join(dir, 'key.pem'), one.private);
    writeFileSync(join(dir, 'other-key.pem'), two.private);
    const s = await startTestServer({ http: { host: '127.0.0.1', port: 0, httpsPort: 0, tlsCert: join(dir, 'cert.pem'), tlsKey: join(dir, 'key.pem') }, mqtt: { tlsPort: 0 } }, join(dir, 'data'));
    try {
      const raw = new X509Certificate(one.cert).raw;
      for (const port of [s.httpsPort!, s.mqttsPort!]) {
        const served = await handshake(port);
        assert.ok('cert' in served && served.cert.equals(raw), `port ${port}`);
      }
      assert.equal(existsSync(join(dir, 'data', 'tls')), false, 'nothing generated');
    } finally {
      await s.stop();
    }
    await assert.rejects(
      startTestServer({ http: { host: '127.0.0.1', port: 0, httpsPort: 0, tlsCert: join(dir, 'cert.pem'), tlsKey: join(dir, 'other-key.pem') } }, join(dir, 'data2')),
      /cannot use the TLS certificate .*cert\.pem with the key .*other-key\.pem \(http\.tlsCert, http\.tlsKey\): the key does not belong to the certificate/,
    );
    rmSync(dir, { recursive: true, force: true });
  });

  test('TLS 1.1 is refused on HTTPS and MQTTS even where Node\'s defaults would allow it; TLS 1.2 and 1.3 are accepted', async () => {
    const defaults = { min: tls.DEFAULT_MIN_VERSION, ciphers: tls.DEFAULT_CIPHERS };
    // Node refuses TLS 1.1 by default; lift its defaults so the listeners' own setting is what is tested.
    tls.DEFAULT_MIN_VERSION = 'TLSv1';
    tls.DEFAULT_CIPHERS = 'DEFAULT@SECLEVEL=0';
    const s = await startTestServer({ http: { host: '127.0.0.1', port: 0, httpsPort: 0 }, mqtt: { tlsPort: 0 } });
    const control = tls.createServer({ cert: readFileSync(s.certificateFile!), key: readFileSync(join(s.dataDir, 'tls', 'key.pem')) }, (socket) => socket.end());
    try {
      await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
      const old = { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' } as const;
      const controlPort = (control.address() as { port: number }).port;
      assert.equal((await handshake(controlPort, old) as { protocol: string }).protocol, 'TLSv1.1', 'this client can speak TLS 1.1');
      for (const port of [s.httpsPort!, s.mqttsPort!]) {
        assert.deepEqual(await handshake(port, old), { error: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' }, `port ${port}`);
        assert.equal((await handshake(port, { maxVersion: 'TLSv1.2' }) as { protocol: string }).protocol, 'TLSv1.2');
        assert.equal((await handshake(port) as { protocol: string }).protocol, 'TLSv1.3');
      }
    } finally {
      tls.DEFAULT_MIN_VERSION = defaults.min;
      tls.DEFAULT_CIPHERS = defaults.ciphers;
      control.close();
      await s.stop();
    }
  });

  test('omnistream start prints where the generated certificate is and the NODE_EXTRA_CA_CERTS hint', async () => {
    const dir = tempDir();
    const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'start', '--data', dir, '--http-port', '0', '--https-port', '0', '--mqtts-port', '0', '--mqtt-port', '0'],
      { env: { ...process.env, OMNISTREAM_HTTP_HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const lines: Array<Record<string, unknown>> = [];
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const entry = JSON.parse(line) as Record<string, unknown>;
          lines.push(entry);
          if (entry.msg === 'omnistream ready') resolve();
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
      });
      const cert = lines.find((l) => l.msg === 'self-signed TLS certificate generated');
      assert.equal(cert?.trust, `NODE_EXTRA_CA_CERTS=${join(dir, 'tls', 'cert.pem')}`);
      const ready = lines.find((l) => l.msg === 'omnistream ready')!;
      assert.match(String(ready.url), /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.match(String(ready.https), /^https:\/\/127\.0\.0\.1:\d+$/);
      assert.match(String(ready.mqtts), /^mqtts:\/\/127\.0\.0\.1:\d+$/);
      assert.match(String(ready.mqtt), /^mqtt:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
