// Decoding IoT Hub's HTTP message formats into IncomingMessages.
import type { IncomingHttpHeaders } from 'node:http';
import { OmniError } from '../core/errors.js';
import { MAX_BATCH_MESSAGES, type IncomingMessage } from '../core/message.js';
import { parseJsonBody } from '../http/json-body.js';

/** Content type of IoT Hub's HTTP batch. */
export const BATCH_CONTENT_TYPE = 'application/vnd.microsoft.iothub.json';

const APP_PREFIX = 'iothub-app-';
const SYSTEM_HEADERS = {
  'iothub-messageid': 'messageId',
  'iothub-correlationid': 'correlationId',
  'iothub-contenttype': 'contentType',
  'iothub-contentencoding': 'contentEncoding',
} as const;
type SystemField = (typeof SYSTEM_HEADERS)[keyof typeof SYSTEM_HEADERS];

/** Content types that say nothing about the body; the message keeps no content type for them. */
const OPAQUE_TYPES = new Set(['application/octet-stream', 'binary/octet-stream', 'text/plain', '']);

export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

/** A single message: the body as sent, properties from IoT Hub's headers. */
export function messageFromHeaders(headers: IncomingHttpHeaders, body: Buffer): IncomingMessage {
  const properties: Record<string, string> = {};
  const system: Partial<Record<SystemField, string>> = {};
  for (const name in headers) {
    const value = headers[name];
    if (!name.startsWith('iothub-') || value === undefined) continue;
    const text = Array.isArray(value) ? value.join(',') : value;
    if (name.startsWith(APP_PREFIX)) properties[name.slice(APP_PREFIX.length)] = text;
    else if (name in SYSTEM_HEADERS) system[SYSTEM_HEADERS[name as keyof typeof SYSTEM_HEADERS]] = text;
  }
  // The Java SDK sends the body's type as Content-Type rather than iothub-contenttype.
  if (system.contentType === undefined) {
    const declared = headers['content-type'];
    if (declared && !OPAQUE_TYPES.has(mediaType(declared))) system.contentType = declared;
  }
  return { body, properties, messageId: system.messageId, correlationId: system.correlationId, contentType: system.contentType, contentEncoding: system.contentEncoding };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function bad(index: number, why: string): OmniError {
  return new OmniError('invalid_body', `Batch message ${index}: ${why}`);
}

/**
 * One batch element. IoT Hub's shape is `{"body": "<base64>", "properties": {"iothub-app-k": "v"}}`
 * (the Java SDK adds `"base64Encoded": true` and system properties). For browsers, a body that is
 * not a string is taken as JSON, and `"base64Encoded": false` takes a string body as text.
 */
export function messageFromBatchEntry(entry: unknown, index: number): IncomingMessage {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw bad(index, 'expected an object with a body');
  const e = entry as Record<string, unknown>;
  if (!('body' in e)) throw bad(index, 'missing body');
  const system: Partial<Record<SystemField, string>> = {};
  let body: Buffer;
  if (typeof e.body === 'string') {
    if (e.base64Encoded === false) body = Buffer.from(e.body, 'utf8');
    else if (BASE64.test(e.body)) body = Buffer.from(e.body, 'base64');
    else throw bad(index, 'body is not valid base64 (set "base64Encoded": false to send text)');
  } else {
    let text: string;
    try {
      text = JSON.stringify(e.body);
    } catch {
      // JSON.parse takes nesting deeper than JSON.stringify's stack can write back (a RangeError).
      throw bad(index, 'body nests too deeply');
    }
    body = Buffer.from(text, 'utf8');
    system.contentType = 'application/json';
    system.contentEncoding = 'utf-8';
  }
  if (e.base64Encoded !== undefined && typeof e.base64Encoded !== 'boolean') throw bad(index, 'base64Encoded must be true or false');
  const properties: Record<string, string> = {};
  if (e.properties !== undefined) {
    if (typeof e.properties !== 'object' || e.properties === null || Array.isArray(e.properties)) throw bad(index, 'properties must be an object');
    for (const [rawName, value] of Object.entries(e.properties)) {
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') throw bad(index, `property ${rawName} must be a string, number or boolean`);
      const name = rawName.toLowerCase();
      const text = String(value);
      if (name in SYSTEM_HEADERS) system[SYSTEM_HEADERS[name as keyof typeof SYSTEM_HEADERS]] = text;
      else properties[name.startsWith(APP_PREFIX) ? rawName.slice(APP_PREFIX.length) : rawName] = text;
    }
  }
  for (const [key, field] of [['messageId', 'messageId'], ['correlationId', 'correlationId'], ['contentType', 'contentType'], ['contentEncoding', 'contentEncoding']] as const) {
    const v = e[key];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw bad(index, `${key} must be a string`);
    system[field] = v;
  }
  return { body, properties, ...system };
}

export function messagesFromBatch(body: Buffer): IncomingMessage[] {
  const parsed = parseJsonBody(body, 'The batch');
  if (!Array.isArray(parsed)) throw new OmniError('invalid_body', 'A batch must be a JSON array of messages');
  if (parsed.length > MAX_BATCH_MESSAGES) throw new OmniError('batch_too_large', `A batch holds at most ${MAX_BATCH_MESSAGES} messages; got ${parsed.length}`);
  return parsed.map(messageFromBatchEntry);
}
