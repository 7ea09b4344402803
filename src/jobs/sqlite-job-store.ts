// The embedded job store: `<data>/jobs.db` (SQLite, WAL). Checkpoints and output rows share the
// database, so a commit is one transaction; a row's identity is a unique key, so writing it again
// (a rerun after a crash) replaces it rather than adding a copy.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { RowQuery } from '../outputs/output-ledger.js';
import type { NewOutputRow, OutputRow } from '../outputs/output-row.js';
import type { JobCheckpoint, JobStore } from './job-store.js';

interface RowRecord {
  id: number;
  output: string;
  job: string;
  tenant: string;
  ts: number;
  n: number;
  row: string;
  clock: number;
}

const toRow = (r: RowRecord): OutputRow => ({
  id: r.id, output: r.output, job: r.job, tenant: r.tenant, timestampMs: r.ts, n: r.n, row: JSON.parse(r.row) as Record<string, unknown>, committedClockMs: r.clock,
});

/** Rows deleted per statement when pruning, so a large prune never holds the database long. */
const PRUNE_STEP = 5_000;

export class SqliteJobStore implements JobStore {
  private readonly db: Database.Database;
  private readonly stmts;
  private readonly commitTx: (job: string, checkpoint: string, rows: readonly NewOutputRow[], clock: number, clocks: readonly string[]) => OutputRow[];
  private readonly resetTx: (job: string, fromMs: number | null) => void;

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a commit survives kill -9 (the log's default durability).
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS job_checkpoints (job TEXT PRIMARY KEY, checkpoint TEXT NOT NULL, updated INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS output_rows (
        id INTEGER PRIMARY KEY AUTOINCREMENT, output TEXT NOT NULL, job TEXT NOT NULL, tenant TEXT NOT NULL,
        ts INTEGER NOT NULL, n INTEGER NOT NULL, row TEXT NOT NULL, clock INTEGER NOT NULL);
      CREATE UNIQUE INDEX IF NOT EXISTS output_rows_identity ON output_rows (output, job, tenant, ts, n);
      CREATE INDEX IF NOT EXISTS output_rows_order ON output_rows (output, id);
      CREATE INDEX IF NOT EXISTS output_rows_time ON output_rows (output, ts);
      CREATE INDEX IF NOT EXISTS output_rows_job ON output_rows (job, ts);
      CREATE TABLE IF NOT EXISTS output_delivery (output TEXT PRIMARY KEY, delivered INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS output_clocks (output TEXT PRIMARY KEY, clock INTEGER NOT NULL);
    `);
    const db = this.db;
    this.stmts = {
      checkpoint: db.prepare<[string], { checkpoint: string }>('SELECT checkpoint FROM job_checkpoints WHERE job = ?'),
      saveCheckpoint: db.prepare<[string, string, number]>('INSERT OR REPLACE INTO job_checkpoints (job, checkpoint, updated) VALUES (?, ?, ?)'),
      deleteCheckpoint: db.prepare<[string]>('DELETE FROM job_checkpoints WHERE job = ?'),
      insertRow: db.prepare<[string, string, string, number, number, string, number], RowRecord>(
        'INSERT OR REPLACE INTO output_rows (output, job, tenant, ts, n, row, clock) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *'),
      saveClock: db.prepare<[string, number]>('INSERT INTO output_clocks (output, clock) VALUES (?, ?) ON CONFLICT (output) DO UPDATE SET clock = MAX(clock, excluded.clock)'),
      clock: db.prepare<[string], { clock: number }>('SELECT clock FROM output_clocks WHERE output = ?'),
      deleteJobRows: db.prepare<[string]>('DELETE FROM output_rows WHERE job = ?'),
      deleteJobRowsFrom: db.prepare<[string, number]>('DELETE FROM output_rows WHERE job = ? AND ts >= ?'),
      rowsAfter: db.prepare<[string, number, number], RowRecord>('SELECT * FROM output_rows WHERE output = ? AND id > ? ORDER BY id LIMIT ?'),
      delivered: db.prepare<[string], { delivered: number }>('SELECT delivered FROM output_delivery WHERE output = ?'),
      markDelivered: db.prepare<[string, number]>('INSERT INTO output_delivery (output, delivered) VALUES (?, ?) ON CONFLICT (output) DO UPDATE SET delivered = MAX(delivered, excluded.delivered)'),
      countAfter: db.prepare<[string, number], { n: number }>('SELECT COUNT(*) AS n FROM output_rows WHERE output = ? AND id > ?'),
      nthNewest: db.prepare<[string, number], { id: number }>('SELECT id FROM output_rows WHERE output = ? ORDER BY id DESC LIMIT 1 OFFSET ?'),
      pruneBefore: db.prepare<[string, number, number, number]>(
        `DELETE FROM output_rows WHERE id IN (SELECT id FROM output_rows WHERE output = ? AND id <= ? AND (id < ? OR ts < ?) ORDER BY id LIMIT ${PRUNE_STEP})`),
    };
    this.commitTx = db.transaction((job, checkpoint, rows, clock, clocks) => {
      const stored: OutputRow[] = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!;
        stored[i] = toRow(this.stmts.insertRow.get(r.output, r.job, r.tenant, r.timestampMs, r.n, JSON.stringify(r.row), clock)!);
      }
      for (const output of clocks) this.stmts.saveClock.run(output, clock);
      this.stmts.saveCheckpoint.run(job, checkpoint, Date.now());
      return stored;
    });
    this.resetTx = db.transaction((job, fromMs) => {
      this.stmts.deleteCheckpoint.run(job);
      if (fromMs === null) this.stmts.deleteJobRows.run(job);
      else this.stmts.deleteJobRowsFrom.run(job, fromMs);
    });
  }

  async checkpoint(job: string): Promise<JobCheckpoint | undefined> {
    const r = this.stmts.checkpoint.get(job);
    return r === undefined ? undefined : (JSON.parse(r.checkpoint) as JobCheckpoint);
  }

  async commit(job: string, checkpoint: JobCheckpoint, rows: readonly NewOutputRow[], clockMs: number, clocks: readonly string[]): Promise<OutputRow[]> {
    return this.commitTx(job, JSON.stringify(checkpoint), rows, clockMs, clocks);
  }

  async reset(job: string, fromMs: number | null): Promise<void> {
    this.resetTx(job, fromMs);
  }

  async rowsAfter(output: string, afterId: number, limit: number): Promise<OutputRow[]> {
    return this.stmts.rowsAfter.all(output, afterId, limit).map(toRow);
  }

  /** One statement per combination of filters, prepared on first use. */
  private readonly latest = new Map<string, Database.Statement<unknown[], RowRecord>>();

  async latestRows(output: string, query: RowQuery): Promise<OutputRow[]> {
    const filters = [query.tenant === undefined ? '' : ' AND tenant = ?', query.job === undefined ? '' : ' AND job = ?'].join('');
    let stmt = this.latest.get(filters);
    if (!stmt) {
      stmt = this.db.prepare<unknown[], RowRecord>(`SELECT * FROM output_rows WHERE output = ? AND ts >= ?${filters} ORDER BY ts DESC, n DESC, id DESC LIMIT ?`);
      this.latest.set(filters, stmt);
    }
    const args: unknown[] = [output, query.sinceMs ?? -8.64e15];
    if (query.tenant !== undefined) args.push(query.tenant);
    if (query.job !== undefined) args.push(query.job);
    args.push(query.limit);
    return stmt.all(...args).reverse().map(toRow);
  }

  async delivered(output: string): Promise<number> {
    return this.stmts.delivered.get(output)?.delivered ?? 0;
  }

  async markDelivered(output: string, id: number): Promise<void> {
    this.stmts.markDelivered.run(output, id);
  }

  async backlog(output: string): Promise<number> {
    return this.stmts.countAfter.get(output, await this.delivered(output))!.n;
  }

  async clock(output: string): Promise<number> {
    return this.stmts.clock.get(output)?.clock ?? 0;
  }

  async prune(output: string, keep: { rows: number; maxAgeMs: number; keepAfterId: number }, nowMs: number): Promise<number> {
    // Rows older than the newest `keep.rows` by id, or stamped before the age limit, up to what is still needed.
    const nth = this.stmts.nthNewest.get(output, keep.rows);
    const firstKept = nth === undefined ? 0 : nth.id + 1;
    let deleted = 0;
    for (;;) {
      const step = this.stmts.pruneBefore.run(output, keep.keepAfterId, firstKept, nowMs - keep.maxAgeMs).changes;
      deleted += step;
      if (step < PRUNE_STEP) return deleted;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
