// A stored message as readers receive it (ARCHITECTURE §3). The body is inlined as JSON when it
// is JSON, otherwise it is base64 with `"bodyEncoding": "base64"`:
//  - JSON means: valid UTF-8 that JSON.parse accepts, with no content encoding other than UTF-8,
//    and a content type that is absent, `application/json` or `…+json` (charset UTF-8 if given).
//    A body declared as JSON that does not parse is sent as base64 rather than altered.
//  - Anything else (text/plain, binary, gzip…) is base64, so every byte arrives as sent.
// The rule itself is core/json-body.ts; the log applies it once per message when storing it. IoT Hub's `systemProperties` (which repeat the top-level
// fields) are written only when a reader asks for them: they were more than half of each message.
//
// A page of 1,000 messages is the feed's hot path, so messages are written as bytes straight from
// what the log's scan hands over (EventLog.scan), with no object or string per message: what
// messages share (device, tenant, properties, auth…) is encoded once per SharedFields object, the
// time-dependent pieces once per enqueue time (messages committed together share it), numbers are
// written as digits, and a JSON body's text is encoded into place.
import { isJsonBody } from '../core/json-body.js';
import { systemProperties, type PartitionId, type SequenceNumber, type StoredMessage } from '../core/message.js';
import type { SharedFields } from '../log/event-log.js';

const str = JSON.stringify;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const ZERO = 0x30;

const bytes = (s: string): Buffer => Buffer.from(s, 'utf8');

/** JSON bytes in one growing buffer. */
export class ByteWriter {
  private buf: Buffer;
  private at = 0;

  constructor(capacity = 4096) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  get length(): number {
    return this.at;
  }

  /** Makes room for `n` more bytes at once, so a writer that will be large grows only once. */
  reserve(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }

  /** Bytes encoded once (the constant and cached pieces of a message). */
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }

  text(s: string): void {
    this.reserve(s.length * 3); // the most UTF-8 bytes one UTF-16 unit can take
    this.at += this.buf.write(s, this.at);
  }

  /** One ASCII character (a separator), without a call into the string encoder. */
  byte(c: number): void {
    this.reserve(1);
    this.buf[this.at++] = c;
  }

  /** A non-negative integer (up to 2^53) as decimal digits, without making its string. */
  digits(n: number): void {
    let len = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) len++;
    this.reserve(len);
    let i = this.at + len;
    while (n >= 10) {
      const q = Math.floor(n / 10);
      this.buf[--i] = ZERO + (n - q * 10);
      n = q;
    }
    this.buf[i - 1] = ZERO + n;
    this.at += len;
  }

  /** The bytes written so far (a view, valid until the next write). */
  done(): Buffer {
    return this.buf.subarray(0, this.at);
  }
}

/**
 * The parts of a message that depend only on its SharedFields, as text and, once used, as bytes
 * (made on first use, so fields seen once cost no more than they must).
 */
interface SharedParts {
  /** `,"deviceId":…,"tenant":…` — message and correlation ids follow it. */
  readonly head: string;
  /** Content type and encoding, and `,"properties":{…}`. */
  readonly middle: string;
  /** `,"systemProperties":{…,"iothub-enqueuedtime":"` — the enqueue time follows it. */
  readonly system: string;
  headBytes?: Buffer;
  middleBytes?: Buffer;
  tailBytes?: Buffer;
  /** head + middle (+ system), for the common message without ids. */
  leanBytes?: Buffer;
  wholeBytes?: Buffer;
}

const sharedParts = new WeakMap<SharedFields, SharedParts>();

/** The auth-method property as IoT Hub writes it: the domain's own text, JSON-quoted. */
function authText(s: SharedFields): string {
  const probe: StoredMessage = {
    partition: 0, sequenceNumber: 0, offset: '0', enqueuedTimeUtc: new Date(0), deviceId: s.deviceId, tenant: s.tenant,
    generationId: s.generationId, authMethod: s.authMethod, body: Buffer.alloc(0), properties: {},
  };
  return str(systemProperties(probe)['iothub-connection-auth-method']);
}

function encodeShared(s: SharedFields): SharedParts {
  let b = sharedParts.get(s);
  if (b === undefined) {
    const device = str(s.deviceId);
    const head = `,"deviceId":${device},"tenant":${str(s.tenant)}`;
    let middle = '';
    if (s.contentType !== undefined) middle += `,"contentType":${str(s.contentType)}`;
    if (s.contentEncoding !== undefined) middle += `,"contentEncoding":${str(s.contentEncoding)}`;
    // The log's stored JSON text of the properties is what JSON.stringify(properties) would give.
    middle += `,"properties":${s.propertiesJson}`;
    const system = `,"systemProperties":{"iothub-connection-device-id":${device},"iothub-connection-auth-method":${authText(s)}`
      + `,"iothub-connection-auth-generation-id":${str(s.generationId)},"iothub-enqueuedtime":"`;
    b = { head, middle, system };
    sharedParts.set(s, b);
  }
  return b;
}

/** The parts of a message that depend only on its enqueue time, as bytes. */
interface TimeBytes {
  readonly ms: number;
  /** `","enqueuedTimeUtc":"<ISO>"` */
  readonly first: Buffer;
  /** `<ISO>","iothub-message-source":"Telemetry","x-opt-sequence-number":` */
  readonly second: Buffer;
  /** `","x-opt-enqueued-time":<ms>},"body":` */
  readonly third: Buffer;
}

/** Messages committed together share their enqueue time, and a partition's times only rise. */
let lastTime: TimeBytes | undefined;
function encodeTime(ms: number): TimeBytes {
  if (lastTime?.ms !== ms) {
    const iso = new Date(ms).toISOString();
    lastTime = {
      ms,
      first: bytes(`","enqueuedTimeUtc":"${iso}"`),
      second: bytes(`${iso}","iothub-message-source":"Telemetry","x-opt-sequence-number":`),
      third: bytes(`","x-opt-enqueued-time":${ms}},"body":`),
    };
  }
  return lastTime;
}

const partitionHeads: Buffer[] = [];
const partitionHead = (p: PartitionId): Buffer => (partitionHeads[p] ??= bytes(`{"partition":${p},"sequenceNumber":`));
const OFFSET = bytes(',"offset":"');
const MESSAGE_ID = bytes(',"messageId":');
const CORRELATION_ID = bytes(',"correlationId":');
const X_OPT_OFFSET = bytes(',"x-opt-offset":"');
const BASE64_END = bytes('","bodyEncoding":"base64"}');
const BODY = bytes(',"body":');

/**
 * One message as a JSON object; the arguments after `withSystemProperties` are those of a
 * MessageVisitor. `systemProperties` (asked for with `system_properties=true`) is the domain's
 * systemProperties(m) written out by hand; a test pins the two equal.
 */
export function writeMessage(
  w: ByteWriter, withSystemProperties: boolean, partition: PartitionId, seq: SequenceNumber, enqueuedMs: number, shared: SharedFields,
  messageId: string | undefined, correlationId: string | undefined, body: string | Buffer,
): void {
  const s = encodeShared(shared);
  const t = encodeTime(enqueuedMs);
  w.bytes(partitionHead(partition));
  w.digits(seq);
  w.bytes(OFFSET);
  w.digits(seq); // a log's offset is its decimal sequence number (see MessageVisitor)
  w.bytes(t.first);
  if (messageId === undefined && correlationId === undefined) {
    w.bytes(withSystemProperties ? (s.wholeBytes ??= bytes(s.head + s.middle + s.system)) : (s.leanBytes ??= bytes(s.head + s.middle)));
  } else {
    w.bytes((s.headBytes ??= bytes(s.head)));
    if (messageId !== undefined) {
      w.bytes(MESSAGE_ID);
      w.text(str(messageId));
    }
    if (correlationId !== undefined) {
      w.bytes(CORRELATION_ID);
      w.text(str(correlationId));
    }
    w.bytes(withSystemProperties ? (s.tailBytes ??= bytes(s.middle + s.system)) : (s.middleBytes ??= bytes(s.middle)));
  }
  if (withSystemProperties) {
    w.bytes(t.second);
    w.digits(seq);
    w.bytes(X_OPT_OFFSET);
    w.digits(seq);
    w.bytes(t.third);
  } else {
    w.bytes(BODY);
  }
  if (typeof body === 'string') {
    w.text(body); // the text of a JSON body: its UTF-8 bytes are the stored ones
  } else if (shared.bodyIsJson ?? isJsonBody(body, shared.contentType, shared.contentEncoding)) {
    w.bytes(body); // valid UTF-8 JSON (rows stored before the log decided it at write time are checked here)
  } else {
    w.byte(QUOTE);
    w.text(body.toString('base64'));
    w.bytes(BASE64_END);
    return;
  }
  w.byte(CLOSE_BRACE);
}
