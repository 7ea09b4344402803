// One item's co-occurrence counts: partner id → count. The model's hot path adds to these several
// times per event, so they live in an open-addressing table of two typed arrays (ids, counts) with
// linear probing: an addition is one or two probes into flat memory, where a Map costs a chain of
// hops and a boxed number per entry. Iteration order is the table's; callers that need an order sort.
// A slot holds id + 1, so 0 is empty and a fresh (zeroed) array needs no fill: a model makes one
// table per item and grows each a few times, and filling them showed in profiles.
// It also remembers which partners changed and which were pruned since `takeChanges`, so a
// checkpoint writes those pairs, not the whole table (a table holds up to twice `neighbours`).

const EMPTY = 0;

export class PairCounts {
  private ids = new Int32Array(32);
  private counts = new Float64Array(32);
  /** Per slot: the count changed since the last takeChanges. */
  private changed = new Uint8Array(32);
  /** Partners pruned since the last takeChanges. */
  private removed: number[] = [];
  private mask = 31;
  size = 0;

  /** Adds `amount` to the partner's count; returns the count now. */
  add(id: number, amount: number): number {
    const slot = id + 1;
    let i = Math.imul(slot, 0x9e3779b1) >>> 0 & this.mask;
    const ids = this.ids;
    for (;;) {
      const at = ids[i]!;
      if (at === slot) {
        this.changed[i] = 1;
        return (this.counts[i]! += amount);
      }
      if (at === EMPTY) break;
      i = (i + 1) & this.mask;
    }
    ids[i] = slot;
    this.counts[i] = amount;
    this.changed[i] = 1;
    // At most half full, so a probe ends soon; growing four-fold, a busy item is copied a few times only.
    if (++this.size * 2 > this.mask) this.resize(this.ids.length * 4);
    return amount;
  }

  private resize(capacity: number): void {
    const { ids, counts, changed } = this;
    const newIds = new Int32Array(capacity);
    const newCounts = new Float64Array(capacity);
    const newChanged = new Uint8Array(capacity);
    const mask = capacity - 1;
    // Every slot is distinct: a re-insertion only looks for a free place.
    for (let i = 0; i < ids.length; i++) {
      const slot = ids[i]!;
      if (slot === EMPTY) continue;
      let j = Math.imul(slot, 0x9e3779b1) >>> 0 & mask;
      while (newIds[j] !== EMPTY) j = (j + 1) & mask;
      newIds[j] = slot;
      newCounts[j] = counts[i]!;
      newChanged[j] = changed[i]!;
    }
    this.ids = newIds;
    this.counts = newCounts;
    this.changed = newChanged;
    this.mask = mask;
  }

  /** Whether `test` holds for some partner. */
  somePartner(test: (id: number) => boolean): boolean {
    const ids = this.ids;
    for (let i = 0; i < ids.length; i++) if (ids[i] !== EMPTY && test(ids[i]! - 1)) return true;
    return false;
  }

  /** Calls `visit` with each partner and its count. */
  forEach(visit: (id: number, count: number) => void): void {
    const { ids, counts } = this;
    for (let i = 0; i < ids.length; i++) if (ids[i] !== EMPTY) visit(ids[i]! - 1, counts[i]!);
  }

  scale(f: number): void {
    for (let i = 0; i < this.ids.length; i++) {
      if (this.ids[i] === EMPTY) continue;
      this.counts[i]! *= f;
      this.changed[i] = 1;
    }
  }

  /** Keeps the `n` largest counts; ties go to the partner whose `key` sorts first. */
  keepStrongest(n: number, key: (id: number) => string): void {
    const all: [id: number, count: number, changed: number][] = [];
    const { ids, counts, changed } = this;
    for (let i = 0; i < ids.length; i++) if (ids[i] !== EMPTY) all.push([ids[i]! - 1, counts[i]!, changed[i]!]);
    all.sort((x, y) => (y[1] - x[1]) || cmp(key(x[0]), key(y[0])));
    for (let k = n; k < all.length; k++) this.removed.push(all[k]![0]);
    ids.fill(EMPTY);
    changed.fill(0);
    this.size = 0;
    for (let k = 0; k < Math.min(n, all.length); k++) {
      const [id, c, wasChanged] = all[k]!;
      this.add(id, c);
      // A pair the pruning kept is unchanged unless it changed before.
      if (wasChanged === 0) this.changed[this.slotOf(id)] = 0;
    }
  }

  private slotOf(id: number): number {
    const slot = id + 1;
    let i = Math.imul(slot, 0x9e3779b1) >>> 0 & this.mask;
    while (this.ids[i] !== slot) i = (i + 1) & this.mask;
    return i;
  }

  /**
   * The partners pruned and the pairs changed since the last call (a partner pruned and added again
   * is in both: apply the removals first).
   */
  takeChanges(): { changed: [number, number][]; removed: number[] } {
    const out: [number, number][] = [];
    const { ids, counts, changed } = this;
    for (let i = 0; i < ids.length; i++) {
      if (changed[i] === 0) continue;
      changed[i] = 0;
      if (ids[i] !== EMPTY) out.push([ids[i]! - 1, counts[i]!]);
    }
    const removed = this.removed;
    this.removed = [];
    return { changed: out, removed };
  }

  /** Forgets what changed (after a restore: the table is what the store holds). */
  forgetChanges(): void {
    this.changed.fill(0);
    this.removed = [];
  }

  entries(): [number, number][] {
    const out: [number, number][] = [];
    this.forEach((id, c) => out.push([id, c]));
    return out;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
