// Publishes to JetStream and collects the PubAcks of a whole batch at once. nats.js's
// `js.publish` is a request per message (a timer, a promise and a cancelled-request error each):
// about three times the client CPU of this — one reply subscription for the process, one timer
// per batch — measured at 28 µs against 10 µs per message on a 2-core machine. Publications
// queued in one turn of the event loop go out together, one socket write.
import { createInbox, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';

/** JetStream stored the message (or had it already: `duplicate`, with the original's stream sequence). */
export interface PubAck {
  readonly seq: number;
  readonly duplicate: boolean;
}

/** JetStream answered and did not store the message (its own API error: status, code, description). */
export class PublishRefusedError extends Error {
  constructor(readonly status: number, readonly code: number, description: string) {
    super(description);
    this.name = 'PublishRefusedError';
  }
}

/** No answer in time, no stream to answer (no responders: a leader election, say), or NATS gone. */
export class PublishUnansweredError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PublishUnansweredError';
  }
}

export interface Publication {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: MsgHdrs;
}

type Waiter = (outcome: PubAck | Error) => void;

interface ApiAnswer {
  readonly seq?: number;
  readonly duplicate?: boolean;
  readonly error?: { readonly code: number; readonly err_code?: number; readonly description: string };
}

export class JetStreamPublisher {
  private readonly inbox = createInbox();
  private readonly waiting = new Map<number, Waiter>();
  private next = 0;
  private readonly sub: Subscription;
  /** Publications waiting for the end of this turn of the event loop: message, token, message, token… */
  private queue: Array<Publication | number> = [];
  private flushScheduled = false;

  constructor(private readonly nc: NatsConnection) {
    this.sub = nc.subscribe(`${this.inbox}.*`, { callback: (_err, m) => this.answer(m) });
  }

  /**
   * Publishes every message and resolves, in their order, with each one's PubAck or why it has
   * none, once all are answered or `timeoutMs` has passed (an answer after that is ignored).
   */
  publishAll(messages: readonly Publication[], timeoutMs: number): Promise<Array<PubAck | Error>> {
    return new Promise((resolve) => {
      const out: Array<PubAck | Error | undefined> = new Array(messages.length);
      const tokens: number[] = [];
      let left = messages.length;
      let timer: NodeJS.Timeout | undefined;
      const finish = () => {
        if (timer !== undefined) clearTimeout(timer);
        for (const t of tokens) this.waiting.delete(t);
        resolve(out as Array<PubAck | Error>);
      };
      if (left === 0) return finish();
      timer = setTimeout(() => {
        timer = undefined;
        for (let i = 0; i < out.length; i++) out[i] ??= new PublishUnansweredError(`no acknowledgement within ${timeoutMs} ms`);
        finish();
      }, timeoutMs);
      messages.forEach((m, i) => {
        const token = this.next++;
        tokens.push(token);
        this.waiting.set(token, (outcome) => {
          if (out[i] !== undefined) return;
          out[i] = outcome;
          if (--left === 0) finish();
        });
        this.queue.push(m, token);
      });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /**
   * Sends what was queued in this turn of the event loop together: nats.js writes to the socket
   * once per microtask checkpoint, so appends answered one by one would each cost a write.
   */
  private flush(): void {
    this.flushScheduled = false;
    const queue = this.queue;
    this.queue = [];
    for (let i = 0; i < queue.length; i += 2) {
      const m = queue[i] as Publication;
      const token = queue[i + 1] as number;
      try {
        this.nc.publish(m.subject, m.data, { headers: m.headers, reply: `${this.inbox}.${token}` });
      } catch (err) {
        this.waiting.get(token)?.(new PublishUnansweredError(`could not publish: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
      }
    }
  }

  private answer(m: Msg): void {
    const token = Number(m.subject.slice(this.inbox.length + 1));
    const waiter = this.waiting.get(token);
    if (waiter === undefined) return;
    this.waiting.delete(token);
    const code = m.headers?.code ?? 0;
    if (code !== 0) {
      // 503 with no body: no responders, nothing listens on the subject (no stream, or no leader yet).
      waiter(new PublishUnansweredError(code === 503 ? 'no responders (no stream leader for the subject)' : `status ${m.headers?.status ?? code}`));
      return;
    }
    let a: ApiAnswer;
    try {
      a = m.json<ApiAnswer>();
    } catch (err) {
      waiter(new PublishUnansweredError('an unreadable acknowledgement', { cause: err }));
      return;
    }
    if (a.error !== undefined) waiter(new PublishRefusedError(a.error.code, a.error.err_code ?? 0, a.error.description));
    else if (typeof a.seq === 'number') waiter({ seq: a.seq, duplicate: a.duplicate === true });
    else waiter(new PublishUnansweredError('an acknowledgement without a sequence number'));
  }

  close(): void {
    this.sub.unsubscribe();
  }
}
