// Which job worker runs which job, when several share one database: the port job workers claim
// their work through (PostgreSQL leases: src/postgres/postgres-leases.ts). Without it, one process
// runs every job, as the embedded setup does.
export type Claim = 'renewed' | 'acquired' | 'held_elsewhere';

export interface JobOwnership {
  /** How long a claim holds without renewal; a dead owner's work moves after this. */
  readonly leaseMs: number;
  /** Takes the work if free or lapsed, or renews it; 'acquired' means start from what is committed. */
  claim(name: string): Promise<Claim>;
  /** Gives it up now (this process stops), so another takes it without waiting out the lease. */
  release(name: string): Promise<void>;
}

/** One piece of work this process may run: a job, or an output's delivery. */
export interface OwnedWork {
  readonly lease: string;
  run(): Promise<void>;
  halt(): Promise<void>;
}

/**
 * Claims every piece of work every leaseMs/3: starts what it acquires, keeps what it renews, halts
 * what another process took. When the database cannot be asked, work keeps running until its
 * lease would have lapsed, then halts (another process may have it by then; its commits would be
 * refused anyway).
 */
export class OwnershipLoop {
  private readonly owned = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly ownership: JobOwnership, private readonly work: readonly OwnedWork[], private readonly onError: (message: string, err: unknown) => void) {}

  start(): void {
    const tick = (): void => {
      if (this.closed) return;
      this.pass = this.claimAll().finally(() => {
        if (!this.closed) this.timer = setTimeout(tick, Math.max(100, Math.floor(this.ownership.leaseMs / 3)));
      });
    };
    tick();
  }

  /** The work this process runs now. */
  get running(): string[] {
    return [...this.owned.keys()];
  }

  private async claimAll(): Promise<void> {
    for (const w of this.work) {
      if (this.closed) return;
      const started = Date.now();
      let claim: Claim;
      try {
        claim = await this.ownership.claim(w.lease);
      } catch (err) {
        const since = this.owned.get(w.lease);
        if (since !== undefined && started - since >= this.ownership.leaseMs) {
          this.owned.delete(w.lease);
          this.onError(`cannot renew ${w.lease}; its lease has lapsed, so it stops here`, err);
          await w.halt().catch((e: unknown) => this.onError(`stopping ${w.lease} failed`, e));
        }
        continue;
      }
      const had = this.owned.has(w.lease);
      if (claim === 'held_elsewhere') {
        if (had) {
          this.owned.delete(w.lease);
          await w.halt().catch((e: unknown) => this.onError(`stopping ${w.lease} failed`, e));
        }
        continue;
      }
      // Acquired while believing it ours: someone held it in between, so start over from what is committed.
      if (claim === 'acquired' && had) await w.halt().catch((e: unknown) => this.onError(`stopping ${w.lease} failed`, e));
      this.owned.set(w.lease, started);
      if (claim === 'acquired' || !had) await w.run().catch((e: unknown) => this.onError(`starting ${w.lease} failed`, e));
    }
  }

  /** Stops claiming; halts nothing (the caller stops its work), then releases what it held. */
  async stopClaiming(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.pass;
  }

  async releaseAll(): Promise<void> {
    const held = [...this.owned.keys()];
    this.owned.clear();
    await Promise.all(held.map((name) => this.ownership.release(name).catch(() => {})));
  }
}
