// The rows of one output the page holds: merged from loads and the live stream (each row once, by
// id), kept in timestamp order, and pruned so memory stays bounded however long the page is open —
// rows older than the dashboard's range go, except each tenant's newest timestamps (a card compares
// the newest with the one before), and never more than a cap, the oldest timestamps going whole so
// no timestamp is left half there; rows a job recomputes (a replay) are dropped on the server's
// word. Pure.
import type { OutputRow } from './wire.js';

/** Rows kept per output at most; the server answers at most this many too. */
export const MAX_ROWS_PER_OUTPUT = 10_000;

export interface KeepPolicy {
  /** Keep rows stamped at or after `now - rangeMs` (line and heatmap tiles), or null for none by age. */
  readonly rangeMs: number | null;
  /** Keep each tenant's newest this many timestamps whatever their age (a card needs 2). */
  readonly latestPerTenant: number;
  /** At most this many rows: past it the oldest timestamps go, whole. */
  readonly maxRows: number;
}

/** Orders rows by timestamp, then by id (commit order). */
export function compareRows(a: OutputRow, b: OutputRow): number {
  return a.timestampMs - b.timestampMs || a.id - b.id;
}

/**
 * The rows of a load that answered `limit` rows: the server sends the newest rows by timestamp, so
 * the oldest timestamp of a full answer may be cut in the middle; its rows are left out (unless
 * they are all there is) rather than shown as a timestamp's whole.
 */
export function withoutPartialOldest(rows: readonly OutputRow[], limit: number): readonly OutputRow[] {
  if (rows.length < limit || rows.length === 0) return rows;
  let oldest = Infinity;
  for (const r of rows) oldest = Math.min(oldest, r.timestampMs);
  const rest = rows.filter((r) => r.timestampMs !== oldest);
  return rest.length === 0 ? rows : rest;
}

export class OutputRows {
  private rows: OutputRow[] = [];
  private readonly ids = new Set<number>();
  private cappedFlag = false;
  private changes = 0;

  /** The rows, oldest first (by timestamp, then id). */
  get all(): readonly OutputRow[] {
    return this.rows;
  }

  get size(): number {
    return this.rows.length;
  }

  /** Rises with every change of the rows held: what was drawn from them is still right while it stays. */
  get version(): number {
    return this.changes;
  }

  /** Whether the last prune dropped rows by the cap (a line then starts later than its range). */
  get capped(): boolean {
    return this.cappedFlag;
  }

  /** Adds the rows not held yet; returns how many were new. */
  merge(incoming: readonly OutputRow[]): number {
    const fresh: OutputRow[] = [];
    for (const r of incoming) {
      if (this.ids.has(r.id)) continue;
      this.ids.add(r.id);
      fresh.push(r);
    }
    if (fresh.length === 0) return 0;
    this.changes++;
    const last = this.rows[this.rows.length - 1];
    const inOrder = fresh.every((r, i) => i === 0 || compareRows(fresh[i - 1]!, r) <= 0);
    this.rows.push(...fresh);
    // The stream's rows usually come after every row held; anything else (a tenant behind the
    // others, a reload after a reconnect) is put in its place.
    if (!inOrder || (last !== undefined && compareRows(last, fresh[0]!) > 0)) this.rows.sort(compareRows);
    return fresh.length;
  }

  /** Drops what the policy does not keep; returns how many rows went. */
  prune(policy: KeepPolicy, nowMs: number): number {
    const before = this.rows.length;
    const cutoff = policy.rangeMs === null ? Infinity : nowMs - policy.rangeMs;
    // Each tenant's newest timestamps: walking from the newest row, the first N distinct ones.
    const latest = new Map<string, Set<number>>();
    for (let i = this.rows.length - 1; i >= 0; i--) {
      const r = this.rows[i]!;
      let stamps = latest.get(r.tenant);
      if (!stamps) latest.set(r.tenant, stamps = new Set());
      if (stamps.size < policy.latestPerTenant) stamps.add(r.timestampMs);
    }
    let kept = this.rows.filter((r) => r.timestampMs >= cutoff || latest.get(r.tenant)!.has(r.timestampMs));
    this.cappedFlag = false;
    if (kept.length > policy.maxRows) {
      let cut = kept.length - policy.maxRows;
      const partial = kept[cut - 1]!.timestampMs;
      while (cut < kept.length && kept[cut]!.timestampMs === partial) cut++;
      // One timestamp larger than the cap: its newest rows, since there is nothing older to drop.
      if (cut === kept.length) cut = kept.length - policy.maxRows;
      kept = kept.slice(cut);
      this.cappedFlag = true;
    }
    if (kept.length !== before) {
      this.changes++;
      this.rows = kept;
      this.ids.clear();
      for (const r of kept) this.ids.add(r.id);
    }
    return before - kept.length;
  }

  /** Drops the rows `voided` picks (a job's rows it is recomputing); returns how many went. */
  drop(voided: (r: OutputRow) => boolean): number {
    const kept = this.rows.filter((r) => !voided(r));
    const gone = this.rows.length - kept.length;
    if (gone > 0) {
      this.changes++;
      this.rows = kept;
      this.ids.clear();
      for (const r of kept) this.ids.add(r.id);
    }
    return gone;
  }

  /** The tenants of the rows held, sorted. */
  tenants(): string[] {
    return [...new Set(this.rows.map((r) => r.tenant))].sort();
  }
}
