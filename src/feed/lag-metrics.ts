// Consumer-group lag in /metrics. Gauges are read synchronously when scraped while lag needs the
// log and the group store, so a snapshot is refreshed on an interval and shortly after commits
// (at most once per SOON_MS: readers committing a page each time must not pay for a refresh each).
import type { Gauge, Metrics } from '../telemetry/metrics.js';
import type { Logger } from '../telemetry/logger.js';
import type { ConsumerGroups } from './consumer-groups.js';

const REFRESH_MS = 5_000;
const SOON_MS = 250;

interface Lag {
  readonly labels: { readonly group: string; readonly partition: string };
  messages: number;
  seconds: number;
}

export class LagMetrics {
  private readonly snapshot = new Map<string, Lag>();
  private readonly timer: NodeJS.Timeout;
  private readonly stopListening: () => void;
  private running: Promise<void> | undefined;
  private again = false;
  private soon: NodeJS.Timeout | undefined;

  constructor(private readonly groups: ConsumerGroups, private readonly metrics: Metrics, private readonly logger: Logger) {
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
    this.timer.unref();
    this.stopListening = groups.onCheckpoint(() => {
      this.soon ??= setTimeout(() => {
        this.soon = undefined;
        this.refresh();
      }, SOON_MS).unref();
    });
    this.refresh();
  }

  /** Starts a refresh, or queues one behind the refresh in progress. */
  refresh(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.compute()
      .catch((err: unknown) => this.logger.warn('could not compute consumer-group lag', { err }))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.refresh();
        }
      });
  }

  /** Resolves once the refresh in progress (if any) is done; for tests and shutdown. */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  private async compute(): Promise<void> {
    const seen = new Set<string>();
    for (const g of await this.groups.list()) {
      const status = await this.groups.status(g.name).catch(() => undefined);
      for (const p of status?.partitions ?? []) {
        const key = `${g.name}\u0000${p.partitionId}`;
        seen.add(key);
        let lag = this.snapshot.get(key);
        if (!lag) {
          this.snapshot.set(key, (lag = { labels: { group: g.name, partition: p.partitionId }, messages: 0, seconds: 0 }));
          const entry = lag;
          this.messagesGauge().track(entry.labels, () => entry.messages);
          this.secondsGauge().track(entry.labels, () => entry.seconds);
        }
        lag.messages = p.lagMessages;
        lag.seconds = p.lagSeconds;
      }
    }
    // A deleted group's series go away with it.
    for (const [key, lag] of this.snapshot) {
      if (seen.has(key)) continue;
      this.messagesGauge().untrack(lag.labels);
      this.secondsGauge().untrack(lag.labels);
      this.snapshot.delete(key);
    }
  }

  private messagesGauge(): Gauge {
    return this.metrics.gauge('omnistream_consumer_group_lag_messages', 'Messages after the consumer group\'s checkpoint');
  }

  private secondsGauge(): Gauge {
    return this.metrics.gauge('omnistream_consumer_group_lag_seconds', 'Age of the oldest message after the consumer group\'s checkpoint');
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.soon);
    this.stopListening();
    await this.settled();
  }
}
