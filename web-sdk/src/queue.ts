// The offline queue: events not yet acknowledged, oldest first, kept in localStorage so they
// survive a reload, a crash or a closed tab, and bounded (count and size) by dropping the oldest.
//
// Each page keeps its own key (`<prefix>:q:<random>`), so two tabs never overwrite each other.
// A page that unloads marks its key closed; a page that starts (or sees another tab close) adopts
// closed keys, and keys not written for STALE_MS (a crashed tab), of the same endpoint and app key.
// Adopting removes the other key, so each event has one owner; a tab that was only asleep writes
// its events back and sends them too, which the server's messageId dedup stores once. Nothing is
// removed from the queue before the server acknowledged it.
import type { StorageLike } from './ports.js';

export interface QueuedEvent {
  /** The messageId: the server stores an id once per device (24 h dedup window). */
  readonly i: string;
  /** When it was tracked (the page's clock, ms). */
  readonly t: number;
  /** The body as JSON text (serialized once, when tracked). */
  readonly b: string;
  /** The stored form `{"i","t","b"}`, also serialized once. */
  readonly j: string;
}

export interface QueueLimits {
  readonly maxEvents: number;
  /** Characters of stored JSON. */
  readonly maxBytes: number;
}

/** A page that writes its queue at least this often while it holds events (retries included). */
export const STALE_MS = 120_000;

export function queuedEvent(i: string, t: number, b: string): QueuedEvent {
  return { i, t, b, j: `{"i":${JSON.stringify(i)},"t":${t},"b":${b}}` };
}

interface Stored {
  /** Last write (ms), 0 once the page closed. */
  h: number;
  /** Whose events: endpoint and app key. */
  k: string;
  e: { i: string; t: number; b: unknown }[];
}

export class EventQueue {
  items: QueuedEvent[] = [];
  private size = 0;

  /**
   * @param key this page's storage key; `owner` names the endpoint and app key, so events are
   * only ever sent to the tenant they were tracked for.
   */
  constructor(
    private readonly storage: StorageLike,
    private readonly prefix: string,
    private readonly key: string,
    private readonly owner: string,
    private readonly limits: QueueLimits,
  ) {}

  /** Appends; returns the ids of the oldest events dropped to stay within the limits (never those in `busy`). */
  add(events: readonly QueuedEvent[], busy?: ReadonlySet<string>): string[] {
    for (const e of events) {
      this.items.push(e);
      this.size += e.j.length;
    }
    const dropped: string[] = [];
    for (let n = 0; n < this.items.length && (this.items.length > this.limits.maxEvents || this.size > this.limits.maxBytes);) {
      const e = this.items[n]!;
      if (busy?.has(e.i)) n++;
      else {
        this.items.splice(n, 1);
        this.size -= e.j.length;
        dropped.push(e.i);
      }
    }
    return dropped;
  }

  remove(ids: ReadonlySet<string>): void {
    const kept: QueuedEvent[] = [];
    for (const e of this.items) {
      if (ids.has(e.i)) this.size -= e.j.length;
      else kept.push(e);
    }
    this.items = kept;
  }

  /** Writes the queue (`open`: this page still sends it; otherwise others may adopt it at once); throws when storage is full. */
  save(now: number, open: boolean): void {
    if (this.items.length === 0) this.storage.removeItem(this.key);
    else this.storage.setItem(this.key, `{"h":${open ? now : 0},"k":${JSON.stringify(this.owner)},"e":[${this.items.map((e) => e.j).join(',')}]}`);
  }

  /** Takes over the queues of closed or stale pages of the same owner; returns the ids dropped to stay within the limits. */
  adopt(now: number, busy?: ReadonlySet<string>): string[] {
    const mine = `${this.prefix}:q:`;
    const keys: string[] = [];
    for (let n = 0; n < this.storage.length; n++) {
      const k = this.storage.key(n);
      if (k !== null && k !== this.key && k.startsWith(mine)) keys.push(k);
    }
    const have = new Set(this.items.map((e) => e.i));
    const found: QueuedEvent[] = [];
    for (const k of keys) {
      let stored: Stored;
      try {
        stored = JSON.parse(this.storage.getItem(k) ?? 'null') as Stored;
        if (!Array.isArray(stored.e)) throw new TypeError('not a queue');
        if (stored.k !== this.owner || (stored.h > 0 && now - stored.h < STALE_MS)) continue;
      } catch {
        // Not ours to read, or damaged: nothing can be sent from it.
        this.storage.removeItem(k);
        continue;
      }
      this.storage.removeItem(k);
      for (const e of stored.e) {
        if (have.has(e.i)) continue;
        have.add(e.i);
        found.push(queuedEvent(e.i, e.t, JSON.stringify(e.b)));
      }
    }
    if (found.length === 0) return [];
    const all = [...this.items, ...found].sort((a, b) => a.t - b.t);
    this.items = [];
    this.size = 0;
    return this.add(all, busy);
  }
}
