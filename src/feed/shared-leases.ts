// A consumer group's readers on several gateways: who reads which partition is agreed through
// leases every gateway sees (PostgreSQL, src/postgres/postgres-leases.ts), so a group's partitions
// are split across readers connected to different gateways, and a dead gateway's share moves on
// once its readers' leases lapse (the reader's lease_ms).
//
// Names, per group and generation (a repositioned group starts afresh):
//   cg/<group>/<generation>/r/<reader>      a reader polling, renewed while it polls
//   cg/<group>/<generation>/p/<partition>   the reader the partition is leased to
// Each gateway keeps its LeaseTable; before each read (and at least every third of the lease while
// a poll waits) a reader renews its rows, reads the others', and rebalances against them: its share
// is ceil(partitions / readers on every gateway), and a partition another reader holds is not
// free. A partition is read only after its lease is taken in the database, and the reader's
// commits are fenced by the same rows (CommitFence), so a reader whose partition moved cannot
// commit over the new holder, and the new holder starts from what the old one committed.
import type { PartitionId } from '../core/message.js';
import type { CommitFence } from '../log/consumer-group-store.js';
import type { LeaseTable } from './leases.js';

/** The slice of the shared leases the feed needs (PostgresLeases has it). */
export interface SharedLeaseStore {
  claim(name: string, owner: string, ttlMs: number): Promise<'renewed' | 'acquired' | 'held_elsewhere'>;
  release(name: string, owner: string): Promise<void>;
  /** Unlapsed leases under `prefix`: name → owner. */
  live(prefix: string): Promise<Map<string, string>>;
}

/** A waiting poll looks at the shared leases at least this often, as a fraction of its lease. */
export const SYNC_FRACTION = 3;

export class SharedGroupLeases {
  constructor(private readonly store: SharedLeaseStore) {}

  private prefix(group: string, generation: string): string {
    return `cg/${group}/${generation}/`;
  }

  fence(group: string, generation: string, reader: string): CommitFence {
    const prefix = this.prefix(group, generation);
    return { reader, lease: (p: PartitionId) => `${prefix}p/${p}` };
  }

  /**
   * Renews `reader`'s rows, reads everyone's, rebalances `table` for `reader` against them and
   * takes or gives up the partitions that moved. True when this reader's partitions changed.
   */
  async sync(group: string, generation: string, table: LeaseTable, reader: string, leaseMs: number): Promise<boolean> {
    const prefix = this.prefix(group, generation);
    const partition = (p: PartitionId) => `${prefix}p/${p}`;
    await this.store.claim(`${prefix}r/${reader}`, reader, leaseMs);
    let changed = false;
    for (const l of table.held(reader)) {
      const claim = await this.store.claim(partition(l.partition), reader, leaseMs);
      if (claim === 'held_elsewhere') {
        table.drop(l.partition);
        changed = true;
      } else if (claim === 'acquired' && !l.busy) {
        // Someone held it in between: what this reader was handed may have been committed since.
        l.next = undefined;
      }
    }
    let members = 0;
    const elsewhere = new Set<PartitionId>();
    for (const [name, owner] of await this.store.live(prefix)) {
      const rest = name.slice(prefix.length);
      if (rest.startsWith('r/')) members++;
      else if (rest.startsWith('p/') && owner !== reader) elsewhere.add(Number(rest.slice(2)));
    }
    table.shared = { members, elsewhere };
    const moves = { taken: [] as PartitionId[], released: [] as PartitionId[] };
    changed = table.rebalance(reader, Date.now(), moves) || changed;
    for (const p of moves.released) await this.store.release(partition(p), reader);
    for (const p of moves.taken) {
      if ((await this.store.claim(partition(p), reader, leaseMs)) === 'held_elsewhere') table.drop(p);
    }
    return changed;
  }
}
