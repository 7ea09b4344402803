// localStorage's stand-in where the page cannot use it (storage disabled, some private modes):
// the SDK still batches and retries, but its queue lasts only as long as the page.
import type { StorageLike } from './ports.js';

export function memoryStorage(): StorageLike {
  const items = new Map<string, string>();
  return {
    get length() {
      return items.size;
    },
    key: (index) => [...items.keys()][index] ?? null,
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, String(value)),
    removeItem: (key) => void items.delete(key),
  };
}
