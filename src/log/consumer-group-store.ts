// The consumer-group port: which groups exist and where each has committed, per partition. Every
// backend (embedded SQLite now, JetStream KV later) implements it and passes the contract suite
// in test/feed/consumer-group-store.contract.ts. Leases are not here: they live in memory
// (src/feed/leases.ts) because a lease only means something while its reader is polling, shared
// between gateways through PostgreSQL when there are several (src/feed/shared-leases.ts).
import type { PartitionId, SequenceNumber } from '../core/message.js';

export interface ConsumerGroup {
  readonly name: string;
  readonly createdAt: Date;
  /**
   * Changes whenever the group is created or repositioned, so a cursor handed out before that is
   * recognised as stale instead of silently moving the new position.
   */
  readonly generation: string;
}

/**
 * Per partition, the sequence number the group reads next. A partition without an entry starts at
 * the earliest retained message.
 */
export type Positions = ReadonlyMap<PartitionId, SequenceNumber>;

export type CommitOutcome = 'committed' | 'group_not_found' | 'stale_generation';

/**
 * Readers on several gateways (shared leases, src/feed/shared-leases.ts): a partition's position
 * is committed only while `reader` holds the partition's lease, checked in the commit itself, so
 * a reader whose lease moved cannot commit over the new holder. Embedded stores (one process,
 * leases in memory, checked before the commit) ignore it.
 */
export interface CommitFence {
  readonly reader: string;
  /** The lease name of each partition. */
  lease(partition: PartitionId): string;
}

export interface ConsumerGroupStore {
  /** Creates a group at `start`; undefined when a group of that name already exists. */
  create(name: string, start: Positions): Promise<ConsumerGroup | undefined>;
  /** Replaces every checkpoint of an existing group with `start` and gives it a new generation. */
  reposition(name: string, start: Positions): Promise<ConsumerGroup | undefined>;
  get(name: string): Promise<ConsumerGroup | undefined>;
  list(): Promise<ConsumerGroup[]>;
  /** Deletes the group and its checkpoints; false when it did not exist. */
  delete(name: string): Promise<boolean>;
  checkpoints(name: string): Promise<Map<PartitionId, SequenceNumber>>;
  /**
   * Moves checkpoints forward (never back: a late commit from a reader that lost its lease must
   * not undo a newer one), atomically, if the group still has `generation`.
   */
  commit(name: string, generation: string, positions: Positions, fence?: CommitFence): Promise<CommitOutcome>;
  /** A secret that survives restarts, for signing cursors; created on first use. */
  cursorKey(): Promise<Buffer>;
  close(): Promise<void>;
}
