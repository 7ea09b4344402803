// The stored message (ARCHITECTURE §3) and what the gateway hands the log to store.

export type PartitionId = number;
/** Per-partition position: starts at 0, +1 per message, never reused. */
export type SequenceNumber = number;
/** Opaque per-partition position string; clients must not do arithmetic on it. */
export type Offset = string;

/** How the sender proved who it is, stamped on every message as IoT Hub does. */
export interface AuthMethod {
  /** `device`: the device's own key; `hub`: a shared access policy acting for the device. */
  readonly scope: 'device' | 'hub';
  readonly type: 'sas';
  readonly issuer: 'iothub';
  /** The policy name when scope is `hub`. */
  readonly policy?: string;
}

/** An event as received, before the log gives it a position. */
export interface IncomingMessage {
  readonly body: Buffer;
  readonly properties: Readonly<Record<string, string>>;
  readonly messageId?: string | undefined;
  readonly correlationId?: string | undefined;
  readonly contentType?: string | undefined;
  readonly contentEncoding?: string | undefined;
}

/** An event authenticated and attributed, ready to append. */
export interface NewMessage extends IncomingMessage {
  readonly deviceId: string;
  readonly tenant: string;
  readonly generationId: string;
  readonly authMethod: AuthMethod;
}

export interface LogPosition {
  readonly partition: PartitionId;
  readonly sequenceNumber: SequenceNumber;
  readonly offset: Offset;
  readonly enqueuedTimeUtc: Date;
}

/** A message with its position. */
export interface StoredMessage extends NewMessage, LogPosition {}

/** Size as IoT Hub counts it: body + system property values + app property names and values. */
export function messageSize(m: IncomingMessage): number {
  let size = m.body.length + byteLength(m.messageId) + byteLength(m.correlationId) + byteLength(m.contentType) + byteLength(m.contentEncoding);
  for (const k in m.properties) size += Buffer.byteLength(k) + Buffer.byteLength(m.properties[k]!);
  return size;
}

function byteLength(text: string | undefined): number {
  return text === undefined ? 0 : Buffer.byteLength(text);
}

/** IoT Hub's limit per message and per batch. */
export const MAX_MESSAGE_BYTES = 256 * 1024;
export const MAX_BATCH_MESSAGES = 500;

/**
 * Partition of a device: FNV-1a over the UTF-8 id, modulo the partition count. Stable across
 * processes, versions and backends, so one device's messages always share a partition and keep
 * their order.
 */
export function partitionFor(deviceId: string, partitionCount: number): PartitionId {
  let h = 0x811c9dc5;
  const bytes = Buffer.from(deviceId, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitionCount;
}

/** The system properties a consumer sees, under IoT Hub's names. */
export function systemProperties(m: StoredMessage): Record<string, string | number> {
  const props: Record<string, string | number> = {
    'iothub-connection-device-id': m.deviceId,
    'iothub-connection-auth-method': JSON.stringify({ scope: m.authMethod.scope, type: m.authMethod.type, issuer: m.authMethod.issuer, acceptingIpFilterRule: null }),
    'iothub-connection-auth-generation-id': m.generationId,
    'iothub-enqueuedtime': m.enqueuedTimeUtc.toISOString(),
    'iothub-message-source': 'Telemetry',
    'x-opt-sequence-number': m.sequenceNumber,
    'x-opt-offset': m.offset,
    'x-opt-enqueued-time': m.enqueuedTimeUtc.getTime(),
  };
  return props;
}
