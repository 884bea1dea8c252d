/**
 * What a store that can list its records offers inspection (lib/cache/inspect.ts): the shapes of a
 * listed record and the check for a listing store. Shapes only, so that the stores and the inspector
 * both depend on this file and never on each other.
 */
/**
 * Where a listed record is, as the store that listed it understands it: enough to remove it later
 * (a store may add what it needs, such as a file's inode, to tell a replaced record apart).
 */
export interface RecordRef {
  /** Where the record is: a file name for a FileCache; null for a store that finds it by its key. */
  readonly location: string | null;
  /** The key it is stored under, or null when the store cannot tell (a damaged file). */
  readonly key: string | null;
}

/** One record a store holds, as it holds it: bytes, not an HTTP entry. */
export interface StoredRecord {
  /** Where it is, to remove it. */
  readonly ref: RecordRef;
  /** The stored value, or null when the store's own check of it failed (see `problem`). */
  readonly value: Buffer | null;
  /** Why the store cannot read the record (a damaged file), or null. */
  readonly problem: string | null;
  /** Bytes the record takes in the store. */
  readonly size: number;
}

/**
 * A cache store that can list its records, for {@link inspectCache}: FileCache, MemoryCache, and the
 * adapter of a keyv store whose backend iterates (SQLite, Redis).
 */
export interface ListableStore {
  /**
   * Every record, in no particular order. A record written or removed while the listing runs may be
   * missed or listed; a record that was there before and after is listed once.
   */
  records(): AsyncIterable<StoredRecord>;
  /** Removes a listed record, unless it was replaced since it was listed; true if removed. */
  removeRecord(ref: RecordRef): Promise<boolean>;
}

/** True for a store with `records()` and `removeRecord()`. */
export function isListable(store: unknown): store is ListableStore {
  const s = store as Partial<ListableStore> | null;
  return typeof s === 'object' && s !== null && typeof s.records === 'function' && typeof s.removeRecord === 'function';
}
