// Every tenant's model behind one face: events in (with the tenant's rules), recommendations out,
// with the popularity fallback when there is nothing to learn from. Pure, like the model: the
// server's runner and `omnistream recs evaluate` run exactly this code.
import { ItemModel, type ModelChanges, type ModelRecords, type Scored } from './item-model.js';
import { interactionOf, SKIP_REASONS, type RecsConfig, type SkipReason, type TenantRules } from './recs-rules.js';

export interface Recommendation {
  readonly items: readonly Scored[];
  /** Set when nothing was learned for this item or shopper: the items are the most popular. */
  readonly fallback?: 'popular';
  /** The store whose popular items these are, when the fallback is by store. */
  readonly store?: string;
  /** For a shopper: the items of their history the scores come from, most recent first. */
  readonly basedOn?: readonly string[];
  readonly model: ModelSummary;
}

export interface ModelSummary {
  readonly similarity: string;
  readonly halfLifeMs: number;
  readonly items: number;
  readonly shoppers: number;
  readonly events: number;
  /** The newest event the model has absorbed (ISO), null before any. */
  readonly clock: string | null;
}

export class Recommender {
  private readonly models = new Map<string, ItemModel>();
  private readonly skipped = new Map<SkipReason, number>(SKIP_REASONS.map((r) => [r, 0]));
  absorbed = 0;

  constructor(readonly config: RecsConfig) {}

  rulesOf(tenant: string): TenantRules {
    return this.config.tenants.get(tenant) ?? this.config.defaults;
  }

  /** The tenant's model, made on its first event. */
  model(tenant: string): ItemModel {
    let m = this.models.get(tenant);
    if (m === undefined) {
      const rules = this.rulesOf(tenant);
      m = new ItemModel({ ...this.config.limits, halfLifeMs: rules.halfLifeMs, similarity: rules.similarity });
      this.models.set(tenant, m);
    }
    return m;
  }

  /** One event of the log (its body parsed, or undefined when not JSON). Never throws on bad input. */
  absorb(tenant: string, deviceId: string, body: unknown, atMs: number): SkipReason | undefined {
    const found = interactionOf(this.rulesOf(tenant), deviceId, body);
    if (typeof found === 'string') return this.skip(found);
    const outcome = this.model(tenant).absorb(found.shopper, found.items, found.weight, found.purchase, found.store, atMs);
    if (outcome !== 'absorbed') return this.skip(outcome);
    this.absorbed++;
    return undefined;
  }

  private skip(reason: SkipReason): SkipReason {
    this.skipped.set(reason, (this.skipped.get(reason) ?? 0) + 1);
    return reason;
  }

  skippedCounts(): Record<SkipReason, number> {
    return Object.fromEntries(this.skipped) as Record<SkipReason, number>;
  }

  restoreCounts(absorbed: number, skipped: Readonly<Record<string, number>>): void {
    this.absorbed = absorbed;
    for (const r of SKIP_REASONS) this.skipped.set(r, skipped[r] ?? 0);
  }

  tenants(): string[] {
    return [...this.models.keys()];
  }

  forItem(tenant: string, item: string, k: number, store: string | null = null): Recommendation {
    const m = this.models.get(tenant);
    const found = m?.neighbours(item, k);
    if (m !== undefined && found !== undefined && found.length > 0) return { items: found, model: this.summary(tenant) };
    return this.popular(tenant, k, store, new Set([item]));
  }

  forShopper(tenant: string, shopper: string, k: number, store: string | null = null): Recommendation {
    const m = this.models.get(tenant);
    const found = m?.forShopper(shopper, k);
    if (found !== undefined && found.items.length > 0) return { items: found.items, basedOn: found.basedOn, model: this.summary(tenant) };
    return {
      ...this.popular(tenant, k, store ?? found?.store ?? null, found?.bought ?? new Set()),
      ...(found ? { basedOn: found.basedOn } : {}),
    };
  }

  /** The tenant's most popular items (in `store` when it has any): what the fallback answers. */
  popularItems(tenant: string, k: number, store: string | null = null): Recommendation {
    return this.popular(tenant, k, store, new Set());
  }

  private popular(tenant: string, k: number, store: string | null, exclude: ReadonlySet<string>): Recommendation {
    const m = this.models.get(tenant);
    const found = m?.popular(k, store, exclude) ?? { items: [], store: null };
    return { items: found.items, fallback: 'popular', ...(found.store !== null ? { store: found.store } : {}), model: this.summary(tenant) };
  }

  summary(tenant: string): ModelSummary {
    const m = this.models.get(tenant);
    const rules = this.rulesOf(tenant);
    return {
      similarity: rules.similarity,
      halfLifeMs: rules.halfLifeMs,
      items: m?.itemCount ?? 0,
      shoppers: m?.shopperCount ?? 0,
      events: m?.eventCount ?? 0,
      clock: m === undefined || m.eventCount === 0 ? null : new Date(m.clock).toISOString(),
    };
  }

  /** Per tenant, what changed since the last call; records are made as they are read (nothing may be absorbed until they all are). */
  takeChanges(): Map<string, ModelChanges> {
    const out = new Map<string, ModelChanges>();
    for (const [tenant, m] of this.models) if (m.hasChanges) out.set(tenant, m.takeChanges());
    return out;
  }

  /** Forgets every model and count (before a restore from the store). */
  clear(): void {
    this.models.clear();
    this.restoreCounts(0, {});
  }

  restore(tenant: string, records: ModelRecords): void {
    this.model(tenant).restore(records);
  }
}
