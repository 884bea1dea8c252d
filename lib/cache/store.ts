/**
 * The store interface every cache backend meets (httplib2's get/set/delete, sync or async), checked
 * at the door. Stores move bytes and know nothing of HTTP.
 */
import { HttpLib2Error } from '../errors.js';
import type { CacheStore } from '../types.js';

// The shape lives with the other shared shapes; stores and callers still import it from here.
export type { CacheStore };

/** Throws unless `store` has get, set and delete functions. */
export function assertCacheStore(store: unknown): asserts store is CacheStore {
  const s = store as Record<string, unknown> | null;
  for (const method of ['get', 'set', 'delete']) {
    if (!s || typeof s[method] !== 'function') {
      throw new HttpLib2Error(`Invalid cache: expected a directory name or an object with get, set and delete; ${method} is missing`, {
        code: 'ERR_INVALID_REQUEST',
      });
    }
  }
}

/**
 * A store that can hand the cache layer the bytes it holds without copying them implements a method
 * under this symbol (MemoryCache does, whose `get` copies so that no caller can change what another
 * reads; FileCache does, answering a value it remembers at once rather than through a Promise, which
 * spares the guard's budget and the request's abort their per-call work: a synchronous answer needs
 * neither). The cache layer never writes into what a store returns (it copies each body it serves), and
 * the very same bytes on every hit let it reuse what it parsed from them.
 */
export const READ_SHARED = Symbol('httplib2-ts.readShared');

/** A store with a read that does not copy. */
export interface SharedReader {
  /** The bytes held, at once when the store has them in memory, else a Promise of them. */
  [READ_SHARED](key: string): Buffer | null | Promise<Buffer | null>;
}

/** The store's read without a copy, bound to it, or its `get`. */
export function readerOf(store: CacheStore): (key: string) => ReturnType<CacheStore['get']> {
  const shared = (store as Partial<SharedReader>)[READ_SHARED];
  return typeof shared === 'function' ? shared.bind(store) : store.get.bind(store);
}

/**
 * True when `store` hands the cache layer the very bytes it holds: it has a {@link READ_SHARED}
 * read, or it is a guard (guarded-store.ts) around such a store, which says so in `sharesValues`.
 */
export function sharesValues(store: CacheStore): boolean {
  const s = store as Partial<SharedReader> & { readonly sharesValues?: unknown };
  return s.sharesValues === true || typeof s[READ_SHARED] === 'function';
}
