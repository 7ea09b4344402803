// Offline evaluation of the recommender against "most popular": each shopper's events are split by
// time (the last fraction held out), the model learns from everything else with the code the
// server runs (Recommender.absorb), and each shopper's top k — without the items already in their
// history, which both recommenders leave out alike — is scored against the items of their held-out
// events they had not touched before. Pure: the events come in as data.
import { Recommender } from './recommender.js';
import { interactionOf, type RecsConfig } from './recs-rules.js';

export interface EvaluationEvent {
  readonly tenant: string;
  readonly deviceId: string;
  readonly atMs: number;
  readonly body: unknown;
}

export interface Scores {
  readonly precision: number;
  readonly recall: number;
  readonly ndcg: number;
  /** Share of the trained items that appear in some shopper's list. */
  readonly coverage: number;
}

export interface Evaluation extends Scores {
  readonly k: number;
  readonly shoppers: number;
  readonly baseline: Scores;
  readonly events: { readonly train: number; readonly test: number; readonly skipped: number };
}

export function evaluate(config: RecsConfig, events: readonly EvaluationEvent[], options: { readonly k: number; readonly testFraction: number }): Evaluation {
  const { k, testFraction } = options;
  const byShopper = new Map<string, { index: number; items: readonly string[] }[]>();
  const ordered = events.map((e, index) => ({ e, index })).sort((a, b) => a.e.atMs - b.e.atMs || a.index - b.index);
  let skipped = 0;
  for (const { e, index } of ordered) {
    const found = interactionOf(config.tenants.get(e.tenant) ?? config.defaults, e.deviceId, e.body);
    if (typeof found === 'string') {
      skipped++;
      continue;
    }
    const key = `${e.tenant}\u0000${found.shopper}`;
    let list = byShopper.get(key);
    if (list === undefined) byShopper.set(key, (list = []));
    list.push({ index, items: found.items });
  }
  // The last fraction of each shopper's events is held out (at least one, when they have two or more).
  const heldOut = new Set<number>();
  for (const list of byShopper.values()) {
    if (list.length < 2) continue;
    const n = Math.min(list.length - 1, Math.max(1, Math.round(list.length * testFraction)));
    for (const { index } of list.slice(list.length - n)) heldOut.add(index);
  }
  const recommender = new Recommender(config);
  for (const { e, index } of ordered) if (!heldOut.has(index)) recommender.absorb(e.tenant, e.deviceId, e.body, e.atMs);

  const model = { precision: 0, recall: 0, ndcg: 0, items: new Set<string>() };
  const popular = { precision: 0, recall: 0, ndcg: 0, items: new Set<string>() };
  let shoppers = 0;
  let trainedItems = 0;
  for (const tenant of recommender.tenants()) trainedItems += recommender.model(tenant).itemCount;
  for (const [key, list] of byShopper) {
    const [tenant, shopper] = key.split('\u0000') as [string, string];
    const history = new Set(list.filter((x) => !heldOut.has(x.index)).flatMap((x) => x.items));
    if (history.size === 0) continue;
    const relevant = new Set(list.filter((x) => heldOut.has(x.index)).flatMap((x) => x.items).filter((i) => !history.has(i)));
    if (relevant.size === 0) continue;
    shoppers++;
    const ask = Math.min(100, k + history.size);
    const mine = recommender.forShopper(tenant, shopper, ask);
    // A shopper with nothing learned gets the popular items, as the server would answer.
    score(model, mine.items.map((s) => s.item).filter((i) => !history.has(i)).slice(0, k), relevant, k);
    const top = recommender.forShopper(tenant, `\u0000nobody`, ask);
    score(popular, top.items.map((s) => s.item).filter((i) => !history.has(i)).slice(0, k), relevant, k);
  }
  const mean = (x: number) => (shoppers === 0 ? 0 : x / shoppers);
  const coverage = (items: Set<string>) => (trainedItems === 0 ? 0 : items.size / trainedItems);
  return {
    k,
    shoppers,
    precision: mean(model.precision),
    recall: mean(model.recall),
    ndcg: mean(model.ndcg),
    coverage: coverage(model.items),
    baseline: { precision: mean(popular.precision), recall: mean(popular.recall), ndcg: mean(popular.ndcg), coverage: coverage(popular.items) },
    events: { train: ordered.length - heldOut.size - skipped, test: heldOut.size, skipped },
  };
}

/** Adds one shopper's precision@k, recall@k and NDCG@k (binary relevance) to the sums. */
function score(sums: { precision: number; recall: number; ndcg: number; items: Set<string> }, list: readonly string[], relevant: ReadonlySet<string>, k: number): void {
  let hits = 0;
  let dcg = 0;
  list.forEach((item, rank) => {
    sums.items.add(item);
    if (!relevant.has(item)) return;
    hits++;
    dcg += 1 / Math.log2(rank + 2);
  });
  let ideal = 0;
  for (let rank = 0; rank < Math.min(k, relevant.size); rank++) ideal += 1 / Math.log2(rank + 2);
  sums.precision += hits / k;
  sums.recall += hits / relevant.size;
  sums.ndcg += ideal === 0 ? 0 : dcg / ideal;
}
