/**
 * Lets a keyv `Keyv` instance (SQLite, Redis, any keyv backend) serve as a cache store: recognises one
 * by its shape, and stores each value as a tagged base64 string, which every keyv serialiser (the
 * default one, JSON.stringify, a custom one) and every backend round-trips byte for byte. Also opens a
 * SQLite keyv that several processes can share. It must never hand back anything but a Buffer or null.
 */
import type Keyv from 'keyv';
import { dirname, resolve } from 'node:path';
import { HttpLib2Error } from '../errors.js';
import { assertPrivateDirectory } from './private-directory.js';
import type { ListableStore, RecordRef, StoredRecord } from './listing.js';
import type { CacheStore } from './store.js';

/** The part of keyv's `Keyv` this adapter uses. */
export interface KeyvLike {
  get(key: string): Promise<unknown>;
  set(key: string, value: string): Promise<unknown>;
  delete(key: string): Promise<unknown>;
  /** Every key and value; keyv defines it when its adapter can iterate (SQLite, Redis, a Map). */
  iterator?: ((namespace: undefined) => AsyncIterable<[string, unknown]>) | undefined;
}

// Marks values written by this adapter; anything else found under a key is a miss, not garbage.
const TAG = 'h2b64:';

/**
 * True for an object shaped like a keyv `Keyv` (v4 or v5): get/set/delete/has/clear methods and an
 * `opts` object naming its storage adapter. Checked by shape, not `instanceof`, so a Keyv from another
 * copy of the package is recognised too.
 */
export function isKeyv(value: unknown): value is KeyvLike {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const methods = ['get', 'set', 'delete', 'has', 'clear'];
  if (!methods.every((m) => typeof v[m] === 'function')) return false;
  const opts = v['opts'];
  return typeof opts === 'object' && opts !== null && 'store' in opts;
}

/**
 * A {@link CacheStore} over a keyv `Keyv`. `get` resolves to `null` for a missing or foreign value;
 * `get`, `set` and `delete` reject with an `HttpLib2Error` (`ERR_CACHE`) when the backend fails (keyv
 * itself reports a failed `set` as `false`), so the store guard counts the failure; through an
 * `Http`, a failed `get` is a miss.
 */
export class KeyvStore implements CacheStore, ListableStore {
  /** The wrapped keyv instance. */
  readonly keyv: KeyvLike;

  constructor(keyv: KeyvLike) {
    this.keyv = keyv;
  }

  async get(key: string): Promise<Buffer | null> {
    let stored: unknown;
    try {
      stored = await this.keyv.get(key);
    } catch (error) {
      throw keyvError('read', error);
    }
    if (typeof stored === 'string') {
      return stored.startsWith(TAG) ? Buffer.from(stored.slice(TAG.length), 'base64') : null;
    }
    return null;
  }

  async set(key: string, value: Uint8Array): Promise<void> {
    const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    let stored: unknown;
    try {
      stored = await this.keyv.set(key, TAG + bytes.toString('base64'));
    } catch (error) {
      throw keyvError('store', error);
    }
    if (stored === false) throw keyvError('store', undefined);
  }

  async delete(key: string): Promise<void> {
    try {
      await this.keyv.delete(key);
    } catch (error) {
      throw keyvError('delete', error);
    }
  }

  /**
   * Every value this adapter wrote (for `inspectCache`); values of other programs sharing the keyv
   * namespace are left out.
   * @throws HttpLib2Error (`ERR_CACHE`) when the keyv adapter cannot iterate.
   */
  async *records(): AsyncGenerator<StoredRecord> {
    const iterator = this.keyv.iterator;
    if (typeof iterator !== 'function') {
      throw new HttpLib2Error('This keyv store cannot list its entries: its adapter has no iterator (keyv iterates SQLite, Redis, Postgres, MySQL, Mongo and Map stores)', { code: 'ERR_CACHE' });
    }
    try {
      for await (const [key, stored] of iterator.call(this.keyv, undefined)) {
        if (typeof stored !== 'string' || !stored.startsWith(TAG)) continue;
        yield { ref: { location: null, key }, value: Buffer.from(stored.slice(TAG.length), 'base64'), problem: null, size: key.length + stored.length };
      }
    } catch (error) {
      throw keyvError('list', error);
    }
  }

  /** Removes a listed value. */
  async removeRecord(ref: RecordRef): Promise<boolean> {
    if (ref.key === null) return false;
    try {
      return (await this.keyv.delete(ref.key)) !== false;
    } catch (error) {
      throw keyvError('delete', error);
    }
  }
}

function keyvError(action: string, cause: unknown): HttpLib2Error {
  const detail = cause instanceof Error ? `: ${cause.message}` : ' (the keyv backend reported a failure)';
  return new HttpLib2Error(`Cannot ${action} the cache entry in keyv${detail}`, { code: 'ERR_CACHE', cause });
}

/** Options of {@link openSqliteCache}. */
export interface SqliteCacheOptions {
  /**
   * How long a statement keeps trying a file another process has locked, in ms. The tries wait on
   * timers, never inside SQLite, so the event loop never blocks; then the statement gives up (a read
   * is a miss, a write is not kept).
   * @default 200
   */
  busyTimeout?: number;
  /** Table name inside the database file. @default 'keyv' */
  table?: string;
  /**
   * Accept a file in a directory that others can write (group- or world-writable, or another
   * user's): they could replace the file with one holding entries of their own. Only for a
   * directory shared on purpose.
   * @default false
   */
  allowSharedDirectory?: boolean;
}

const DEFAULT_BUSY_TIMEOUT = 200;

/** The part of `@keyv/sqlite`'s adapter that every statement goes through. */
interface SqliteQuery {
  query(sql: string, ...parameters: unknown[]): Promise<unknown>;
}

/**
 * Opens (creating if needed) a SQLite cache file through `@keyv/sqlite` (an optional peer
 * dependency), in WAL mode, so several processes can read and write it at once, and so that a lock
 * another process holds never freezes this one: SQLite's own busy wait is off, and a statement that
 * finds the file locked is tried again on timers for up to `busyTimeout`, then given up.
 * Pass the result to `new Http(keyv)`; call `keyv.disconnect()` when done.
 *
 * @throws HttpLib2Error (`ERR_CACHE`) when `@keyv/sqlite` is not installed or the file cannot be opened;
 *   (`ERR_CACHE_UNSAFE`) when others can write the file's directory, naming it and the fix.
 */
export async function openSqliteCache(path: string, options: SqliteCacheOptions = {}): Promise<Keyv> {
  const busyTimeout = options.busyTimeout ?? DEFAULT_BUSY_TIMEOUT;
  if (!(typeof busyTimeout === 'number' && busyTimeout >= 0 && Number.isFinite(busyTimeout))) {
    throw new HttpLib2Error(`Invalid openSqliteCache option busyTimeout: expected a number of milliseconds (0 or more), received ${String(busyTimeout)}`, {
      code: 'ERR_INVALID_REQUEST',
    });
  }
  // Before the file is opened (#18), as for a FileCache directory. ':memory:' has no directory.
  if (path !== ':memory:' && options.allowSharedDirectory !== true) assertPrivateDirectory(dirname(resolve(path)), 'SQLite cache directory');
  const [{ KeyvSqlite }, { Keyv: KeyvClass }] = await Promise.all([
    import('@keyv/sqlite').catch((error: unknown) => {
      throw new HttpLib2Error('openSqliteCache needs the package @keyv/sqlite (npm install @keyv/sqlite)', {
        code: 'ERR_CACHE',
        cause: error,
      });
    }),
    import('keyv'),
  ]);
  const store = new KeyvSqlite({
    uri: `sqlite://${path}`,
    // The adapter lists rows a page at a time with OFFSET, each page a scan from the start: its
    // default of 10 rows made listing 100,000 entries (inspectCache) take 10,000 queries.
    iterationLimit: 1000,
    ...(options.table !== undefined ? { table: options.table } : {}),
  });
  try {
    // SQLite's busy handler sleeps inside the statement with the connection's mutex held, and the
    // sqlite3 binding finalizes statements on the main thread, which takes that mutex: while another
    // process held a write lock, the whole event loop froze for up to the busy timeout (measured:
    // 5.2 s with 5000). With the handler off, a locked file answers SQLITE_BUSY at once, retried below.
    await store.query('PRAGMA busy_timeout = 0');
    // WAL lets readers proceed while one process writes; the mode is stored in the file, so every
    // later opener shares it. synchronous=NORMAL is safe with WAL (an entry may be lost on power
    // failure, never corrupted) and spares an fsync per write.
    await store.query('PRAGMA journal_mode=WAL');
    await store.query('PRAGMA synchronous=NORMAL');
  } catch (error) {
    await store.disconnect().catch(() => undefined);
    throw new HttpLib2Error(`Cannot open the SQLite cache ${path}`, { code: 'ERR_CACHE', cause: error });
  }
  retryWhileBusy(store, busyTimeout);
  // A failure reaches the cache with its cause (SQLITE_BUSY...), instead of keyv's bare `false`.
  return new KeyvClass({ store, throwOnErrors: true });
}

// Every statement of the adapter goes through its `query`: a SQLITE_BUSY answer is tried again after
// 1, 2, 4... ms (at most 25 ms apart) until `busyTimeout` is spent. A write waiting here holds
// nothing, so reads keep going meanwhile (WAL readers never need the write lock).
function retryWhileBusy(store: SqliteQuery, busyTimeout: number): void {
  const query = store.query.bind(store);
  store.query = async (sql, ...parameters) => {
    const started = Date.now();
    for (let delay = 1; ; delay = Math.min(delay * 2, 25)) {
      try {
        return await query(sql, ...parameters);
      } catch (error) {
        if ((error as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() - started + delay > busyTimeout) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  };
}
