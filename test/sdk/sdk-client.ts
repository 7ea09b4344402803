// Drives the official Azure IoT npm SDKs, unmodified, against the gateway. Run as a child process
// because NODE_EXTRA_CA_CERTS (trusting the test certificate) is read only at process start.
import iothub from 'azure-iothub';
import device from 'azure-iot-device';
import deviceHttp from 'azure-iot-device-http';

const { Registry } = iothub;
const { Client, Message } = device;
const { Http } = deviceHttp;

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
const created = await registry.create({ deviceId: 'sdk-dev' });
out.created = created.responseBody;
out.createAgain = await errorName(registry.create({ deviceId: 'sdk-dev' }));
out.got = (await registry.get('sdk-dev')).responseBody.deviceId;
out.listed = (await registry.list()).responseBody.map((d) => d.deviceId);
out.getMissing = await errorName(registry.get('no-such-device'));

const key = (created.responseBody as { authentication: { symmetricKey: { primaryKey: string } } }).authentication.symmetricKey.primaryKey;
const client = Client.fromConnectionString(`HostName=${hostName};DeviceId=sdk-dev;SharedAccessKey=${key}`, Http);
await client.open();
const m = new Message(JSON.stringify({ event: 'tried_on', sku: 'JKT-9' }));
m.messageId = 'sdk-mid-1';
m.correlationId = 'sdk-cid-1';
m.contentType = 'application/json';
m.contentEncoding = 'utf-8';
m.properties.add('channel', 'ios');
out.sent = (await client.sendEvent(m)).constructor.name;
const batch = ['one', 'two', 'three'].map((b) => {
  const bm = new Message(b);
  bm.properties.add('n', b);
  return bm;
});
out.batchSent = (await client.sendEventBatch(batch)).constructor.name;
const wrong = Client.fromConnectionString(`HostName=${hostName};DeviceId=sdk-dev;SharedAccessKey=${Buffer.alloc(32, 7).toString('base64')}`, Http);
out.wrongKey = await errorName(wrong.sendEvent(new Message('x')));
await client.close();

const gone = await registry.create({ deviceId: 'sdk-temp' });
out.deleted = (await registry.delete('sdk-temp')).httpResponse.statusCode;
out.tempGeneration = (gone.responseBody as { generationId: string }).generationId;
// The Registry's keep-alive agent would hold the process open.
process.stdout.write(JSON.stringify(out), () => process.exit(0));
