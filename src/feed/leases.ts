// Which reader of a consumer group holds which partition. Leases live in memory: a lease only
// means "this reader is polling right now", and after a restart every reader has stopped, so
// what was handed out but not checkpointed is handed out again from the durable checkpoint.
// Time is passed in, so the rules here are plain functions of the calls made.
import type { PartitionId, SequenceNumber } from '../core/message.js';

/** One partition leased to one reader. */
export interface Lease {
  readonly partition: PartitionId;
  readonly reader: string;
  /** The next sequence number to hand out; undefined until loaded from the checkpoint. */
  next: SequenceNumber | undefined;
  /** A read of this partition is in progress (two polls of one reader never read it at once). */
  busy: boolean;
}

interface Member {
  /** Polls (or streams) in progress; a member never lapses while one is open. */
  active: number;
  /** When the member lapses if it does not poll again. */
  expiresAt: number;
}

export interface LeaseView {
  readonly reader: string;
  /** ISO time the lease lapses unless its reader polls; null while a poll is open. */
  readonly expiresAt: string | null;
  /** The next sequence number this reader will be handed (null until its first read). */
  readonly nextSequenceNumber: SequenceNumber | null;
}

/** What other gateways' readers hold, as last read from the shared leases (shared-leases.ts). */
export interface SharedView {
  /** Readers of the group on every gateway, this one's included. */
  readonly members: number;
  /** Partitions leased to a reader other than the one rebalancing. */
  readonly elsewhere: ReadonlySet<PartitionId>;
}

/** Which partitions a rebalance took and gave up, for the shared leases to follow. */
export interface Moves {
  readonly taken: PartitionId[];
  readonly released: PartitionId[];
}

export class LeaseTable {
  private readonly members = new Map<string, Member>();
  private readonly leases = new Map<PartitionId, Lease>();
  /** Set before each rebalance when gateways share the group's readers. */
  shared: SharedView | undefined;

  constructor(private readonly partitionCount: number) {}

  /**
   * A poll starts: the reader is a member until `endPoll` plus its lease time. Returns true when
   * the reader is new, so readers holding more than their new share can be told to look again.
   */
  beginPoll(reader: string, now: number): boolean {
    // A reader back after its lease lapsed starts afresh: what it was handed comes again.
    this.expire(now);
    const m = this.members.get(reader);
    if (m) m.active++;
    else this.members.set(reader, { active: 1, expiresAt: Infinity });
    return !m;
  }

  endPoll(reader: string, now: number, leaseMs: number): void {
    const m = this.members.get(reader);
    if (!m) return;
    m.active--;
    if (m.active === 0) m.expiresAt = now + leaseMs;
  }

  /** Removes readers that stopped polling and frees their partitions; true when any lapsed. */
  expire(now: number): boolean {
    let changed = false;
    for (const [reader, m] of this.members) {
      if (m.active > 0 || m.expiresAt > now) continue;
      this.members.delete(reader);
      for (const [p, l] of this.leases) if (l.reader === reader) this.leases.delete(p);
      changed = true;
    }
    return changed;
  }

  /**
   * A reader leaves (it is stopping): its partitions are free at once instead of after its lease
   * time. Returns true when it was a member. A poll of it still open finishes, and what it was
   * handed but did not commit is handed out again from the checkpoint.
   */
  leave(reader: string): boolean {
    if (!this.members.delete(reader)) return false;
    for (const [p, l] of this.leases) if (l.reader === reader) this.leases.delete(p);
    return true;
  }

  /** The earliest time a member lapses (a waiting reader wakes then to take its partitions). */
  nextExpiry(): number {
    let next = Infinity;
    for (const m of this.members.values()) if (m.active === 0) next = Math.min(next, m.expiresAt);
    return next;
  }

  /**
   * Gives `reader` its fair share, ceil(partitions / members): it releases partitions above the
   * share (not while reading them) and takes free ones below it. Returns true when leases moved,
   * so waiting readers can look again.
   */
  rebalance(reader: string, now: number, moves?: Moves): boolean {
    let changed = this.expire(now);
    const members = Math.max(this.members.size, this.shared?.members ?? 0);
    const share = Math.ceil(this.partitionCount / Math.max(1, members));
    const held = this.held(reader);
    for (let i = held.length - 1; i >= share; i--) {
      if (held[i]!.busy) continue;
      this.leases.delete(held[i]!.partition);
      moves?.released.push(held[i]!.partition);
      changed = true;
    }
    let count = Math.min(held.length, share);
    for (let p = 0; p < this.partitionCount && count < share; p++) {
      if (this.leases.has(p) || this.shared?.elsewhere.has(p)) continue;
      this.leases.set(p, { partition: p, reader, next: undefined, busy: false });
      moves?.taken.push(p);
      count++;
      changed = true;
    }
    return changed;
  }

  /** Another gateway's reader holds `partition` now: this gateway stops handing it out. */
  drop(partition: PartitionId): void {
    this.leases.delete(partition);
  }

  /** The reader's leases in partition order. */
  held(reader: string): Lease[] {
    return [...this.leases.values()].filter((l) => l.reader === reader).sort((a, b) => a.partition - b.partition);
  }

  holder(partition: PartitionId): string | undefined {
    return this.leases.get(partition)?.reader;
  }

  view(partition: PartitionId): LeaseView | null {
    const l = this.leases.get(partition);
    if (!l) return null;
    const m = this.members.get(l.reader);
    return { reader: l.reader, expiresAt: m && m.active === 0 ? new Date(m.expiresAt).toISOString() : null, nextSequenceNumber: l.next ?? null };
  }
}
