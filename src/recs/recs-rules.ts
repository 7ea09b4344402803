// What the recommender learns from, per tenant: which events count and how much, where the item,
// the shopper and the store sit in a body. Resolved once from the settings (docs/recommendations.md);
// `interactionOf` turns one event into what the model absorbs, or the reason it is skipped.
import type { Config } from '../config/index.js';
import { compileFieldPath, compileFirstField, type FieldReader } from './field-path.js';
import type { ModelOptions, Similarity } from './item-model.js';

export interface EventKind {
  readonly name: string;
  /** Viewed < tried on < added to cart < bought: how strongly the event ties the shopper to the item. */
  readonly weight: number;
  /** A purchase: the item is not recommended to this shopper again. */
  readonly purchase: boolean;
  readonly items: FieldReader;
}

/** Reads the one id a field holds. */
export type FirstReader = (body: Readonly<Record<string, unknown>>) => string | undefined;

export interface TenantRules {
  readonly eventName: FirstReader;
  readonly events: ReadonlyMap<string, EventKind>;
  /** null: the shopper is the device that sent the event. */
  readonly shopper: FirstReader | null;
  readonly store: FirstReader | null;
  readonly halfLifeMs: number;
  readonly similarity: Similarity;
}

export interface RecsConfig {
  readonly enabled: boolean;
  readonly defaults: TenantRules;
  readonly tenants: ReadonlyMap<string, TenantRules>;
  readonly limits: Omit<ModelOptions, 'halfLifeMs' | 'similarity'>;
  readonly checkpointIntervalMs: number;
}

export type RecsSettings = Config['recommendations'];

/** Ids longer than this are skipped (and counted): they are not product or shopper ids. */
export const MAX_ID_LENGTH = 256;

export function recsConfigOf(s: RecsSettings): RecsConfig {
  const base = {
    event: s.eventField, item: s.item, shopper: s.shopper, store: s.store, halfLife: s.halfLife, similarity: s.similarity, events: s.events,
  };
  const defaults = rulesOf(base);
  const tenants = new Map<string, TenantRules>();
  for (const [tenant, t] of Object.entries(s.tenants)) {
    tenants.set(tenant, rulesOf({
      event: t.eventField ?? base.event,
      item: t.item ?? base.item,
      shopper: t.shopper ?? base.shopper,
      store: t.store ?? base.store,
      halfLife: t.halfLife ?? base.halfLife,
      similarity: t.similarity ?? base.similarity,
      events: Object.keys(t.events).length > 0 ? t.events : base.events,
    }));
  }
  return {
    enabled: s.enabled,
    defaults,
    tenants,
    limits: { pairsPerItem: s.neighbours, historyLength: s.history, shopperTtlMs: s.shopperTtl, maxShoppers: s.maxShoppers, maxItems: s.maxItems },
    checkpointIntervalMs: s.checkpointInterval,
  };
}

function rulesOf(r: {
  event: string; item: string; shopper: string | null; store: string | null; halfLife: number; similarity: Similarity;
  events: Readonly<Record<string, { readonly weight: number; readonly purchase: boolean; readonly item: string | null }>>;
}): TenantRules {
  const events = new Map<string, EventKind>();
  for (const [name, e] of Object.entries(r.events)) {
    events.set(name, { name, weight: e.weight, purchase: e.purchase, items: compileFieldPath(e.item ?? r.item) });
  }
  return {
    eventName: compileFirstField(r.event),
    events,
    shopper: r.shopper === null ? null : compileFirstField(r.shopper),
    store: r.store === null ? null : compileFirstField(r.store),
    halfLifeMs: r.halfLife,
    similarity: r.similarity,
  };
}

/** One event as the model absorbs it. */
export interface Interaction {
  readonly shopper: string;
  readonly items: readonly string[];
  readonly weight: number;
  readonly purchase: boolean;
  readonly store: string | null;
}

/** Why an event taught the model nothing; counted per reason, never an error. */
export type SkipReason = 'not_json' | 'no_event_name' | 'unknown_event' | 'no_item' | 'no_shopper' | 'bad_id' | 'item_limit';

export const SKIP_REASONS: readonly SkipReason[] = ['not_json', 'no_event_name', 'unknown_event', 'no_item', 'no_shopper', 'bad_id', 'item_limit'];

const fits = (id: string): boolean => id.length <= MAX_ID_LENGTH;

export function interactionOf(rules: TenantRules, deviceId: string, body: unknown): Interaction | SkipReason {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'not_json';
  const fields = body as Record<string, unknown>;
  const name = rules.eventName(fields);
  if (name === undefined) return 'no_event_name';
  const kind = rules.events.get(name);
  if (kind === undefined) return 'unknown_event';
  const found = kind.items(fields);
  if (found.length === 0) return 'no_item';
  const items = found.length === 1 ? (fits(found[0]!) ? found : []) : [...new Set(found.filter(fits))];
  if (items.length === 0) return 'bad_id';
  const shopper = rules.shopper === null ? deviceId : rules.shopper(fields);
  if (shopper === undefined) return 'no_shopper';
  if (!fits(shopper)) return 'bad_id';
  const store = rules.store === null ? undefined : rules.store(fields);
  return { shopper, items, weight: kind.weight, purchase: kind.purchase, store: store !== undefined && fits(store) ? store : null };
}
