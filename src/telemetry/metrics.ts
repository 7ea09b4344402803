// Prometheus text exposition for a handful of counters and histograms, without a dependency:
// the hot path only increments numbers in maps.

type Labels = Record<string, string>;

function labelKey(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

export class Counter {
  private readonly values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}

  inc(labels: Labels = {}, by = 1): void {
    this.add(labelKey(labels), by);
  }

  /** A counter bound to fixed labels, for hot paths: the label text is built once. */
  with(labels: Labels): { inc(by?: number): void } {
    const key = labelKey(labels);
    return { inc: (by = 1) => this.add(key, by) };
  }

  private add(key: string, by: number): void {
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [k, v] of this.values) lines.push(`${this.name}${k} ${v}`);
    return lines.join('\n');
  }
}

export class Gauge {
  private readonly values = new Map<string, () => number>();
  constructor(readonly name: string, readonly help: string) {}

  /** Gauges are read when scraped, from whatever owns the number. */
  track(labels: Labels, read: () => number): void {
    this.values.set(labelKey(labels), read);
  }

  /** Stops exporting a series (what it measured is gone, as a deleted consumer group). */
  untrack(labels: Labels): void {
    this.values.delete(labelKey(labels));
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    for (const [k, read] of this.values) lines.push(`${this.name}${k} ${read()}`);
    return lines.join('\n');
  }
}

class Histogram {
  /** Per bucket, the observations that fell in it alone; rendering makes them cumulative. */
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(readonly name: string, readonly help: string, readonly buckets: readonly number[]) {
    this.counts = buckets.map(() => 0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) {
      if (value <= this.buckets[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    let cumulative = 0;
    this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket{le="${b}"} ${(cumulative += this.counts[i]!)}`));
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${this.sum}`, `${this.name}_count ${this.count}`);
    return lines.join('\n');
  }
}

/** Every metric the platform exports, created in one place so names stay consistent. */
export class Metrics {
  readonly requests = new Counter('omnistream_http_requests_total', 'HTTP requests by route and status');
  readonly rejected = new Counter('omnistream_rejected_requests_total', 'Requests refused, by reason (error code)');
  readonly messagesIngested = new Counter('omnistream_messages_ingested_total', 'Messages durably appended, by transport');
  readonly bytesIngested = new Counter('omnistream_bytes_ingested_total', 'Message bytes durably appended, by transport');
  readonly duplicates = new Counter('omnistream_duplicate_messages_total', 'Messages acknowledged but not stored again (same device and messageId)');
  readonly appendSeconds = new Histogram('omnistream_append_duration_seconds', 'Time from append to durable commit',
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]);
  readonly gauges = new Map<string, Gauge>();
  private readonly counters = new Map<string, Counter>();

  /** A counter a feature declares for itself (jobs, outputs, references); the same name gives the same counter. */
  counter(name: string, help: string): Counter {
    let c = this.counters.get(name);
    if (!c) this.counters.set(name, (c = new Counter(name, help)));
    return c;
  }

  gauge(name: string, help: string): Gauge {
    let g = this.gauges.get(name);
    if (!g) this.gauges.set(name, (g = new Gauge(name, help)));
    return g;
  }

  render(): string {
    const parts = [this.requests, this.rejected, this.messagesIngested, this.bytesIngested, this.duplicates, this.appendSeconds, ...this.counters.values(), ...this.gauges.values()];
    return `${parts.map((m) => m.render()).join('\n')}\n`;
  }
}
