// Rows as they are committed, for whoever follows an output live (the dashboard's SSE streams),
// with each output's most recent rows kept in memory so a page loading its first screen does not
// wait on storage.
import type { OutputRow } from './output-row.js';

export type RowListener = (rows: readonly OutputRow[]) => void;

export class LiveRows {
  private readonly listeners = new Map<string, Set<RowListener>>();
  private readonly recent = new Map<string, OutputRow[]>();

  /** Rows kept per output. */
  constructor(private readonly keep = 1_000) {}

  subscribe(output: string, listener: RowListener): () => void {
    let set = this.listeners.get(output);
    if (!set) this.listeners.set(output, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(output);
    };
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
      if (kept) {
        kept.push(...list);
        if (kept.length > this.keep * 2) this.recent.set(output, kept.slice(-this.keep));
      }
      for (const l of this.listeners.get(output) ?? []) l(list);
    }
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

  /** Forgets rows a replay is about to recompute. */
  forget(job: string, fromMs: number | null): void {
    for (const [output, kept] of this.recent) this.recent.set(output, kept.filter((r) => r.job !== job || (fromMs !== null && r.timestampMs < fromMs)));
  }
}
