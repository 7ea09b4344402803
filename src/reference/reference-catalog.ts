// Every configured reference input, kept current: each source is checked on its interval, a
// changed snapshot becomes a new version (saved, so replays after a restart still find it), and a
// failed load keeps the last good snapshot and says so — it never empties a table.
import type { Row } from '../query/index.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { ReferenceSource } from './reference-source.js';
import type { ReferenceVersionStore } from './reference-version-store.js';
import { digest, VersionedReference } from './versioned-reference.js';

export interface ReferenceStatus {
  readonly name: string;
  readonly source: string;
  /** Versions kept (for replays); the current one is the last. */
  readonly versions: number;
  readonly rows: number;
  /** When the current version became valid (ISO), or null before the first load. */
  readonly validFrom: string | null;
  readonly checkedAt: string | null;
  /** The last failed load, kept until a load succeeds. */
  readonly error: { readonly message: string; readonly at: string } | null;
}

export interface ReferenceCatalogOptions {
  readonly sources: ReadonlyMap<string, ReferenceSource>;
  readonly store: ReferenceVersionStore;
  /** When a new version becomes valid: the log's horizon, so events already processed never join it. */
  readonly clock: () => number;
  /** Versions valid only before now minus this are forgotten (the log keeps nothing older). */
  readonly keepMs: number;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** The longest wait between attempts after a failed load, whatever the source's interval. */
const MAX_RETRY_MS = 60_000;
const FIRST_RETRY_MS = 1_000;

interface Entry {
  readonly name: string;
  readonly source: ReferenceSource;
  readonly reference: VersionedReference;
  checkedAt: number | null;
  error: { message: string; at: number } | null;
  failures: number;
  timer: NodeJS.Timeout | undefined;
  loading: Promise<void> | undefined;
  /** Called once the reference has its first version. */
  readonly ready: Promise<void>;
  markReady: () => void;
}

export class ReferenceCatalog {
  private readonly entries = new Map<string, Entry>();
  private closed = false;
  private readonly failures;
  private readonly loads;

  constructor(private readonly options: ReferenceCatalogOptions) {
    this.failures = options.metrics.counter('omnistream_reference_load_failures_total', 'Reference loads that failed (the last good snapshot stayed in use)');
    this.loads = options.metrics.counter('omnistream_reference_versions_total', 'New reference versions loaded');
    const rows = options.metrics.gauge('omnistream_reference_rows', 'Rows in the current version of each reference input');
    const age = options.metrics.gauge('omnistream_reference_failing', '1 while the last load of a reference input failed');
    for (const [name, source] of options.sources) {
      let markReady!: () => void;
      const ready = new Promise<void>((resolve) => { markReady = resolve; });
      const entry: Entry = { name, source, reference: new VersionedReference(name), checkedAt: null, error: null, failures: 0, timer: undefined, loading: undefined, ready, markReady };
      this.entries.set(name.toLowerCase(), entry);
      rows.track({ reference: name }, () => entry.reference.latest?.rows.length ?? 0);
      age.track({ reference: name }, () => (entry.error ? 1 : 0));
    }
  }

  /** Restores the saved versions, then loads every source once (failures are reported, not thrown). */
  async open(): Promise<void> {
    for (const entry of this.entries.values()) {
      for (const v of await this.options.store.versions(entry.name)) entry.reference.add(v);
      if (entry.reference.latest) entry.markReady();
    }
    await Promise.all([...this.entries.values()].map((e) => this.refresh(e)));
  }

  /** The versions of a reference input (names are case-insensitive, as in queries). */
  get(name: string): VersionedReference | undefined {
    return this.entries.get(name.toLowerCase())?.reference;
  }

  /** Resolves once every named reference has a version (a source unreachable at start delays it). */
  async whenReady(names: readonly string[]): Promise<void> {
    await Promise.all(names.map((n) => this.entries.get(n.toLowerCase())?.ready ?? Promise.resolve()));
  }

  /** Whether every named reference has a version now. */
  isReady(names: readonly string[]): boolean {
    return names.every((n) => this.entries.get(n.toLowerCase())?.reference.latest !== undefined);
  }

  /** The configured names, as configured. */
  names(): string[] {
    return [...this.entries.values()].map((e) => e.name);
  }

  status(): ReferenceStatus[] {
    return [...this.entries.values()].map((e) => {
      const latest = e.reference.latest;
      return {
        name: e.name,
        source: e.source.description,
        versions: e.reference.count,
        rows: latest?.rows.length ?? 0,
        validFrom: latest ? new Date(latest.validFromMs).toISOString() : null,
        checkedAt: e.checkedAt === null ? null : new Date(e.checkedAt).toISOString(),
        error: e.error && { message: e.error.message, at: new Date(e.error.at).toISOString() },
      };
    });
  }

  /** Loads a source now if it may have changed; used by the timer and by tests. */
  refreshNow(name: string): Promise<void> {
    const entry = this.entries.get(name.toLowerCase());
    return entry ? this.refresh(entry) : Promise.resolve();
  }

  private refresh(entry: Entry): Promise<void> {
    entry.loading ??= this.load(entry).finally(() => {
      entry.loading = undefined;
      this.schedule(entry);
    });
    return entry.loading;
  }

  private schedule(entry: Entry): void {
    if (this.closed) return;
    clearTimeout(entry.timer);
    const wait = entry.error ? Math.min(entry.source.refreshMs, FIRST_RETRY_MS * 2 ** Math.min(entry.failures - 1, 10), MAX_RETRY_MS) : entry.source.refreshMs;
    entry.timer = setTimeout(() => void this.refresh(entry), wait);
    entry.timer.unref();
  }

  private async load(entry: Entry): Promise<void> {
    let rows: Row[];
    try {
      if (entry.reference.latest && !entry.error && !(await entry.source.mayHaveChanged())) {
        entry.checkedAt = Date.now();
        return;
      }
      rows = await entry.source.load();
    } catch (err) {
      entry.failures++;
      const message = err instanceof Error ? err.message : String(err);
      const repeated = entry.error?.message === message;
      entry.error = { message, at: Date.now() };
      this.failures.inc({ reference: entry.name });
      if (!repeated) this.options.logger.warn('reference load failed; the last good snapshot stays in use', { reference: entry.name, source: entry.source.description, error: message, versions: entry.reference.count });
      return;
    }
    entry.checkedAt = Date.now();
    if (entry.error) this.options.logger.info('reference load recovered', { reference: entry.name });
    entry.error = null;
    entry.failures = 0;
    const previous = entry.reference.latest;
    const { hash, rows: shared } = await digest(rows, previous);
    if (previous?.hash === hash) return;
    const version = { validFromMs: this.options.clock(), hash, rows: shared };
    if (!entry.reference.add(version)) return;
    this.loads.inc({ reference: entry.name });
    this.options.logger.info('reference version loaded', { reference: entry.name, rows: shared.length, validFrom: new Date(version.validFromMs).toISOString() });
    entry.markReady();
    try {
      await this.options.store.save(entry.name, version);
      const keepAfter = version.validFromMs - this.options.keepMs;
      entry.reference.prune(keepAfter);
      await this.options.store.prune(entry.name, keepAfter);
    } catch (err) {
      // The version is in use; only a replay after a restart would miss it.
      this.options.logger.error('could not save a reference version', { reference: entry.name, err });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const e of this.entries.values()) clearTimeout(e.timer);
    await Promise.all([...this.entries.values()].map((e) => e.loading ?? Promise.resolve()));
    await Promise.all([...this.entries.values()].map((e) => e.source.close()));
  }
}
