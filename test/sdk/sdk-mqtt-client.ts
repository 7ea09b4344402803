// Drives the official azure-iot-device-mqtt transport, unmodified, against the gateway: the device is
// created with the azure-iothub Registry over HTTPS (port 443), then sends over MQTTS (port 8883).
// Run as a child process because NODE_EXTRA_CA_CERTS (trusting the gateway's generated
// certificate) is read only at process start.
import iothub from 'azure-iothub';
import device from 'azure-iot-device';
import deviceMqtt from 'azure-iot-device-mqtt';

const { Registry } = iothub;
const { Client, Message } = device;
const { Mqtt } = deviceMqtt;

const serviceCs = process.env.SERVICE_CS!;
const hostName = /HostName=([^;]+)/.exec(serviceCs)![1];
const out: Record<string, unknown> = {};

async function errorName(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'no error';
  } catch (err) {
    return (err as Error).name;
  }
}

const registry = Registry.fromConnectionString(serviceCs);
const created = await registry.create({ deviceId: 'sdk-mqtt-dev' });
const key = (created.responseBody as { authentication: { symmetricKey: { primaryKey: string } } }).authentication.symmetricKey.primaryKey;

const client = Client.fromConnectionString(`HostName=${hostName};DeviceId=sdk-mqtt-dev;SharedAccessKey=${key}`, Mqtt);
const errors: string[] = [];
client.on('error', (err: Error) => errors.push(err.message));
out.opened = (await client.open())?.constructor.name;
// Listening for cloud-to-device messages and direct methods makes the SDK subscribe to their topics.
client.on('message', () => undefined);
client.onDeviceMethod('reboot', () => undefined);

const first = new Message(JSON.stringify({ event: 'tag_read', epc: 'E2003412', zone: 'fitting-rooms' }));
first.messageId = 'mqtt-mid-1';
first.correlationId = 'mqtt-cid-1';
first.contentType = 'application/json';
first.contentEncoding = 'utf-8';
first.properties.add('store', '12');
first.properties.add('reader kind', 'door/rfid');
const sent = [(await client.sendEvent(first)).constructor.name];
for (const n of [2, 3]) {
  const m = new Message(`plain ${n}`);
  m.messageId = `mqtt-mid-${n}`;
  m.properties.add('n', String(n));
  sent.push((await client.sendEvent(m)).constructor.name);
}
out.sent = sent;
// Resending a messageId (a retry after a lost PUBACK) is acknowledged and stored once.
const again = new Message('plain 3, again');
again.messageId = 'mqtt-mid-3';
out.resent = (await client.sendEvent(again)).constructor.name;
await client.close();
out.errors = errors;

const wrong = Client.fromConnectionString(`HostName=${hostName};DeviceId=sdk-mqtt-dev;SharedAccessKey=${Buffer.alloc(32, 7).toString('base64')}`, Mqtt);
out.wrongKey = await errorName(wrong.open());
const unknown = Client.fromConnectionString(`HostName=${hostName};DeviceId=no-such-device;SharedAccessKey=${key}`, Mqtt);
out.unknownDevice = await errorName(unknown.open());
// The Registry's keep-alive agent would hold the process open.
process.stdout.write(JSON.stringify(out), () => process.exit(0));
