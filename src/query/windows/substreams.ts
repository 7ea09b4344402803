// Per-substream state of a windowed operator: each substream (TIMESTAMP BY … OVER key) has its
// own clock, so its windows close on its own watermark.

export class Substreams<S> {
  private states = new Map<string, S>();

  constructor(private readonly create: () => S) {}

  private lastKey: string | null = null;
  private last: S | undefined;

  of(key: string): S {
    // Most frames come from the substream of the frame before (always, without OVER).
    if (key === this.lastKey) return this.last!;
    let s = this.states.get(key);
    if (!s) {
      s = this.create();
      this.states.set(key, s);
      this.all = null;
    }
    this.lastKey = key;
    this.last = s;
    return s;
  }

  private all: [string, S][] | null = null;

  /** The states an advance concerns: one substream, or all of them for a global advance. */
  affected(key: string | null): readonly [string, S][] {
    if (key === null) return (this.all ??= [...this.states]);
    const s = this.states.get(key);
    return s ? [[key, s]] : [];
  }

  entries(): Iterable<[string, S]> {
    return this.states;
  }

  replace(states: Map<string, S>): void {
    this.states = states;
    this.all = null;
    this.lastKey = null;
    this.last = undefined;
  }
}
