// The model keeps answers between events (each item's neighbours until it or a partner changes,
// the popular lists updated as popularity grows) instead of working them out again per request.
// The oracle: a model restored from the live one's snapshot has no kept answers, so after any run
// of events and questions both must answer every question alike — whatever a kept answer missed
// shows as a difference.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ItemModel, type ModelOptions } from '../../src/recs/item-model.js';
import { TopList } from '../../src/recs/top-list.js';

const options = (o: Partial<ModelOptions> = {}): ModelOptions => ({
  halfLifeMs: 0, similarity: 'jaccard', pairsPerItem: 6, historyLength: 8, shopperTtlMs: 1e12, maxShoppers: 1_000_000, maxItems: 1_000_000, ...o,
});

function seeded(seed: number): () => number {
  return () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

const ITEMS = 40;
const SHOPPERS = 25;
const STORES = ['s1', 's2', 's3'];

function everyAnswer(m: ItemModel): unknown {
  const items = Array.from({ length: ITEMS }, (_, i) => `I${i}`);
  return {
    neighbours: items.map((i) => m.neighbours(i, 5)),
    shoppers: Array.from({ length: SHOPPERS }, (_, s) => m.forShopper(`u${s}`, 7)),
    popular: [null, ...STORES].map((st) => m.popular(10, st, new Set(['I0', 'I1']))),
  };
}

function fresh(m: ItemModel, o: ModelOptions): ItemModel {
  const copy = new ItemModel(o);
  copy.restore(m.snapshot());
  return copy;
}

describe('answers kept between events', () => {
  for (const [name, o, stepMs] of [
    ['Jaccard, no decay', options(), 1_000],
    ['lift, with decay', options({ similarity: 'lift', halfLifeMs: 60_000 }), 1_000],
    // Half-lives pass so fast that the counts are rebased every few events.
    ['Jaccard, rebasing', options({ halfLifeMs: 10 }), 200],
  ] as const) {
    test(`${name}: the live model answers as one with nothing kept, after every few events`, () => {
      const random = seeded(11);
      const m = new ItemModel(o);
      let at = 1;
      for (let round = 0; round < 120; round++) {
        for (let e = 0; e < 1 + Math.floor(random() * 6); e++) {
          at += Math.floor(random() * stepMs);
          // A few items most of the time, so popular lists and neighbours change order and prune.
          const item = `I${Math.floor(ITEMS * random() ** 2)}`;
          const weight = [1, 3, 4, 6][Math.floor(random() * 4)]!;
          m.absorb(`u${Math.floor(random() * SHOPPERS)}`, [item], weight, weight === 6, STORES[Math.floor(random() * 4)] ?? null, at);
        }
        // Asked between events, the live model keeps what it worked out.
        const live = everyAnswer(m);
        assert.deepEqual(live, everyAnswer(fresh(m, o)), `after round ${round}`);
      }
    });
  }

  test('kept answers follow a partner whose occurrence alone changed', () => {
    const m = new ItemModel(options());
    m.absorb('u1', ['A'], 1, false, null, 1);
    m.absorb('u1', ['B'], 1, false, null, 2);
    const before = m.neighbours('A', 5);
    // u2 touches only B: A's pairs are untouched, but B's occurrence (and so A–B's Jaccard) moves.
    m.absorb('u2', ['B'], 1, false, null, 3);
    const after = m.neighbours('A', 5);
    assert.deepEqual(before, [{ item: 'B', score: 1 }]);
    assert.deepEqual(after, [{ item: 'B', score: 1 / 2 }]);
  });
});

describe('TopList', () => {
  test('holds the strongest items by growing values, ties by key, as a full sort would', () => {
    const random = seeded(3);
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`);
    const values = new Array<number>(200).fill(0);
    const top = new TopList(10, (id) => keys[id]!);
    for (let step = 0; step < 5_000; step++) {
      const id = Math.floor(200 * random() ** 3);
      // Whole numbers: ties happen, and the key must break them.
      values[id]! += 1 + Math.floor(random() * 3);
      top.raised(id, values[id]!);
      if (step % 97 !== 0) continue;
      const expected = keys.map((k, i) => [i, values[i]!] as const).filter(([, v]) => v > 0)
        .sort((a, b) => (b[1] - a[1]) || (keys[a[0]]! < keys[b[0]]! ? -1 : 1)).slice(0, 10);
      const seen: (readonly [number, number])[] = [];
      top.forEach((i, v) => seen.push([i, v]) > 0);
      assert.deepEqual(seen, expected, `at step ${step}`);
    }
  });

  test('forEach stops when the visitor says so; rebuild starts again', () => {
    const top = new TopList(3, String);
    top.rebuild([[1, 5], [2, 7], [3, 1], [4, 9]]);
    const seen: number[] = [];
    top.forEach((id) => seen.push(id) < 2);
    assert.deepEqual(seen, [4, 2]);
    top.rebuild([[5, 1]]);
    const after: number[] = [];
    top.forEach((id) => after.push(id) > 0);
    assert.deepEqual(after, [5]);
  });
});
