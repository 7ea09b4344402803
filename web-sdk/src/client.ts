// The SDK's client: events become queued batch entries with their own messageId, and go out in
// batches (by count and time) through IoT Hub's batch route; when the page hides or unloads, what
// is queued also goes out as a beacon. Nothing leaves the queue before the server acknowledged it,
// so every event is sent until it is stored, and the messageId makes any resend (a beacon that did
// arrive, a retry after a lost answer, a reload) stored once.
import { Credentials, type Credential } from './credential.js';
import type { Env, PageEvent } from './ports.js';
import { EventQueue, STALE_MS, queuedEvent, type QueuedEvent } from './queue.js';
import { isOutcome, outcomeOf, retryDelay, type Outcome } from './retry.js';

export type DropReason = 'queue_full' | 'rejected' | 'too_large';

export interface Options {
  /** The server's base URL, e.g. `https://analytics.example.com`. */
  readonly endpoint: string;
  /** The brand's public app key. */
  readonly appKey: string;
  /** Send once this many events are queued (1–500; default 20). */
  readonly flushAt?: number;
  /** …or once the oldest has waited this long (default 5,000 ms). */
  readonly flushIntervalMs?: number;
  /** Events kept while the server cannot be reached; beyond, the oldest are dropped (default 1,000). */
  readonly maxQueueEvents?: number;
  /** The `channel` property of every event (default `web`). */
  readonly channel?: string;
  /** Told how many events were dropped and why. */
  readonly onDrop?: (count: number, reason: DropReason) => void;
}

export interface Stats {
  /** Events waiting to be acknowledged. */
  readonly queued: number;
  /** Events the server acknowledged (by this page). */
  readonly sent: number;
  /** Events dropped (by this page), any reason. */
  readonly dropped: number;
}

const BATCH_TYPE = 'application/vnd.microsoft.iothub.json';
/** IoT Hub's batch limit. */
const MAX_BATCH = 500;
/** Characters per batch: 256 KB on the server even if every character took 3 bytes in UTF-8. */
const MAX_BATCH_CHARS = 80_000;
/** sendBeacon gives 64 KiB to all of a page's beacons in flight. */
const MAX_BEACON_CHARS = 60_000;
/** An event larger than this could not go out in a beacon: refused when tracked. */
const MAX_EVENT_CHARS = 30_000;
const MAX_QUEUE_CHARS = 1_000_000;
const PREFIX = 'omnistream';

export class Client {
  private readonly queue: EventQueue;
  private readonly credentials: Credentials;
  private readonly flushAt: number;
  private readonly flushIntervalMs: number;
  private readonly channel: string;
  private readonly userKey = `${PREFIX}:u`;
  /** messageIds in a request now, so the queue's bound never drops what may be stored. */
  private readonly busy = new Set<string>();
  private timer: unknown;
  private dueAt = Infinity;
  /** No send before this (backoff, Retry-After). */
  private retryAt = 0;
  private attempt = 0;
  private authFailures = 0;
  private closed = false;
  private sending = false;
  /** What the last complete beacon carried (count and newest id). */
  private beaconed = '';
  private readonly endpoint: string;
  private counts = { sent: 0, dropped: 0 };

  constructor(private readonly env: Env, private readonly options: Options) {
    const endpoint = (this.endpoint = options.endpoint.replace(/\/+$/, ''));
    const owner = `${endpoint} ${options.appKey}`;
    this.flushAt = Math.min(MAX_BATCH, Math.max(1, options.flushAt ?? 20));
    this.flushIntervalMs = Math.max(0, options.flushIntervalMs ?? 5_000);
    this.channel = options.channel ?? 'web';
    this.credentials = new Credentials(env, endpoint, options.appKey, `${PREFIX}:c:${owner}`);
    this.queue = new EventQueue(env.storage, PREFIX, `${PREFIX}:q:${env.uuid()}`, owner, {
      maxEvents: Math.max(1, options.maxQueueEvents ?? 1_000), maxBytes: MAX_QUEUE_CHARS,
    });
    this.adopt();
    env.listen((e) => this.onPage(e), (key, value) => {
      // Another tab closed (its queue is written with h:0): its events are ours to send.
      if (key?.startsWith(`${PREFIX}:q:`) && value?.startsWith('{"h":0,')) this.adopt();
    });
    // A crashed tab's queue becomes adoptable once stale; looking again as often also keeps this
    // page's own queue fresh in storage while it waits.
    const sweep = (): void => {
      this.adopt();
      env.setTimer(sweep, STALE_MS);
    };
    env.setTimer(sweep, STALE_MS);
    this.schedule(0);
  }

  track(event: string, properties?: Readonly<Record<string, unknown>>): void {
    const now = this.env.now();
    const time = new Date(now).toISOString();
    const shopper = this.env.storage.getItem(this.userKey);
    // The SDK's fields last, so a property cannot pass for them.
    const body = JSON.stringify({ ...properties, event, ...(shopper === null ? {} : { shopper }), time, originalTimestamp: time });
    if (body.length > MAX_EVENT_CHARS) return this.drop(1, 'too_large');
    this.enqueue([queuedEvent(this.env.uuid(), now, body)]);
    // Tracked while the page unloads (a pagehide handler of the page's own): only a beacon can go now.
    if (this.closed) this.beacon();
    else this.schedule(this.queue.items.length >= this.flushAt ? 0 : this.flushIntervalMs);
  }

  /** The shopper every later event carries (`null`: signed out); kept across pages. */
  identify(shopperId: string | null): void {
    if (shopperId === null) this.env.storage.removeItem(this.userKey);
    else this.env.storage.setItem(this.userKey, String(shopperId));
  }

  page(properties?: Readonly<Record<string, unknown>>): void {
    this.track('page_viewed', { ...this.env.page(), ...properties });
  }

  /** Sends what is queued now (backoff permitting). */
  flush(): void {
    this.schedule(0);
  }

  stats(): Stats {
    return { queued: this.queue.items.length, ...this.counts };
  }

  private drop(count: number, reason: DropReason): void {
    if (count === 0) return;
    this.counts.dropped += count;
    try {
      this.options.onDrop?.(count, reason);
    } catch {
      // The page's callback is not ours to fail on.
    }
  }

  private enqueue(events: readonly QueuedEvent[]): void {
    this.drop(this.queue.add(events, this.busy).length, 'queue_full');
    this.save();
  }

  private save(): void {
    try {
      this.queue.save(this.env.now(), !this.closed);
    } catch {
      // Storage full: the events are still sent while this page lives, only a reload loses them.
    }
  }

  private adopt(): void {
    this.drop(this.queue.adopt(this.env.now(), this.busy).length, 'queue_full');
    this.save();
    this.schedule(0);
  }

  private schedule(ms: number): void {
    const at = Math.max(this.env.now() + ms, this.retryAt);
    if (at >= this.dueAt) return;
    if (this.timer !== undefined) this.env.clearTimer(this.timer);
    this.dueAt = at;
    this.timer = this.env.setTimer(() => {
      this.timer = undefined;
      this.dueAt = Infinity;
      void this.send();
    }, at - this.env.now());
  }

  private entries(events: readonly QueuedEvent[], now: number): string[] {
    const sentAt = `,"sentAt":"${new Date(now).toISOString()}"}`;
    const props = `{"channel":${JSON.stringify(this.channel)}}`;
    return events.map((e) => `{"messageId":"${e.i}","properties":${props},"body":${e.b.slice(0, -1)}${sentAt}}`);
  }

  /** The oldest events not in flight, as many as one request holds. */
  private pick(max: number, maxChars: number): QueuedEvent[] {
    const out: QueuedEvent[] = [];
    let chars = 0;
    for (const e of this.queue.items) {
      if (out.length >= max) break;
      if (this.busy.has(e.i)) continue;
      chars += e.b.length + 100;
      if (chars > maxChars && out.length > 0) break;
      out.push(e);
    }
    return out;
  }

  private async send(): Promise<void> {
    // One request at a time: its answer decides when the next may go.
    if (this.closed || this.sending) return;
    if (this.env.now() < this.retryAt) return this.schedule(0);
    const batch = this.pick(MAX_BATCH, MAX_BATCH_CHARS);
    if (batch.length === 0) return;
    this.sending = true;
    const ids = new Set(batch.map((e) => e.i));
    for (const id of ids) this.busy.add(id);
    let outcome: Outcome;
    let token = '';
    try {
      const c = await this.credentials.get();
      token = c.t;
      const res = await this.env.fetch(`${this.endpoint}/devices/${encodeURIComponent(c.d)}/messages/events?api-version=2021-04-12`, {
        method: 'POST', headers: { authorization: c.t, 'content-type': BATCH_TYPE }, body: `[${this.entries(batch, this.env.now()).join(',')}]`,
      });
      outcome = outcomeOf(res.status, res.headers, this.env.now());
    } catch (err) {
      outcome = isOutcome(err) ? err : { k: 'retry' };
    } finally {
      for (const id of ids) this.busy.delete(id);
      this.sending = false;
    }
    this.settle(outcome, ids, token);
  }

  private settle(outcome: Outcome, ids: ReadonlySet<string>, token: string): void {
    const now = this.env.now();
    switch (outcome.k) {
      case 'ok':
      case 'reject': {
        const before = this.queue.items.length;
        this.queue.remove(ids);
        const removed = before - this.queue.items.length;
        if (outcome.k === 'ok') this.counts.sent += removed;
        else this.drop(removed, 'rejected');
        this.attempt = this.authFailures = 0;
        this.save();
        this.schedule(this.queue.items.length >= this.flushAt ? 0 : this.flushIntervalMs);
        return;
      }
      case 'auth':
        // A new token first; refused again, a new device (deleted, or its key rotated).
        this.authFailures++;
        this.credentials.invalidate(token, this.authFailures > 1);
        if (this.authFailures <= 2) return this.schedule(0);
        break;
      case 'retry':
        break;
    }
    this.attempt++;
    this.retryAt = now + retryDelay(this.attempt, this.env.random(), outcome.k === 'retry' ? outcome.after : undefined);
    // Written at each retry, so other tabs see this page is alive (queue.ts: STALE_MS).
    this.save();
    this.schedule(0);
  }

  /** Everything queued, as beacons: the page may not live to see an answer. */
  private beacon(): void {
    const c: Credential | undefined = this.credentials.stored();
    const last = this.queue.items[this.queue.items.length - 1];
    // Browsers fire visibilitychange (hidden) and then pagehide on unload: one beacon is enough.
    const mark = `${this.queue.items.length} ${last?.i}`;
    if (!c || !last || c.e <= this.env.now() || mark === this.beaconed) return;
    const head = `{"deviceId":${JSON.stringify(c.d)},"token":${JSON.stringify(c.t)},"messages":[`;
    const entries = this.entries(this.queue.items, this.env.now());
    for (let n = 0; n < entries.length;) {
      let size = head.length;
      const part: string[] = [];
      while (n < entries.length && part.length < MAX_BATCH && (part.length === 0 || size + entries[n]!.length < MAX_BEACON_CHARS)) {
        size += entries[n]!.length + 1;
        part.push(entries[n++]!);
      }
      if (!this.env.beacon(`${this.endpoint}/api/beacon`, `${head}${part.join(',')}]}`)) return;
    }
    this.beaconed = mark;
  }

  private onPage(event: PageEvent): void {
    switch (event) {
      case 'hide':
        this.beacon();
        this.save();
        return;
      case 'close':
        this.beacon();
        // Written closed: the next page (or another tab) adopts and sends it; a resend of what
        // the beacon delivered is stored once.
        this.closed = true;
        this.save();
        return;
      case 'show':
        // Back from the back-forward cache: another page may have adopted the queue meanwhile.
        this.closed = false;
        this.adopt();
        return;
      case 'online':
        this.retryAt = 0;
        this.attempt = 0;
        this.schedule(0);
        return;
    }
  }
}
