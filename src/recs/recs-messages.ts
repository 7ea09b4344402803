// What the server's thread and the recommender's thread (recs-thread.ts) say to each other. Every
// request carries an id and gets one reply with it; `failed` and `warning` come unasked.
import type { RecsSettings } from './recs-rules.js';
import type { Recommendation } from './recommender.js';

export interface RecsThreadData {
  readonly settings: RecsSettings;
  /** The recommender's SQLite store (recs.db). */
  readonly storePath: string;
}

export type RecsQuery =
  | { readonly kind: 'item'; readonly tenant: string; readonly item: string; readonly k: number; readonly store: string | null }
  | { readonly kind: 'shopper'; readonly tenant: string; readonly shopper: string; readonly k: number; readonly store: string | null }
  | { readonly kind: 'popular'; readonly tenant: string; readonly k: number; readonly store: string | null };

export interface RecsCounts {
  readonly absorbed: number;
  readonly skipped: Readonly<Record<string, number>>;
}

/** The model as its store had it: the positions to read the log from (null: the log's beginning). */
export interface RecsOpened extends RecsCounts {
  readonly positions: readonly number[] | null;
}

export type RecsRequest =
  /** Open (or reopen after a failure): forget what is in memory and take the stored model. */
  | { readonly type: 'open' }
  /**
   * Events in log order, four values each: tenant, device id, the body's JSON text (null when the
   * body is not JSON), enqueue time; `positions` is where the log's reading stands after them.
   */
  | { readonly type: 'absorb'; readonly events: readonly unknown[]; readonly positions: readonly number[] }
  | { readonly type: 'ask'; readonly query: RecsQuery }
  /** Commit what was absorbed and close the store; the thread then ends. */
  | { readonly type: 'close' };

export type ToRecsThread = RecsRequest & { readonly id: number };

export type FromRecsThread =
  | { readonly type: 'reply'; readonly id: number; readonly value: RecsOpened | RecsCounts | Recommendation | null }
  | { readonly type: 'reply'; readonly id: number; readonly error: string }
  /** A checkpoint failed: the thread takes no more events until it is opened again. */
  | { readonly type: 'failed'; readonly error: string }
  /** A background failure of the store (its WAL checkpoints) that costs nothing yet. */
  | { readonly type: 'warning'; readonly message: string };
