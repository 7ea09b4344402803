// Leases of shared work in PostgreSQL: a job, an output's delivery, a consumer group's partition.
// One row per name: who holds it, an epoch, and when it lapses (the database's clock, so the
// processes' clocks never need to agree).
//
// - claim() takes a name that is free or lapsed, or renews one its owner holds. Taking it from
//   another owner bumps the epoch; renewing keeps it. A row that still shows the caller's owner and
//   epoch was never taken in between (any takeover bumps the epoch), so renewing even a lapsed
//   lease continues safely. An owner may always retake a name its own identity holds, even from
//   another process: a consumer-group reader (the owner is the reader's id) reconnecting through
//   another gateway after one died continues at once instead of waiting out its own lease. The
//   epoch is bumped unless the claim carries the holder's known epoch, so a fence by epoch held by
//   the earlier process stops matching. (A job's owner is its process, unique per start, so no
//   other process ever shares it.)
// - Fencing: the holder's writes (a job's commit) run `fenceSql` in their transaction. It matches
//   only while the row shows the holder's owner and epoch, and locks the row (FOR SHARE), so a
//   takeover waits for the commit to end and the new holder reads what it committed. A holder
//   that lost its lease cannot commit.
// - release() makes the lease lapse at once (the epoch is kept, so epochs only grow).
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { PostgresDatabase, type PostgresTarget, type Query } from './postgres-database.js';
import { migrate, schemaComponent } from './schema-migrations.js';

export const LEASE_SCHEMA = schemaComponent('leases', [
  {
    version: 1,
    description: 'leases of shared work (jobs, output deliveries, consumer-group partitions)',
    statements: (s) => [
      `CREATE TABLE ${s}.leases (
        name text COLLATE "C" PRIMARY KEY,
        owner text NOT NULL,
        epoch bigint NOT NULL,
        expires_at timestamptz NOT NULL)`,
    ],
  },
]);

/** What a claim found. */
export type ClaimOutcome =
  /** Held before and still: whatever the holder built on it is good. */
  | 'renewed'
  /** Newly taken (free, lapsed, or taken over): start from what is committed. */
  | 'acquired'
  /** Another owner holds it. */
  | 'held_elsewhere';

export interface Fence {
  readonly owner: string;
  readonly epoch: number;
}

export class PostgresLeases {
  /** This process, as an owner: unique across hosts and restarts. */
  readonly owner = `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
  private readonly held = new Map<string, Fence>();
  private readonly table: string;

  private constructor(private readonly db: PostgresDatabase, readonly leaseMs: number) {
    this.table = db.table('leases');
  }

  static async open(target: PostgresTarget, leaseMs: number): Promise<PostgresLeases> {
    const db = PostgresDatabase.connect(target, 'Omnistream');
    try {
      await migrate(db, LEASE_SCHEMA);
    } catch (err) {
      await db.close();
      throw err;
    }
    return new PostgresLeases(db, leaseMs);
  }

  /** Takes or renews `name` for `owner` (this process by default) for `ttlMs` (leaseMs by default). */
  async claim(name: string, owner = this.owner, ttlMs = this.leaseMs): Promise<ClaimOutcome> {
    const mine = this.held.get(name);
    const epoch = mine?.owner === owner ? mine.epoch : -1;
    const { rows } = await this.db.query<{ epoch: string }>(`INSERT INTO ${this.table} AS l (name, owner, epoch, expires_at)
        VALUES ($1, $2, 1, clock_timestamp() + $3 * interval '1 millisecond')
      ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at,
        epoch = CASE WHEN l.owner = EXCLUDED.owner AND l.epoch = $4 THEN l.epoch ELSE l.epoch + 1 END
      WHERE l.expires_at <= clock_timestamp() OR l.owner = EXCLUDED.owner
      RETURNING epoch`, [name, owner, ttlMs, epoch]);
    const row = rows[0];
    if (row === undefined) {
      if (mine?.owner === owner) this.held.delete(name);
      return 'held_elsewhere';
    }
    const now = Number(row.epoch);
    this.held.set(name, { owner, epoch: now });
    return now === epoch ? 'renewed' : 'acquired';
  }

  /** Lets `name` lapse now, if `owner` still holds it. */
  async release(name: string, owner = this.owner): Promise<void> {
    const mine = this.held.get(name);
    if (mine?.owner !== owner) return;
    this.held.delete(name);
    await this.db.query(`UPDATE ${this.table} SET expires_at = '-infinity' WHERE name = $1 AND owner = $2 AND epoch = $3`, [name, owner, mine.epoch]);
  }

  /** The lease this process believes it holds on `name`, for fencing its writes. */
  fence(name: string): Fence | undefined {
    return this.held.get(name);
  }

  /**
   * Inside a transaction: true while `fence` still holds `name`, and the row is locked until the
   * transaction ends, so no takeover can come between this check and the commit.
   */
  async holds(query: Query, name: string, fence: Fence): Promise<boolean> {
    const { rows } = await query(`SELECT 1 FROM ${this.table} WHERE name = $1 AND owner = $2 AND epoch = $3 FOR SHARE`, [name, fence.owner, fence.epoch]);
    return rows.length > 0;
  }

  /** Unlapsed leases whose names start with `prefix`, and their owners. */
  async live(prefix: string): Promise<Map<string, string>> {
    const { rows } = await this.db.query<{ name: string; owner: string }>(
      `SELECT name, owner FROM ${this.table} WHERE name LIKE $1 || '%' AND expires_at > clock_timestamp()`, [prefix.replace(/[\\%_]/g, '\\$&')]);
    return new Map(rows.map((r) => [r.name, r.owner]));
  }

  /** Keeps the shared pool open (the caller owns it). */
  async close(): Promise<void> {
    await this.db.close();
  }
}
