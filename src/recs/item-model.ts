// One tenant's item-to-item model, SAR-style, learned incrementally. Pure: time comes in with each
// event (the log's enqueue time), nothing reads a clock, so a replay builds the same model.
//
// - A shopper's history holds the items they touched, each with the strongest event's weight
//   (viewed < tried on < added to cart < bought). When an item enters a history (or its weight
//   rises), every other item there gains co-occurrence min(weight, other's weight): summed over
//   shoppers this is the weighted co-occurrence C[i][j], and C[i][i] the item's occurrence.
// - Similarity: Jaccard C[i][j] / (C[i][i] + C[j][j] − C[i][j]) (with min-weights, Σmin/Σmax), or
//   lift C[i][j] / (C[i][i] · C[j][j]).
// - Time decay: evidence halves every half-life. Every count is kept in units of 2^((t − t0)/half-life)
//   at the time it was added, so decaying all counts is one number; the counts are rebased rarely.
// - Bounded: at most `pairsPerItem` co-occurring items kept per item (pruned to the strongest when
//   twice that many), `historyLength` items per shopper, shoppers dropped after `shopperTtlMs`
//   without an event or beyond `maxShoppers` (least recent first), `maxItems` items.
//
// What changed since the last checkpoint is tracked, so a checkpoint writes only that
// (`takeChanges`: of an item, only the pairs that changed); `snapshot` is every record, and
// `restore` takes either.
import { PairCounts } from './pair-counts.js';
import { TopList } from './top-list.js';

export type Similarity = 'jaccard' | 'lift';

export interface ModelOptions {
  readonly halfLifeMs: number;
  readonly similarity: Similarity;
  readonly pairsPerItem: number;
  readonly historyLength: number;
  readonly shopperTtlMs: number;
  readonly maxShoppers: number;
  readonly maxItems: number;
}

export interface Scored {
  readonly item: string;
  readonly score: number;
}

// --- records: what a checkpoint stores (JSON-safe) ----------------------------------------------

export interface ItemRecord {
  readonly item: string;
  readonly occurrence: number;
  readonly popularity: number;
  /** [other item, co-occurrence], both in the model's scaled units. */
  readonly pairs: readonly (readonly [string, number])[];
}

export interface ShopperRecord {
  readonly shopper: string;
  readonly lastMs: number;
  /** Order of the shopper's last event among all events: restores the least-recent order. */
  readonly touch: number;
  readonly store: string | null;
  /** [item, weight, time of the last event, bought (1) or not (0)], least recent first. */
  readonly entries: readonly (readonly [string, number, number, 0 | 1])[];
}

export interface StoreRecord {
  readonly store: string;
  readonly popularity: readonly (readonly [string, number])[];
}

export interface ModelMeta {
  /** The time the scaled units are relative to. */
  readonly originMs: number;
  /** The newest event time absorbed: "now" for decay. */
  readonly clockMs: number;
  readonly touch: number;
  readonly events: number;
}

export interface ModelRecords {
  readonly meta: ModelMeta;
  readonly items: readonly ItemRecord[];
  readonly shoppers: readonly ShopperRecord[];
  readonly removedShoppers: readonly string[];
  readonly stores: readonly StoreRecord[];
}

/**
 * An item's change: its counts, and in `pairs` the pairs that changed (every pair, in a full
 * record); `removedPairs`, the partners pruned (apply before `pairs`: one may be in both).
 */
export interface ItemChange extends ItemRecord {
  readonly removedPairs?: readonly string[];
}

/** What changed, as a checkpoint takes it: the item and shopper records may be made as they are read (once). */
export interface ModelChanges extends Omit<ModelRecords, 'items' | 'shoppers'> {
  readonly items: Iterable<ItemChange>;
  readonly shoppers: Iterable<ShopperRecord>;
}

// --- state --------------------------------------------------------------------------------------

class ItemState {
  occurrence = 0;
  popularity = 0;
  readonly pairs = new PairCounts();
  /** The model's version when the occurrence last changed: every partner's scores depend on it. */
  occurrenceAt = 0;
  /** The model's version when the occurrence or a pair last changed. */
  changedAt = 0;
  /**
   * Neighbours strongest first, made at version `cachedAt`: valid while neither this item nor a
   * partner's occurrence has changed since. Keyed on the model's version alone, every event made
   * every cached list stale, and a shopper's answer re-sorted the neighbours of their whole history.
   * A flat typed array, not an object per neighbour: kept lists outlive a scavenge, and the
   * recommender thread's scavenges copied them (2-15 ms each, 4-18% of its time at 5,000 events/s).
   */
  cache: Neighbours | null = null;
  cachedAt = -1;
  /** In the dirty set: a flag is cheaper to test than the set on every co-occurrence. */
  dirty = false;
  constructor(readonly id: number, readonly key: string) {}
}

/**
 * [item id, score] pairs, strongest first. The score is Jaccard's similarity; for lift,
 * C[i][j] / (C[i][i] · C[j][j]) without the decay unit (see `scoreOf`).
 */
type Neighbours = Float64Array;

interface Entry {
  readonly item: ItemState;
  weight: number;
  atMs: number;
  bought: boolean;
}

class ShopperState {
  entries: Entry[] = [];
  lastMs = 0;
  touch = 0;
  store: string | null = null;
  constructor(readonly key: string) {}
}

/** Exponents beyond this rebase every count, long before a double loses precision. */
const MAX_EXPONENT = 40;

const byKey = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const byScore = (a: Scored, b: Scored): number => (b.score - a.score) || byKey(a.item, b.item);
const byItemKey = (a: ItemState, b: ItemState): number => byKey(a.key, b.key);
const byShopperKey = (a: ShopperState, b: ShopperState): number => byKey(a.key, b.key);

interface StorePopularity {
  /** Item id → decayed popularity: the same flat table as co-occurrences (no boxed number per addition). */
  readonly pop: PairCounts;
  readonly top: TopList;
}

export type AbsorbOutcome = 'absorbed' | 'item_limit';

export class ItemModel {
  private readonly items: ItemState[] = [];
  private readonly itemIds = new Map<string, ItemState>();
  /** In least-recent-first order: a Map keeps insertion order, and a touch re-inserts. */
  private readonly shoppers = new Map<string, ShopperState>();
  private readonly stores = new Map<string, StorePopularity>();
  /** The last store added to: events of one store come in runs, so most additions skip the lookup. */
  private lastStore: { key: string; store: StorePopularity } | null = null;
  private readonly popularTop = this.topList();
  private originMs = 0;
  private originSet = false;
  private clockMs = 0;
  private touch = 0;
  private events = 0;
  /** Bumped by every event: what changed, changed at this version. */
  private version = 0;
  /** Neighbour lists made before this version are stale whatever changed (a rebase or restore). */
  private validFrom = 0;

  private readonly dirtyItems = new Set<ItemState>();
  private readonly dirtyShoppers = new Set<ShopperState>();
  private readonly removed = new Set<string>();
  private readonly dirtyStores = new Set<string>();

  /** A pair map is pruned back to `pairsPerItem` when it grows past twice that. */
  private readonly prunedAbove: number;

  constructor(readonly options: ModelOptions) {
    this.prunedAbove = 2 * options.pairsPerItem;
  }

  get itemCount(): number {
    return this.items.length;
  }

  get shopperCount(): number {
    return this.shoppers.size;
  }

  get eventCount(): number {
    return this.events;
  }

  get clock(): number {
    return this.clockMs;
  }

  // --- learning ---------------------------------------------------------------------------------

  /** One event: `shopper` touched `items` (an order may hold several) with `weight` at `atMs`. */
  absorb(shopper: string, items: readonly string[], weight: number, purchase: boolean, store: string | null, atMs: number): AbsorbOutcome {
    // One item is the common case: no array for it.
    const first = this.item(items[0]!, true);
    if (first === undefined) return 'item_limit';
    let more: ItemState[] | undefined;
    for (let i = 1; i < items.length; i++) {
      const s = this.item(items[i]!, true);
      if (s === undefined) return 'item_limit';
      (more ??= []).push(s);
    }
    if (!this.originSet) {
      this.originMs = atMs;
      this.originSet = true;
    }
    if (atMs > this.clockMs) this.clockMs = atMs;
    const scale = this.scaleAt(atMs);
    this.version++;
    this.events++;
    const sh = this.shopper(shopper);
    if (store !== null) sh.store = store;
    this.touchItem(sh, first, weight, purchase, store, atMs, scale);
    if (more !== undefined) for (const item of more) this.touchItem(sh, item, weight, purchase, store, atMs, scale);
    sh.lastMs = atMs;
    sh.touch = ++this.touch;
    this.dirtyShoppers.add(sh);
    // Every 64th event (and whenever over the cap): a sweep per event would cost more than the
    // shoppers it finds; the count is in the checkpoint, so a restart sweeps at the same events.
    if ((this.events & 63) === 0 || this.shoppers.size > this.options.maxShoppers) this.ageOut(atMs);
    return 'absorbed';
  }

  private touchItem(sh: ShopperState, item: ItemState, weight: number, purchase: boolean, store: string | null, atMs: number, scale: number): void {
    const add = weight * scale;
    item.popularity += add;
    this.popularTop.raised(item.id, item.popularity);
    if (!item.dirty) this.markDirty(item);
    if (store !== null) this.addStorePopularity(store, item, add);
    this.touchEntry(sh, item, weight, purchase, atMs, scale);
  }

  private touchEntry(sh: ShopperState, item: ItemState, weight: number, purchase: boolean, atMs: number, scale: number): void {
    const entries = sh.entries;
    let at = -1;
    for (let i = entries.length - 1; i >= 0; i--) {
      if (entries[i]!.item === item) {
        at = i;
        break;
      }
    }
    if (at < 0) {
      item.occurrence += weight * scale;
      item.occurrenceAt = item.changedAt = this.version;
      for (let i = 0; i < entries.length; i++) {
        const other = entries[i]!;
        this.addPair(item, other.item, Math.min(weight, other.weight) * scale);
      }
      entries.push({ item, weight, atMs, bought: purchase });
      if (entries.length > this.options.historyLength) entries.shift();
      return;
    }
    const entry = entries[at]!;
    if (weight > entry.weight) {
      item.occurrence += (weight - entry.weight) * scale;
      item.occurrenceAt = item.changedAt = this.version;
      for (let i = 0; i < entries.length; i++) {
        if (i === at) continue;
        const other = entries[i]!;
        const gain = Math.min(weight, other.weight) - Math.min(entry.weight, other.weight);
        if (gain > 0) this.addPair(item, other.item, gain * scale);
      }
      entry.weight = weight;
    }
    entry.atMs = atMs;
    if (purchase) entry.bought = true;
    // Most recent last: the history's cap drops the item touched longest ago.
    if (at !== entries.length - 1) {
      entries.splice(at, 1);
      entries.push(entry);
    }
  }

  private addPair(a: ItemState, b: ItemState, amount: number): void {
    this.bump(a, b, amount);
    this.bump(b, a, amount);
  }

  private bump(a: ItemState, b: ItemState, amount: number): void {
    a.pairs.add(b.id, amount);
    a.changedAt = this.version;
    if (!a.dirty) this.markDirty(a);
    if (a.pairs.size > this.prunedAbove) this.prunePairs(a);
  }

  private markDirty(item: ItemState): void {
    item.dirty = true;
    this.dirtyItems.add(item);
  }

  /** Keeps the item's strongest co-occurrences (ties by item id, so a restore prunes alike). */
  private prunePairs(a: ItemState): void {
    a.pairs.keepStrongest(this.options.pairsPerItem, (id) => this.items[id]!.key);
  }

  private addStorePopularity(store: string, item: ItemState, amount: number): void {
    let last = this.lastStore;
    if (last === null || last.key !== store) {
      let st = this.stores.get(store);
      if (st === undefined) this.stores.set(store, (st = { pop: new PairCounts(), top: this.topList() }));
      this.lastStore = last = { key: store, store: st };
    }
    last.store.top.raised(item.id, last.store.pop.add(item.id, amount));
    this.dirtyStores.add(store);
  }

  private topList(): TopList {
    return new TopList(POPULAR_KEPT, (id) => this.items[id]!.key);
  }

  /** The popular lists from every item's value: after a rebase (old and new values differ in scale) or a restore. */
  private rebuildTopLists(): void {
    this.popularTop.rebuild(this.items.map((i) => [i.id, i.popularity] as const));
    for (const st of this.stores.values()) st.top.rebuild(st.pop.entries());
  }

  private item(key: string, create: boolean): ItemState | undefined {
    let s = this.itemIds.get(key);
    if (s === undefined && create) {
      if (this.items.length >= this.options.maxItems) return undefined;
      s = new ItemState(this.items.length, key);
      this.items.push(s);
      this.itemIds.set(key, s);
    }
    return s;
  }

  private shopper(key: string): ShopperState {
    let s = this.shoppers.get(key);
    if (s === undefined) {
      s = new ShopperState(key);
      this.removed.delete(key);
    } else {
      this.shoppers.delete(key);
    }
    // The key kept since the shopper was made: the event's copy then dies young, where keeping it
    // made one string per event survive the recommender thread's scavenges.
    this.shoppers.set(s.key, s);
    return s;
  }

  /** Drops shoppers idle past the TTL, and the least recent beyond the cap. */
  private ageOut(nowMs: number): void {
    const expired = nowMs - this.options.shopperTtlMs;
    for (const s of this.shoppers.values()) {
      if (this.shoppers.size <= this.options.maxShoppers && s.lastMs >= expired) break;
      this.shoppers.delete(s.key);
      this.dirtyShoppers.delete(s);
      this.removed.add(s.key);
    }
  }

  /** 2^((t − origin)/half-life): what one unit of evidence at `t` counts for; rebases when large. */
  private scaleAt(atMs: number): number {
    const halfLife = this.options.halfLifeMs;
    if (halfLife <= 0) return 1;
    let exponent = (atMs - this.originMs) / halfLife;
    if (exponent > MAX_EXPONENT) {
      this.rebase(atMs);
      exponent = 0;
    }
    return 2 ** exponent;
  }

  private rebase(toMs: number): void {
    const f = 2 ** (-(toMs - this.originMs) / this.options.halfLifeMs);
    for (const item of this.items) {
      item.occurrence *= f;
      item.popularity *= f;
      item.pairs.scale(f);
      if (!item.dirty) this.markDirty(item);
    }
    for (const [store, st] of this.stores) {
      st.pop.scale(f);
      this.dirtyStores.add(store);
    }
    this.originMs = toMs;
    this.rebuildTopLists();
    // Called before the event's version is taken: lists made up to now are stale.
    this.validFrom = this.version + 1;
  }

  /** Scaled units → evidence as of the model's clock. */
  private get unit(): number {
    const halfLife = this.options.halfLifeMs;
    return halfLife <= 0 ? 1 : 2 ** (-(this.clockMs - this.originMs) / halfLife);
  }

  // --- answering --------------------------------------------------------------------------------

  /** Items most similar to `key`, strongest first; undefined when the model has not seen it. */
  neighbours(key: string, k: number): Scored[] | undefined {
    const item = this.itemIds.get(key);
    if (item === undefined) return undefined;
    const unit = this.unit;
    const list = this.neighboursOf(item);
    const out: Scored[] = [];
    for (let i = 0; i < list.length && out.length < k; i += 2) out.push({ item: this.items[list[i]!]!.key, score: this.scoreOf(list[i + 1]!, unit) });
    return out;
  }

  private neighboursOf(item: ItemState): Neighbours {
    const at = item.cachedAt;
    if (item.cache !== null && at >= this.validFrom && at >= item.changedAt
      && !item.pairs.somePartner((id) => this.items[id]!.occurrenceAt > at)) return item.cache;
    const ids: number[] = [];
    const scores: number[] = [];
    const lift = this.options.similarity === 'lift';
    item.pairs.forEach((id, c) => {
      const other = this.items[id]!;
      let score: number;
      if (lift) score = c / (item.occurrence * other.occurrence);
      // Evidence added at different times can make the weighted counts overlap a little: clamp.
      else score = Math.min(1, c / Math.max(c, item.occurrence + other.occurrence - c));
      if (score > 0 && Number.isFinite(score)) {
        ids.push(id);
        scores.push(score);
      }
    });
    const order = ids.map((_, i) => i).sort((a, b) => (scores[b]! - scores[a]!) || byKey(this.items[ids[a]!]!.key, this.items[ids[b]!]!.key));
    const list = new Float64Array(2 * order.length);
    for (let i = 0; i < order.length; i++) {
      list[2 * i] = ids[order[i]!]!;
      list[2 * i + 1] = scores[order[i]!]!;
    }
    item.cache = list;
    item.cachedAt = this.version;
    return list;
  }

  /**
   * A neighbour's similarity now. Jaccard's does not move while the list is valid; lift's is divided
   * by the decay unit, which moves with the clock at every event — every score alike, and a division
   * keeps the order, so a kept list stays sorted.
   */
  private scoreOf(score: number, unit: number): number {
    return this.options.similarity === 'lift' ? score / unit : score;
  }

  /**
   * For a shopper: Σ over their history of affinity (weight, decayed since the event) × similarity,
   * without what they bought. `basedOn` is the history used, most recent first. Undefined for a
   * shopper the model does not know (never seen, or aged out).
   */
  forShopper(key: string, k: number): { items: Scored[]; basedOn: string[]; bought: Set<string>; store: string | null } | undefined {
    const sh = this.shoppers.get(key);
    // Past the TTL is forgotten, whether or not the sweep has come by yet.
    if (sh === undefined || sh.lastMs < this.clockMs - this.options.shopperTtlMs) return undefined;
    const bought = new Set<number>();
    for (const e of sh.entries) if (e.bought) bought.add(e.item.id);
    const scores = new Map<number, number>();
    const halfLife = this.options.halfLifeMs;
    const unit = this.unit;
    for (const e of sh.entries) {
      const affinity = e.weight * (halfLife <= 0 ? 1 : 2 ** (-(this.clockMs - e.atMs) / halfLife));
      const list = this.neighboursOf(e.item);
      for (let i = 0; i < list.length; i += 2) {
        const id = list[i]!;
        if (bought.has(id)) continue;
        scores.set(id, (scores.get(id) ?? 0) + affinity * this.scoreOf(list[i + 1]!, unit));
      }
    }
    const items = topOf(scores, k, (id) => this.items[id]!.key);
    return { items, basedOn: sh.entries.map((e) => e.item.key).reverse(), bought: new Set([...bought].map((id) => this.items[id]!.key)), store: sh.store };
  }

  /** The most popular items (decayed event weights), in a store when it has any; without `exclude`. */
  popular(k: number, store: string | null, exclude: ReadonlySet<string> = new Set()): { items: Scored[]; store: string | null } {
    const inStore = store === null ? undefined : this.stores.get(store);
    const unit = this.unit;
    const items: Scored[] = [];
    (inStore?.top ?? this.popularTop).forEach((id, value) => {
      const item = this.items[id]!.key;
      if (!exclude.has(item)) items.push({ item, score: value * unit });
      return items.length < k;
    });
    return { items, store: inStore === undefined ? null : store };
  }

  // --- checkpoints ------------------------------------------------------------------------------

  /** Every record: the whole model. */
  snapshot(): ModelRecords {
    return {
      meta: this.meta(),
      items: this.items.map((i) => this.itemRecord(i)),
      shoppers: [...this.shoppers.values()].map(shopperRecord),
      removedShoppers: [],
      stores: [...this.stores.keys()].map((s) => this.storeRecord(s)),
    };
  }

  /**
   * What changed since the last call (or the restore), for a checkpoint: of an item, only the pairs that changed and
   * the partners pruned — whole pair lists (up to twice `neighbours` pairs for nearly every item,
   * every few seconds) made checkpoints the recommender thread's main work. The item and shopper
   * records are made as they are iterated (once), so a checkpoint writes each as it is made and none
   * lives long (made all at once, they survived the young generation: scavenges of tens of ms).
   * The model must not change until the iteration ends (the records are read from the live state).
   */
  takeChanges(): ModelChanges {
    const changed = this.takeChanged();
    const items = changed.items;
    const shoppers = changed.shoppers;
    const itemRecord = (i: ItemState): ItemChange => this.itemChange(i);
    return {
      ...changed,
      items: (function* () {
        for (const i of items) yield itemRecord(i);
      })(),
      shoppers: (function* () {
        for (const sh of shoppers) yield shopperRecord(sh);
      })(),
      stores: changed.stores.map((st) => this.storeRecord(st)),
    };
  }

  private takeChanged(): Omit<ModelRecords, 'items' | 'shoppers' | 'stores'> & { items: ItemState[]; shoppers: ShopperState[]; stores: string[] } {
    // In key order, as a store keeps them: its b-tree pages are then written in one pass, each
    // once, where random order rewrote most pages several times in one checkpoint (3x the time).
    const changed = {
      meta: this.meta(),
      items: [...this.dirtyItems].sort(byItemKey),
      shoppers: [...this.dirtyShoppers].sort(byShopperKey),
      removedShoppers: [...this.removed].sort(byKey),
      stores: [...this.dirtyStores].sort(byKey),
    };
    for (const i of this.dirtyItems) i.dirty = false;
    this.dirtyItems.clear();
    this.dirtyShoppers.clear();
    this.removed.clear();
    this.dirtyStores.clear();
    return changed;
  }


  get hasChanges(): boolean {
    return this.dirtyItems.size > 0 || this.dirtyShoppers.size > 0 || this.removed.size > 0 || this.dirtyStores.size > 0;
  }

  /** Replaces the model with `records` (a snapshot, or the rows a store kept). */
  restore(records: ModelRecords): void {
    this.items.length = 0;
    this.itemIds.clear();
    this.shoppers.clear();
    this.stores.clear();
    this.lastStore = null;
    const m = records.meta;
    this.originMs = m.originMs;
    this.originSet = m.events > 0;
    this.clockMs = m.clockMs;
    this.touch = m.touch;
    this.events = m.events;
    this.version++;
    this.validFrom = this.version;
    const itemOf = (key: string): ItemState => {
      let s = this.itemIds.get(key);
      if (s === undefined) {
        s = new ItemState(this.items.length, key);
        this.items.push(s);
        this.itemIds.set(key, s);
      }
      return s;
    };
    for (const r of records.items) {
      const s = itemOf(r.item);
      s.occurrence = r.occurrence;
      s.popularity = r.popularity;
    }
    for (const r of records.items) {
      const s = itemOf(r.item);
      for (const [other, n] of r.pairs) s.pairs.add(itemOf(other).id, n);
    }
    for (const s of this.items) s.pairs.forgetChanges();
    const removed = new Set(records.removedShoppers);
    const shoppers = records.shoppers.filter((r) => !removed.has(r.shopper)).sort((a, b) => a.touch - b.touch);
    for (const r of shoppers) {
      const s = new ShopperState(r.shopper);
      s.lastMs = r.lastMs;
      s.touch = r.touch;
      s.store = r.store;
      s.entries = r.entries.map(([item, weight, atMs, bought]) => ({ item: itemOf(item), weight, atMs, bought: bought === 1 }));
      this.shoppers.set(s.key, s);
    }
    for (const r of records.stores) {
      const pop = new PairCounts();
      for (const [item, n] of r.popularity) pop.add(itemOf(item).id, n);
      this.stores.set(r.store, { pop, top: this.topList() });
    }
    this.rebuildTopLists();
    this.dirtyItems.clear();
    this.dirtyShoppers.clear();
    this.removed.clear();
    this.dirtyStores.clear();
  }

  private meta(): ModelMeta {
    return { originMs: this.originMs, clockMs: this.clockMs, touch: this.touch, events: this.events };
  }

  private itemRecord(i: ItemState): ItemRecord {
    return { item: i.key, occurrence: i.occurrence, popularity: i.popularity, pairs: i.pairs.entries().map(([id, n]) => [this.items[id]!.key, n] as const) };
  }

  private itemChange(i: ItemState): ItemChange {
    const { changed, removed } = i.pairs.takeChanges();
    const key = (id: number): string => this.items[id]!.key;
    return {
      item: i.key, occurrence: i.occurrence, popularity: i.popularity,
      pairs: changed.map(([id, n]) => [key(id), n] as const).sort((a, b) => byKey(a[0], b[0])),
      ...(removed.length > 0 ? { removedPairs: removed.map(key) } : {}),
    };
  }

  private storeRecord(store: string): StoreRecord {
    return { store, popularity: (this.stores.get(store)?.pop.entries() ?? []).map(([id, n]) => [this.items[id]!.key, n] as const) };
  }
}

/** Popular items kept per scope (overall, each store) as events come: the largest `k` a request may ask for. */
export const POPULAR_KEPT = 100;

function shopperRecord(s: ShopperState): ShopperRecord {
  return { shopper: s.key, lastMs: s.lastMs, touch: s.touch, store: s.store, entries: s.entries.map((e) => [e.item.key, e.weight, e.atMs, e.bought ? 1 : 0] as const) };
}

/** The `k` highest scores, strongest first (ties by item), without sorting everything. */
function topOf(scores: ReadonlyMap<number, number>, k: number, keyOf: (id: number) => string): Scored[] {
  const top: Scored[] = [];
  for (const [id, score] of scores) {
    if (!(score > 0)) continue;
    const item = keyOf(id);
    if (top.length === k) {
      const last = top[k - 1]!;
      if (score < last.score || (score === last.score && item > last.item)) continue;
      top.pop();
    }
    // Insertion into a short sorted array: k is at most 100.
    let i = top.length;
    const s = { item, score };
    while (i > 0 && byScore(top[i - 1]!, s) > 0) i--;
    top.splice(i, 0, s);
  }
  return top;
}
