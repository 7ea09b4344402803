// The `capacity` strongest items by a value that only grows (ties: the item whose key sorts first),
// kept as the values change. Popularity in the model's scaled units only ever grows between
// rebases, so an item outside the list can enter only by passing the last one: each change costs
// a comparison, where rebuilding the list over every item on a request (after any event) took
// 1-2 ms of the recommender's thread per popular fallback (docs/recommendations.md, "Serving").

export class TopList {
  /** Item ids and their values, strongest first. */
  private readonly ids: number[] = [];
  private readonly values: number[] = [];

  constructor(private readonly capacity: number, private readonly keyOf: (id: number) => string) {}

  /** Item `id`'s value is now `value` (never less than before). */
  raised(id: number, value: number): void {
    if (!(value > 0)) return;
    const { ids, values } = this;
    // Most changes are to items far down: below the last entry, an item cannot be in the list
    // (its value only grew, and every entry's is at least the last's).
    if (ids.length === this.capacity && value < values[ids.length - 1]!) return;
    let at = ids.indexOf(id);
    if (at < 0) {
      if (ids.length === this.capacity) {
        if (!this.before(id, value, ids.length - 1)) return;
        ids.pop();
        values.pop();
      }
      at = ids.length;
      ids.push(id);
      values.push(value);
    }
    values[at] = value;
    while (at > 0 && this.before(id, value, at - 1)) {
      ids[at] = ids[at - 1]!;
      values[at] = values[at - 1]!;
      at--;
    }
    ids[at] = id;
    values[at] = value;
  }

  /** Starts again from every item's value (after a restore or a rebase). */
  rebuild(entries: Iterable<readonly [id: number, value: number]>): void {
    this.ids.length = 0;
    this.values.length = 0;
    for (const [id, value] of entries) this.raised(id, value);
  }

  /** Visits the items strongest first until `visit` returns false. */
  forEach(visit: (id: number, value: number) => boolean): void {
    for (let i = 0; i < this.ids.length; i++) if (!visit(this.ids[i]!, this.values[i]!)) return;
  }

  /** Whether (`id`, `value`) ranks before the entry at `at`. */
  private before(id: number, value: number, at: number): boolean {
    const other = this.values[at]!;
    if (value !== other) return value > other;
    return this.keyOf(id) < this.keyOf(this.ids[at]!);
  }
}
