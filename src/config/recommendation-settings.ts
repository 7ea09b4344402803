// The settings of the recommender (docs/recommendations.md): which events it learns from and with
// what weight, where the item, shopper and store sit in a body, the decay, the bounds; per tenant.
import { boolean, choice, duration, integer, records, section, text } from './schema.js';

const SIMILARITIES = ['jaccard', 'lift'] as const;

/** `sku`, `product.id`, `items[].sku` (each element of an array). */
const FIELD_PATH = /^[^.[\]]+(\[\])?(\.[^.[\]]+(\[\])?)*$/;
const fieldPath = <const D extends string | null>(doc: string, d: D) => text({ doc, default: d, valid: (v) => FIELD_PATH.test(v), expected: 'a field path: name, name.name, or name[].name for each element of an array' });

const EVENTS = records(section({
  weight: integer({ doc: 'how strongly the event ties a shopper to the item (viewed < tried on < added to cart < bought)', min: 1, max: 1_000 }),
  purchase: boolean({ doc: 'the event is a purchase: the item is not recommended to that shopper again', default: false }),
  item: fieldPath('where this event\'s item ids sit, when not at `item` (`items[].sku` for an order\'s lines)', null),
}), { doc: 'the events the recommender learns from, by their name in `eventField`' });

export const RECOMMENDATION_SETTINGS = section({
  enabled: boolean({ doc: 'learn item-to-item recommendations from the log and serve /api/recommendations', default: false }),
  eventField: fieldPath('the body field naming the event', 'event'),
  events: EVENTS,
  item: fieldPath('the body field holding the item id', 'sku'),
  shopper: fieldPath('the body field holding the shopper id; unset, the device that sent the event is the shopper', null),
  store: fieldPath('the body field holding the store, for popular items per store; unset, popularity is per tenant only', null),
  halfLife: duration({ doc: 'evidence counts half as much after this long (0: no decay)', default: '30d' }),
  similarity: choice({ doc: '`jaccard` (co-occurrence over either) or `lift` (co-occurrence over the product of occurrences: favours rarer items)', values: SIMILARITIES, default: 'jaccard' }),
  neighbours: integer({ doc: 'co-occurring items kept per item (the strongest; memory is bounded by items × this)', min: 1, max: 10_000, default: 200 }),
  history: integer({ doc: 'items kept per shopper, the most recent', min: 1, max: 1_000, default: 50 }),
  shopperTtl: duration({ doc: 'a shopper without an event for this long is forgotten', default: '30d' }),
  maxShoppers: integer({ doc: 'shoppers kept per tenant; beyond it the least recent are forgotten', min: 1, max: 100_000_000, default: 1_000_000 }),
  maxItems: integer({ doc: 'items per tenant; events about further new items are skipped (and counted)', min: 1, max: 10_000_000, default: 1_000_000 }),
  // 5s, not 1s: a checkpoint rewrites every changed item's pairs, and under steady traffic nearly
  // every popular item changes each second — at 1s checkpoints took half the server's CPU.
  checkpointInterval: duration({ doc: 'the model and its log positions are committed together at least this often while events flow (a restart reads again what came after)', default: '5s' }),
  tenants: records(section({
    eventField: fieldPath('as `recommendations.eventField`, for this tenant', null),
    events: EVENTS,
    item: fieldPath('as `recommendations.item`', null),
    shopper: fieldPath('as `recommendations.shopper`', null),
    store: fieldPath('as `recommendations.store`', null),
    halfLife: duration({ doc: 'as `recommendations.halfLife`', default: null }),
    similarity: choice({ doc: 'as `recommendations.similarity`', values: SIMILARITIES, default: null }),
  }), { doc: 'per tenant, settings that differ from the ones above (`events` given here replace the list above)' }),
}, {
  check: (r) => (r.enabled && Object.keys(r.events).length === 0 && Object.keys(r.tenants).length === 0
    ? { setting: 'events', problem: 'the recommender needs at least one event to learn from' } as const
    : undefined),
});
