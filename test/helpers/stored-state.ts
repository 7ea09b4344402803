// Everything a server holds, for tests that show a refused request changed nothing: the log's
// partitions and messages, the registry's devices, and every consumer group with its checkpoints
// and leases as its status route reports them.
import type { TestServer } from './server.js';
import { readAll } from './server.js';

interface GroupStatus {
  consumerGroup: string;
  createdAt: string;
  partitions: Array<{ partitionId: string; committedSequenceNumber: number; lastEnqueuedSequenceNumber: number; lease: { reader: string; nextSequenceNumber: number } | null }>;
}

export interface StoredState {
  readonly partitions: unknown;
  readonly messages: unknown;
  readonly devices: unknown;
  readonly groups: unknown;
}

export async function storedState(s: TestServer): Promise<StoredState> {
  const messages = (await readAll(s)).map((m) => ({
    partition: m.partition, sequenceNumber: m.sequenceNumber, enqueuedTimeUtc: m.enqueuedTimeUtc.toISOString(), deviceId: m.deviceId,
    tenant: m.tenant, messageId: m.messageId, properties: m.properties, body: m.body.toString('base64'),
  }));
  // lastActivityTime follows accepted traffic on a timer of its own; it is not what a request stores.
  const devices = (await s.registry.list()).map(({ lastActivityTime: _, ...device }) => device);
  return { partitions: await s.log.partitions(), messages, devices, groups: await groups(s) };
}

/** Read over HTTP, as an operator would; lag in seconds and lease expiry move with the clock, so they are left out. */
async function groups(s: TestServer): Promise<unknown> {
  const headers = { authorization: s.policyToken('service') };
  const list = (await (await s.fetch('/api/consumergroups', { headers })).json()) as { consumerGroups: Array<{ name: string; createdAt: string }> };
  return Promise.all(list.consumerGroups.map(async ({ name }) => {
    const status = (await (await s.fetch(`/api/consumergroups/${encodeURIComponent(name)}`, { headers })).json()) as GroupStatus;
    return {
      name: status.consumerGroup,
      createdAt: status.createdAt,
      partitions: status.partitions.map((p) => ({
        partitionId: p.partitionId, committed: p.committedSequenceNumber, last: p.lastEnqueuedSequenceNumber,
        lease: p.lease && { reader: p.lease.reader, next: p.lease.nextSequenceNumber },
      })),
    };
  }));
}
