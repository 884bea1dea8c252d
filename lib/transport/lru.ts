/**
 * A Map that keeps at most `capacity` entries, forgetting the least recently used one first and
 * handing it to `onEvict` (which releases whatever it holds). Data only: no I/O of its own.
 */
export class LruMap<K, V> {
  readonly #entries = new Map<K, V>();
  readonly #capacity: number;
  readonly #onEvict: (value: V, key: K) => void;

  constructor(capacity: number, onEvict: (value: V, key: K) => void) {
    this.#capacity = capacity;
    this.#onEvict = onEvict;
  }

  /** The value for `key`, made by `create` when missing; either way it becomes the most recent. */
  getOrCreate(key: K, create: () => V): V {
    let value = this.#entries.get(key);
    if (value !== undefined) {
      // A Map iterates in insertion order: re-inserting moves the key to the most recent end.
      this.#entries.delete(key);
    } else {
      value = create();
    }
    this.#entries.set(key, value);
    if (this.#entries.size > this.#capacity) {
      const [oldest, evicted] = this.#entries.entries().next().value as [K, V];
      this.#entries.delete(oldest);
      this.#onEvict(evicted, oldest);
    }
    return value;
  }

  /** Every value, oldest first. */
  values(): V[] {
    return [...this.#entries.values()];
  }

  clear(): void {
    this.#entries.clear();
  }
}
