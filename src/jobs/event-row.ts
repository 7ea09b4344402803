// A stored message as a job's query sees it: the body's JSON fields plus the fields Stream
// Analytics adds for an IoT Hub input (ARCHITECTURE §3), and the message's metadata for
// GetMetadataPropertyValue (tenant, device, application properties).
import { EVENT_METADATA, type Row } from '../query/index.js';
import type { SharedFields } from '../log/event-log.js';

/**
 * JSON.parse takes any depth, but the engine's serialising, grouping and CAST recurse and overflow
 * the stack at some 4,500 levels: thrown out of a job, one such event failed it at every restart.
 */
const MAX_NESTING = 1_000;

/** Whether JSON text opens more than `limit` arrays or objects inside one another (strings skipped). */
function nestsDeeperThan(text: string, limit: number): boolean {
  // Deeper than `limit` takes more than `limit` characters: almost every body is shorter.
  if (text.length <= limit) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** Enqueue times repeat (a commit group shares one), so their ISO text is made once per value. */
let lastMs = NaN;
let lastIso = '';
function isoOf(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

/**
 * The row for one message, or (as text) why it cannot be one: the body is not a JSON object.
 * Nothing here reads a clock: EventProcessedUtcTime is the enqueue time, so a replay makes the
 * same rows.
 *
 * `fields` are the event fields the query can read (CompiledQuery.eventFields; null: whole events).
 * The row then holds the added fields among them only, and no metadata (a query that reads it
 * passes the record itself, so reads whole events); `members`, when the log cut them for those
 * fields, is the body's object with only them, taken instead of parsing the body. Either way the
 * query finds in the row what it would find in the whole one.
 */
export function eventRow(
  partition: number, enqueuedMs: number, shared: SharedFields, messageId: string | undefined, correlationId: string | undefined, body: string | Buffer,
  fields: ReadonlySet<string> | null = null, members?: Record<string, unknown>,
): Row | string {
  // Checked on the whole body, whatever the query reads, so every job treats the event alike.
  if (typeof body === 'string' && nestsDeeperThan(body, MAX_NESTING)) return `the body nests deeper than ${MAX_NESTING} levels`;
  let row: Row;
  if (fields !== null && members !== undefined) row = members as Row;
  else {
    if (typeof body !== 'string') return 'the body is not JSON (a JSON object is required)';
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return 'the body is not valid JSON';
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      return `the body is ${parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : `a ${typeof parsed}`}, not a JSON object`;
    }
    row = parsed as Row;
  }
  if (fields === null) {
    const enqueued = isoOf(enqueuedMs);
    row.EventProcessedUtcTime = enqueued;
    row.PartitionId = partition;
    row.EventEnqueuedUtcTime = enqueued;
    row.IoTHub = iotHubOf(enqueuedMs, shared, messageId, correlationId);
    (row as Row & { [EVENT_METADATA]?: Row })[EVENT_METADATA] = metadataOf(shared);
    return row;
  }
  if (fields.has('eventprocessedutctime')) row.EventProcessedUtcTime = isoOf(enqueuedMs);
  if (fields.has('partitionid')) row.PartitionId = partition;
  if (fields.has('eventenqueuedutctime')) row.EventEnqueuedUtcTime = isoOf(enqueuedMs);
  if (fields.has('iothub')) row.IoTHub = iotHubOf(enqueuedMs, shared, messageId, correlationId);
  return row;
}

function iotHubOf(enqueuedMs: number, shared: SharedFields, messageId: string | undefined, correlationId: string | undefined): Row {
  return {
    MessageId: messageId ?? null,
    CorrelationId: correlationId ?? null,
    ConnectionDeviceId: shared.deviceId,
    ConnectionDeviceGenerationId: shared.generationId,
    EnqueuedTime: isoOf(enqueuedMs),
  };
}

/** Everything in the metadata is a sender's shared field, so one frozen record serves all its messages. */
const metadata = new WeakMap<SharedFields, Row>();

function metadataOf(shared: SharedFields): Row {
  let m = metadata.get(shared);
  if (m === undefined) {
    m = Object.freeze({
      Tenant: shared.tenant,
      User: Object.freeze(shared.propertiesJson === '{}' ? {} : (JSON.parse(shared.propertiesJson) as Row)),
      ContentType: shared.contentType ?? null,
      ContentEncoding: shared.contentEncoding ?? null,
    });
    metadata.set(shared, m);
  }
  return m;
}
