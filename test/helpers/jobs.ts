// What continuous-job tests share: posting events as devices, reading an output, and the oracle
// every job's rows are compared with — the engine run over the same stored messages the way
// `query run` runs a file (by arrival, per tenant), written independently of the job's code.
import type { Device } from '../../src/core/device.js';
import type { StoredMessage } from '../../src/core/message.js';
import { compileQuery, toJson, type EventOrderingPolicy, type Row } from '../../src/query/index.js';

export interface WireRow {
  readonly id: number;
  readonly job: string;
  readonly tenant: string;
  readonly timestamp: string;
  readonly row: Record<string, unknown>;
}

/** A row without its id, in a canonical order for comparing runs. */
export interface ComparableRow {
  readonly output: string;
  readonly tenant: string;
  readonly timestamp: string;
  readonly row: Record<string, unknown>;
}

export function sortRows(rows: readonly ComparableRow[]): ComparableRow[] {
  const key = (r: ComparableRow) => `${r.output}\u0000${r.tenant}\u0000${r.timestamp}\u0000${JSON.stringify(r.row)}`;
  return [...rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

export interface OracleOptions {
  readonly inputs?: readonly string[];
  readonly references?: Readonly<Record<string, Row[]>>;
  readonly policy?: Partial<EventOrderingPolicy>;
  readonly shared?: boolean;
}

/** The rows a job must produce from these messages once every window has closed. */
export function oracle(query: string, messages: readonly StoredMessage[], options: OracleOptions = {}): ComparableRow[] {
  const inputs = options.inputs ?? ['events'];
  const compiled = compileQuery(query, { inputs, references: Object.keys(options.references ?? {}) });
  const ordered = [...messages].sort((a, b) => a.enqueuedTimeUtc.getTime() - b.enqueuedTimeUtc.getTime() || a.partition - b.partition || a.sequenceNumber - b.sequenceNumber);
  const out: ComparableRow[] = [];
  const runners = new Map<string, ReturnType<typeof compiled.createRunner>>();
  for (const m of ordered) {
    let body: unknown;
    try {
      body = JSON.parse(m.body.toString('utf8'));
    } catch {
      continue;
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) continue;
    const tenant = options.shared ? '*' : m.tenant;
    let runner = runners.get(tenant);
    if (!runner) {
      runner = compiled.createRunner({
        references: options.references, policy: options.policy,
        onRow: (output, row, ts) => out.push({ output, tenant, timestamp: new Date(ts).toISOString(), row: toJson(row) as Record<string, unknown> }),
      });
      runners.set(tenant, runner);
    }
    const enqueued = m.enqueuedTimeUtc.toISOString();
    const row: Row = {
      ...(body as Row), EventProcessedUtcTime: enqueued, PartitionId: m.partition, EventEnqueuedUtcTime: enqueued,
      IoTHub: { MessageId: m.messageId ?? null, CorrelationId: m.correlationId ?? null, ConnectionDeviceId: m.deviceId, ConnectionDeviceGenerationId: m.generationId, EnqueuedTime: enqueued },
    };
    for (const input of inputs) runner.push(input, row, m.enqueuedTimeUtc.getTime());
  }
  for (const r of runners.values()) r.end();
  return out;
}

/** Output rows as the API returns them, comparable with the oracle's. */
export function comparable(output: string, rows: readonly WireRow[]): ComparableRow[] {
  return rows.map((r) => ({ output, tenant: r.tenant, timestamp: new Date(r.timestamp).toISOString(), row: r.row }));
}

export type Post = (device: Device, body: unknown, headers?: Record<string, string>) => Promise<Response>;

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
