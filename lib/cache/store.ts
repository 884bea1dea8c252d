/**
 * The store interface every cache backend meets (httplib2's get/set/delete, sync or async), checked
 * at the door. Stores move bytes and know nothing of HTTP.
 */
import { HttpLib2Error } from '../errors.js';

type MaybePromise<T> = T | Promise<T>;

/** httplib2's cache interface; a keyv `Keyv` instance fits it as is. */
export interface CacheStore {
  /** The bytes stored under `key`, or null/undefined for none; may return a Promise. */
  get(key: string): MaybePromise<Buffer | Uint8Array | string | null | undefined>;
  /** Stores `value` under `key`, replacing what was there; may return a Promise. */
  set(key: string, value: Buffer): MaybePromise<unknown>;
  /** Removes `key`; a missing key is not an error; may return a Promise. */
  delete(key: string): MaybePromise<unknown>;
}

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
