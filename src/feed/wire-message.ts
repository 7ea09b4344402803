// A stored message as readers receive it (ARCHITECTURE §3). The body is inlined as JSON when it
// is JSON, otherwise it is base64 with `"bodyEncoding": "base64"`:
//  - JSON means: valid UTF-8 that JSON.parse accepts, with no content encoding other than UTF-8,
//    and a content type that is absent, `application/json` or `…+json` (charset UTF-8 if given).
//    A body declared as JSON that does not parse is sent as base64 rather than altered.
//  - Anything else (text/plain, binary, gzip…) is base64, so every byte arrives as sent.
// Pages are built as JSON bytes directly: a page of 1,000 messages is the feed's hot path, and
// copying the already-validated body bytes avoids re-serialising every body. The rule itself lives
// with the log (isJsonBody in log/sqlite-log-schema.ts), whose writer thread applies it once per
// message at write time; what the log read as text (a JSON body, the properties) is copied as is.
import type { ServerResponse } from 'node:http';
import { systemProperties, type StoredMessage } from '../core/message.js';
import { isJsonBody as bodyIsJsonText } from '../log/sqlite-log-schema.js';

/**
 * Whether the body is JSON by the rules above (and so can be inlined byte for byte). The SQLite
 * log decides it once when it stores the message (on its writer thread) and says so in
 * `bodyIsJson`; messages without it (rows stored before that, other logs) are checked here.
 */
function isJsonBody(m: StoredMessage): boolean {
  return m.bodyIsJson ?? bodyIsJsonText(m.body, m.contentType, m.contentEncoding);
}

const str = JSON.stringify;
const COMMA = 0x2c;
const CLOSE_BRACE = 0x7d;

/** The auth-method property is one of a few texts; building it per message cost as much as the rest. */
const authTexts = new Map<string, string>();
let deviceAuthText: string | undefined;
function authMethodText(m: StoredMessage): string {
  if (m.authMethod.scope === 'device') return (deviceAuthText ??= str(systemProperties(m)['iothub-connection-auth-method']));
  const key = m.authMethod.policy ?? '';
  let text = authTexts.get(key);
  if (text === undefined) {
    if (authTexts.size > 1_000) authTexts.clear();
    authTexts.set(key, (text = str(systemProperties(m)['iothub-connection-auth-method'])));
  }
  return text;
}

/** Messages committed together share their enqueue time, so the last formatting is often reused. */
let lastIsoMs = NaN;
let lastIso = '';
function isoTime(d: Date): string {
  const ms = d.getTime();
  if (ms !== lastIsoMs) {
    lastIsoMs = ms;
    lastIso = d.toISOString();
  }
  return lastIso;
}

/**
 * JSON output into one growing buffer: strings are encoded straight into it and JSON bodies are
 * copied as the bytes they are. Concatenating a page as a string and encoding it at the end cost
 * as much again as building it.
 */
export class JsonWriter {
  private buf: Buffer;
  private at = 0;

  constructor(capacity = 4096) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  private reserve(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + bytes));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }

  text(s: string): void {
    this.reserve(s.length * 3); // the most UTF-8 bytes one UTF-16 unit can take
    this.at += this.buf.write(s, this.at, 'utf8');
  }

  /** One ASCII character (a separator), without a call into the string encoder. */
  byte(c: number): void {
    this.reserve(1);
    this.buf[this.at++] = c;
  }

  bytes(b: Buffer): void {
    this.reserve(b.length);
    this.at += b.copy(this.buf, this.at);
  }

  /** The bytes written so far (a view, valid until the next write). */
  done(): Buffer {
    return this.buf.subarray(0, this.at);
  }
}

/**
 * One message as a JSON object. `systemProperties` is written out here rather than through
 * JSON.stringify(systemProperties(m)), which took half the page's time; a test pins the two equal.
 */
export function writeMessage(w: JsonWriter, m: StoredMessage): void {
  const device = str(m.deviceId);
  const offset = str(m.offset);
  const enqueued = isoTime(m.enqueuedTimeUtc);
  let out = `{"partition":${m.partition},"sequenceNumber":${m.sequenceNumber},"offset":${offset},"enqueuedTimeUtc":"${enqueued}","deviceId":${device},"tenant":${str(m.tenant)}`;
  if (m.messageId !== undefined) out += `,"messageId":${str(m.messageId)}`;
  if (m.correlationId !== undefined) out += `,"correlationId":${str(m.correlationId)}`;
  if (m.contentType !== undefined) out += `,"contentType":${str(m.contentType)}`;
  if (m.contentEncoding !== undefined) out += `,"contentEncoding":${str(m.contentEncoding)}`;
  // The log's stored JSON text of the properties is what JSON.stringify(m.properties) would give.
  out += `,"properties":${m.propertiesJson ?? str(m.properties)},"systemProperties":{"iothub-connection-device-id":${device},"iothub-connection-auth-method":${authMethodText(m)}`
    + `,"iothub-connection-auth-generation-id":${str(m.generationId)},"iothub-enqueuedtime":"${enqueued}","iothub-message-source":"Telemetry"`
    + `,"x-opt-sequence-number":${m.sequenceNumber},"x-opt-offset":${offset},"x-opt-enqueued-time":${m.enqueuedTimeUtc.getTime()}},"body":`;
  if (m.bodyText !== undefined) {
    w.text(`${out}${m.bodyText}}`); // the log's text of a JSON body: written as the UTF-8 it was stored as
  } else if (isJsonBody(m)) {
    w.text(out);
    w.bytes(m.body); // valid UTF-8 JSON: its bytes are already the JSON text
    w.byte(CLOSE_BRACE);
  } else {
    w.text(`${out}"${m.body.toString('base64')}","bodyEncoding":"base64"}`);
  }
}

/** One message as JSON text (SSE events, tests). */
export function encodeMessage(m: StoredMessage): string {
  const w = new JsonWriter();
  writeMessage(w, m);
  return w.done().toString('utf8');
}

/** `prefix` + a JSON array of the messages + `suffix`, as bytes ready to send. */
export function encodePage(prefix: string, messages: readonly StoredMessage[], suffix: string): Buffer {
  let estimate = prefix.length + suffix.length + 2;
  for (const m of messages) estimate += (m.bodyText !== undefined ? m.bodyText.length * 1.1 : m.body.length * 1.4) + 768;
  const w = new JsonWriter(Math.ceil(estimate));
  w.text(`${prefix}[`);
  for (let i = 0; i < messages.length; i++) {
    if (i > 0) w.byte(COMMA);
    writeMessage(w, messages[i]!);
  }
  w.text(`]${suffix}`);
  return w.done();
}

/** Sends JSON bytes already built (the shell's `ctx.json` would serialise an object again). */
export function sendJson(res: ServerResponse, status: number, bytes: Buffer): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': bytes.length });
  res.end(bytes);
}
