// Rows as they are committed, for whoever follows an output live (the dashboard's SSE streams),
// with each output's most recent rows kept in memory so a page loading its first screen does not
// wait on storage.
import type { OutputRow } from './output-row.js';

/** What a follower hears: rows as committed (in commit order, any mix of outputs), and resets. */
export interface LiveListener {
  rows(rows: readonly OutputRow[]): void;
  /** A job is recomputing its rows of these outputs stamped at or after `fromMs` (all when null): what was shown of them is void. */
  reset(job: string, outputs: readonly string[], fromMs: number | null): void;
}

export class LiveRows {
  private readonly listeners = new Set<LiveListener>();
  private readonly recent = new Map<string, OutputRow[]>();

  /** Rows kept per output. */
  constructor(private readonly keep = 1_000) {}

  /** Follows every output; a follower picks the rows it wants (their ids rise across outputs). */
  subscribe(listener: LiveListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Rows just committed, in commit order (any mix of outputs). */
  publish(rows: readonly OutputRow[]): void {
    const byOutput = new Map<string, OutputRow[]>();
    for (const r of rows) {
      let list = byOutput.get(r.output);
      if (!list) byOutput.set(r.output, (list = []));
      list.push(r);
    }
    for (const [output, list] of byOutput) {
      const kept = this.recent.get(output);
      if (!kept) continue;
      kept.push(...list);
      if (kept.length > this.keep * 2) this.recent.set(output, kept.slice(-this.keep));
    }
    for (const l of this.listeners) l.rows(rows);
  }

  /** Starts keeping an output's recent rows, from what storage holds. */
  prime(output: string, rows: readonly OutputRow[]): void {
    this.recent.set(output, rows.slice(-this.keep));
  }

  /**
   * The newest rows (by timestamp) when memory holds enough to answer, else undefined (ask
   * storage). Memory answers when it holds more rows than asked for, or every row since `sinceMs`.
   */
  latest(output: string, filter: (r: OutputRow) => boolean, limit: number, sinceMs: number | undefined): OutputRow[] | undefined {
    const kept = this.recent.get(output);
    if (!kept) return undefined;
    const rows = kept.filter((r) => filter(r) && (sinceMs === undefined || r.timestampMs >= sinceMs));
    const complete = kept.length < this.keep || (sinceMs !== undefined && kept[0]!.timestampMs < sinceMs) || rows.length >= limit;
    if (!complete) return undefined;
    rows.sort((a, b) => a.timestampMs - b.timestampMs || a.n - b.n || a.id - b.id);
    return rows.slice(-limit);
  }

  /** Forgets rows a replay is about to recompute, and tells the followers. */
  reset(job: string, outputs: readonly string[], fromMs: number | null): void {
    for (const [output, kept] of this.recent) this.recent.set(output, kept.filter((r) => r.job !== job || (fromMs !== null && r.timestampMs < fromMs)));
    for (const l of this.listeners) l.reset(job, outputs, fromMs);
  }
}
