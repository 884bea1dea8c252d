/**
 * Turns the `cache` argument of `new Http(cache)` into a store: a directory name becomes a FileCache
 * (httplib2's `Http('.cache')`), a keyv `Keyv` is wrapped so binary values survive its serialiser, and
 * any other object must pass the store check. It must never accept an object that is not a store.
 */
import { FileCache } from './file-cache.js';
import { isKeyv, KeyvStore } from './keyv-store.js';
import { assertCacheStore, type CacheStore } from './store.js';

/**
 * The store behind `new Http(cache)`.
 * @throws HttpLib2Error when `cache` is neither a directory name nor a store, or the directory
 *   cannot be created.
 */
export function openCache(cache: string | CacheStore): CacheStore {
  if (typeof cache === 'string') return new FileCache(cache);
  if (isKeyv(cache)) return new KeyvStore(cache);
  assertCacheStore(cache);
  return cache;
}
