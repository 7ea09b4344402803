// IoT Hub's MQTT names as pure functions: usernames, telemetry topics, property bags, subscriptions.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OmniError } from '../../src/core/errors.js';
import {
  decodePropertyBag, isSdkSubscription, messageFromEventTopic, messageFromPropertyBag, parseEventTopic, parseUsername, segmentNamesDevice,
} from '../../src/ingest/mqtt/iothub-topics.js';

describe('parseUsername', () => {
  test('the Node SDK\'s username, with DeviceClientType', () => {
    const u = parseUsername('localhost/dev1/?api-version=2021-04-12&DeviceClientType=azure-iot-device%2F1.18.4%20(node%20v20.20.2%3B%20Debian%2012%3B%20x64)');
    assert.deepEqual(u, { hostName: 'localhost', deviceId: 'dev1', moduleId: undefined, query: 'api-version=2021-04-12&DeviceClientType=azure-iot-device%2F1.18.4%20(node%20v20.20.2%3B%20Debian%2012%3B%20x64)' });
  });

  test('lenient forms: no ?, no query, no trailing slash, model-id, an unencoded / in a query value', () => {
    assert.equal(parseUsername('hub.example.com/dev1/api-version=2016-11-14&DeviceClientType=iothubclient%2F1.1.7')?.deviceId, 'dev1');
    assert.deepEqual(parseUsername('hub/dev1/'), { hostName: 'hub', deviceId: 'dev1', moduleId: undefined, query: '' });
    assert.deepEqual(parseUsername('hub/dev1'), { hostName: 'hub', deviceId: 'dev1', moduleId: undefined, query: '' });
    assert.equal(parseUsername('hub/dev1/?api-version=2021-04-12&model-id=dtmi:x;1')?.query, 'api-version=2021-04-12&model-id=dtmi:x;1');
    assert.equal(parseUsername('hub/dev1/?api-version=1&DeviceClientType=foo/1.0')?.moduleId, undefined);
  });

  test('device ids with IoT Hub\'s special characters; a module identity is recognised', () => {
    assert.equal(parseUsername("hub/a-b.c%d_e*f?g!h(i),j:k=l@m$n'o/?api-version=1")?.deviceId, "a-b.c%d_e*f?g!h(i),j:k=l@m$n'o");
    assert.deepEqual(parseUsername('hub/dev1/mod1/?api-version=1'), { hostName: 'hub', deviceId: 'dev1', moduleId: 'mod1', query: 'api-version=1' });
  });

  test('no host or no device: undefined', () => {
    for (const bad of ['', 'localhost', '/dev1/?api-version=1', 'localhost//?api-version=1', 'localhost/']) assert.equal(parseUsername(bad), undefined, bad);
  });
});

describe('telemetry topics', () => {
  test('devices/{id}/messages/events/ with or without a property bag or the trailing slash', () => {
    assert.deepEqual(parseEventTopic('devices/dev1/messages/events/'), { deviceSegment: 'dev1', propertyBag: '' });
    assert.deepEqual(parseEventTopic('devices/dev1/messages/events'), { deviceSegment: 'dev1', propertyBag: '' });
    assert.deepEqual(parseEventTopic('devices/dev1/messages/events/%24.mid=1&k=v/w'), { deviceSegment: 'dev1', propertyBag: '%24.mid=1&k=v/w' });
  });

  test('other topics are not telemetry', () => {
    for (const t of ['devices/dev1/messages/eventsX', 'devices//messages/events/', 'devices/dev1/messages/devicebound/', '$iothub/twin/GET/?$rid=1', 'dev1/events', 'devices/dev1']) {
      assert.equal(parseEventTopic(t), undefined, t);
    }
  });

  test('the device segment names the device as written or percent-encoded (the SDKs encode it)', () => {
    assert.ok(segmentNamesDevice('dev1', 'dev1'));
    assert.ok(segmentNamesDevice('a%3Ab', 'a:b'));
    assert.ok(segmentNamesDevice('50%', '50%'), 'a literal % that is no escape');
    assert.ok(!segmentNamesDevice('dev2', 'dev1'));
    assert.ok(!segmentNamesDevice('Dev1', 'dev1'), 'device ids are case-sensitive');
  });
});

describe('property bags', () => {
  test('system properties into message fields, everything else an application property, keys and values URL-decoded', () => {
    const bag = decodePropertyBag('%24.mid=mid-2&%24.cid=c%201&%24.ct=application%2Fjson&%24.ce=utf-8&k%201=v%2F1&%24.uid=u&flag&empty=');
    assert.deepEqual(bag, {
      messageId: 'mid-2', correlationId: 'c 1', contentType: 'application/json', contentEncoding: 'utf-8',
      properties: { 'k 1': 'v/1', '$.uid': 'u', flag: '', empty: '' },
    });
  });

  test('unencoded $ keys (mosquitto_pub users), empty segments, a repeated key keeps its last value, an empty $.mid is none', () => {
    assert.deepEqual(decodePropertyBag('$.mid=m1&&a=1&a=2&'), { messageId: 'm1', correlationId: undefined, contentType: undefined, contentEncoding: undefined, properties: { a: '2' } });
    assert.equal(decodePropertyBag('%24.mid=').messageId, undefined);
    assert.deepEqual(decodePropertyBag('').properties, {});
  });

  test('__proto__ is an ordinary property name', () => {
    const { properties } = decodePropertyBag('__proto__=x&constructor=y');
    assert.deepEqual(Object.entries(properties), [['__proto__', 'x'], ['constructor', 'y']]);
    assert.equal(Object.getPrototypeOf(properties), Object.prototype);
  });

  test('a malformed escape is invalid_argument', () => {
    assert.throws(() => decodePropertyBag('k=%ZZ'), (e: unknown) => e instanceof OmniError && e.code === 'invalid_argument');
  });

  test('messageFromPropertyBag: the payload as the body; retain adds mqtt-retain as IoT Hub does', () => {
    const m = messageFromPropertyBag('%24.mid=1&store=12', Buffer.from('hi'), true);
    assert.equal(m.body.toString(), 'hi');
    assert.equal(m.messageId, '1');
    assert.deepEqual(m.properties, { store: '12', 'mqtt-retain': 'true' });
  });
});

describe('messageFromEventTopic', () => {
  test('a device\'s own topic gives its message', () => {
    const m = messageFromEventTopic('devices/dev1/messages/events/%24.mid=mid-2&%24.ct=application%2Fjson&k%201=v%2F1', Buffer.from('hello'), 'dev1');
    assert.equal(m.messageId, 'mid-2');
    assert.equal(m.contentType, 'application/json');
    assert.deepEqual(m.properties, { 'k 1': 'v/1' });
  });

  test('another device\'s topic or a foreign topic is topic_not_allowed', () => {
    for (const topic of ['devices/dev2/messages/events/', 'stores/12/readers/dev1', '$iothub/twin/GET/?$rid=1']) {
      assert.throws(() => messageFromEventTopic(topic, Buffer.alloc(0), 'dev1'), (e: unknown) => e instanceof OmniError && e.code === 'topic_not_allowed', topic);
    }
  });
});

test('the subscriptions the SDKs make are granted, others are not', () => {
  for (const f of ['devices/dev1/messages/devicebound/#', '$iothub/twin/res/#', '$iothub/methods/POST/#']) assert.ok(isSdkSubscription(f, 'dev1'), f);
  for (const f of ['devices/dev2/messages/devicebound/#', '#', 'devices/+/messages/events/#', '$iothub/twin/PATCH/properties/desired/#', 'devices/dev1/messages/events/']) {
    assert.ok(!isSdkSubscription(f, 'dev1'), f);
  }
});
