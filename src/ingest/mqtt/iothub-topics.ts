// IoT Hub's MQTT names as pure functions: the CONNECT username, the telemetry topic and its
// property bag, the subscriptions the SDKs make. The endpoint uses them, and a bridge from another
// broker reuses `messageFromPropertyBag` to turn what it receives into the same message fields.
import { OmniError } from '../../core/errors.js';
import type { IncomingMessage } from '../../core/message.js';

/** `{hostName}/{deviceId}/?api-version=…`, split. */
export interface MqttUsername {
  readonly hostName: string;
  readonly deviceId: string;
  /** Set for a module identity (`{host}/{device}/{module}/?…`), which the gateway does not have. */
  readonly moduleId: string | undefined;
  /** What follows the identity, without its `?`: `api-version=…&DeviceClientType=…`, ignored. */
  readonly query: string;
}

/**
 * Parses IoT Hub's username leniently, as the hub does: the `?` before the query may be missing
 * (older C SDKs wrote `…/{id}/api-version=…`), the query too, and extra fields such as
 * `DeviceClientType` or `model-id` are kept but never read. Undefined when there is no
 * `{host}/{deviceId}` at its start. Device ids never contain `/`, so splitting on it is safe.
 */
export function parseUsername(username: string): MqttUsername | undefined {
  const hostEnd = username.indexOf('/');
  if (hostEnd <= 0) return undefined;
  const idEnd = username.indexOf('/', hostEnd + 1);
  const deviceId = username.slice(hostEnd + 1, idEnd < 0 ? undefined : idEnd);
  if (deviceId === '') return undefined;
  let rest = idEnd < 0 ? '' : username.slice(idEnd + 1);
  let moduleId: string | undefined;
  const slash = rest.indexOf('/');
  if (slash >= 0 && !rest.slice(0, slash).includes('=')) {
    moduleId = rest.slice(0, slash);
    rest = rest.slice(slash + 1);
  }
  return { hostName: username.slice(0, hostEnd), deviceId, moduleId, query: rest.startsWith('?') ? rest.slice(1) : rest };
}

const DEVICES = 'devices/';
const EVENTS = '/messages/events';

/** The device segment (as written, maybe percent-encoded) and the property bag of a telemetry topic. */
export interface EventTopic {
  readonly deviceSegment: string;
  readonly propertyBag: string;
}

/** `devices/{id}/messages/events/{bag}` (the trailing `/` and the bag may be missing); undefined for any other topic. */
export function parseEventTopic(topic: string): EventTopic | undefined {
  if (!topic.startsWith(DEVICES)) return undefined;
  const idEnd = topic.indexOf('/', DEVICES.length);
  if (idEnd <= DEVICES.length || !topic.startsWith(EVENTS, idEnd)) return undefined;
  const after = idEnd + EVENTS.length;
  if (after < topic.length && topic.charCodeAt(after) !== 0x2f) return undefined;
  return { deviceSegment: topic.slice(DEVICES.length, idEnd), propertyBag: topic.slice(after + 1) };
}

/** Whether a topic's device segment names `deviceId`: the SDKs percent-encode it, other clients may not. */
export function segmentNamesDevice(segment: string, deviceId: string): boolean {
  if (segment === deviceId) return true;
  if (!segment.includes('%')) return false;
  try {
    return decodeURIComponent(segment) === deviceId;
  } catch {
    return false;
  }
}

/** What a property bag sets: IoT Hub's system properties, and the application properties. */
export interface PropertyBag {
  readonly messageId: string | undefined;
  readonly correlationId: string | undefined;
  readonly contentType: string | undefined;
  readonly contentEncoding: string | undefined;
  readonly properties: Record<string, string>;
}

function decode(text: string, bag: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    throw new OmniError('invalid_argument', `The property bag '${bag.slice(0, 200)}' has a malformed percent-escape in '${text.slice(0, 100)}'`);
  }
}

/**
 * Decodes `k=v&k2=v2` as the SDKs write it (URL-encoded keys and values: `%24.mid=…`). `$.mid`,
 * `$.cid`, `$.ct` and `$.ce` become the message id, correlation id, content type and encoding;
 * every other key, `$.`-prefixed ones included, is an application property. A key without `=` is
 * a property with an empty value (IoT Hub's null); empty segments are skipped; a repeated key keeps
 * its last value. Throws `invalid_argument` on a malformed percent-escape.
 */
export function decodePropertyBag(bag: string): PropertyBag {
  let messageId: string | undefined;
  let correlationId: string | undefined;
  let contentType: string | undefined;
  let contentEncoding: string | undefined;
  const properties: Record<string, string> = {};
  if (bag !== '') {
    for (const pair of bag.split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const key = decode(eq < 0 ? pair : pair.slice(0, eq), bag);
      const value = eq < 0 ? '' : decode(pair.slice(eq + 1), bag);
      if (key === '') continue;
      switch (key) {
        case '$.mid': messageId = value || undefined; break;
        case '$.cid': correlationId = value || undefined; break;
        case '$.ct': contentType = value || undefined; break;
        case '$.ce': contentEncoding = value || undefined; break;
        // A plain assignment to __proto__ would set the object's prototype, not a property.
        default: Object.defineProperty(properties, key, { value, enumerable: true, writable: true, configurable: true });
      }
    }
  }
  return { messageId, correlationId, contentType, contentEncoding, properties };
}

/** The message a publish carries: its payload, and what its property bag says. `retain` adds `mqtt-retain`, as IoT Hub does. */
export function messageFromPropertyBag(propertyBag: string, payload: Buffer, retain = false): IncomingMessage {
  const bag = decodePropertyBag(propertyBag);
  if (retain) bag.properties['mqtt-retain'] = 'true';
  return { body: payload, properties: bag.properties, messageId: bag.messageId, correlationId: bag.correlationId, contentType: bag.contentType, contentEncoding: bag.contentEncoding };
}

/**
 * The message of a device's publish, or `topic_not_allowed` when the topic is not the device's own
 * telemetry topic (IoT Hub then closes the connection). `invalid_argument` for a malformed bag.
 */
export function messageFromEventTopic(topic: string, payload: Buffer, deviceId: string, retain = false): IncomingMessage {
  const parsed = parseEventTopic(topic);
  if (!parsed) throw new OmniError('topic_not_allowed', `'${topic.slice(0, 200)}' is not a telemetry topic: publish to devices/${deviceId}/messages/events/`);
  if (!segmentNamesDevice(parsed.deviceSegment, deviceId)) {
    throw new OmniError('topic_not_allowed', `Device '${deviceId}' may not publish to another device's topic '${topic.slice(0, 200)}'`);
  }
  return messageFromPropertyBag(parsed.propertyBag, payload, retain);
}

/**
 * Subscriptions the official SDKs make (cloud-to-device messages, twin responses, direct
 * methods): granted, so `open()` and the features' setup succeed, though nothing is sent on them
 * yet. Any other filter is refused (SUBACK 0x80).
 */
export function isSdkSubscription(filter: string, deviceId: string): boolean {
  if (filter === '$iothub/twin/res/#' || filter === '$iothub/methods/POST/#') return true;
  if (!filter.startsWith(DEVICES) || !filter.endsWith('/messages/devicebound/#')) return false;
  return segmentNamesDevice(filter.slice(DEVICES.length, filter.length - '/messages/devicebound/#'.length), deviceId);
}
