// A binary min-heap. Its items array is plain data, so a heap's state can be checkpointed and
// rebuilt with `from`.

export class MinHeap<T> {
  private constructor(private readonly items: T[], private readonly before: (a: T, b: T) => boolean) {}

  static create<T>(before: (a: T, b: T) => boolean): MinHeap<T> {
    return new MinHeap<T>([], before);
  }

  /** Rebuilds a heap from items saved with `toArray` (already in heap order). */
  static from<T>(items: T[], before: (a: T, b: T) => boolean): MinHeap<T> {
    return new MinHeap<T>(items, before);
  }

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(a[i]!, a[parent]!)) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }

  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && this.before(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }

  toArray(): T[] {
    return this.items;
  }
}
