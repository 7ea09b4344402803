// Job checkpoints and every output's rows in PostgreSQL, for job workers on several machines. As in
// the embedded jobs.db, a commit (rows, checkpoint and stream clocks) is one transaction, and a
// row repeating an identity (output, job, tenant, ts, n) replaces the earlier one under a new id.
//
// Ids come from one sequence and order commits across outputs, so a reader resumes every output
// from one id. A sequence alone would not keep that promise: two transactions draw ids and commit
// in either order, and a reader that saw the later one would skip the earlier one's lower ids for
// good. So commits take a transaction-scoped advisory lock first, and draw ids one commit at a
// time; the lock is released only once the commit is visible.
import { OmniError } from '../core/errors.js';
import { PostgresDatabase, lockKey, type PostgresTarget, type Query } from '../postgres/postgres-database.js';
import type { PostgresLeases } from '../postgres/postgres-leases.js';
import { migrate, schemaComponent } from '../postgres/schema-migrations.js';
import type { RowQuery } from '../outputs/output-ledger.js';
import type { NewOutputRow, OutputRow } from '../outputs/output-row.js';
import { jobLeaseName, type JobCheckpoint, type JobStore } from './job-store.js';

export const JOB_STORE_SCHEMA = schemaComponent('jobs', [
  {
    version: 1,
    description: 'job checkpoints, output rows (ids from one sequence), delivery positions and stream clocks',
    statements: (s) => [
      `CREATE TABLE ${s}.job_checkpoints (job text PRIMARY KEY, checkpoint text NOT NULL, updated_ms bigint NOT NULL)`,
      `CREATE SEQUENCE ${s}.output_row_ids`,
      `CREATE TABLE ${s}.output_rows (
        id bigint PRIMARY KEY DEFAULT nextval('${s}.output_row_ids'),
        output text NOT NULL, job text NOT NULL, tenant text NOT NULL, ts bigint NOT NULL, n integer NOT NULL,
        row text NOT NULL, clock bigint NOT NULL)`,
      `ALTER SEQUENCE ${s}.output_row_ids OWNED BY ${s}.output_rows.id`,
      `CREATE UNIQUE INDEX output_rows_identity ON ${s}.output_rows (output, job, tenant, ts, n)`,
      `CREATE INDEX output_rows_order ON ${s}.output_rows (output, id)`,
      `CREATE INDEX output_rows_time ON ${s}.output_rows (output, ts, n, id)`,
      `CREATE INDEX output_rows_job ON ${s}.output_rows (job, ts)`,
      `CREATE TABLE ${s}.output_delivery (output text PRIMARY KEY, delivered bigint NOT NULL)`,
      `CREATE TABLE ${s}.output_clocks (output text PRIMARY KEY, clock bigint NOT NULL)`,
    ],
  },
]);

/** The advisory lock class of commits (the second key is the schema's): "Omn2". */
const COMMIT_LOCK_CLASS = 0x4f6d6e32;
/** Rows deleted per statement when pruning, so a large prune never holds the table long. */
const PRUNE_STEP = 5_000;

interface RowRecord {
  id: string;
  output: string;
  job: string;
  tenant: string;
  ts: string;
  n: number;
  row: string;
  clock: string;
}

const COLUMNS = 'id, output, job, tenant, ts, n, row, clock';

const toRow = (r: RowRecord): OutputRow => ({
  id: Number(r.id), output: r.output, job: r.job, tenant: r.tenant, timestampMs: Number(r.ts), n: r.n,
  row: JSON.parse(r.row) as Record<string, unknown>, committedClockMs: Number(r.clock),
});

const identity = (output: string, job: string, tenant: string, ts: number, n: number): string => JSON.stringify([output, job, tenant, ts, n]);

export class PostgresJobStore implements JobStore {
  private readonly t;
  private readonly beginCommit: string;

  private constructor(private readonly db: PostgresDatabase, private readonly leases: PostgresLeases | undefined) {
    this.t = {
      checkpoints: db.table('job_checkpoints'),
      rows: db.table('output_rows'),
      ids: db.table('output_row_ids'),
      delivery: db.table('output_delivery'),
      clocks: db.table('output_clocks'),
    };
    this.beginCommit = `BEGIN; SELECT pg_advisory_xact_lock(${COMMIT_LOCK_CLASS}, ${lockKey(db.schema)})`;
  }

  /**
   * Opens the store in `target`'s schema, creating or migrating its tables. With `fence`, a job's
   * commit and reset hold only while this process holds the job's lease (jobLeaseName), checked
   * in the same transaction: a worker that lost its job cannot overwrite the new owner's work.
   */
  static async open(target: PostgresTarget, options: { readonly fence?: PostgresLeases } = {}): Promise<PostgresJobStore> {
    const db = PostgresDatabase.connect(target, 'the job store');
    try {
      await migrate(db, JOB_STORE_SCHEMA);
    } catch (err) {
      await db.close();
      throw err;
    }
    return new PostgresJobStore(db, options.fence);
  }

  /** Inside the transaction of a job's write: refuses it when another process now runs the job. */
  private async fenced(query: Query, job: string): Promise<void> {
    if (this.leases === undefined) return;
    const name = jobLeaseName(job);
    const fence = this.leases.fence(name);
    if (fence === undefined || !(await this.leases.holds(query, name, fence))) {
      throw new OmniError('unavailable', `job ${job} is run by another process now (its lease lapsed): this process's commit is refused`);
    }
  }

  async checkpoint(job: string): Promise<JobCheckpoint | undefined> {
    const { rows } = await this.db.query<{ checkpoint: string }>(`SELECT checkpoint FROM ${this.t.checkpoints} WHERE job = $1`, [job]);
    return rows[0] && (JSON.parse(rows[0].checkpoint) as JobCheckpoint);
  }

  async commit(job: string, checkpoint: JobCheckpoint, rows: readonly NewOutputRow[], clockMs: number, clocks: readonly string[]): Promise<OutputRow[]> {
    const texts = rows.map((r) => JSON.stringify(r.row));
    const runs = uniqueRuns(rows);
    return this.db.transaction(async (query) => {
      await this.fenced(query, job);
      const stored: OutputRow[] = [];
      for (const [from, to] of runs.slice(0, -1)) stored.push(...await this.insertRows(query, rows, texts, from, to, clockMs));
      // The last run of rows, the clocks and the checkpoint: one statement, so a commit without
      // repeated identities costs three round trips (BEGIN and the lock, this, COMMIT).
      const [from, to] = runs.at(-1) ?? [0, 0];
      const rest = await query<{ id: string; output: string; job: string; tenant: string; ts: string; n: number }>(`WITH
        r AS (${this.insertSql(1)}),
        c AS (INSERT INTO ${this.t.clocks} (output, clock) SELECT o, $7 FROM unnest($8::text[]) AS o
          ON CONFLICT (output) DO UPDATE SET clock = GREATEST(${this.t.clocks}.clock, EXCLUDED.clock)),
        k AS (INSERT INTO ${this.t.checkpoints} (job, checkpoint, updated_ms) VALUES ($9, $10, $11)
          ON CONFLICT (job) DO UPDATE SET checkpoint = EXCLUDED.checkpoint, updated_ms = EXCLUDED.updated_ms)
        SELECT * FROM r`,
      [...rowParams(rows, texts, from, to), clockMs, [...new Set(clocks)], job, JSON.stringify(checkpoint), Date.now()]);
      stored.push(...matchRows(rows, texts, from, to, rest.rows, clockMs));
      return stored;
    }, this.beginCommit);
  }

  /** Inserts rows [from, to) (no identity twice), returning them with their ids, in order. */
  private async insertRows(query: Query, rows: readonly NewOutputRow[], texts: readonly string[], from: number, to: number, clockMs: number): Promise<OutputRow[]> {
    const result = await query<{ id: string; output: string; job: string; tenant: string; ts: string; n: number }>(
      this.insertSql(1), [...rowParams(rows, texts, from, to), clockMs]);
    return matchRows(rows, texts, from, to, result.rows, clockMs);
  }

  /**
   * Rows from six parallel arrays ($first … $first+5) and the clock ($first+6), inserted in their
   * order so their ids rise with it; a row already stored under the same identity is replaced and
   * takes a new id, as a row committed now.
   */
  private insertSql(first: number): string {
    const p = (i: number): string => `$${first + i}`;
    return `INSERT INTO ${this.t.rows} (output, job, tenant, ts, n, row, clock)
      SELECT u.output, u.job, u.tenant, u.ts, u.n, u.row, ${p(6)}::bigint
      FROM unnest(${p(0)}::text[], ${p(1)}::text[], ${p(2)}::text[], ${p(3)}::bigint[], ${p(4)}::integer[], ${p(5)}::text[])
        WITH ORDINALITY AS u(output, job, tenant, ts, n, row, ord)
      ORDER BY u.ord
      ON CONFLICT (output, job, tenant, ts, n) DO UPDATE SET id = nextval('${this.t.ids}'), row = EXCLUDED.row, clock = EXCLUDED.clock
      RETURNING id, output, job, tenant, ts, n`;
  }

  async reset(job: string, fromMs: number | null): Promise<void> {
    await this.db.transaction(async (query) => {
      await this.fenced(query, job);
      await query(`WITH k AS (DELETE FROM ${this.t.checkpoints} WHERE job = $1)
        DELETE FROM ${this.t.rows} WHERE job = $1 AND ($2::bigint IS NULL OR ts >= $2::bigint)`, [job, fromMs]);
    });
  }

  async rowsAfter(output: string, afterId: number, limit: number): Promise<OutputRow[]> {
    const { rows } = await this.db.query<RowRecord>(`SELECT ${COLUMNS} FROM ${this.t.rows} WHERE output = $1 AND id > $2 ORDER BY id LIMIT $3`, [output, afterId, limit]);
    return rows.map(toRow);
  }

  async latestRows(output: string, query: RowQuery): Promise<OutputRow[]> {
    const { rows } = await this.db.query<RowRecord>(`SELECT ${COLUMNS} FROM ${this.t.rows}
      WHERE output = $1 AND ts >= $2 AND ($3::text IS NULL OR tenant = $3) AND ($4::text IS NULL OR job = $4)
      ORDER BY ts DESC, n DESC, id DESC LIMIT $5`,
    [output, bigintParam(query.sinceMs ?? Number.MIN_SAFE_INTEGER), query.tenant ?? null, query.job ?? null, query.limit]);
    return rows.reverse().map(toRow);
  }

  async delivered(output: string): Promise<number> {
    const { rows } = await this.db.query<{ delivered: string }>(`SELECT delivered FROM ${this.t.delivery} WHERE output = $1`, [output]);
    return rows[0] ? Number(rows[0].delivered) : 0;
  }

  async markDelivered(output: string, id: number): Promise<void> {
    await this.db.query(`INSERT INTO ${this.t.delivery} (output, delivered) VALUES ($1, $2)
      ON CONFLICT (output) DO UPDATE SET delivered = GREATEST(${this.t.delivery}.delivered, EXCLUDED.delivered)`, [output, id]);
  }

  async backlog(output: string): Promise<number> {
    const { rows } = await this.db.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${this.t.rows}
      WHERE output = $1 AND id > COALESCE((SELECT delivered FROM ${this.t.delivery} WHERE output = $1), 0)`, [output]);
    return Number(rows[0]!.n);
  }

  async clock(output: string): Promise<number> {
    const { rows } = await this.db.query<{ clock: string }>(`SELECT clock FROM ${this.t.clocks} WHERE output = $1`, [output]);
    return rows[0] ? Number(rows[0].clock) : 0;
  }

  async prune(output: string, keep: { rows: number; maxAgeMs: number; keepAfterId: number }, nowMs: number): Promise<number> {
    // Rows older than the newest `keep.rows` by id, or stamped before the age limit, up to what is still needed.
    let firstKept = 0;
    if (Number.isFinite(keep.rows)) {
      const nth = await this.db.query<{ id: string }>(`SELECT id FROM ${this.t.rows} WHERE output = $1 ORDER BY id DESC LIMIT 1 OFFSET $2`, [output, Math.max(0, Math.floor(keep.rows))]);
      if (nth.rows[0]) firstKept = Number(nth.rows[0].id) + 1;
    }
    const params = [output, bigintParam(keep.keepAfterId), firstKept, bigintParam(nowMs - keep.maxAgeMs)];
    let deleted = 0;
    // In steps, each its own statement: other commits and reads go on in between.
    for (;;) {
      const step = (await this.db.query(`DELETE FROM ${this.t.rows} WHERE id IN (
        SELECT id FROM ${this.t.rows} WHERE output = $1 AND id <= $2 AND (id < $3 OR ts < $4) ORDER BY id LIMIT ${PRUNE_STEP})`, params)).rowCount ?? 0;
      deleted += step;
      if (step < PRUNE_STEP) return deleted;
    }
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

/**
 * Splits rows into runs [from, to) without a repeated identity: one INSERT … ON CONFLICT may not
 * touch a row twice, and a later row of one commit replaces an earlier one, as in the embedded store.
 * Always at least one run (possibly empty).
 */
function uniqueRuns(rows: readonly NewOutputRow[]): [number, number][] {
  const runs: [number, number][] = [];
  let start = 0;
  let seen = new Set<string>();
  rows.forEach((r, i) => {
    const key = identity(r.output, r.job, r.tenant, r.timestampMs, r.n);
    if (seen.has(key)) {
      runs.push([start, i]);
      start = i;
      seen = new Set();
    }
    seen.add(key);
  });
  runs.push([start, rows.length]);
  return runs;
}

function rowParams(rows: readonly NewOutputRow[], texts: readonly string[], from: number, to: number): unknown[] {
  const part = rows.slice(from, to);
  return [part.map((r) => r.output), part.map((r) => r.job), part.map((r) => r.tenant), part.map((r) => r.timestampMs), part.map((r) => r.n), texts.slice(from, to)];
}

/** The stored rows in the order given, each with the id the database returned for its identity. */
function matchRows(rows: readonly NewOutputRow[], texts: readonly string[], from: number, to: number,
  returned: readonly { id: string; output: string; job: string; tenant: string; ts: string; n: number }[], clockMs: number): OutputRow[] {
  const ids = new Map(returned.map((r) => [identity(r.output, r.job, r.tenant, Number(r.ts), r.n), Number(r.id)]));
  const out: OutputRow[] = [];
  for (let i = from; i < to; i++) {
    const r = rows[i]!;
    out.push({
      id: ids.get(identity(r.output, r.job, r.tenant, r.timestampMs, r.n))!,
      output: r.output, job: r.job, tenant: r.tenant, timestampMs: r.timestampMs, n: r.n,
      // As read back: what a reader of the ledger gets.
      row: JSON.parse(texts[i]!) as Record<string, unknown>,
      committedClockMs: clockMs,
    });
  }
  return out;
}

/** A number for a bigint parameter: whole, and infinities as the furthest safe integers. */
function bigintParam(v: number): number {
  if (Number.isNaN(v)) return 0;
  if (!Number.isFinite(v)) return v > 0 ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER;
  return Math.floor(v);
}
