// Generators of hostile input for the hardening suite (fast-check arbitraries). Each case says
// what it may do to the server: `refuse` cases must be answered with a 4xx and store nothing;
// the others may be accepted, and then store exactly `messages` messages, each with an id of its
// own so that dedup cannot hide a message stored twice or one lost.
import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import { signSasToken } from '../../src/auth/sas.js';
import type { HttpRequest } from './raw-clients.js';

export interface Identity {
  readonly deviceId: string;
  readonly key: string;
}

export interface Fixture {
  readonly hostName: string;
  /** The device the HTTP cases send as. */
  readonly good: Identity;
  readonly other: Identity;
  /** One device per MQTT lane, so that lanes do not take each other's sessions over. */
  readonly mqttDevices: readonly Identity[];
  readonly ownerKey: string;
  readonly serviceKey: string;
  readonly registryReadKey: string;
  /** A consumer group that exists, so that its routes get past the lookup. */
  readonly group: string;
}

export interface HttpCase extends HttpRequest {
  readonly kind: string;
  readonly refuse: boolean;
  /** Must be accepted: an intact credential in another legal form. */
  readonly accept?: boolean;
  /** Messages stored if the server accepts it. */
  readonly messages: number;
  /** The ids of the messages it may store (each case's ids are its own). */
  readonly ids?: readonly string[];
}

export interface MqttCase {
  readonly kind: string;
  readonly bytes: Buffer;
  /** Packets in `bytes` (for the count of what was sent). */
  readonly packets: number;
  /** A CONNACK with return code 0 is a failure. */
  readonly refuseConnect: boolean;
  /** PUBACKs are allowed only for these packet ids, each the publish of the message id it maps to. */
  readonly mayAck: ReadonlyMap<number, string>;
  /** The device's own publish with QoS 1 and a valid bag: it must be acknowledged. */
  readonly mustAck?: number;
}

const API = 'api-version=2021-04-12';
const soon = (): number => Math.floor(Date.now() / 1000) + 3600;
let unique = 0;
/** A message id no other case uses. */
export const uniqueId = (): string => `hostile-${process.pid}-${++unique}`;

export function deviceToken(f: Fixture, who: Identity, expiry = soon()): string {
  return signSasToken({ resource: `${f.hostName}/devices/${who.deviceId}`, key: who.key, expiry });
}

function policyToken(f: Fixture, name: string, key: string): string {
  return signSasToken({ resource: f.hostName, key, keyName: name, expiry: soon() });
}

// ---- SAS tokens -----------------------------------------------------------------------------

type Field = [name: string, value: string];

function fieldsOf(token: string): Field[] {
  return token.slice('SharedAccessSignature '.length).split('&').map((p) => {
    const eq = p.indexOf('=');
    return [p.slice(0, eq), p.slice(eq + 1)];
  });
}

const join = (fields: readonly Field[], prefix = 'SharedAccessSignature '): string => prefix + fields.map(([n, v]) => `${n}=${v}`).join('&');

/** A character that is not `c`, for one-character corruptions. */
const otherChar = (c: string): string => (c === 'A' ? 'B' : 'A');

function corruptSig(fields: Field[], at: number): Field[] {
  return fields.map(([n, v]) => {
    if (n !== 'sig') return [n, v];
    const i = at % v.length;
    return [n, v.slice(0, i) + otherChar(v[i]!) + v.slice(i + 1)];
  });
}

const junkText = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'grapheme', maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.constantFrom('', ' ', 'SharedAccessSignature', 'SharedAccessSignature ', 'sharedaccesssignature sr=a&sig=b&se=1', 'Bearer abc', 'Basic Zm9vOmJhcg==',
    'SharedAccessSignature sr=&sig=&se=', 'SharedAccessSignature &&&', 'SharedAccessSignature ==='),
);

/** Credentials that must never be accepted for device `good`, each labelled with how it was made. */
export function badDeviceCredential(f: Fixture, who: Identity = f.good): fc.Arbitrary<[string, string]> {
  const valid = () => deviceToken(f, who);
  return fc.oneof(
    fc.nat().map((n): [string, string] => {
      const t = valid();
      return ['truncated', t.slice(0, n % t.length)];
    }),
    fc.tuple(fc.nat(), fc.infiniteStream(fc.nat())).map(([at, order]): [string, string] => {
      const fields = corruptSig(fieldsOf(valid()), at);
      const it = order[Symbol.iterator]();
      const shuffled = fields.map((fl) => [it.next().value as number, fl] as const).sort((a, b) => a[0] - b[0]).map(([, fl]) => fl);
      return ['reordered, one signature character changed', join(shuffled)];
    }),
    fc.constantFrom('decoded sr', 'lower-case escapes in sr', 'double-encoded sr', 'base64url sig', 'sig not encoded', 'sig twice', 'se twice').map((how): [string, string] => {
      const fields = fieldsOf(valid());
      const map = (name: string, fn: (v: string) => string): Field[] => fields.map(([n, v]) => [n, n === name ? fn(v) : v]);
      switch (how) {
        case 'decoded sr': return [how, join(map('sr', decodeURIComponent))];
        case 'lower-case escapes in sr': return [how, join(map('sr', (v) => v.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase())))];
        case 'double-encoded sr': return [how, join(map('sr', encodeURIComponent))];
        case 'base64url sig': {
          // A signature with neither '+' nor '/' reads the same in both alphabets: drop its padding too.
          return [how, join(map('sig', (v) => decodeURIComponent(v).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') + '-'))];
        }
        case 'sig not encoded': return [how, join(map('sig', (v) => decodeURIComponent(v).replace(/=+$/, '')))];
        case 'sig twice': return [how, join([...fields, ['sig', fields.find(([n]) => n === 'sig')![1]]])];
        default: return [how, join([...fields, ['se', '1']])];
      }
    }),
    fc.oneof(
      fc.constantFrom('0', '-1', '1.5', '1e10', '', ' ', '9'.repeat(13), '0x7fffffff', 'NaN', 'Infinity', '１２３'),
      fc.integer({ min: 0, max: Math.floor(Date.now() / 1000) - 400 }).map(String),
    ).map((se): [string, string] => ['expiry', join(fieldsOf(valid()).map(([n, v]): Field => [n, n === 'se' ? se : v]))]),
    fc.integer({ min: 1, max: 24 }).map((kb): [string, string] => {
      const fields = fieldsOf(valid());
      return ['huge', join(fields.map(([n, v]): Field => [n, n === 'sig' ? v + 'A'.repeat(kb * 1024) : v]))];
    }),
    fc.integer({ min: 40, max: 80 }).map((kb): [string, string] => ['over the header limit', valid().replace('&se=', `${'A'.repeat(kb * 1024)}&se=`)]),
    junkText.map((t): [string, string] => ['junk', t]),
    fc.constant(null).map((): [string, string] => ["another device's token", deviceToken(f, f.other)]),
    fc.constant(null).map((): [string, string] => ['expired long ago', deviceToken(f, who, 1_000_000)]),
    fc.constant(null).map((): [string, string] => ['signed with the other key', signSasToken({ resource: `${f.hostName}/devices/${who.deviceId}`, key: f.other.key, expiry: soon() })]),
    fc.constant(null).map((): [string, string] => ['policy without DeviceConnect', policyToken(f, 'registryRead', f.registryReadKey)]),
    fc.string({ minLength: 1, maxLength: 20 }).map((name): [string, string] => ['unknown policy', signSasToken({ resource: f.hostName, key: f.ownerKey, keyName: `x${name}`, expiry: soon() })]),
    fc.constant(null).map((): [string, string] => ['wrong hub', signSasToken({ resource: `evil.example/devices/${who.deviceId}`, key: who.key, expiry: soon() })]),
    fc.constant(null).map((): [string, string] => ['scope of a prefix of the id', signSasToken({ resource: `${f.hostName}/devices/${who.deviceId.slice(0, -1)}`, key: who.key, expiry: soon() })]),
  );
}

/** Intact tokens in other legal spellings: fields reordered, names in other cases. */
function intactVariant(f: Fixture): fc.Arbitrary<string> {
  return fc.tuple(fc.infiniteStream(fc.nat()), fc.boolean()).map(([order, upper]) => {
    const it = order[Symbol.iterator]();
    const fields = fieldsOf(deviceToken(f, f.good))
      .map(([n, v]) => [it.next().value as number, [upper ? n.toUpperCase() : n, v] as Field] as const)
      .sort((a, b) => a[0] - b[0]).map(([, fl]) => fl);
    return join(fields);
  });
}

// ---- HTTP cases -----------------------------------------------------------------------------

const eventsPath = (id: string) => `/devices/${id}/messages/events?${API}`;
const auth = (token: string): [string, string] => ['Authorization', token];

/** Header names and values with anything in them. */
const headerName = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40 }).map((s) => `iothub-app-${s}`),
  fc.constantFrom('iothub-contenttype', 'iothub-contentencoding', 'iothub-correlationid', 'content-type', 'content-encoding', 'transfer-encoding',
    'iothub-app-', 'iothub-', 'x-forwarded-for', 'origin', 'expect', 'upgrade', 'te'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }),
);
const headerValue = fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 100 }), fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.constantFrom('application/vnd.microsoft.iothub.json', 'gzip', 'chunked', '100-continue', 'websocket', '\u0000', 'a\r\nInjected: 1'));

/** Random JSON and almost-batches; entries get ids of their own so that dedup cannot merge two. */
const batchEntry = fc.record({
  body: fc.oneof(fc.base64String({ maxLength: 200 }), fc.string({ maxLength: 50 }), fc.jsonValue({ maxDepth: 3 })),
  properties: fc.oneof(fc.dictionary(fc.string({ maxLength: 20 }), fc.oneof(fc.string({ maxLength: 30 }), fc.double(), fc.boolean(), fc.jsonValue({ maxDepth: 2 })), { maxKeys: 6 }), fc.jsonValue({ maxDepth: 2 })),
  base64Encoded: fc.jsonValue({ maxDepth: 1 }),
  correlationId: fc.jsonValue({ maxDepth: 1 }),
  contentType: fc.jsonValue({ maxDepth: 1 }),
}, { requiredKeys: [] });

function withUniqueIds(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  return value.map((e: unknown) => {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) return e;
    const entry: Record<string, unknown> = { ...(e as Record<string, unknown>), messageId: uniqueId() };
    const props = entry.properties;
    if (typeof props === 'object' && props !== null && !Array.isArray(props)) {
      entry.properties = Object.fromEntries(Object.entries(props).filter(([k]) => k.toLowerCase() !== 'iothub-messageid'));
    }
    return entry;
  });
}

function withIdsIfJson(text: string): string {
  try {
    return JSON.stringify(withUniqueIds(JSON.parse(text)));
  } catch {
    return text;
  }
}

const batchText: fc.Arbitrary<string> = fc.oneof(
  fc.array(batchEntry, { maxLength: 12 }).map((b) => JSON.stringify(withUniqueIds(b))),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(withUniqueIds(v))),
  fc.tuple(fc.array(batchEntry, { minLength: 1, maxLength: 6 }), fc.nat(), fc.string({ maxLength: 3 })).map(([b, at, insert]) => {
    const text = JSON.stringify(withUniqueIds(b));
    const i = at % text.length;
    return text.slice(0, i) + insert + text.slice(i + 1);
  }),
  fc.integer({ min: 1, max: 150_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
  fc.integer({ min: 1, max: 30_000 }).map((depth) => `[{"messageId":"${uniqueId()}","body":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}]`),
  fc.constantFrom('', 'null', '[]', '[null]', '{}', '"x"', '[{"body":null}]', '[{"body":"YQ=="}', '\uFEFF[]', '[{"__proto__":{"body":"YQ=="}}]',
    '[{"body":"YQ==","properties":{"__proto__":"x"}}]', '[{"body":"YQ==","properties":{"constructor":"x","toString":"y"}}]').map(withIdsIfJson),
  fc.integer({ min: 501, max: 2000 }).map((n) => JSON.stringify(Array.from({ length: n }, () => ({ body: 'YQ==', messageId: uniqueId() })))),
);

/** Messages a batch text would store if accepted: its length when it is an array, else none. */
function batchSize(text: string): number {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.length : 0;
  } catch {
    return 0;
  }
}

/** Device ids that are not valid ones: unicode, traversal, 129 characters, encodings of '/'. */
export const badDeviceId = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).filter((s) => /[^A-Za-z0-9\-.%_*?!(),:=@$']/.test(s)).map(encodeURIComponent),
  fc.constantFrom('..', '.', '%2e%2e', '..%2F..%2Fetc%2Fpasswd', '..%2f', '%2F', 'a%2Fb', '%00', 'a%00b', '%ZZ', '%', '%C0%AF', '%E2%80%AE', 'con', '%20', 'a%20b',
    '~', 'a;b', 'a[b]', '%5C..%5C', '\u00e9t\u00e9'.normalize('NFD')).map((s) => (/^[\x21-\x7e]*$/.test(s) ? s : encodeURIComponent(s))),
  fc.integer({ min: 129, max: 2000 }).map((n) => 'a'.repeat(n)),
  fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 10 }).filter((s) => /[^A-Za-z0-9\-.%_*?!(),:=@$']/.test(s)).map(encodeURIComponent),
);

const queryValue = fc.oneof(
  fc.string({ maxLength: 30 }), fc.integer().map(String), fc.double().map(String),
  fc.constantFrom('', '-1', '0', '1e9', '9'.repeat(30), 'NaN', '0x10', '1.5', ' 1', '%', '%00', '../../', 'earliest', 'latest', '2026-01-01T00:00:00Z'),
);
const query = (names: readonly string[]) => fc.array(fc.tuple(fc.constantFrom(...names), queryValue), { maxLength: 4 })
  .map((pairs) => pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&'));
/** A `wait_ms` that never makes a read wait more than a moment. */
const shortWait = fc.oneof(fc.integer({ min: 0, max: 20 }).map(String), fc.constantFrom('-1', '30001', '1e6', 'x', ''));

export function httpCases(f: Fixture): fc.Arbitrary<HttpCase> {
  const goodAuth = () => auth(deviceToken(f, f.good));
  const service = () => auth(policyToken(f, 'service', f.serviceKey));
  const owner = () => auth(policyToken(f, 'iothubowner', f.ownerKey));
  const registryRead = () => auth(policyToken(f, 'registryRead', f.registryReadKey));
  const id = () => ['iothub-messageid', uniqueId()] as [string, string];
  const json = (v: unknown) => Buffer.from(JSON.stringify(v));

  const cases: Array<fc.Arbitrary<HttpCase>> = [
    // Credentials on the events route.
    badDeviceCredential(f).map(([how, token]) => ({
      kind: `SAS: ${how}`, method: 'POST', path: eventsPath(f.good.deviceId), headers: [auth(token), id()], body: Buffer.from('{"a":1}'), refuse: true, messages: 0,
    })),
    intactVariant(f).map((token) => ({
      kind: 'SAS: intact, reordered', method: 'POST', path: eventsPath(f.good.deviceId), headers: [auth(token), id()], body: Buffer.from('{"a":1}'), refuse: false, accept: true, messages: 1,
    })),
    fc.tuple(badDeviceCredential(f), badDeviceCredential(f)).map(([[, a], [, b]]) => ({
      kind: 'SAS: two Authorization headers', method: 'POST', path: eventsPath(f.good.deviceId), headers: [auth(a), auth(b), id()], body: Buffer.from('x'), refuse: true, messages: 0,
    })),
    fc.tuple(badDeviceCredential(f), fc.boolean()).map(([[how, token], first]) => ({
      kind: `SAS: a bad one beside a good one (${how})`, method: 'POST', path: eventsPath(f.good.deviceId),
      headers: first ? [auth(token), goodAuth(), id()] : [goodAuth(), auth(token), id()], body: Buffer.from('x'), refuse: true, messages: 0,
    })),
    badDeviceCredential(f).map(([how, token]) => ({
      kind: `beacon: ${how}`, method: 'POST', path: '/api/beacon', headers: [['content-type', 'text/plain']],
      body: json({ deviceId: f.good.deviceId, token, messages: [{ body: 'YQ==', messageId: uniqueId() }] }), refuse: true, messages: 0,
    })),
    // Headers, with a good token: anything the server accepts is one message.
    fc.array(fc.tuple(headerName, headerValue), { minLength: 1, maxLength: 8 }).map((headers) => ({
      kind: 'headers', method: 'POST', path: eventsPath(f.good.deviceId),
      headers: [goodAuth(), ...headers.filter(([n]) => !/^(content-length|connection|host|iothub-messageid|authorization)$/i.test(n.trim())), id()],
      body: Buffer.from('{"a":1}'), refuse: false,
      messages: 1,
    })),
    // Framing the parser must refuse.
    fc.constantFrom(
      ['two different Content-Lengths', 'Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd'],
      ['Content-Length and chunked', 'Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'],
      ['a negative Content-Length', 'Content-Length: -1\r\n\r\n'],
      ['a Content-Length that is not a number', 'Content-Length: 1e3\r\n\r\n'],
      ['a chunk size that is not hex', 'Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n'],
      ['an unknown transfer coding', 'Transfer-Encoding: gzip, chunked, x\r\n\r\n0\r\n\r\n'],
      ['a header line with no colon', 'Nonsense\r\nContent-Length: 0\r\n\r\n'],
      ['a space before the colon', 'Content-Length : 0\r\n\r\n'],
      ['a NUL in a header', 'iothub-app-a: b\u0000c\r\nContent-Length: 0\r\n\r\n'],
      ['a bare LF line', 'iothub-app-a: b\nContent-Length: 0\r\n\r\n'],
      ['obsolete line folding', 'iothub-app-a: b\r\n c\r\nContent-Length: 0\r\n\r\n'],
      ['a chunk over 256 KB', `Transfer-Encoding: chunked\r\n\r\n40001\r\n${'a'.repeat(0x40001)}\r\n0\r\n\r\n`],
    ).map(([how, rest]) => ({
      kind: `framing: ${how}`, method: 'POST', path: eventsPath(f.good.deviceId), headers: [goodAuth(), id()], rawFraming: true,
      body: Buffer.from(rest), refuse: true, messages: 0,
    })),
    fc.constantFrom('GET', 'POST', 'POST /devices/good/messages/events HTTP/9.9', 'POST /\u0000 ', 'BREW /', 'POST /devices/good/messages/events?\r\n', 'POST http://evil/ ').map((line) => ({
      kind: `request line: ${JSON.stringify(line)}`, method: line, path: '', headers: [], refuse: true, messages: 0,
    })),
    // Bodies.
    fc.oneof(fc.uint8Array({ maxLength: 2048 }), fc.integer({ min: 256 * 1024 - 64, max: 300 * 1024 }).map((n) => new Uint8Array(n))).map((bytes) => ({
      kind: 'single body', method: 'POST', path: eventsPath(f.good.deviceId), headers: [goodAuth(), id()], body: Buffer.from(bytes), refuse: false, messages: 1,
    })),
    batchText.map((text) => ({
      kind: 'batch body', method: 'POST', path: eventsPath(f.good.deviceId), headers: [goodAuth(), ['content-type', 'application/vnd.microsoft.iothub.json; charset=utf-8']],
      body: Buffer.from(text), refuse: false, messages: batchSize(text),
    })),
    batchText.map((text) => ({
      kind: 'beacon body', method: 'POST', path: '/api/beacon', headers: [['content-type', 'text/plain']],
      body: Buffer.from(`{"deviceId":${JSON.stringify(f.good.deviceId)},"token":${JSON.stringify(deviceToken(f, f.good))},"messages":${text}}`), refuse: false, messages: batchSize(text),
    })),
    // Device ids.
    badDeviceId.map((bad) => ({ kind: 'device id on the events route', method: 'POST', path: eventsPath(bad), headers: [goodAuth(), id()], body: Buffer.from('x'), refuse: true, messages: 0 })),
    badDeviceId.map((bad) => ({ kind: 'device id, policy token', method: 'POST', path: eventsPath(bad), headers: [auth(policyToken(f, 'iothubowner', f.ownerKey)), id()], body: Buffer.from('x'), refuse: true, messages: 0 })),
    fc.tuple(badDeviceId, fc.constantFrom('GET', 'PUT', 'DELETE')).map(([bad, method]) => ({
      kind: `registry ${method} with a bad id`, method, path: `/devices/${bad}?${API}`, headers: [owner(), ['content-type', 'application/json'], ['if-match', '*']],
      body: json({ deviceId: decodeSafely(bad) }), refuse: true, messages: 0,
    })),
    fc.constantFrom('PUT', 'DELETE').map((method) => ({
      kind: `registry ${method} with read rights only`, method, path: `/devices/${f.good.deviceId}?${API}`, headers: [registryRead(), ['content-type', 'application/json'], ['if-match', '*']],
      body: json({ deviceId: f.good.deviceId, status: 'disabled' }), refuse: true, messages: 0,
    })),
    fc.tuple(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom('PUT')).map(([value]) => ({
      kind: 'registry PUT of the existing device, no If-Match, any body', method: 'PUT', path: `/devices/${f.good.deviceId}?${API}`, headers: [owner(), ['content-type', 'application/json']],
      body: json(value), refuse: true, messages: 0,
    })),
    // Query routes.
    fc.tuple(fc.oneof(fc.integer({ min: -5, max: 40 }).map(String), fc.string({ maxLength: 8 }).map(encodeURIComponent)), query(['after_offset', 'max', 'max_bytes', 'system_properties', 'from_sequence'])).map(([p, q]) => ({
      kind: 'partition read', method: 'GET', path: `/api/partitions/${p}/messages?${q}`, headers: [service()], refuse: false, messages: 0,
    })),
    fc.tuple(fc.oneof(fc.constant(f.group), fc.string({ maxLength: 20 }).map(encodeURIComponent)), query(['max', 'reader', 'max_bytes', 'system_properties']), shortWait).map(([g, q, wait]) => ({
      kind: 'consumer-group read', method: 'GET', path: `/api/consumergroups/${g}/messages?${q}&wait_ms=${wait}`, headers: [service()], refuse: false, messages: 0,
    })),
    fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.record({ cursor: fc.oneof(fc.string({ maxLength: 300 }), fc.base64String({ maxLength: 300 }), fc.jsonValue()) })).map((body) => ({
      kind: 'forged checkpoint', method: 'POST', path: `/api/consumergroups/${f.group}/checkpoint`, headers: [service(), ['content-type', 'application/json']], body: json(body), refuse: true, messages: 0,
    })),
    fc.tuple(fc.constantFrom('/api/outputs/', '/api/jobs/', '/api/dashboards/', '/api/jobs/x/deadletters?', '/api/events?', '/api/consumergroups/'), fc.string({ maxLength: 20 }).map(encodeURIComponent),
      query(['limit', 'tenant', 'device', 'channel', 'event', 'after', 'viewer'])).map(([base, name, q]) => ({
      kind: `query route ${base}`, method: 'GET', path: base.endsWith('?') ? `${base}${q}` : `${base}${name}?${q}`, headers: [service()], refuse: false, messages: 0,
    })),
    fc.tuple(fc.constantFrom('/api/consumergroups/g/stream', '/api/outputs/x/stream', '/api/events/stream', '/api/stream', '/api/partitions', '/api/jobs', '/devices/'), junkText).map(([path, token]) => ({
      kind: `admin route, bad credential ${path}`, method: 'GET', path, headers: [auth(token)], refuse: true, messages: 0,
    })),
    fc.tuple(fc.constantFrom('start', 'stop', 'replay'), fc.string({ maxLength: 20 }).map(encodeURIComponent), fc.jsonValue({ maxDepth: 2 })).map(([action, name, body]) => ({
      kind: `job ${action} of an unknown job`, method: 'POST', path: `/api/jobs/x${name}/${action}`, headers: [service(), ['content-type', 'application/json']], body: json(body), refuse: true, messages: 0,
    })),
    fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.record({ appKey: fc.string({ maxLength: 60 }), deviceId: fc.oneof(fc.string(), badDeviceId), kind: fc.jsonValue() }, { requiredKeys: [] })).map((body) => ({
      kind: 'register with no valid app key', method: 'POST', path: '/api/register', headers: [['content-type', 'application/json']], body: json(body), refuse: true, messages: 0,
    })),
    fc.tuple(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE'), fc.string({ maxLength: 60 })).map(([method, path]) => ({
      kind: 'any path', method, path: `/${encodeURI(path).replace(/^\/+/, '')}`, headers: [['origin', 'https://evil.example']], refuse: method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS', messages: 0,
    })),
  ];
  return fc.oneof(...cases);
}

function decodeSafely(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

// ---- MQTT cases -----------------------------------------------------------------------------

function connectBytes(clientId: string, username: string | undefined, password: string | undefined, extra: Partial<mqttPacket.IConnectPacket> = {}): Buffer {
  return mqttPacket.generate({
    cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId,
    // mqtt-packet will not write a password without a user name (MQTT 3.1.1 forbids it).
    ...(username === undefined ? {} : { username }), ...(password === undefined || username === undefined ? {} : { password: Buffer.from(password) }), ...extra,
  });
}

const usernameOf = (f: Fixture, deviceId: string) => `${f.hostName}/${deviceId}/?${API}`;

function publishBytes(topic: string, payload: Buffer, qos: 0 | 1, messageId: number): Buffer {
  return mqttPacket.generate({ cmd: 'publish', topic, payload, qos, messageId: qos > 0 ? messageId : undefined, dup: false, retain: false } as mqttPacket.IPublishPacket);
}

/** A PUBLISH built by hand: any QoS bits, any topic bytes. */
function rawPublish(flags: number, topic: Buffer, rest: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from([topic.length >> 8, topic.length & 0xff]), topic, rest]);
  return Buffer.concat([Buffer.from([0x30 | (flags & 0x0f)]), remainingLength(body.length), body]);
}

function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

const bagText = fc.oneof(
  fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), fc.string({ maxLength: 20 }), { maxKeys: 5 })
    .map((d) => Object.entries(d).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')),
  fc.string({ maxLength: 60 }),
  fc.constantFrom('%', '%zz=1', '=&=&', '%24.ct=%ZZ', '%24.ce=', 'a=b=c', '&&&', '%24.cid=' + 'x'.repeat(5000)),
).map((bag) => bag.replace(/%24|\$|#|\+/g, '').split('\u0000').join(''));

/** Topics that are not the device's own telemetry topic. */
const foreignTopic = (own: string, other: string) => fc.oneof(
  fc.constantFrom(
    `devices/${other}/messages/events/`, `devices/${own}/../${other}/messages/events/`, `devices/${own}/messages/devicebound/`, `devices/${own}/messages/events/#`,
    `devices/${own}/messages/events/+`, '$SYS/broker/load', `$iothub/twin/PATCH/properties/reported/?$rid=1`, '/', `devices/${own.toUpperCase()}x/messages/events/`,
    `devices/%2e%2e/messages/events/`, 'devices//messages/events/', `devices/${own}%2F..%2F${other}/messages/events/`, 'a\u0000b',
  ),
  fc.string({ minLength: 1, maxLength: 80 }).filter((t) => !t.startsWith(`devices/${own}/messages/events`)),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
);

export function mqttCases(f: Fixture, lane: number): fc.Arbitrary<MqttCase> {
  const me = f.mqttDevices[lane]!;
  const other = f.mqttDevices[(lane + 1) % f.mqttDevices.length]!;
  const goodConnect = () => connectBytes(me.deviceId, usernameOf(f, me.deviceId), deviceToken(f, me));
  const own = `devices/${me.deviceId}/messages/events/`;
  const cases: Array<fc.Arbitrary<MqttCase>> = [
    // CONNECT with a credential that must be refused.
    badDeviceCredential(f, me).map(([how, token]) => ({
      kind: `CONNECT password: ${how}`, bytes: connectBytes(me.deviceId, usernameOf(f, me.deviceId), token), packets: 1, refuseConnect: true, mayAck: new Map(),
    })),
    fc.tuple(fc.oneof(fc.string({ maxLength: 40 }), fc.constant(other.deviceId), fc.constant('')), fc.oneof(fc.string({ maxLength: 80 }), fc.constant(usernameOf(f, other.deviceId)), fc.constant(undefined)), fc.boolean())
      .filter(([clientId, username]) => !(clientId === me.deviceId && username === usernameOf(f, me.deviceId)))
      .map(([clientId, username, withPassword]) => ({
        kind: 'CONNECT identity mismatch', bytes: connectBytes(clientId, username, withPassword ? deviceToken(f, me) : undefined), packets: 1, refuseConnect: true, mayAck: new Map(),
      })),
    fc.constantFrom<[string, Partial<mqttPacket.IConnectPacket>]>(
      ['protocol 3', { protocolVersion: 3, protocolId: 'MQIsdp' }], ['protocol 5', { protocolVersion: 5 }], ['a will', { will: { topic: 'x', payload: Buffer.from('y'), qos: 0, retain: false } }],
    ).map(([how, extra]) => ({ kind: `CONNECT ${how}`, bytes: connectBytes(me.deviceId, usernameOf(f, me.deviceId), deviceToken(f, me), extra), packets: 1, refuseConnect: false, mayAck: new Map<number, string>() })),
    // Garbage before or instead of a CONNECT.
    fc.uint8Array({ minLength: 1, maxLength: 2048 }).map((bytes) => ({ kind: 'random bytes', bytes: Buffer.from(bytes), packets: 1, refuseConnect: true, mayAck: new Map() })),
    fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([at, noise]) => {
      const c = goodConnect();
      const i = at % c.length;
      return { kind: 'CONNECT with bytes changed', bytes: Buffer.concat([c.subarray(0, i), Buffer.from(noise), c.subarray(i + noise.length)]), packets: 1, refuseConnect: false, mayAck: new Map<number, string>() };
    }),
    // After a good CONNECT.
    fc.array(foreignTopic(me.deviceId, other.deviceId), { minLength: 1, maxLength: 4 }).map((topics) => ({
      kind: 'PUBLISH to a foreign topic', bytes: Buffer.concat([goodConnect(), ...topics.map((t, i) => publishBytes(t, Buffer.from('x'), (i % 2) as 0 | 1, i + 1))]),
      packets: 1 + topics.length, refuseConnect: false, mayAck: new Map(),
    })),
    fc.array(fc.tuple(bagText, fc.uint8Array({ maxLength: 300 })), { minLength: 1, maxLength: 4 }).map((pubs) => {
      const ids = pubs.map(() => uniqueId());
      return {
        kind: 'PUBLISH with a fuzzed property bag', bytes: Buffer.concat([goodConnect(), ...pubs.map(([bag, payload], i) => publishBytes(`${own}${bag}${bag ? '&' : ''}%24.mid=${ids[i]}`, Buffer.from(payload), 1, i + 1))]),
        packets: 1 + pubs.length, refuseConnect: false, mayAck: new Map(ids.map((id, i) => [i + 1, id])),
      };
    }),
    fc.tuple(fc.constantFrom(0x04, 0x06, 0x05, 0x07), fc.uint8Array({ maxLength: 40 })).map(([flags, rest]) => ({
      kind: `PUBLISH with QoS bits ${(flags >> 1) & 3}`, bytes: Buffer.concat([goodConnect(), rawPublish(flags, Buffer.from(own), Buffer.concat([Buffer.from([0, 1]), Buffer.from(rest)]))]),
      packets: 2, refuseConnect: false, mayAck: new Map(),
    })),
    fc.tuple(fc.integer({ min: 256 * 1024 + 1, max: 300 * 1024 }), fc.constantFrom<0 | 1>(0, 1)).map(([n, qos]) => ({
      kind: 'PUBLISH over 256 KB', bytes: Buffer.concat([goodConnect(), publishBytes(`${own}%24.mid=${uniqueId()}`, Buffer.alloc(n), qos, 7)]), packets: 2, refuseConnect: false, mayAck: new Map(),
    })),
    fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 4 }), fc.uint8Array({ maxLength: 40 })).map(([header, rest]) => ({
      kind: 'a malformed packet after CONNECT', bytes: Buffer.concat([goodConnect(), Buffer.from(header), Buffer.from(rest)]), packets: 2, refuseConnect: false, mayAck: new Map(),
    })),
    fc.uint8Array({ minLength: 1, maxLength: 200 }).map((topic) => ({
      kind: 'PUBLISH with topic bytes that may not be UTF-8', bytes: Buffer.concat([goodConnect(), rawPublish(0x02, Buffer.from(topic), Buffer.from([0, 9, 0x78]))]), packets: 2, refuseConnect: false, mayAck: new Map(),
    })),
    fc.constant(null).map(() => {
      const mid = uniqueId();
      return { kind: 'a good publish', bytes: Buffer.concat([goodConnect(), publishBytes(`${own}%24.mid=${mid}`, Buffer.from('{"ok":1}'), 1, 3)]), packets: 2, refuseConnect: false, mayAck: new Map([[3, mid]]), mustAck: 3 };
    }),
  ];
  return fc.oneof(...cases);
}

