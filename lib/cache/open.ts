/**
 * Turns the `cache` argument of `new Http(cache)` into a store.
 */
import type { CacheStore } from './store.js';

export function openCache(cache: string | CacheStore): CacheStore | null {
  // TODO(issue 4): a directory name opens a FileCache once the cache lands.
  return typeof cache === 'string' ? null : cache;
}
