import type { TokenStorage } from '../types.js';

/** A `TokenStorage` in memory, synchronous as `localStorage` is: a reload is a new engine on the same one. */
export interface MemoryStorage extends TokenStorage {
  readonly items: Map<string, string>;
  /** Every call, as `getItem <key>`, `setItem <key>` or `removeItem <key>`, in order. */
  readonly calls: string[];
}

export function createMemoryStorage(entries: Iterable<[string, string]> = []): MemoryStorage {
  const items = new Map(entries);
  const calls: string[] = [];
  return {
    items,
    calls,
    getItem(key) {
      calls.push(`getItem ${key}`);
      return items.get(key) ?? null;
    },
    setItem(key, value) {
      calls.push(`setItem ${key}`);
      items.set(key, value);
    },
    removeItem(key) {
      calls.push(`removeItem ${key}`);
      items.delete(key);
    },
  };
}
