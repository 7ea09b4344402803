// The events the live-events page shows: newest first, each once (by partition and sequence
// number, so a reload after a reconnect fills the gap without repeating), at most a cap. Pure.
import type { LiveEvent } from './wire.js';

/** Events the page keeps at most. */
export const MAX_EVENTS = 500;

const idOf = (e: LiveEvent): string => `${e.partition}/${e.sequenceNumber}`;

/** Newest first: enqueue time, then partition and sequence number (the log's order), reversed. */
function newerFirst(a: LiveEvent, b: LiveEvent): number {
  return b.enqueuedMs - a.enqueuedMs || b.partition - a.partition || b.sequenceNumber - a.sequenceNumber;
}

export class EventList {
  private items: LiveEvent[] = [];
  private readonly ids = new Set<string>();

  constructor(private readonly cap = MAX_EVENTS) {}

  /** Newest first. */
  get all(): readonly LiveEvent[] {
    return this.items;
  }

  /** Adds the events not held yet; returns how many were new. */
  add(events: readonly LiveEvent[]): number {
    const fresh = events.filter((e) => {
      const id = idOf(e);
      if (this.ids.has(id)) return false;
      this.ids.add(id);
      return true;
    });
    if (fresh.length === 0) return 0;
    this.items.push(...fresh);
    this.items.sort(newerFirst);
    for (const gone of this.items.splice(this.cap)) this.ids.delete(idOf(gone));
    return fresh.length;
  }

  clear(): void {
    this.items = [];
    this.ids.clear();
  }
}

/** A body as one line of at most `max` characters: text as it is, JSON compact. */
export function bodyPreview(body: unknown, max = 240): string {
  const text = typeof body === 'string' ? body : JSON.stringify(body) ?? String(body);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
