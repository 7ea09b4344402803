// The recommender's model on its own: weighted co-occurrence and its similarities computed by hand,
// decay, the bounds, the popularity fallback, and a restore from checkpointed changes that
// continues exactly as an uninterrupted run.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileFieldPath } from '../../src/recs/field-path.js';
import { ItemModel, type ItemRecord, type ModelChanges, type ModelOptions, type ModelRecords } from '../../src/recs/item-model.js';
import { Recommender } from '../../src/recs/recommender.js';
import { interactionOf, recsConfigOf, type RecsSettings } from '../../src/recs/recs-rules.js';
import { buildConfig } from '../../src/config/index.js';

const DAY = 86_400_000;
const options = (o: Partial<ModelOptions> = {}): ModelOptions => ({
  halfLifeMs: 0, similarity: 'jaccard', pairsPerItem: 100, historyLength: 50, shopperTtlMs: 365 * DAY, maxShoppers: 1_000_000, maxItems: 1_000_000, ...o,
});

describe('co-occurrence and similarity', () => {
  test('Jaccard over min-weights: Σmin / Σmax per pair of items', () => {
    const m = new ItemModel(options());
    // u1 viewed A (1) and bought B (5); u2 viewed A and viewed B; u3 viewed A only.
    m.absorb('u1', ['A'], 1, false, null, 1);
    m.absorb('u1', ['B'], 5, true, null, 2);
    m.absorb('u2', ['A'], 1, false, null, 3);
    m.absorb('u2', ['B'], 1, false, null, 4);
    m.absorb('u3', ['A'], 1, false, null, 5);
    // C[A][A] = 3, C[B][B] = 6, C[A][B] = min(1,5) + min(1,1) = 2 → 2 / (3 + 6 − 2).
    assert.deepEqual(m.neighbours('A', 10), [{ item: 'B', score: 2 / 7 }]);
    assert.deepEqual(m.neighbours('B', 10), [{ item: 'A', score: 2 / 7 }]);
    assert.equal(m.neighbours('Z', 10), undefined, 'an unknown item');
  });

  test('a stronger event raises the pair by the difference only', () => {
    const m = new ItemModel(options());
    m.absorb('u1', ['A'], 3, false, null, 1);
    m.absorb('u1', ['B'], 1, false, null, 2);
    m.absorb('u1', ['B'], 1, false, null, 3); // a repeat of the same strength changes nothing
    assert.deepEqual(m.neighbours('A', 1), [{ item: 'B', score: 1 / 3 }]);
    m.absorb('u1', ['B'], 5, true, null, 4);
    // C[A][B] = min(3, 5) = 3, C[A][A] = 3, C[B][B] = 5 → 3 / 5.
    assert.deepEqual(m.neighbours('A', 1), [{ item: 'B', score: 3 / 5 }]);
  });

  test('lift: co-occurrence over the product of occurrences', () => {
    const m = new ItemModel(options({ similarity: 'lift' }));
    for (const [u, items] of [['u1', ['A', 'B']], ['u2', ['A', 'B']], ['u3', ['A', 'C']], ['u4', ['C']]] as const) {
      for (const i of items) m.absorb(u, [i], 1, false, null, 1);
    }
    assert.deepEqual(m.neighbours('A', 10), [{ item: 'B', score: 2 / (3 * 2) }, { item: 'C', score: 1 / (3 * 2) }]);
  });

  test('decay: recent evidence outweighs old evidence a half-life at a time', () => {
    const run = (halfLifeMs: number) => {
      const m = new ItemModel(options({ halfLifeMs }));
      for (let u = 0; u < 4; u++) for (const i of ['A', 'B']) m.absorb(`old${u}`, [i], 1, false, null, 0);
      for (const i of ['A', 'C']) m.absorb('new', [i], 1, false, null, 10 * DAY);
      return m.neighbours('A', 2)!.map((s) => s.item);
    };
    assert.deepEqual(run(0), ['B', 'C'], 'without decay, four old shoppers beat one new one');
    assert.deepEqual(run(DAY), ['C', 'B'], 'ten half-lives later, the new shopper counts 1024 times more');
  });
});

describe('shoppers and the popular fallback', () => {
  test('a shopper\'s recommendations come from their history and leave out what they bought', () => {
    const r = new Recommender(recsConfigOf(settings()));
    const post = (shopper: string, event: string, sku: string, t: number, store?: string) => r.absorb('t1', 'device-1', { event, sku, shopper, store }, t);
    // Shoppers who view a parka tend to buy a beanie with it, and the other way round.
    for (let u = 0; u < 5; u++) {
      post(`u${u}`, 'viewed', 'parka', 10 + u);
      post(`u${u}`, 'bought', 'beanie', 20 + u, 'S1');
    }
    post('u9', 'viewed', 'scarf', 30, 'S2');
    post('me', 'viewed', 'parka', 40);
    const mine = r.forShopper('t1', 'me', 5);
    assert.equal(mine.fallback, undefined);
    assert.equal(mine.items[0]!.item, 'beanie');
    assert.deepEqual(mine.basedOn, ['parka']);
    post('me', 'bought', 'beanie', 50);
    assert.ok(!r.forShopper('t1', 'me', 5).items.some((s) => s.item === 'beanie'), 'bought: not recommended again');
    const stranger = r.forShopper('t1', 'nobody', 2);
    assert.equal(stranger.fallback, 'popular');
    assert.deepEqual(stranger.items.map((s) => s.item), ['beanie', 'parka'], 'popularity by summed weight');
    const inStore = r.forItem('t1', 'unknown-item', 3, 'S2');
    assert.equal(inStore.fallback, 'popular');
    assert.equal(inStore.store, 'S2');
    assert.deepEqual(inStore.items.map((s) => s.item), ['scarf']);
    assert.equal(r.forItem('other-tenant', 'parka', 3).items.length, 0, 'a tenant with no events has nothing, not another tenant\'s items');
  });
});

describe('bounds', () => {
  test('history, pairs per item, shoppers and items are capped; idle shoppers age out', () => {
    const m = new ItemModel(options({ historyLength: 3, pairsPerItem: 2, maxShoppers: 2, maxItems: 20, shopperTtlMs: 100 }));
    for (let i = 0; i < 6; i++) m.absorb('u1', [`I${i}`], 1, false, null, i);
    assert.deepEqual(m.forShopper('u1', 10)!.basedOn, ['I5', 'I4', 'I3'], 'the most recent three');
    for (let u = 0; u < 6; u++) for (let i = 0; i < 5; i++) m.absorb(`v${u}`, [`J${i}`], 1, false, null, 10 + u);
    assert.ok(m.neighbours('J0', 100)!.length <= 4, 'at most twice pairsPerItem before a prune');
    assert.ok(m.shopperCount <= 2);
    m.absorb('late', ['J0'], 1, false, null, 1_000);
    assert.equal(m.forShopper('v0', 1), undefined, 'idle past the TTL: forgotten');
    for (let i = 0; i < 30; i++) m.absorb('w', [`K${i}`], 1, false, null, 1_000);
    assert.equal(m.itemCount, 20);
    assert.equal(m.absorb('w', ['new'], 1, false, null, 1_000), 'item_limit');
  });
});

describe('checkpoints', () => {
  // What a checkpoint writes: of each item, only the pairs that changed and the partners pruned,
  // applied to rows by pair.
  test('restored from the changes of each checkpoint, a model continues exactly as one that never stopped', () => {
    const opts = options({ halfLifeMs: 5 * DAY, historyLength: 8, pairsPerItem: 6, maxShoppers: 40, shopperTtlMs: 20 * DAY });
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const events = Array.from({ length: 3_000 }, (_, n) => ({
      shopper: `u${Math.floor(random() * 60)}`, item: `i${Math.floor(random() ** 2 * 40)}`, weight: 1 + Math.floor(random() * 4),
      purchase: random() < 0.1, store: random() < 0.5 ? `s${Math.floor(random() * 3)}` : null, at: n * 3_600_000,
    }));
    const whole = new ItemModel(opts);
    for (const e of events) whole.absorb(e.shopper, [e.item], e.weight, e.purchase, e.store, e.at);

    // What a store keeps: each checkpoint's changes applied to rows by key.
    const rows = { items: new Map<string, ItemRecord>(), shoppers: new Map(), stores: new Map(), meta: undefined as ModelRecords['meta'] | undefined };
    let pruned = 0;
    const keep = (c: ModelChanges) => {
      rows.meta = c.meta;
      for (const s of c.removedShoppers) rows.shoppers.delete(s);
      for (const r of c.items) {
        const pairs = new Map(rows.items.get(r.item)?.pairs ?? []);
        for (const other of r.removedPairs ?? []) pairs.delete(other);
        pruned += r.removedPairs?.length ?? 0;
        for (const [other, n] of r.pairs) pairs.set(other, n);
        rows.items.set(r.item, { item: r.item, occurrence: r.occurrence, popularity: r.popularity, pairs: [...pairs] });
      }
      for (const r of c.shoppers) rows.shoppers.set(r.shopper, r);
      for (const r of c.stores) rows.stores.set(r.store, r);
    };
    let model = new ItemModel(opts);
    for (let n = 0; n < events.length; n++) {
      const e = events[n]!;
      model.absorb(e.shopper, [e.item], e.weight, e.purchase, e.store, e.at);
      if (n % 250 === 249) keep(model.takeChanges());
      if (n % 1_000 === 999) {
        // A restart: a new model from the rows alone.
        model = new ItemModel(opts);
        model.restore({ meta: rows.meta!, items: [...rows.items.values()], shoppers: [...rows.shoppers.values()], removedShoppers: [], stores: [...rows.stores.values()] });
      }
    }
    const norm = (r: ModelRecords) => ({
      ...r,
      items: [...r.items].sort((a, b) => a.item.localeCompare(b.item)).map((i) => ({ ...i, pairs: [...i.pairs].sort((a, b) => a[0].localeCompare(b[0])) })),
      shoppers: [...r.shoppers].sort((a, b) => a.touch - b.touch),
      // A store's table lists items in its slots' order, which follows item ids: a restore numbers items anew.
      stores: [...r.stores].sort((a, b) => a.store.localeCompare(b.store)).map((st) => ({ ...st, popularity: [...st.popularity].sort((a, b) => a[0].localeCompare(b[0])) })),
    });
    assert.deepEqual(norm(model.snapshot()), norm(whole.snapshot()));
    for (const item of ['i0', 'i3', 'i17']) assert.deepEqual(model.neighbours(item, 5), whole.neighbours(item, 5));
    assert.deepEqual(model.forShopper('u7', 5)?.items, whole.forShopper('u7', 5)?.items);
    assert.deepEqual(model.popular(5, 's1'), whole.popular(5, 's1'));
    assert.ok(pruned > 0, 'the run prunes pairs, so removals are tested');
  });
});

describe('reading events', () => {
  const rules = recsConfigOf(settings()).defaults;
  test('an order\'s lines, ids in any script; what cannot be read is a reason, never an error', () => {
    const order = recsConfigOf(settings({ events: { order: { weight: 5, purchase: true, item: 'lines[].sku' } } })).defaults;
    assert.deepEqual(interactionOf(order, 'd', { event: 'order', shopper: 'ß-ü-李', lines: [{ sku: 'Á1' }, { sku: 7 }, { sku: 'Á1' }, { nope: 1 }] }),
      { shopper: 'ß-ü-李', items: ['Á1', '7'], weight: 5, purchase: true, store: null });
    assert.equal(interactionOf(rules, 'd', 'text'), 'not_json');
    assert.equal(interactionOf(rules, 'd', [1]), 'not_json');
    assert.equal(interactionOf(rules, 'd', { sku: 'A' }), 'no_event_name');
    assert.equal(interactionOf(rules, 'd', { event: 'clicked', sku: 'A', shopper: 'u' }), 'unknown_event');
    assert.equal(interactionOf(rules, 'd', { event: 'viewed', shopper: 'u' }), 'no_item');
    assert.equal(interactionOf(rules, 'd', { event: 'viewed', sku: 'A' }), 'no_shopper');
    assert.equal(interactionOf(rules, 'd', { event: 'viewed', sku: 'x'.repeat(300), shopper: 'u' }), 'bad_id');
    assert.equal(interactionOf(rules, 'd', { event: 'viewed', sku: {}, shopper: 'u' }), 'no_item');
    const byDevice = recsConfigOf(settings({ shopper: null })).defaults;
    assert.equal((interactionOf(byDevice, 'device-9', { event: 'viewed', sku: 'A' }) as { shopper: string }).shopper, 'device-9');
    assert.deepEqual(compileFieldPath('a.b[].c')({ a: { b: [{ c: 'x' }, { c: 2 }, 'y'] } }), ['x', '2']);
  });

  test('per tenant settings replace the defaults they name', () => {
    const config = recsConfigOf(settings({ tenants: { t2: { halfLife: '1d', events: { looked: { weight: 2 } } } } }));
    assert.equal(config.tenants.get('t2')!.halfLifeMs, DAY);
    assert.deepEqual([...config.tenants.get('t2')!.events.keys()], ['looked']);
    assert.deepEqual([...config.defaults.events.keys()], ['viewed', 'bought']);
  });
});

function settings(over: Record<string, unknown> = {}): RecsSettings {
  return buildConfig({
    recommendations: {
      enabled: true, shopper: 'shopper', store: 'store', halfLife: 0,
      events: { viewed: { weight: 1 }, bought: { weight: 5, purchase: true } },
      ...over,
    },
  }).recommendations;
}
