// MQTT past its limits, through the real endpoint: past `mqtt.maxConnections` a CONNECT gets
// CONNACK 3 and the connection closes, counted in /metrics; past `mqtt.maxInflightTotal` appends
// in flight over all connections, a publish is refused (no PUBACK, the connection closes once its
// earlier messages are acknowledged) instead of being held in memory; the places come back. Over
// TLS, a connection past the limit is closed before its handshake.
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import mqttPacket from 'mqtt-packet';
import type { MqttClient } from 'mqtt';
import { readAll, startTestServer, type TestServer } from '../helpers/server.js';
import { connectDevice, eventsTopic, rawClient, rawDevice, refusal } from '../mqtt/mqtt-test-client.js';

async function metric(s: TestServer, pattern: RegExp): Promise<number> {
  const m = pattern.exec(await (await s.fetch('/metrics')).text());
  return m ? Number(m[1]) : 0;
}

const storedIds = async (s: TestServer, deviceId: string) => (await readAll(s)).filter((m) => m.deviceId === deviceId).map((m) => m.messageId).sort();

describe('MQTT connection limit', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ mqtt: { port: 0, maxConnections: 3 } });
  });
  after(() => s.stop());

  test('past mqtt.maxConnections a CONNECT gets CONNACK 3 and is closed, counted; the connections in place go on; a freed place is taken again', async () => {
    const devices = await Promise.all([0, 1, 2, 3].map((i) => s.createDevice(`conn-${i}`)));
    const clients: MqttClient[] = [];
    for (const d of devices.slice(0, 3)) clients.push(await connectDevice(s, d, { keepalive: 0 }));
    assert.equal(await refusal(connectDevice(s, devices[3]!, { keepalive: 0 })), 3);

    // A raw CONNECT gets the bare CONNACK, nothing else, then the close.
    const raw = await rawClient(s.mqttPort!);
    raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'conn-3', username: 'x', password: Buffer.from('not even checked') });
    await raw.ended;
    assert.deepEqual(raw.packets.map((p) => [p.cmd, (p as mqttPacket.IConnackPacket).returnCode]), [['connack', 3]]);
    assert.equal(await metric(s, /omnistream_mqtt_disconnects_total\{reason="connection_limit"\} (\d+)/), 2);
    assert.equal(await metric(s, /omnistream_mqtt_connections\{listener="mqtt"\} (\d+)/), 3);

    await clients[0]!.publishAsync(eventsTopic('conn-0', '%24.mid=still-on'), 'x', { qos: 1 });
    assert.deepEqual(await storedIds(s, 'conn-0'), ['still-on']);

    await clients.shift()!.endAsync();
    // The server sees the close a moment after the client: the place is free once it has.
    let answer: number | string = 3;
    for (let i = 0; i < 100 && answer === 3; i++) {
      answer = await refusal(connectDevice(s, devices[3]!, { keepalive: 0 }));
      if (answer === 3) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(answer, 'accepted');
    await Promise.all(clients.map((c) => c.endAsync()));
  });
});

/** A TLS connection to `port`: open once its handshake completes, or the error that ended it before. */
function tlsConnect(port: number): Promise<tls.TLSSocket | { error: string }> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', (err: Error & { code?: string }) => resolve({ error: err.code ?? err.message }));
  });
}

describe('MQTT over TLS past the connection limit', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ mqtt: { port: 0, tlsPort: 0, maxConnections: 2 } });
  });
  after(() => s.stop());

  test('the TLS listener closes a connection past mqtt.maxConnections before its handshake, counted; a freed place is taken again', async () => {
    // Two connections hold the places: handshakes done, CONNECT not sent yet (counted as connections).
    const held = await Promise.all([tlsConnect(s.mqttsPort!), tlsConnect(s.mqttsPort!)]);
    for (const h of held) assert.ok(h instanceof tls.TLSSocket, `a place is taken: ${JSON.stringify(h)}`);
    // The third never gets a ServerHello: the server spends no handshake on it.
    const refused = await tlsConnect(s.mqttsPort!);
    assert.ok(!(refused instanceof tls.TLSSocket), 'refused before the handshake');
    assert.equal(await metric(s, /omnistream_mqtt_disconnects_total\{reason="connection_limit"\} (\d+)/), 1);

    (held[0] as tls.TLSSocket).destroy();
    let again: tls.TLSSocket | { error: string } = refused;
    for (let i = 0; i < 100 && !(again instanceof tls.TLSSocket); i++) {
      await new Promise((r) => setTimeout(r, 20));
      again = await tlsConnect(s.mqttsPort!);
    }
    assert.ok(again instanceof tls.TLSSocket, 'the freed place is taken');
    again.destroy();
    (held[1] as tls.TLSSocket).destroy();
  });
});

describe('MQTT appends in flight over all connections', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ mqtt: { port: 0, maxInflight: 64, maxInflightTotal: 4 } });
  });
  after(() => s.stop());

  test('past mqtt.maxInflightTotal a publish gets no PUBACK and the connection closes after acknowledging the earlier ones; exactly those are stored; the places come back', async () => {
    const d = await s.createDevice('over-total');
    const raw = await rawDevice(s, d);
    // Ten publishes in one write: the endpoint takes them in one turn, before any append commits.
    raw.send(Buffer.concat(Array.from({ length: 10 }, (_, i) => mqttPacket.generate({
      cmd: 'publish', topic: eventsTopic(d.deviceId, `%24.mid=m-${i + 1}`), payload: Buffer.from(`{"i":${i}}`), qos: 1, messageId: i + 1, retain: false, dup: false,
    }))));
    await raw.ended;
    assert.deepEqual(raw.packets.slice(1).map((p) => [p.cmd, p.messageId]), [1, 2, 3, 4].map((id) => ['puback', id]));
    assert.deepEqual(await storedIds(s, d.deviceId), ['m-1', 'm-2', 'm-3', 'm-4']);
    assert.equal(await metric(s, /omnistream_mqtt_disconnects_total\{reason="overloaded"\} (\d+)/), 1);
    assert.equal(await metric(s, /omnistream_mqtt_inflight_messages (\d+)/), 0);

    // Every place was given back: another device sends its four and more, one at a time.
    const other = await s.createDevice('after-overload');
    const client = await connectDevice(s, other, { keepalive: 0 });
    for (let i = 0; i < 8; i++) await client.publishAsync(eventsTopic(other.deviceId, `%24.mid=a-${i}`), 'x', { qos: 1 });
    assert.equal((await storedIds(s, other.deviceId)).length, 8);
    await client.endAsync();
  });
});
