// Reads of the JetStream log: pages of a partition through ephemeral pull consumers kept as
// cursors (a reader going on from where its last page ended reuses one: one request per page), and
// the start of a time-based read found by binary search on the stored enqueue times.
import { randomBytes } from 'node:crypto';
import { createInbox, headers as emptyHeaders, TimeoutError, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, type ConsumerConfig, type JetStreamManager, type MsgRequest, type NextMsgRequest, type StreamState } from '@nats-io/jetstream';
import { OmniError } from '../core/errors.js';
import { H, streamName, streamSeqOf, subjectOf } from './jetstream-log-layout.js';

/** A stored message as read, with its sequence number in the log (the stream's minus 1). */
export interface Delivered {
  readonly seq: number;
  readonly headers: MsgHdrs;
  readonly data: Uint8Array;
}

/** Cursors kept per partition; a reader that finds them all busy gets one of its own for one page. */
const CURSORS_PER_PARTITION = 4;
/** The server drops a cursor's consumer unused this long (this process died, say). */
const CONSUMER_INACTIVE_MS = 60_000;

interface Pull {
  readonly batch: number;
  readonly got: Delivered[];
  readonly done: (err?: Error) => void;
}

/** A consumer that says nothing to a pull is gone (the server dropped it, or restarted): 2.9 does not answer for it. */
class ConsumerSilentError extends Error {}

/**
 * A pull answered with neither a message nor a status this long after it was sent finds the
 * consumer gone; a cursor then takes a new one and asks again.
 */
const SILENCE_MS = 1_000;

/**
 * Creating a consumer takes milliseconds. nats-server 2.9 places a one-replica consumer on any of
 * its stream's peers, one that is down included (for minutes after a crash, until the cluster
 * counts it gone), and such a creation is never answered: about a third of reads would wait for
 * the whole timeout and fail while one node of three is down. So a creation not answered within
 * this is abandoned and tried again under a new name, placed anew (the wait doubling each time).
 */
const CONSUMER_CREATE_MS = 500;

/** One ephemeral consumer (acks none, in memory) and the messages it delivered that no read took yet. */
class Cursor {
  consumer: string | undefined;
  /** The sequence number the consumer delivers next. */
  position = -1;
  /** Delivered, not yet handed out (a scan whose visitor stopped early leaves them here). */
  buffer: Delivered[] = [];
  busy = false;
  lastUsed = performance.now();
  private pull: Pull | undefined;
  sub: Subscription;

  constructor(private readonly nc: NatsConnection) {
    this.sub = this.subscribe();
  }

  /** A reply subject of its own per consumer, so nothing a dropped consumer still sends reaches the next one. */
  private subscribe(): Subscription {
    return this.nc.subscribe(createInbox(), { callback: (_err, msg) => this.deliver(msg) });
  }

  renew(): void {
    this.sub.unsubscribe();
    this.sub = this.subscribe();
    this.buffer = [];
  }

  /** Whether a page from `start` can continue from this cursor without a new consumer. */
  matches(start: number): boolean {
    // Well before the server would drop it for inactivity.
    if (this.consumer === undefined || performance.now() - this.lastUsed > CONSUMER_INACTIVE_MS / 2) return false;
    const first = this.buffer[0];
    return first === undefined ? this.position === start : first.seq <= start && start < this.position;
  }

  private deliver(msg: Msg): void {
    const pull = this.pull;
    if (pull === undefined) return;
    const code = msg.headers?.code ?? 0;
    if (code !== 0 || msg.reply === undefined || msg.reply === '') {
      // 404 No Messages, 408 Request Timeout: the page ends with what is there.
      if (code === 404 || code === 408) pull.done();
      else pull.done(new Error(`the log's consumer answered ${msg.headers?.status ?? 'an empty message'}`));
      return;
    }
    const seq = streamSeqOf(msg.reply) - 1;
    pull.got.push({ seq, headers: msg.headers ?? emptyHeaders(), data: msg.data });
    this.position = seq + 1;
    if (pull.got.length >= pull.batch) pull.done();
  }

  /** Asks the consumer for up to `batch` messages, answered at once with what is stored. */
  request(stream: string, batch: number, timeoutMs: number): Promise<Delivered[]> {
    return new Promise((resolve, reject) => {
      const got: Delivered[] = [];
      const timer = setTimeout(() => done(new OmniError('unavailable', 'The log did not answer a read in time', { retryAfterSeconds: 1 })), timeoutMs);
      const silence = setTimeout(() => {
        if (got.length === 0) done(new ConsumerSilentError(`the log's consumer did not answer within ${SILENCE_MS} ms`));
      }, Math.min(SILENCE_MS, timeoutMs));
      const done = (err?: Error) => {
        if (this.pull?.got !== got) return;
        clearTimeout(timer);
        clearTimeout(silence);
        this.pull = undefined;
        if (err) reject(err);
        else resolve(got);
      };
      this.pull = { batch, got, done };
      try {
        this.nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${this.consumer!}`, JSON.stringify({ batch, no_wait: true }), { reply: this.sub.getSubject() });
      } catch (err) {
        done(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }
}

export interface ReaderOptions {
  readonly prefix: string;
  readonly partitions: number;
  readonly timeoutMs: number;
}

export class JetStreamLogReader {
  private readonly cursors: Cursor[][];
  private closed = false;

  constructor(private readonly nc: NatsConnection, private readonly jsm: JetStreamManager, private readonly options: ReaderOptions) {
    this.cursors = Array.from({ length: options.partitions }, () => []);
  }

  /**
   * Hands the messages of partition `p` from `start` (at most `max`) to `take`, in order, until it
   * returns false; what it did not take stays with the cursor for the next page. Pages never wait
   * for messages: a page ends with what is stored.
   */
  async page(p: number, start: number, max: number, take: (d: Delivered) => boolean): Promise<void> {
    if (max <= 0) return;
    if (max === 1 && !this.cursors[p]!.some((c) => !c.busy && c.matches(start))) {
      // One message (a peek at a position, the lag's oldest message): one get, no consumer.
      const m = await this.messageAtOrAfter(p, start);
      if (m !== undefined) take(m);
      return;
    }
    const cursor = this.acquire(p, start);
    try {
      let handed = 0;
      let stopped = false;
      const give = (list: Delivered[]): Delivered[] => {
        let i = 0;
        while (i < list.length && handed < max && !stopped) {
          const d = list[i++]!;
          if (d.seq < start) continue;
          handed++;
          if (!take(d)) stopped = true;
        }
        return list.slice(i);
      };
      if (cursor.matches(start)) {
        cursor.buffer = give(cursor.buffer);
      } else {
        await this.reposition(p, cursor, start);
      }
      if (!stopped && handed < max) cursor.buffer = give(await this.pull(p, cursor, max - handed));
    } catch (err) {
      this.forget(p, cursor);
      throw readFailure(err);
    } finally {
      this.release(p, cursor);
    }
  }

  private acquire(p: number, start: number): Cursor {
    const pool = this.cursors[p]!;
    let c = pool.find((x) => !x.busy && x.matches(start));
    if (c === undefined && pool.length < CURSORS_PER_PARTITION) pool.push((c = new Cursor(this.nc)));
    if (c === undefined) {
      const idle = pool.filter((x) => !x.busy).sort((a, b) => a.lastUsed - b.lastUsed);
      c = idle[0] ?? new Cursor(this.nc);
    }
    c.busy = true;
    return c;
  }

  private release(p: number, c: Cursor): void {
    c.busy = false;
    c.lastUsed = performance.now();
    if (!this.cursors[p]!.includes(c) || this.closed) this.dispose(p, c);
  }

  private forget(p: number, c: Cursor): void {
    const pool = this.cursors[p]!;
    const i = pool.indexOf(c);
    if (i >= 0) pool.splice(i, 1);
  }

  private dispose(p: number, c: Cursor): void {
    c.sub.unsubscribe();
    this.dropConsumer(p, c);
  }

  private dropConsumer(p: number, c: Cursor): void {
    const name = c.consumer;
    c.consumer = undefined;
    c.buffer = [];
    if (name !== undefined && !this.nc.isClosed()) this.jsm.consumers.delete(streamName(this.options.prefix, p), name).catch(() => {});
  }

  /** A new consumer delivering from `start` (from the first stored message if retention passed it). */
  private async reposition(p: number, c: Cursor, start: number): Promise<void> {
    this.dropConsumer(p, c);
    c.renew();
    c.consumer = await this.createConsumer(streamName(this.options.prefix, p), {
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: start + 1,
      mem_storage: true,
      num_replicas: 1,
      inactive_threshold: CONSUMER_INACTIVE_MS * 1_000_000,
    });
    c.position = start;
  }

  /** Creates an ephemeral consumer under a name of ours, again elsewhere when a placement is not answered (CONSUMER_CREATE_MS). */
  private async createConsumer(stream: string, config: Partial<ConsumerConfig>): Promise<string> {
    const deadline = Date.now() + this.options.timeoutMs;
    for (let wait = CONSUMER_CREATE_MS; ; wait *= 2) {
      const name = `omni_${randomBytes(8).toString('hex')}`;
      const left = deadline - Date.now();
      try {
        // A request of our own: the manager's requests all wait its one timeout.
        const reply = await this.nc.request(`$JS.API.CONSUMER.CREATE.${stream}.${name}`,
          JSON.stringify({ stream_name: stream, config: { ...config, name }, action: 'create' }), { timeout: Math.max(1, Math.min(wait, left)) });
        const answer = reply.json<{ name?: string; error?: { code: number; description: string } }>();
        if (answer.error) throw new Error(`cannot create a consumer on ${stream}: ${answer.error.description} (${answer.error.code})`);
        return answer.name ?? name;
      } catch (err) {
        if (!(err instanceof TimeoutError) || Date.now() + 1 >= deadline) throw err;
        // Placed on a node that does not answer: forget it (its inactivity limit ends it if this does not reach it).
        if (!this.nc.isClosed()) this.jsm.consumers.delete(stream, name).catch(() => {});
      }
    }
  }

  private async pull(p: number, c: Cursor, batch: number): Promise<Delivered[]> {
    const stream = streamName(this.options.prefix, p);
    try {
      return await c.request(stream, batch, this.options.timeoutMs);
    } catch (err) {
      if (err instanceof OmniError) throw err;
      // The consumer is gone (dropped by the server, lost in a restart) or refused: once more with a new one.
      await this.reposition(p, c, c.position);
      return c.request(stream, batch, this.options.timeoutMs);
    }
  }

  /** The stream's state: its first and last stream sequence numbers among them. */
  async state(p: number): Promise<StreamState> {
    try {
      return (await this.jsm.streams.info(streamName(this.options.prefix, p))).state;
    } catch (err) {
      throw readFailure(err);
    }
  }

  /** The first message at or after `seq`; undefined past the end. */
  async messageAtOrAfter(p: number, seq: number): Promise<Delivered | undefined> {
    try {
      // STREAM.MSG.GET takes next_by_subj (the first message at or after seq) since 2.9; nats.js types it for direct gets only.
      const next: NextMsgRequest = { seq: seq + 1, next_by_subj: subjectOf(this.options.prefix, p) };
      const m = await this.jsm.streams.getMessage(streamName(this.options.prefix, p), next as unknown as MsgRequest);
      return m === null ? undefined : { seq: m.seq - 1, headers: m.header, data: m.data };
    } catch (err) {
      throw readFailure(err);
    }
  }

  /** The enqueue time (ms) of the first message at or after `seq`, and its sequence number; undefined past the end. */
  async rowAtOrAfter(p: number, seq: number): Promise<{ seq: number; enqueuedMs: number } | undefined> {
    const m = await this.messageAtOrAfter(p, seq);
    return m === undefined ? undefined : { seq: m.seq, enqueuedMs: Number(m.headers.get(H.enqueued)) };
  }

  /** The message at exactly `seq` (its headers), or undefined when it is gone. */
  async headersAt(p: number, seq: number): Promise<StoredHeaders | undefined> {
    const m = await this.jsm.streams.getMessage(streamName(this.options.prefix, p), { seq: seq + 1 });
    return m === null ? undefined : { get: (k) => m.header.get(k) };
  }

  /**
   * The first sequence number in [lo, hi) whose message was enqueued at or after `timeMs`, or `hi`.
   * Enqueue times rise with the sequence number (for one writer; nearly, for several), so this is
   * a binary search of single-message gets.
   */
  async firstAtOrAfter(p: number, lo: number, hi: number, timeMs: number): Promise<number> {
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const row = await this.rowAtOrAfter(p, mid);
      if (row === undefined || row.enqueuedMs >= timeMs) hi = mid;
      else lo = row.seq + 1;
    }
    return lo;
  }

  /** After NATS came back: the cursors' consumers (in memory) may be gone, so each takes a new one when next used. */
  invalidate(): void {
    for (const pool of this.cursors) for (const c of pool) if (!c.busy) c.consumer = undefined;
  }

  /** Drops every cursor's consumer. */
  async close(): Promise<void> {
    this.closed = true;
    const deletions: Array<Promise<unknown>> = [];
    this.cursors.forEach((pool, p) => {
      for (const c of pool) {
        if (c.busy) continue;
        c.sub.unsubscribe();
        if (c.consumer !== undefined && !this.nc.isClosed()) deletions.push(this.jsm.consumers.delete(streamName(this.options.prefix, p), c.consumer).catch(() => {}));
        c.consumer = undefined;
      }
      pool.length = 0;
    });
    await Promise.all(deletions);
  }
}

export interface StoredHeaders {
  get(k: string): string;
}

/** A read that NATS could not answer is a 503 with Retry-After, like a refused append. */
export function readFailure(err: unknown): OmniError {
  if (err instanceof OmniError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new OmniError('unavailable', `The log (NATS JetStream) could not answer a read: ${message}`, { cause: err, retryAfterSeconds: 1 });
}
