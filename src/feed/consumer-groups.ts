// Consumer groups on top of the log: any number of groups, each reading every partition
// independently; within a group, partitions are leased to readers, handed out in pages and
// committed with a cursor. What a reader was handed but did not commit comes again once its
// lease lapses or the server restarts (at least once).
import { OmniError } from '../core/errors.js';
import type { PartitionId, SequenceNumber } from '../core/message.js';
import type { ConsumerGroup, ConsumerGroupStore, Positions } from '../log/consumer-group-store.js';
import type { EventLog, MessageVisitor } from '../log/event-log.js';
import { CursorCodec } from './cursor.js';
import { LeaseTable, type Lease, type LeaseView } from './leases.js';
import { SharedGroupLeases, SYNC_FRACTION, type SharedLeaseStore } from './shared-leases.js';
import { checkGroupName, isGroupName } from './params.js';
import { Wakeups } from './wakeups.js';

export const DEFAULT_GROUP = '$Default';

/** Where a new or repositioned group starts. */
export type StartFrom = { readonly kind: 'earliest' } | { readonly kind: 'latest' } | { readonly kind: 'time'; readonly time: Date };

/**
 * Where a batch's messages go as they are read (encoded straight into a response, say):
 * `visitor(p)` receives the next of partition p's messages, in order.
 */
export interface BatchSink {
  visitor(partition: PartitionId): MessageVisitor;
  /** No more messages fit (a byte cap was reached): the batch ends here. */
  readonly full: boolean;
}

/** How many messages a reader was handed, and where each of its partitions stands after them. */
export interface Batch {
  readonly count: number;
  readonly positions: Map<PartitionId, SequenceNumber>;
}

export interface PartitionLag {
  readonly partitionId: string;
  /** The last sequence number the group committed (−1 before its first message). */
  readonly committedSequenceNumber: SequenceNumber;
  readonly lastEnqueuedSequenceNumber: SequenceNumber;
  /** Messages after the checkpoint. */
  readonly lagMessages: number;
  /** Age of the oldest message after the checkpoint; 0 when there is none. */
  readonly lagSeconds: number;
  readonly lease: LeaseView | null;
}

export interface GroupStatus {
  readonly consumerGroup: string;
  readonly createdAt: string;
  readonly partitions: PartitionLag[];
}

interface GroupRuntime {
  readonly generation: string;
  readonly leases: LeaseTable;
  /** Which leased partition goes first in the next page, so leftovers are shared fairly. */
  rotation: number;
}

/** One reader's open poll or stream on a group: it holds membership until closed. */
export class ReaderSession {
  private closed = false;

  constructor(
    private readonly groups: ConsumerGroups,
    readonly group: ConsumerGroup,
    private readonly runtime: GroupRuntime,
    readonly reader: string,
    private readonly leaseMs: number,
  ) {
    // Readers long-polling on this group wake up to give a newcomer its share.
    if (runtime.leases.beginPoll(reader, Date.now())) groups.wakeups.groupChanged(group.name);
  }

  /** False once the group was deleted or repositioned, or the server is shutting down. */
  get current(): boolean {
    return !this.closed && this.groups.isCurrent(this.group.name, this.runtime);
  }

  /**
   * The next messages from the reader's partitions, at most `max`, into `sink`, waiting up to
   * `waitMs` when there are none. An empty batch after the wait is normal.
   */
  async next(max: number, waitMs: number, sink: BatchSink, signal?: AbortSignal): Promise<Batch> {
    const deadline = Date.now() + waitMs;
    const { shared } = this.groups;
    for (;;) {
      const { leases } = this.runtime;
      const seen = this.groups.wakeups.version;
      const moved = shared
        ? await shared.sync(this.group.name, this.group.generation, leases, this.reader, this.leaseMs)
        : leases.rebalance(this.reader, Date.now());
      if (moved) this.groups.wakeups.groupChanged(this.group.name);
      const batch = await this.groups.readLeases(this.group.name, this.runtime, this.reader, max, sink);
      const now = Date.now();
      if (batch.count > 0 || now >= deadline || !this.current || signal?.aborted) return batch;
      const mine = new Set(leases.held(this.reader).map((l) => l.partition));
      // With other gateways, a waiting poll looks again now and then: their readers come and go unseen here.
      const resync = shared ? now + Math.ceil(this.leaseMs / SYNC_FRACTION) : Infinity;
      await this.groups.wakeups.wait(this.group.name, mine, Math.min(deadline, leases.nextExpiry(), resync) - now, seen, signal);
    }
  }

  /** Forgets what was handed out: the next batch starts at the committed checkpoint. */
  rewind(): void {
    for (const l of this.runtime.leases.held(this.reader)) if (!l.busy) l.next = undefined;
  }

  cursor(positions: Positions): string {
    return this.groups.codec.encode({ group: this.group.name, generation: this.group.generation, reader: this.reader, positions });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.runtime.leases.endPoll(this.reader, Date.now(), this.leaseMs);
  }
}

export class ConsumerGroups {
  readonly wakeups = new Wakeups();
  private readonly runtimes = new Map<string, GroupRuntime>();
  private readonly checkpointListeners = new Set<() => void>();
  private readonly stopListening: () => void;
  private readonly shutdown = new AbortController();

  private constructor(
    private readonly log: EventLog,
    private readonly store: ConsumerGroupStore,
    readonly codec: CursorCodec,
    /** Present when several gateways serve the group's readers. */
    readonly shared: SharedGroupLeases | undefined,
  ) {
    this.stopListening = log.onAppend((partitions) => this.wakeups.appended(partitions));
  }

  /** Opens the groups of a store; `$Default` always exists. */
  static async open(log: EventLog, store: ConsumerGroupStore, shared?: SharedLeaseStore): Promise<ConsumerGroups> {
    await store.create(DEFAULT_GROUP, new Map());
    return new ConsumerGroups(log, store, new CursorCodec(await store.cursorKey()), shared && new SharedGroupLeases(shared));
  }

  /** Aborted when the server shuts down: streams end then. */
  get closing(): AbortSignal {
    return this.shutdown.signal;
  }

  async require(name: string): Promise<ConsumerGroup> {
    const g = isGroupName(name) ? await this.store.get(name) : undefined;
    if (!g) throw new OmniError('consumer_group_not_found', `Consumer group '${name}' does not exist`);
    return g;
  }

  list(): Promise<ConsumerGroup[]> {
    return this.store.list();
  }

  /**
   * Creates a group at `startFrom` (earliest when absent). An existing group is left as it is,
   * unless `startFrom` is given: then it is repositioned, its leases dropped and old cursors stale.
   */
  async put(name: string, startFrom: StartFrom | undefined): Promise<{ group: ConsumerGroup; created: boolean }> {
    checkGroupName(name);
    const start = await this.resolve(startFrom ?? { kind: 'earliest' });
    const created = await this.store.create(name, start);
    if (created) return { group: created, created: true };
    if (startFrom === undefined) return { group: await this.require(name), created: false };
    const moved = await this.store.reposition(name, start);
    if (!moved) throw new OmniError('consumer_group_not_found', `Consumer group '${name}' was deleted meanwhile`);
    this.forget(name);
    return { group: moved, created: false };
  }

  /** A reader leaves the group: its partitions go to the others now. False when it held nothing. */
  async leave(name: string, reader: string): Promise<boolean> {
    await this.require(name);
    const left = this.runtimes.get(name)?.leases.leave(reader) ?? false;
    if (left) this.wakeups.groupChanged(name);
    return left;
  }

  async delete(name: string): Promise<void> {
    if (name === DEFAULT_GROUP) throw new OmniError('invalid_argument', `${DEFAULT_GROUP} always exists and cannot be deleted; reposition it with PUT instead`);
    if (!(isGroupName(name) && (await this.store.delete(name)))) throw new OmniError('consumer_group_not_found', `Consumer group '${name}' does not exist`);
    this.forget(name);
  }

  /** Per partition: the sequence number to start from. */
  private async resolve(from: StartFrom): Promise<Map<PartitionId, SequenceNumber>> {
    const start = new Map<PartitionId, SequenceNumber>();
    if (from.kind === 'earliest') return start;
    if (from.kind === 'latest') {
      for (const p of await this.log.partitions()) start.set(Number(p.partitionId), p.lastEnqueuedSequenceNumber + 1);
      return start;
    }
    for (let p = 0; p < this.log.partitionCount; p++) {
      const page = await this.log.read(p, { kind: 'time', time: from.time }, 1);
      start.set(p, page.messages[0]?.sequenceNumber ?? page.nextSequenceNumber);
    }
    return start;
  }

  private forget(name: string): void {
    this.runtimes.delete(name);
    this.wakeups.groupChanged(name);
    this.checkpointed();
  }

  private runtime(g: ConsumerGroup): GroupRuntime {
    let rt = this.runtimes.get(g.name);
    if (!rt || rt.generation !== g.generation) {
      rt = { generation: g.generation, leases: new LeaseTable(this.log.partitionCount), rotation: 0 };
      this.runtimes.set(g.name, rt);
    }
    return rt;
  }

  isCurrent(name: string, rt: GroupRuntime): boolean {
    return !this.shutdown.signal.aborted && this.runtimes.get(name) === rt;
  }

  /** Starts a poll or stream of `reader` on a group; close it when the reply is sent. */
  async session(name: string, reader: string, leaseMs: number): Promise<ReaderSession> {
    const g = await this.require(name);
    return new ReaderSession(this, g, this.runtime(g), reader, leaseMs);
  }

  /**
   * Reads the reader's leased partitions: each gets an equal share of `max` first, and what is
   * left goes to partitions that had more, so a busy partition never starves a quiet one and
   * each partition's order is kept.
   */
  async readLeases(name: string, rt: GroupRuntime, reader: string, max: number, sink: BatchSink): Promise<Batch> {
    const held = rt.leases.held(reader).filter((l) => !l.busy);
    const positions = new Map<PartitionId, SequenceNumber>();
    if (held.length === 0) return { count: 0, positions };
    const first = rt.rotation++ % held.length;
    const order = [...held.slice(first), ...held.slice(0, first)];
    for (const l of order) l.busy = true;
    try {
      if (order.some((l) => l.next === undefined)) {
        const checkpoints = await this.store.checkpoints(name);
        for (const l of order) l.next ??= checkpoints.get(l.partition) ?? 0;
      }
      let remaining = max;
      const share = Math.ceil(max / order.length);
      const full: Lease[] = [];
      for (const l of order) {
        const want = sink.full ? 0 : Math.min(share, remaining);
        const got = want > 0 ? await this.readInto(l, want, sink) : 0;
        remaining -= got;
        if (want > 0 && got === want) full.push(l);
      }
      for (const l of full) if (remaining > 0 && !sink.full) remaining -= await this.readInto(l, remaining, sink);
      for (const l of order) positions.set(l.partition, l.next!);
      return { count: max - remaining, positions };
    } finally {
      for (const l of order) l.busy = false;
    }
  }

  private async readInto(l: Lease, max: number, sink: BatchSink): Promise<number> {
    const page = await this.log.scan(l.partition, { kind: 'sequence', sequenceNumber: l.next! }, max, sink.visitor(l.partition));
    l.next = page.nextSequenceNumber;
    return page.count;
  }

  /**
   * Commits a cursor. Partitions now leased to another reader are skipped: that reader was
   * handed the same messages from the checkpoint and will commit them itself. With other
   * gateways, the store checks the shared lease in the commit itself (the reader may be polling
   * another gateway).
   */
  async commit(name: string, cursorText: unknown): Promise<void> {
    const g = await this.require(name);
    const cursor = this.codec.decode(cursorText, name);
    if (cursor.generation !== g.generation) throw stale(name);
    const leases = this.runtime(g).leases;
    const mine = new Map([...cursor.positions].filter(([p]) => {
      const holder = leases.holder(p);
      return p >= 0 && p < this.log.partitionCount && (holder === undefined || holder === cursor.reader);
    }));
    const outcome = await this.store.commit(name, g.generation, mine, this.shared?.fence(name, g.generation, cursor.reader));
    if (outcome === 'group_not_found') throw new OmniError('consumer_group_not_found', `Consumer group '${name}' does not exist`);
    if (outcome === 'stale_generation') throw stale(name);
    this.checkpointed();
  }

  /** Committed position and lag per partition. */
  async status(name: string): Promise<GroupStatus> {
    const g = await this.require(name);
    const checkpoints = await this.store.checkpoints(name);
    const leases = this.runtimes.get(name)?.leases;
    const now = Date.now();
    const partitions: PartitionLag[] = [];
    for (const info of await this.log.partitions()) {
      const p = Number(info.partitionId);
      // A checkpoint behind retention counts from the earliest retained message.
      const next = Math.max(checkpoints.get(p) ?? 0, info.beginningSequenceNumber);
      const lagMessages = Math.max(0, info.lastEnqueuedSequenceNumber + 1 - next);
      const oldest = lagMessages > 0 ? (await this.log.read(p, { kind: 'sequence', sequenceNumber: next }, 1)).messages[0] : undefined;
      partitions.push({
        partitionId: info.partitionId,
        committedSequenceNumber: next - 1,
        lastEnqueuedSequenceNumber: info.lastEnqueuedSequenceNumber,
        lagMessages,
        lagSeconds: oldest ? Math.max(0, (now - oldest.enqueuedTimeUtc.getTime()) / 1000) : 0,
        lease: leases?.view(p) ?? null,
      });
    }
    return { consumerGroup: g.name, createdAt: g.createdAt.toISOString(), partitions };
  }

  /** Called after checkpoints or groups change (lag metrics refresh then). */
  onCheckpoint(listener: () => void): () => void {
    this.checkpointListeners.add(listener);
    return () => this.checkpointListeners.delete(listener);
  }

  private checkpointed(): void {
    for (const l of this.checkpointListeners) l();
  }

  /** Releases every waiting poll and stream; they answer with what they have. */
  close(): void {
    this.shutdown.abort();
    this.stopListening();
    this.wakeups.close();
  }
}

function stale(name: string): OmniError {
  return new OmniError('stale_cursor', `The cursor was issued before consumer group '${name}' was repositioned or recreated; read again`);
}
