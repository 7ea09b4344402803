// How the JetStream log lays out its data: names of streams, subjects and the dedup bucket, the
// streams' configuration, and the headers that carry a message's fields (the body is the payload).
// The design is explained in jetstream-event-log.ts and docs/scale-out.md, "The log on JetStream".
import { createHash } from 'node:crypto';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { DiscardPolicy, RetentionPolicy, StorageType, type StreamConfig } from '@nats-io/jetstream';
import type { AuthMethod, NewMessage } from '../core/message.js';
import type { SharedFields } from './event-log.js';

/** A prefix names streams (`<prefix>_p<N>`), subjects (`<prefix>.p.<N>`) and the dedup bucket. */
export const STREAM_PREFIX = /^[A-Za-z0-9_-]{1,64}$/;

export function streamName(prefix: string, partition: number): string {
  return `${prefix}_p${partition}`;
}

export function subjectOf(prefix: string, partition: number): string {
  return `${prefix}.p.${partition}`;
}

/** The KV bucket that remembers (device, messageId) → original position past JetStream's own window. */
export function dedupBucket(prefix: string): string {
  return `${prefix}_dedup`;
}

/** JetStream refuses a max age or a duplicate window under 100 ms. */
export const MIN_JETSTREAM_WINDOW_MS = 100;

export interface StreamLayout {
  readonly prefix: string;
  readonly partitions: number;
  readonly replicas: number;
  readonly storage: 'file' | 'memory';
  /** JetStream's own expiry (max_age): retention plus a grace, a backstop for applyRetention. */
  readonly maxAgeMs: number;
  /** JetStream's duplicate window (Nats-Msg-Id). */
  readonly duplicateWindowMs: number;
}

const ns = (ms: number) => Math.round(ms * 1_000_000);

/** The description says what the stream is and how many partitions the log has (checked on open). */
export function describePartition(prefix: string, partition: number, partitions: number): string {
  return `Omnistream log ${prefix}: partition ${partition} of ${partitions}`;
}

/** The partition count a stream's description records, if it has one. */
export function partitionsOf(description: string | undefined): number | undefined {
  const m = /: partition \d+ of (\d+)$/.exec(description ?? '');
  return m ? Number(m[1]) : undefined;
}

export function streamConfig(layout: StreamLayout, partition: number): Partial<StreamConfig> & { name: string } {
  return {
    name: streamName(layout.prefix, partition),
    subjects: [subjectOf(layout.prefix, partition)],
    description: describePartition(layout.prefix, partition, layout.partitions),
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    storage: layout.storage === 'memory' ? StorageType.Memory : StorageType.File,
    num_replicas: layout.replicas,
    max_age: ns(layout.maxAgeMs),
    duplicate_window: ns(layout.duplicateWindowMs),
    // Reads go to the stream leader: a follower answering a direct get could be behind an append
    // that was acknowledged, and "acknowledged means readable" is part of the horizon's promise.
    allow_direct: false,
  };
}

/** What of a stream's configuration open() keeps in line with the options (the rest is fixed at creation). */
export function configDrift(current: Partial<StreamConfig>, wanted: Partial<StreamConfig>): string[] {
  const drift: string[] = [];
  for (const k of ['max_age', 'duplicate_window', 'num_replicas', 'description'] as const) {
    if (current[k] !== wanted[k]) drift.push(k);
  }
  return drift;
}

// The headers. Values are written as they are when a header can carry them unchanged, else as a
// JSON string literal (which starts with a quote, as a plain value never does): NATS header values
// cannot hold CR or LF, and nats.js trims them, so '', ' x' and 'a\nb' go as JSON.
export const H = {
  msgId: 'Nats-Msg-Id',
  enqueued: 'Omni-Enqueued',
  deviceId: 'Omni-Device-Id',
  tenant: 'Omni-Tenant',
  generationId: 'Omni-Generation-Id',
  auth: 'Omni-Auth',
  messageId: 'Omni-Message-Id',
  correlationId: 'Omni-Correlation-Id',
  contentType: 'Omni-Content-Type',
  contentEncoding: 'Omni-Content-Encoding',
  /** The application properties as JSON text (absent when there are none). */
  properties: 'Omni-Properties',
  /** 1 when the body is JSON by the feed's rule, else 0: decided once, when stored. */
  bodyJson: 'Omni-Body-Json',
  /** Which append stored a message with a messageId (a retry recognises its own earlier attempt by it). */
  appendId: 'Omni-Append-Id',
} as const;

/** Whether a header carries `v` unchanged: not empty, no control character, no space at either end, no leading quote. */
function plain(v: string): boolean {
  const n = v.length;
  if (n === 0 || v.charCodeAt(0) === 34 || v.charCodeAt(0) === 32 || v.charCodeAt(n - 1) === 32) return false;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c < 32 || c === 127 || c === 0x85 || c === 0xa0 || c === 0x2028 || c === 0x2029 || c === 0xfeff || c === 0x1680 || (c >= 0x2000 && c <= 0x200a)
      || c === 0x202f || c === 0x205f || c === 0x3000) return false;
  }
  return true;
}

export function encodeValue(v: string): string {
  return plain(v) ? v : JSON.stringify(v);
}

/** A header's value, or undefined when absent (nats.js answers '' for a missing header; we never write ''). */
export function decodeValue(v: string): string | undefined {
  if (v === '') return undefined;
  return v.charCodeAt(0) === 34 ? (JSON.parse(v) as string) : v;
}

export function encodeAuth(a: AuthMethod): string {
  return a.scope === 'hub' ? `hub:${a.policy ?? ''}` : 'device';
}

const DEVICE_AUTH: AuthMethod = Object.freeze({ scope: 'device', type: 'sas', issuer: 'iothub' });
const hubAuths = new Map<string, AuthMethod>();

/** Auth methods are a handful of values: each is decoded once and shared (frozen). */
export function decodeAuth(text: string): AuthMethod {
  if (text === 'device') return DEVICE_AUTH;
  let a = hubAuths.get(text);
  if (a === undefined) {
    if (hubAuths.size >= 1_000) hubAuths.clear();
    hubAuths.set(text, (a = Object.freeze({ scope: 'hub', type: 'sas', issuer: 'iothub', policy: text.slice(4) })));
  }
  return a;
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

/** The headers of a message to publish (Nats-Msg-Id and the enqueue time are set by the appender). */
export function messageHeaders(m: NewMessage, bodyIsJson: boolean, appendId: string | undefined): MsgHdrs {
  const h = natsHeaders();
  h.set(H.deviceId, encodeValue(m.deviceId));
  h.set(H.tenant, encodeValue(m.tenant));
  h.set(H.generationId, encodeValue(m.generationId));
  h.set(H.auth, encodeValue(encodeAuth(m.authMethod)));
  if (m.messageId !== undefined) h.set(H.messageId, encodeValue(m.messageId));
  if (m.correlationId !== undefined) h.set(H.correlationId, encodeValue(m.correlationId));
  if (m.contentType !== undefined) h.set(H.contentType, encodeValue(m.contentType));
  if (m.contentEncoding !== undefined) h.set(H.contentEncoding, encodeValue(m.contentEncoding));
  // JSON.stringify escapes every control character and never starts or ends with a space.
  if (hasKeys(m.properties)) h.set(H.properties, JSON.stringify(m.properties));
  h.set(H.bodyJson, bodyIsJson ? '1' : '0');
  if (appendId !== undefined) h.set(H.appendId, appendId);
  return h;
}

/** The dedup key of a device's messageId: a hash, so any id fits a header and a KV key. */
export function dedupKey(deviceId: string, messageId: string): string {
  return createHash('sha256').update(deviceId).update('\u0000').update(messageId).digest('base64url').slice(0, 32);
}

const NO_PROPERTIES = '{}';
/** Stands for an absent header in a SharedFields key: no header value holds a CR. */
const ABSENT = '\r';

/**
 * One frozen SharedFields per distinct value of a sender's fields, as the SQLite log hands out.
 * The key is the raw header values joined by LF, which no header value contains.
 */
export class SharedFieldsCache {
  private readonly shared = new Map<string, SharedFields>();

  constructor(private readonly max = 10_000) {}

  of(h: MsgHdrs): SharedFields {
    const device = h.get(H.deviceId);
    const tenant = h.get(H.tenant);
    const generation = h.get(H.generationId);
    const auth = h.get(H.auth);
    const ct = h.get(H.contentType);
    const ce = h.get(H.contentEncoding);
    const props = h.get(H.properties);
    const json = h.get(H.bodyJson);
    const key = `${device}\n${tenant}\n${generation}\n${auth}\n${ct || ABSENT}\n${ce || ABSENT}\n${props || ABSENT}\n${json}`;
    let f = this.shared.get(key);
    if (f === undefined) {
      f = Object.freeze({
        deviceId: decodeValue(device) ?? '', tenant: decodeValue(tenant) ?? '', generationId: decodeValue(generation) ?? '',
        authMethod: decodeAuth(decodeValue(auth) ?? 'device'), contentType: decodeValue(ct), contentEncoding: decodeValue(ce),
        propertiesJson: props === '' ? NO_PROPERTIES : props, bodyIsJson: json === '' ? undefined : json === '1',
      });
      if (this.shared.size >= this.max) this.shared.clear();
      this.shared.set(key, f);
    }
    return f;
  }
}

/**
 * The stream sequence of a message a consumer delivered, from its reply subject:
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.…` (9 tokens), or with domain and account hash (11 or more).
 */
export function streamSeqOf(reply: string): number {
  const t = reply.split('.');
  return Number(t.length === 9 ? t[5] : t[7]);
}
