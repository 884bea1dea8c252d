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
