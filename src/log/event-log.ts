// The log port: every backend (embedded SQLite, NATS JetStream) implements this and passes the
// same contract suite (test/log/event-log.contract.ts).
import type { AuthMethod, LogPosition, NewMessage, Offset, PartitionId, SequenceNumber, StoredMessage } from '../core/message.js';

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

/**
 * The fields that messages of one sender usually have in common. A log hands out one object per
 * distinct value, so a reader can do its work (encoding, say) once per object, not per message.
 */
export interface SharedFields {
  readonly deviceId: string;
  readonly tenant: string;
  readonly generationId: string;
  readonly authMethod: AuthMethod;
  readonly contentType: string | undefined;
  readonly contentEncoding: string | undefined;
  /** The application properties as JSON text, equal to JSON.stringify(properties). */
  readonly propertiesJson: string;
  /** Whether the body is JSON by the feed's rule (docs/feed.md, "Bodies"); undefined when unknown. */
  readonly bodyIsJson: boolean | undefined;
}

/**
 * Receives the messages of a scan one by one, in order, without an object per message. `body` is
 * the body's text when `shared.bodyIsJson` is true (its UTF-8 bytes are the stored body), else its
 * bytes. A message's offset is not passed: every log's offset is its decimal sequence number
 * (opaque to clients, pinned by the contract suite). Returning `false` ends the scan after this
 * message (a page that is full by size, say); the scan's result then counts up to it.
 * `fields`: see ScanOptions.
 */
export type MessageVisitor = (
  sequenceNumber: SequenceNumber, enqueuedMs: number, shared: SharedFields,
  messageId: string | undefined, correlationId: string | undefined, body: string | Buffer, fields?: Record<string, unknown>,
) => boolean | void;

export interface ScanOptions {
  /**
   * Lower-cased names of top-level fields: for a JSON object body, a log may also hand the visitor
   * `fields`, the object parsed from the body's text cut to the members whose lower-cased name is
   * here (in their order, repeats included, each value's text as stored: the values are those of
   * the whole body), a fresh object the visitor may keep. A hint: a log, or a page, may not, and
   * the visitor then has the body alone. The embedded log does it on its reader thread for the
   * pages it reads ahead, so a reader that needs two fields of a large event parses two.
   */
  readonly fields?: ReadonlySet<string>;
}

export interface ScanResult {
  readonly count: number;
  readonly startedAtEarliest: boolean;
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
  /** The messages `read` would return, handed to `visit` (before the promise resolves): the feed's path. */
  scan(partition: PartitionId, from: ReadFrom, max: number, visit: MessageVisitor, options?: ScanOptions): Promise<ScanResult>;
  partitions(): Promise<PartitionInfo[]>;
  /** Deletes messages older than the retention period (and expired dedup entries). */
  applyRetention(now: Date): Promise<RetentionResult>;
  /**
   * A time (epoch ms) before which the log is final: every message enqueued before it is readable
   * now, and every message appended from now on is enqueued at or after it. With no append in
   * flight it is the wall-clock time. A reader that merges partitions by enqueue time (a job)
   * takes what was enqueued before the horizon, so a rerun over the same log sees one order.
   */
  horizon(): number;
  /** Calls `listener` after each durable append with the partitions it touched; returns an unsubscribe. */
  onAppend(listener: (partitions: ReadonlySet<PartitionId>) => void): () => void;
  /** False while a log on a server cannot be reached (appends are refused meanwhile); an embedded log has none. */
  readonly reachable?: boolean;
  /** Commits what is pending, then closes. */
  close(): Promise<void>;
}

export interface EventLogOptions {
  readonly partitions: number;
  readonly retentionMs: number;
  readonly dedupWindowMs: number;
  readonly maxPendingMessages: number;
}
