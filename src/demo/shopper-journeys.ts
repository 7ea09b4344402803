// What the demo's shoppers do, as timed events: online shoppers browse a brand's products (a few
// popular ones far more than the rest, and what suits their taste: favourite categories, a price
// band, and items that go with what they look at), add some to the cart and sometimes order; in-store shoppers
// pass the door's RFID reader, try garments on in a fitting room (whose reader sees their tag every
// few seconds while they are inside), sometimes buy at the RFID checkout, and leave.
// Pure: the randomness and the start time come in, so a journey can be planned anywhere (the
// simulator, a test, a file of sample events for `omnistream query run`).

export type Channel = 'web' | 'ios' | 'android' | 'sensor';
export const CHANNELS: readonly Channel[] = ['web', 'ios', 'android', 'sensor'];

export interface Product {
  readonly sku: string;
  readonly name: string;
  readonly category: string;
  readonly price: number;
}

export interface Store {
  readonly store: string;
  readonly name: string;
  readonly fittingRooms: number;
}

/** One retail brand: a tenant, its products and its stores. */
export interface Brand {
  readonly tenant: string;
  readonly products: readonly Product[];
  readonly stores: readonly Store[];
}

/** Who sends an event: an online channel's app, or a store's reader gateway. */
export type Sender = { readonly channel: 'web' | 'ios' | 'android'; readonly shopper: string } | { readonly channel: 'sensor'; readonly store: string };

export interface PlannedEvent {
  /** The brand whose shopper it is. */
  readonly tenant: string;
  /** When it happens (epoch ms); its body's `time`. */
  readonly atMs: number;
  readonly sender: Sender;
  readonly body: Readonly<Record<string, unknown>>;
}

export type Random = () => number;

/** A shopper's favourite categories and price band (0 low, 1 mid, 2 high). */
export interface Taste {
  readonly categories: readonly string[];
  readonly band: number;
}

/** How often a fitting room's reader reports the tags it sees. */
export const FITTING_ROOM_READ_MS = 4_000;

/** mulberry32: small, fast and deterministic for a seed. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const between = (random: Random, low: number, high: number): number => low + random() * (high - low);
const chance = (random: Random, p: number): boolean => random() < p;
const oneOf = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

/** A log-normal duration, as dwell times are: most short, a few long. */
function logNormal(random: Random, median: number, sigma: number, low: number, high: number): number {
  const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return Math.min(high, Math.max(low, median * Math.exp(sigma * z)));
}

/**
 * A brand's products by popularity: a Zipf-like skew over a fixed shuffle, so a handful of products
 * lead every "top" tile while the long tail still shows up.
 */
export class Assortment {
  private readonly ranked: readonly Product[];
  private readonly cumulative: readonly number[];
  private readonly byCategory: ReadonlyMap<string, { products: Product[]; cumulative: number[] }>;
  /** Per category and price band (0 low, 1 mid, 2 high), its products by popularity. */
  private readonly byBand = new Map<string, { products: Product[]; cumulative: number[] }>();
  private readonly bandOf = new Map<Product, number>();
  /** Items that go together: each product's companions, from the next category in the same band. */
  private readonly companions = new Map<Product, Product[]>();
  readonly categories: readonly string[];

  constructor(products: readonly Product[], seed = 7) {
    if (products.length === 0) throw new Error('a brand needs products');
    const random = seededRandom(seed);
    const shuffled = [...products];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    this.ranked = shuffled;
    const weights = shuffled.map((_, rank) => 1 / (rank + 1) ** 0.8);
    this.cumulative = accumulate(weights);
    const byCategory = new Map<string, { products: Product[]; cumulative: number[] }>();
    shuffled.forEach((p, rank) => {
      const c = byCategory.get(p.category) ?? { products: [], cumulative: [] };
      c.products.push(p);
      c.cumulative.push((c.cumulative.at(-1) ?? 0) + weights[rank]!);
      byCategory.set(p.category, c);
    });
    this.byCategory = byCategory;
    this.categories = [...byCategory.keys()].sort();
    for (const [category, c] of byCategory) {
      const prices = c.products.map((p) => p.price).sort((a, b) => a - b);
      const low = prices[Math.floor(prices.length / 3)]!;
      const high = prices[Math.floor((2 * prices.length) / 3)]!;
      c.products.forEach((p, i) => {
        const band = p.price < low ? 0 : p.price < high ? 1 : 2;
        this.bandOf.set(p, band);
        const key = `${category}/${band}`;
        const b = this.byBand.get(key) ?? { products: [], cumulative: [] };
        b.products.push(p);
        b.cumulative.push((b.cumulative.at(-1) ?? 0) + (c.cumulative[i]! - (c.cumulative[i - 1] ?? 0)));
        this.byBand.set(key, b);
      });
    }
    for (const p of shuffled) {
      const next = this.categories[(this.categories.indexOf(p.category) + 1) % this.categories.length]!;
      const pool = this.byBand.get(`${next}/${this.bandOf.get(p)!}`) ?? this.byCategory.get(next)!;
      const picks = [pool.products[Math.floor(random() * pool.products.length)]!, pool.products[Math.floor(random() * pool.products.length)]!];
      this.companions.set(p, [...new Set(picks)].filter((c) => c !== p));
    }
  }

  /** A product for a shopper of this taste: mostly from a favourite category in their price band. */
  pickFor(random: Random, taste: Taste): Product {
    if (random() < 0.3) return this.pick(random);
    const category = oneOf(random, taste.categories);
    const b = this.byBand.get(`${category}/${taste.band}`) ?? this.byCategory.get(category);
    return b ? b.products[search(b.cumulative, random())]! : this.pick(random);
  }

  /** A product of the same category and price band as `like`. */
  pickSimilar(random: Random, like: Product): Product {
    const b = this.byBand.get(`${like.category}/${this.bandOf.get(like)}`);
    return b ? b.products[search(b.cumulative, random())]! : this.pickLike(random, like);
  }

  /** An item that goes with `p` (a beanie with a parka), or `p` when it has none. */
  companionOf(random: Random, p: Product): Product {
    const c = this.companions.get(p);
    return c && c.length > 0 ? oneOf(random, c) : p;
  }

  /** What a shopper likes, the same each time they come back: two favourite categories and a price band. */
  tasteOf(shopper: string): Taste {
    let h = 0x811c9dc5;
    for (let i = 0; i < shopper.length; i++) h = Math.imul(h ^ shopper.charCodeAt(i), 0x01000193) >>> 0;
    const random = seededRandom(h);
    const first = oneOf(random, this.categories);
    const second = oneOf(random, this.categories);
    return { categories: first === second ? [first] : [first, second], band: Math.floor(random() * 3) };
  }

  /** A product, the popular ones more often. */
  pick(random: Random): Product {
    return this.ranked[search(this.cumulative, random())]!;
  }

  /** A product of the same category as `like` (shoppers compare similar things). */
  pickLike(random: Random, like: Product): Product {
    const c = this.byCategory.get(like.category)!;
    return c.products[search(c.cumulative, random())]!;
  }
}

function accumulate(weights: readonly number[]): number[] {
  let sum = 0;
  return weights.map((w) => (sum += w));
}

/** The index whose cumulative weight first exceeds `u` of the total. */
function search(cumulative: readonly number[], u: number): number {
  const target = u * cumulative[cumulative.length - 1]!;
  let lo = 0, hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid]! > target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** An RFID tag's EPC as readers report it: 24 hex digits. */
function epc(random: Random): string {
  let hex = 'E280';
  for (let i = 0; i < 20; i++) hex += Math.floor(random() * 16).toString(16).toUpperCase();
  return hex;
}

const price = (p: Product): number => p.price;
const total = (items: readonly { price: number; quantity: number }[]): number => Math.round(items.reduce((s, i) => s + i.price * i.quantity, 0) * 100) / 100;

/** Plans journeys for one brand. */
export class JourneyPlanner {
  readonly assortment: Assortment;
  private readonly storeWeights: readonly number[];
  private readonly prefix: string;
  private orders = 0;

  constructor(readonly brand: Brand, private readonly random: Random) {
    this.assortment = new Assortment(brand.products);
    // Bigger stores (more fitting rooms) draw more shoppers.
    this.storeWeights = accumulate(brand.stores.map((s) => s.fittingRooms));
    // The SKUs' prefix (NV, SL) marks the brand's shopper and order ids too.
    this.prefix = (brand.products[0]!.sku.split('-')[0] ?? brand.tenant.slice(0, 2)).toUpperCase();
  }

  /** What a shopper looks at next: something similar, something that goes with it, or to their taste. */
  private next(current: Product, taste: Taste): Product {
    const u = this.random();
    if (u < 0.5) return this.assortment.pickSimilar(this.random, current);
    if (u < 0.75) return this.assortment.companionOf(this.random, current);
    return this.assortment.pickFor(this.random, taste);
  }

  /** The next journey, starting at `startMs`: online four times in five, else in a store. */
  plan(startMs: number): PlannedEvent[] {
    return this.brand.stores.length > 0 && chance(this.random, 0.2) ? this.inStore(startMs) : this.online(startMs);
  }

  private orderId(atMs: number): string {
    return `${this.prefix}-${Math.floor(atMs / 1000).toString(36).toUpperCase()}-${(this.orders++).toString(36).toUpperCase()}`;
  }

  /** Browse (product_viewed), maybe add to cart (added_to_cart), sometimes order (order_completed). */
  online(startMs: number): PlannedEvent[] {
    const r = this.random;
    const u = r();
    const channel = u < 0.5 ? 'web' : u < 0.8 ? 'ios' : 'android';
    const shopper = `${this.prefix.toLowerCase()}-u${Math.floor(between(r, 1, 20_000))}`;
    const session = `s-${Math.floor(r() * 2 ** 40).toString(36)}`;
    const sender: Sender = { channel, shopper };
    const events: PlannedEvent[] = [];
    let t = startMs;
    const emit = (body: Record<string, unknown>): void => {
      events.push({ tenant: this.brand.tenant, atMs: Math.round(t), sender, body: { ...body, time: new Date(Math.round(t)).toISOString(), shopper, session } });
    };
    const views = 1 + Math.floor(-Math.log(1 - r()) * 5);
    const taste = this.assortment.tasteOf(shopper);
    let current = this.assortment.pickFor(r, taste);
    const viewed: Product[] = [];
    for (let i = 0; i < views; i++) {
      emit({ event: 'product_viewed', sku: current.sku, price: price(current) });
      viewed.push(current);
      t += between(r, 1_500, 7_000);
      current = this.next(current, taste);
    }
    if (!chance(r, 0.25)) return events;
    const cart = [...new Set([oneOf(r, viewed), ...(chance(r, 0.2) ? [oneOf(r, viewed)] : [])])];
    for (const p of cart) {
      emit({ event: 'added_to_cart', sku: p.sku, price: price(p), quantity: 1 });
      t += between(r, 2_000, 8_000);
    }
    if (!chance(r, 0.45)) return events;
    t += between(r, 3_000, 15_000);
    // "Complete the look": sometimes an item that goes with the cart is bought with it.
    const extra = chance(r, 0.3) ? this.assortment.companionOf(r, cart[0]!) : undefined;
    const items = [...cart, ...(extra && !cart.includes(extra) ? [extra] : [])].map((p) => ({ sku: p.sku, price: price(p), quantity: 1 }));
    emit({ event: 'order_completed', orderId: this.orderId(t), items, total: total(items), currency: 'EUR' });
    return events;
  }

  /**
   * Through the door (store_entered), often to a fitting room (fitting_room_entered, a read every
   * few seconds while inside, product_tried_on for each garment, fitting_room_exited), sometimes to
   * the checkout (order_completed), and out (store_exited).
   */
  inStore(startMs: number): PlannedEvent[] {
    const r = this.random;
    const store = this.brand.stores[search(this.storeWeights, r())]!;
    const sender: Sender = { channel: 'sensor', store: store.store };
    const tag = epc(r);
    const shopper = `${this.prefix.toLowerCase()}-c${Math.floor(between(r, 1, 50_000))}`;
    const taste = this.assortment.tasteOf(shopper);
    const events: PlannedEvent[] = [];
    let t = startMs;
    const emit = (at: number, body: Record<string, unknown>): void => {
      events.push({ tenant: this.brand.tenant, atMs: Math.round(at), sender, body: { ...body, time: new Date(Math.round(at)).toISOString(), store: store.store, tag, shopper } });
    };
    emit(t, { event: 'store_entered', reader: 'door-1' });
    t += between(r, 10_000, 60_000);
    const tried: Product[] = [];
    if (chance(r, 0.65)) {
      const room = `FR-${1 + Math.floor(r() * store.fittingRooms)}`;
      const dwell = logNormal(r, 55_000, 0.6, 15_000, 240_000);
      const reader = 'fitting-rooms';
      emit(t, { event: 'fitting_room_entered', reader, room });
      for (let at = t + FITTING_ROOM_READ_MS; at < t + dwell; at += FITTING_ROOM_READ_MS) emit(at, { event: 'fitting_room_seen', reader, room });
      let garment = this.assortment.pickFor(r, taste);
      const garments = 1 + Math.floor(r() * 4);
      for (let i = 0; i < garments; i++) {
        emit(t + between(r, 0.1, 0.9) * dwell, { event: 'product_tried_on', reader, room, sku: garment.sku, price: price(garment) });
        tried.push(garment);
        garment = this.next(garment, taste);
      }
      t += dwell;
      emit(t, { event: 'fitting_room_exited', reader, room });
    }
    const buys = tried.length > 0 ? (chance(r, 0.45) ? tried.filter(() => chance(r, 0.6)) : []) : (chance(r, 0.15) ? [this.assortment.pickFor(r, taste)] : []);
    if (buys.length > 0) {
      t += between(r, 8_000, 40_000);
      const items = buys.map((p) => ({ sku: p.sku, price: price(p), quantity: 1 }));
      emit(t, { event: 'order_completed', reader: 'checkout', orderId: this.orderId(t), items, total: total(items), currency: 'EUR' });
    }
    t += between(r, 5_000, 30_000);
    emit(t, { event: 'store_exited', reader: 'door-1' });
    return events.sort((a, b) => a.atMs - b.atMs);
  }
}
