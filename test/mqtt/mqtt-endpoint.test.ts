// The MQTT endpoint through the real server, a real SQLite log and the `mqtt` client: IoT Hub's
// conventions (username, SAS password, telemetry topic, property bag, QoS), sessions, keep-alive.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type mqttPacket from 'mqtt-packet';
import { deviceResource, signSasToken } from '../../src/auth/sas.js';
import type { Device } from '../../src/core/device.js';
import { readAll, startTestServer, type TestServer } from '../helpers/server.js';
import type { WireMessage } from '../feed/feed-client.js';
import { closed, connectDevice, eventsTopic, rawClient, rawDevice, refusal, usernameOf } from './mqtt-test-client.js';

/** Every message of `deviceId` read back through the HTTP feed, as a reader would. */
async function fromFeed(s: TestServer, deviceId: string): Promise<WireMessage[]> {
  const headers = { authorization: s.policyToken('service') };
  const { partitions } = (await (await s.fetch('/api/partitions', { headers })).json()) as { partitions: Array<{ partitionId: string }> };
  const out: WireMessage[] = [];
  for (const p of partitions) {
    const page = (await (await s.fetch(`/api/partitions/${p.partitionId}/messages?max=1000`, { headers })).json()) as { messages: WireMessage[] };
    out.push(...page.messages.filter((m) => m.deviceId === deviceId));
  }
  return out;
}

const stored = async (s: TestServer, deviceId: string) => (await readAll(s)).filter((m) => m.deviceId === deviceId);
const metric = async (s: TestServer, pattern: RegExp) => Number(pattern.exec(await (await s.fetch('/metrics')).text())?.[1] ?? 0);

describe('MQTT endpoint', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ mqtt: { port: 0 } });
  });
  after(() => s.stop());

  test('QoS 1 and QoS 0 publishes are stored with the property bag\'s fields, the device\'s tenant, and read back through the feed', async () => {
    const d = await s.createDevice('fitting-room-3', { tenant: 'brand-a' });
    const c = await connectDevice(s, d);
    await c.publishAsync(eventsTopic(d.deviceId, '%24.mid=mid-1&%24.cid=cid-1&%24.ct=application%2Fjson&%24.ce=utf-8&zone=fitting%20rooms&k%201=v%2F1'),
      JSON.stringify({ event: 'tag_read', epc: 'E200' }), { qos: 1 });
    await c.publishAsync(eventsTopic(d.deviceId), 'plain, QoS 0', { qos: 0 });
    await c.publishAsync(eventsTopic(d.deviceId).slice(0, -1), 'no trailing slash', { qos: 1 });
    await c.endAsync();
    const ms = await stored(s, d.deviceId);
    assert.deepEqual(ms.map((m) => m.body.toString()), ['{"event":"tag_read","epc":"E200"}', 'plain, QoS 0', 'no trailing slash']);
    const [m] = ms;
    assert.equal(m!.messageId, 'mid-1');
    assert.equal(m!.correlationId, 'cid-1');
    assert.equal(m!.contentType, 'application/json');
    assert.equal(m!.contentEncoding, 'utf-8');
    assert.deepEqual(m!.properties, { zone: 'fitting rooms', 'k 1': 'v/1' });
    assert.equal(m!.tenant, 'brand-a');
    assert.equal(m!.generationId, d.generationId);
    assert.deepEqual(m!.authMethod, { scope: 'device', type: 'sas', issuer: 'iothub' });

    const wire = await fromFeed(s, d.deviceId);
    assert.equal(wire.length, 3);
    assert.deepEqual(wire[0]!.body, { event: 'tag_read', epc: 'E200' });
    assert.deepEqual(wire[0]!.properties, { zone: 'fitting rooms', 'k 1': 'v/1' });
    assert.equal(wire[0]!.messageId, 'mid-1');
    assert.equal(wire[0]!.tenant, 'brand-a');
  });

  test('a repeated $.mid is acknowledged each time and stored once; counted with transport="mqtt"', async () => {
    const d = await s.createDevice('door-1');
    const before = await metric(s, /omnistream_messages_ingested_total\{transport="mqtt"\} (\d+)/);
    const c = await connectDevice(s, d);
    for (let i = 0; i < 3; i++) await c.publishAsync(eventsTopic(d.deviceId, '%24.mid=order-77'), `attempt ${i}`, { qos: 1 });
    await c.endAsync();
    assert.deepEqual((await stored(s, d.deviceId)).map((m) => m.body.toString()), ['attempt 0']);
    const text = await (await s.fetch('/metrics')).text();
    assert.match(text, /omnistream_duplicate_messages_total\{transport="mqtt"\} [2-9]/);
    assert.equal(await metric(s, /omnistream_messages_ingested_total\{transport="mqtt"\} (\d+)/), before + 1);
    assert.match(text, /omnistream_bytes_ingested_total\{transport="mqtt"\} [1-9]/);
    assert.match(text, /omnistream_mqtt_connections\{listener="mqtt"\} \d+/);
    assert.match(text, /omnistream_mqtt_sessions \d+/);
  });

  test('a policy token with DeviceConnect connects for a device; the message says so', async () => {
    const d = await s.createDevice('via-policy');
    const c = await connectDevice(s, d, { password: s.policyToken('device') });
    await c.publishAsync(eventsTopic(d.deviceId), 'by policy', { qos: 1 });
    await c.endAsync();
    const [m] = await stored(s, d.deviceId);
    assert.deepEqual(m!.authMethod, { scope: 'hub', type: 'sas', issuer: 'iothub', policy: 'device' });
  });

  test('the username\'s host is matched without regard to case, and extra query fields are tolerated', async () => {
    const d = await s.createDevice('upper-host');
    const c = await connectDevice(s, d, { username: `LOCALHOST/${d.deviceId}/?api-version=2021-04-12&DeviceClientType=x%2F1&model-id=dtmi:x;1` });
    await c.publishAsync(eventsTopic(d.deviceId), 'ok', { qos: 1 });
    await c.endAsync();
    assert.equal((await stored(s, d.deviceId)).length, 1);
  });

  test('CONNACK 5 (not authorized): a wrong key, an expired token, another hub\'s name, a client id that is not the token\'s device, a username for another device, no password, an unknown or disabled device', async () => {
    const d = await s.createDevice('checked');
    const other = await s.createDevice('checked-other');
    const off = await s.createDevice('switched-off', { status: 'disabled' });
    const key = d.authentication.symmetricKey.primaryKey;
    const token = (resource: string, k: string, expiry = Math.floor(Date.now() / 1000) + 600) => signSasToken({ resource, key: k, expiry });
    const cases: Array<[string, Parameters<typeof connectDevice>[2], Device?]> = [
      ['wrong key', { password: token(deviceResource('localhost', d.deviceId), Buffer.alloc(32, 9).toString('base64')) }],
      ['expired', { password: token(deviceResource('localhost', d.deviceId), key, Math.floor(Date.now() / 1000) - 3600) }],
      ['username host', { username: usernameOf(d.deviceId, 'other-hub.example.com') }],
      ['client id ≠ token device', { clientId: other.deviceId, username: usernameOf(other.deviceId) }],
      ['username device ≠ client id', { username: usernameOf(other.deviceId) }],
      ['no password', { password: undefined }],
      ['unknown device', { clientId: 'nobody', username: usernameOf('nobody'), password: token(deviceResource('localhost', 'nobody'), key) }],
      ['unknown device, policy token', { clientId: 'nobody', username: usernameOf('nobody'), password: s.policyToken('device') }],
      ['policy without DeviceConnect', { password: s.policyToken('registryRead') }],
      ['disabled', {}, off],
    ];
    for (const [why, options, device = d] of cases) assert.equal(await refusal(connectDevice(s, device, options)), 5, why);
    assert.equal(await refusal(connectDevice(s, d, { clientId: 'bad#id', username: usernameOf('bad#id') })), 2, 'an invalid client id is identifier rejected');
    assert.equal((await stored(s, d.deviceId)).length, 0);
    assert.match(await (await s.fetch('/metrics')).text(), /omnistream_mqtt_disconnects_total\{reason="unauthorized"\} [1-9]/);
  });

  test('MQTT 3.1 and 5 get CONNACK 1 (unacceptable protocol version)', async () => {
    for (const [protocolId, protocolVersion] of [['MQIsdp', 3], ['MQTT', 5]] as const) {
      const raw = await rawClient(s.mqttPort!);
      raw.send({ cmd: 'connect', protocolId, protocolVersion, clean: true, keepalive: 0, clientId: 'x' });
      const connack = await raw.next() as mqttPacket.IConnackPacket | undefined;
      assert.equal(connack?.returnCode ?? connack?.reasonCode, 1, `${protocolId} ${protocolVersion}`);
      await raw.ended;
    }
  });

  test('SUBSCRIBE: the SDK\'s topics are granted (QoS at most 1), any other gets 0x80; UNSUBSCRIBE is acknowledged', async () => {
    const d = await s.createDevice('subscriber');
    const raw = await rawDevice(s, d);
    raw.send({
      cmd: 'subscribe', messageId: 3, subscriptions: [
        { topic: `devices/${d.deviceId}/messages/devicebound/#`, qos: 1 }, { topic: '$iothub/twin/res/#', qos: 0 }, { topic: '$iothub/methods/POST/#', qos: 2 },
        { topic: 'devices/someone-else/messages/devicebound/#', qos: 1 }, { topic: '#', qos: 0 },
      ],
    });
    const suback = await raw.next() as mqttPacket.ISubackPacket;
    assert.equal(suback.cmd, 'suback');
    assert.equal(suback.messageId, 3);
    assert.deepEqual(suback.granted, [1, 0, 1, 128, 128]);
    raw.send({ cmd: 'unsubscribe', messageId: 4, unsubscriptions: ['$iothub/twin/res/#'] });
    const unsuback = await raw.next();
    assert.deepEqual([unsuback?.cmd, unsuback?.messageId], ['unsuback', 4]);
    raw.send({ cmd: 'publish', topic: eventsTopic(d.deviceId), payload: Buffer.from('still connected'), qos: 1, messageId: 5, dup: false, retain: false });
    assert.equal((await raw.next())?.cmd, 'puback');
    raw.socket.destroy();
    // The SDK subscribes with the mqtt client as any device would.
    const c = await connectDevice(s, d);
    assert.deepEqual((await c.subscribeAsync(`devices/${d.deviceId}/messages/devicebound/#`, { qos: 1 })).map((g) => g.qos), [1]);
    await c.endAsync();
  });

  test('one session per device: a new connection closes the older one, which stores nothing more', async () => {
    const d = await s.createDevice('taken-over');
    const first = await connectDevice(s, d);
    const firstClosed = closed(first);
    const second = await connectDevice(s, d);
    await firstClosed;
    await second.publishAsync(eventsTopic(d.deviceId), 'from the second', { qos: 1 });
    await second.endAsync();
    assert.deepEqual((await stored(s, d.deviceId)).map((m) => m.body.toString()), ['from the second']);
    assert.match(await (await s.fetch('/metrics')).text(), /omnistream_mqtt_disconnects_total\{reason="session_taken_over"\} [1-9]/);
  });

  test('keep-alive: a silent connection is closed after 1.5 × its keep-alive; one that pings stays', async () => {
    const d = await s.createDevice('sleepy');
    const e = await s.createDevice('awake');
    const connect = (device: Device): mqttPacket.IConnectPacket => ({
      cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 1, clientId: device.deviceId, username: usernameOf(device.deviceId),
      password: Buffer.from(s.deviceToken(device)),
    });
    const silent = await rawClient(s.mqttPort!);
    const pinging = await rawClient(s.mqttPort!);
    silent.send(connect(d));
    pinging.send(connect(e));
    assert.equal((await silent.next())?.cmd, 'connack');
    assert.equal((await pinging.next())?.cmd, 'connack');
    const started = Date.now();
    const ping = setInterval(() => pinging.send({ cmd: 'pingreq' }), 500);
    try {
      await silent.ended;
      const waited = Date.now() - started;
      assert.ok(waited >= 1_200 && waited < 4_000, `closed after ${waited} ms`);
      assert.ok(!pinging.socket.destroyed, 'the pinging connection is open');
      assert.equal((await pinging.next())?.cmd, 'pingresp');
    } finally {
      clearInterval(ping);
      pinging.socket.destroy();
    }
    assert.match(await (await s.fetch('/metrics')).text(), /omnistream_mqtt_disconnects_total\{reason="keepalive_timeout"\} [1-9]/);
  });

  test('a device disabled while connected is disconnected within the re-check interval (5 s)', { timeout: 15_000 }, async () => {
    const d = await s.createDevice('soon-off');
    const disabledClosesBefore = await metric(s, /omnistream_mqtt_disconnects_total\{reason="device_disabled"\} (\d+)/);
    const c = await connectDevice(s, d, { keepalive: 0 });
    await c.publishAsync(eventsTopic(d.deviceId), 'before', { qos: 1 });
    const ended = closed(c);
    const disabledAt = Date.now();
    await s.registry.update({ deviceId: d.deviceId, status: 'disabled' }, '*');
    await ended;
    assert.ok(Date.now() - disabledAt < 6_500, `closed after ${Date.now() - disabledAt} ms`);
    assert.deepEqual((await stored(s, d.deviceId)).map((m) => m.body.toString()), ['before']);
    assert.equal(await metric(s, /omnistream_mqtt_disconnects_total\{reason="device_disabled"\} (\d+)/), disabledClosesBefore + 1);
    assert.equal(await refusal(connectDevice(s, d)), 5, 'and cannot connect again');
  });

  test('QoS 2 closes the connection and stores nothing (as IoT Hub does)', async () => {
    const d = await s.createDevice('qos-two');
    const raw = await rawDevice(s, d);
    raw.send({ cmd: 'publish', topic: eventsTopic(d.deviceId), payload: Buffer.from('exactly once?'), qos: 2, messageId: 7, dup: false, retain: false });
    await raw.ended;
    assert.deepEqual(raw.packets.map((p) => p.cmd), ['connack']);
    assert.equal((await stored(s, d.deviceId)).length, 0);
    assert.match(await (await s.fetch('/metrics')).text(), /omnistream_mqtt_disconnects_total\{reason="qos_not_supported"\} [1-9]/);
  });

  test('a retained publish is stored once with mqtt-retain, as IoT Hub does; DISCONNECT ends cleanly', async () => {
    const d = await s.createDevice('retainer');
    const c = await connectDevice(s, d);
    await c.publishAsync(eventsTopic(d.deviceId), 'kept?', { qos: 1, retain: true });
    await c.endAsync();
    const [m] = await stored(s, d.deviceId);
    assert.deepEqual(m!.properties, { 'mqtt-retain': 'true' });
    assert.match(await (await s.fetch('/metrics')).text(), /omnistream_mqtt_disconnects_total\{reason="client_disconnect"\} [1-9]/);
  });
});
