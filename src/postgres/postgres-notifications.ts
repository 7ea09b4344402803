// Changes other processes made, heard through PostgreSQL's LISTEN/NOTIFY on one connection of its
// own (a pooled connection goes back to the pool and stops listening). Triggers in the adapters'
// tables send `pg_notify(NOTIFY_CHANNEL, '<schema>\t<topic>\t<value>')`, so a change made by any
// writer (a gateway, the CLI, a script) is heard, and only the schema's own.
//
// Notifications are not queued for a connection that is down: when the connection drops, every
// handler is told `undefined` ("anything may have changed") once it is back, and caches drop all.
import pg from 'pg';
import type { PostgresTarget } from './postgres-database.js';

export const NOTIFY_CHANNEL = 'omnistream_changes';

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 5_000;

type Handler = (value: string | undefined) => void;

export class PostgresNotifications {
  private client: pg.Client | undefined;
  private readonly handlers = new Map<string, Set<Handler>>();
  private retryMs = FIRST_RETRY_MS;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private lost = false;

  private constructor(private readonly options: pg.ClientConfig, private readonly schema: string, private readonly onError: (message: string) => void) {}

  /** Connects and listens; a database that cannot be reached fails the open (the caller says where). */
  static async open(target: PostgresTarget & { readonly pool: pg.Pool }, onError: (message: string) => void): Promise<PostgresNotifications> {
    const n = new PostgresNotifications(target.pool.options, target.schema, onError);
    await n.connect();
    return n;
  }

  /** True while the listening connection is up (readiness: PostgreSQL is reachable). */
  get connected(): boolean {
    return this.client !== undefined;
  }

  /** `handler` hears each value notified under `topic`, and undefined after a lost connection. */
  on(topic: string, handler: Handler): () => void {
    let set = this.handlers.get(topic);
    if (!set) this.handlers.set(topic, (set = new Set()));
    set.add(handler);
    return () => set.delete(handler);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.options);
    client.on('notification', (m) => this.heard(m.payload));
    client.on('error', () => this.drop(client));
    client.on('end', () => this.drop(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
    } catch (err) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.retryMs = FIRST_RETRY_MS;
    if (this.lost) {
      this.lost = false;
      this.onError('PostgreSQL is back: notifications heard again, caches emptied');
      for (const set of this.handlers.values()) for (const h of set) h(undefined);
    }
  }

  private heard(payload: string | undefined): void {
    if (payload === undefined) return;
    const [schema, topic, ...rest] = payload.split('\t');
    if (schema !== this.schema || topic === undefined) return;
    const value = rest.join('\t');
    for (const h of this.handlers.get(topic) ?? []) h(value);
  }

  private drop(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => {});
    if (this.closed) return;
    this.lost = true;
    this.onError('lost the PostgreSQL connection that hears other processes\' changes: reconnecting');
    this.retry();
  }

  private retry(): void {
    this.timer = setTimeout(() => {
      this.connect().catch(() => {
        this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
        if (!this.closed) this.retry();
      });
    }, this.retryMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => {});
  }
}
