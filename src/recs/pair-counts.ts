// One item's co-occurrence counts: partner id → count. The model's hot path adds to these several
// times per event, so they live in an open-addressing table of two typed arrays (ids, counts) with
// linear probing: an addition is one or two probes into flat memory, where a Map costs a chain of
// hops and a boxed number per entry. Iteration order is the table's; callers that need an order sort.

const EMPTY = -1;

export class PairCounts {
  private ids = new Int32Array(32).fill(EMPTY);
  private counts = new Float64Array(32);
  private mask = 31;
  size = 0;

  add(id: number, amount: number): void {
    let i = Math.imul(id, 0x9e3779b1) >>> 0 & this.mask;
    const ids = this.ids;
    for (;;) {
      const at = ids[i]!;
      if (at === id) {
        this.counts[i]! += amount;
        return;
      }
      if (at === EMPTY) break;
      i = (i + 1) & this.mask;
    }
    ids[i] = id;
    this.counts[i] = amount;
    // At most half full, so a probe ends soon; growing four-fold, a busy item is copied a few times only.
    if (++this.size * 2 > this.mask) this.resize(this.ids.length * 4);
  }

  private resize(capacity: number): void {
    const { ids, counts } = this;
    this.ids = new Int32Array(capacity).fill(EMPTY);
    this.counts = new Float64Array(capacity);
    this.mask = capacity - 1;
    this.size = 0;
    for (let i = 0; i < ids.length; i++) if (ids[i] !== EMPTY) this.add(ids[i]!, counts[i]!);
  }

  /** Calls `visit` with each partner and its count. */
  forEach(visit: (id: number, count: number) => void): void {
    const { ids, counts } = this;
    for (let i = 0; i < ids.length; i++) if (ids[i] !== EMPTY) visit(ids[i]!, counts[i]!);
  }

  scale(f: number): void {
    for (let i = 0; i < this.ids.length; i++) if (this.ids[i] !== EMPTY) this.counts[i]! *= f;
  }

  /** Keeps the `n` largest counts; ties go to the partner whose `key` sorts first. */
  keepStrongest(n: number, key: (id: number) => string): void {
    const kept = this.entries().sort((x, y) => (y[1] - x[1]) || cmp(key(x[0]), key(y[0]))).slice(0, n);
    this.ids.fill(EMPTY);
    this.size = 0;
    for (const [id, c] of kept) this.add(id, c);
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
