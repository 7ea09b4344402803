// The log port: every backend (embedded SQLite, NATS JetStream) implements this and passes the
// same contract suite (test/log/event-log.contract.ts).
import type { LogPosition, NewMessage, Offset, PartitionId, SequenceNumber, StoredMessage } from '../core/message.js';

export interface AppendResult extends LogPosition {
  /** True when the message repeated a `messageId` of the same device within the dedup window; the position is the original's. */
  readonly duplicate: boolean;
}

/** Where a read starts; every form is resolved per partition. */
export type ReadFrom =
  | { readonly kind: 'sequence'; readonly sequenceNumber: SequenceNumber } // inclusive
  | { readonly kind: 'afterOffset'; readonly offset: Offset } // exclusive
  | { readonly kind: 'time'; readonly time: Date } // first message enqueued at or after
  | { readonly kind: 'earliest' };

export interface ReadPage {
  readonly messages: StoredMessage[];
  /** The requested position was older than retention: the page starts at the earliest retained message. */
  readonly startedAtEarliest: boolean;
  /** The sequence number to read from next. */
  readonly nextSequenceNumber: SequenceNumber;
}

/** A partition's state, with Event Hubs' property names. */
export interface PartitionInfo {
  readonly partitionId: string;
  readonly beginningSequenceNumber: SequenceNumber;
  readonly lastEnqueuedSequenceNumber: SequenceNumber;
  readonly lastEnqueuedOffset: Offset;
  readonly lastEnqueuedOnUtc: string | null;
  readonly isEmpty: boolean;
}

export interface RetentionResult {
  readonly deletedMessages: number;
}

export interface EventLog {
  readonly partitionCount: number;
  /**
   * Appends a batch atomically (all or nothing). Resolves once the batch is durable; rejects with
   * `overloaded` when too many appends are waiting, `shutting_down` after close.
   */
  append(batch: readonly NewMessage[]): Promise<AppendResult[]>;
  read(partition: PartitionId, from: ReadFrom, max: number): Promise<ReadPage>;
  partitions(): Promise<PartitionInfo[]>;
  /** Deletes messages older than the retention period (and expired dedup entries). */
  applyRetention(now: Date): Promise<RetentionResult>;
  /** Calls `listener` after each durable append with the partitions it touched; returns an unsubscribe. */
  onAppend(listener: (partitions: ReadonlySet<PartitionId>) => void): () => void;
  /** Commits what is pending, then closes. */
  close(): Promise<void>;
}

export interface EventLogOptions {
  readonly partitions: number;
  readonly retentionMs: number;
  readonly dedupWindowMs: number;
  readonly maxPendingMessages: number;
}
