// Bad input over MQTT (issue 11's list), each through the real server: the offending connection is
// closed or refused with the right code, nothing of it is stored, and another device's connection,
// open all along, still gets its PUBACKs.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import type { Device } from '../../src/core/device.js';
import { MAX_MESSAGE_BYTES } from '../../src/core/message.js';
import { readAll, startTestServer, type TestServer } from '../helpers/server.js';
import { connectDevice, eventsTopic, rawClient, rawDevice, refusal, usernameOf, type RawClient } from './mqtt-test-client.js';

describe('MQTT bad input', () => {
  let s: TestServer;
  let bystander: Device;
  let other: MqttClient;
  let sentByBystander = 0;
  before(async () => {
    s = await startTestServer({ mqtt: { port: 0 } });
    bystander = await s.createDevice('bystander');
    other = await connectDevice(s, bystander, { keepalive: 0 });
  });
  after(async () => {
    await other.endAsync();
    await s.stop();
  });

  const storedFrom = async (deviceId: string) => (await readAll(s)).filter((m) => m.deviceId === deviceId);

  /** The bystander's connection goes on: its next publish is acknowledged and stored. */
  async function othersGoOn(): Promise<void> {
    const body = `still here ${++sentByBystander}`;
    await other.publishAsync(eventsTopic(bystander.deviceId), body, { qos: 1 });
    assert.equal((await storedFrom(bystander.deviceId)).at(-1)?.body.toString(), body);
  }

  async function closedWithout(raw: RawClient, deviceId: string | undefined, reason: string): Promise<void> {
    await raw.ended;
    assert.ok(!raw.packets.some((p) => p.cmd === 'puback'), 'no PUBACK');
    if (deviceId) assert.deepEqual(await storedFrom(deviceId), [], 'nothing stored');
    assert.match(await (await s.fetch('/metrics')).text(), new RegExp(`omnistream_mqtt_disconnects_total\\{reason="${reason}"\\} [1-9]`));
  }

  const publish = (topic: string, payload: Buffer | string, messageId = 1): mqttPacket.IPublishPacket => (
    { cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, messageId, dup: false, retain: false });

  test('malformed packets close that connection only: bytes that are not MQTT, a topic length past the packet, a remaining length of five bytes, a SUBSCRIBE with wrong flags', async () => {
    const notMqtt = await rawClient(s.mqttPort!);
    notMqtt.send(Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'));
    await closedWithout(notMqtt, undefined, 'protocol_error');
    assert.deepEqual(notMqtt.packets, [], 'not even a CONNACK');

    const d = await s.createDevice('malformed');
    for (const bytes of [
      Buffer.from([0x32, 0x05, 0x00, 0x40, 0x61, 0x62, 0x63]),
      Buffer.from([0x32, 0xff, 0xff, 0xff, 0xff, 0x01]),
      Buffer.from([0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 0x23, 0x00]),
    ]) {
      const raw = await rawDevice(s, d);
      raw.send(bytes);
      await closedWithout(raw, d.deviceId, 'protocol_error');
      await othersGoOn();
    }
  });

  test('a 256 KB + 1 byte payload closes the connection and stores nothing; 256 KB is accepted; a packet announcing more than any message is refused from its header', async () => {
    const d = await s.createDevice('oversize');
    const raw = await rawDevice(s, d);
    raw.send(publish(eventsTopic(d.deviceId), Buffer.alloc(MAX_MESSAGE_BYTES + 1, 0x61)));
    await closedWithout(raw, d.deviceId, 'message_too_large');
    await othersGoOn();

    const huge = await rawDevice(s, d);
    // Only the header of a 1 MB publish: the server must not wait for (or buffer) the rest.
    huge.send(Buffer.from([0x32, 0x80, 0x80, 0x40]));
    await closedWithout(huge, d.deviceId, 'message_too_large');

    const fits = await connectDevice(s, d);
    await fits.publishAsync(eventsTopic(d.deviceId), Buffer.alloc(MAX_MESSAGE_BYTES, 0x62), { qos: 1 });
    await fits.endAsync();
    assert.deepEqual((await storedFrom(d.deviceId)).map((m) => m.body.length), [MAX_MESSAGE_BYTES]);
    await othersGoOn();
  });

  test('a topic that is not the telemetry topic closes the connection and stores nothing', async () => {
    const d = await s.createDevice('lost');
    for (const topic of ['stores/12/readers/lost/events', '$iothub/twin/GET/?$rid=1', `devices/${d.deviceId}/messages/devicebound/`]) {
      const raw = await rawDevice(s, d);
      raw.send(publish(topic, 'wrong place'));
      await closedWithout(raw, d.deviceId, 'topic_not_allowed');
      await othersGoOn();
    }
  });

  test('a device publishing to another device\'s topic is disconnected; nothing is stored for either', async () => {
    const d = await s.createDevice('impostor');
    const victim = await s.createDevice('victim');
    const raw = await rawDevice(s, d);
    raw.send(publish(eventsTopic(victim.deviceId, '%24.mid=forged'), 'as someone else'));
    await closedWithout(raw, d.deviceId, 'topic_not_allowed');
    assert.deepEqual(await storedFrom(victim.deviceId), []);
    await othersGoOn();
  });

  test('a client id that does not match the token gets CONNACK 5 and can publish nothing', async () => {
    const d = await s.createDevice('token-owner');
    const claimed = await s.createDevice('claimed');
    assert.equal(await refusal(connectDevice(s, d, { clientId: claimed.deviceId, username: usernameOf(claimed.deviceId) })), 5);
    // Publishing right behind the CONNECT, before any CONNACK: nothing of it may be stored.
    const raw = await rawClient(s.mqttPort!);
    raw.send(Buffer.concat([
      mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: claimed.deviceId, username: usernameOf(claimed.deviceId), password: Buffer.from(s.deviceToken(d)) }),
      mqttPacket.generate(publish(eventsTopic(claimed.deviceId), 'pipelined')),
    ]));
    await raw.ended;
    assert.deepEqual(raw.packets.map((p) => [p.cmd, (p as mqttPacket.IConnackPacket).returnCode]), [['connack', 5]]);
    assert.deepEqual(await storedFrom(claimed.deviceId), []);
    assert.deepEqual(await storedFrom(d.deviceId), []);
    await othersGoOn();
  });

  test('a flood from one connection is paced by its appends (at most mqtt.maxInflight in flight, the rest left in the socket), while another connection\'s publishes get their PUBACKs', async (t) => {
    const d = await s.createDevice('flooder');
    const flood = await rawDevice(s, d);
    const count = 30_000;
    const payload = Buffer.alloc(512, 0x7a);
    const packets: Buffer[] = [];
    for (let i = 0; i < count; i++) packets.push(mqttPacket.generate(publish(eventsTopic(d.deviceId), payload, (i % 65_535) + 1)));
    flood.socket.write(Buffer.concat(packets));

    let maxInflight = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const text = await (await s.fetch('/metrics')).text();
        maxInflight = Math.max(maxInflight, Number(/omnistream_mqtt_inflight_messages (\d+)/.exec(text)![1]));
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      await other.publishAsync(eventsTopic(bystander.deviceId), `during the flood ${i}`, { qos: 1 });
      latencies.push(performance.now() - started);
    }
    const floodStoredMeanwhile = (await storedFrom(d.deviceId)).length;
    const unsentMeanwhile = flood.socket.writableLength;
    const acked = () => flood.packets.filter((p) => p.cmd === 'puback').length;
    while (acked() < count) await new Promise((r) => setTimeout(r, 20));
    sampling = false;
    await sampler;
    flood.socket.destroy();

    t.diagnostic(`flood: ${floodStoredMeanwhile} of ${count} stored and ${unsentMeanwhile} bytes still in the flooder's socket when the other connection's 20 PUBACKs had come (slowest ${Math.round(Math.max(...latencies))} ms); at most ${maxInflight} appends in flight`);
    assert.ok(floodStoredMeanwhile < count, `the other connection finished while the flood was still being read (${floodStoredMeanwhile} of ${count} stored)`);
    assert.ok(unsentMeanwhile > 0 || floodStoredMeanwhile < count / 2, 'the flood waited in its own socket, not in the server\'s memory');
    assert.ok(Math.max(...latencies) < 1_000, `the other connection's PUBACKs came within a second (slowest ${Math.round(Math.max(...latencies))} ms)`);
    assert.ok(maxInflight <= 64 + 1, `appends in flight stayed bounded (${maxInflight})`);
    assert.equal((await storedFrom(d.deviceId)).length, count, 'every flooded message acknowledged was stored, once');
    assert.equal((await storedFrom(bystander.deviceId)).filter((m) => m.body.toString().startsWith('during the flood')).length, 20);
  });
});
