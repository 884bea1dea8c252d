/**
 * FileCache (httplib2's name): one file per key in a private directory. A file is written to a fresh
 * temp file beside it and renamed into place, and carries its key and a CRC-32 of key and value, so a
 * killed writer, a concurrent process, a damaged file or another key's file reads as a miss.
 * It must never write through a planted symlink, never leave the directory, never throw from `get`,
 * and never interpret the bytes it stores (they are the entry codec's business).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, futimesSync, lstatSync, openSync, utimesSync, type Stats } from 'node:fs';
import { lstat, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { HttpLib2Error } from '../errors.js';
import { IDENTITY_KEY_NAME } from '../identity.js';
import { encodeHeader, isReservedName, LEASE_PREFIX, TEMP_PREFIX } from './file-cache-format.js';
import { acquireLease, releaseLease, removeIfOver } from './file-cache-lease.js';
import { readValue, removeEntry, replaceWith } from './file-cache-io.js';
import { isFileRef, listFiles, removeListed } from './file-cache-list.js';
import { BoundKeeper, forgetUsage } from './file-cache-bounds.js';
import { isSameFile, LEAST_COST_BYTES, RecentValues, type Remembered } from './file-cache-memo.js';
import { assertPrivateDirectory, makeDirectory } from './private-directory.js';
import { safename } from './safename.js';
import type { ListableStore, RecordRef, StoredRecord } from './listing.js';
import { READ_SHARED, type CacheStore } from './store.js';

// O_NOFOLLOW: a symlink planted at an entry's path is a miss, never read through.
// O_NONBLOCK: a FIFO planted there must not block the process in open().
const READ_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);
const FILE_MODE = 0o600;
// A temp file older than this was left by a writer that died (no write takes an hour).
const ORPHAN_AGE_MS = 60 * 60 * 1000;
// Often read values are kept while their file is unchanged: a hit then costs one lstat instead of
// open/read/close, a checksum and the cache layer's parse (#15). 64 MiB, as a MemoryCache's default,
// holds ~25,000 entries of 512-byte bodies (each ~885 bytes stored, ~2.7 KiB with its key, its path,
// its slot and its parse, as counted).
const DEFAULT_MEMO_BYTES = 64 * 1024 * 1024;

/** Turns a cache key into a file name; it must return a single, non-empty path segment. */
export type SafeName = (key: string) => string;

/** Options of a {@link FileCache}. */
export interface FileCacheOptions {
  /** Maps a key to a file name. @default {@link safename} */
  safe?: SafeName;
  /**
   * Accept a directory that others can write (group- or world-writable, or another user's): they
   * could plant entries that would be served as yours. Only for a directory shared on purpose.
   * @default false
   */
  allowSharedDirectory?: boolean;
  /**
   * Most bytes the entry files may take (temp files of writes in progress aside): past it, the least
   * recently used entries are removed, whichever process wrote them. Give every process on the
   * directory the same bounds. @default Infinity
   */
  maxBytes?: number;
  /** Most entry files the directory may hold, as `maxBytes`. @default Infinity */
  maxEntries?: number;
  /**
   * Bytes of often read values kept in memory (each counted with its key, its file's path and ~1.6 KiB
   * for its slot and the parse it keeps alive),
   * served after one lstat shows their file unchanged; 0 keeps none. A working set larger than this
   * keeps its most read part. @default 64 MiB
   */
  memoBytes?: number;
}

/**
 * A cache directory with one file per key. httplib2: `httplib2.FileCache(dir_name, safe=safename)`.
 * The directory is created (mode 0700) if missing, and refused if others can write it (unless
 * `allowSharedDirectory`); entries are written atomically with mode 0600.
 * `get` resolves to `null` for a missing, damaged or foreign entry; `set` and `delete` reject with an
 * `HttpLib2Error` (code `ERR_CACHE`) when the file system refuses.
 */
export class FileCache implements CacheStore, ListableStore {
  /** Absolute path of the cache directory. */
  readonly directory: string;
  readonly #safe: SafeName;
  #swept: Promise<void> | null = null;
  readonly #recent: RecentValues;
  readonly #bounds: BoundKeeper | null;

  /**
   * @param dir the cache directory, created (with its parents, mode 0700) if missing.
   * @param options `{ safe, allowSharedDirectory, maxBytes, maxEntries, memoBytes }`, or (httplib2's
   *   form) the `safe` function alone.
   * @throws HttpLib2Error (`ERR_INVALID_REQUEST`) naming a bound or memoBytes that is not a number;
   *   (`ERR_CACHE`) when the directory cannot be created or is not a directory; (`ERR_CACHE_UNSAFE`)
   *   when others can write it, naming it and the fix (`chmod 700 <dir>`).
   */
  constructor(dir: string, options: SafeName | FileCacheOptions = {}) {
    const { safe = safename, allowSharedDirectory = false, maxBytes = Infinity, maxEntries = Infinity, memoBytes = DEFAULT_MEMO_BYTES } =
      typeof options === 'function' ? { safe: options } : options;
    checkBound('maxBytes', maxBytes);
    checkBound('maxEntries', maxEntries);
    if (typeof memoBytes !== 'number' || !(memoBytes >= 0) || memoBytes === Infinity) {
      throw new HttpLib2Error(`FileCache option memoBytes must be a number of bytes (0 or more); received ${String(memoBytes)}`, { code: 'ERR_INVALID_REQUEST' });
    }
    this.#recent = new RecentValues(Math.ceil(memoBytes / LEAST_COST_BYTES), memoBytes);
    this.directory = resolve(dir);
    this.#safe = safe;
    const bounded = maxBytes !== Infinity || maxEntries !== Infinity;
    // The identity key is never evicted: every process on the directory derives its digests from it.
    this.#bounds = bounded ? new BoundKeeper(this.directory, { maxBytes, maxEntries }, pinnedNames(safe)) : null;
    try {
      makeDirectory(this.directory);
    } catch (error) {
      throw cacheError(`Cannot create the cache directory ${this.directory}`, error);
    }
    // Before anything is read from it (#18): an entry planted by someone else would be served as ours.
    if (!allowSharedDirectory) assertPrivateDirectory(this.directory, 'cache directory');
  }

  /**
   * The stored value for `key`, or `null` when it is missing, damaged or belongs to another key.
   * The same Buffer may be returned again while the file is unchanged: callers must not modify it.
   */
  async get(key: string): Promise<Buffer | null> {
    return this.#get(key);
  }

  /** The cache layer's read (store.ts): a value it remembers at once, anything else as {@link get}. */
  [READ_SHARED](key: string): Buffer | null | Promise<Buffer | null> {
    try {
      return this.#get(key);
    } catch (error) {
      return Promise.reject(error as Error); // as get would
    }
  }

  #get(key: string): Buffer | null | Promise<Buffer | null> {
    const known = this.#recent.get(key);
    if (known !== undefined) {
      // The one stat a remembered value needs: is it still the file at that path?
      let stat: Stats | undefined;
      try {
        stat = lstatSync(known.path, { throwIfNoEntry: false });
      } catch {
        stat = undefined;
      }
      if (stat !== undefined && stat.isFile() && isSameFile(known, stat)) {
        if (this.#bounds !== null && isDue(stat)) this.#touchRemembered(key, known);
        return known.value;
      }
      this.#recent.forget(key);
      return stat === undefined ? null : this.#read(key, known.path);
    }
    const path = this.#pathOf(key);
    return path === null ? null : this.#read(key, path);
  }

  // One open, one read for most entries (the header says how long the file is), no stat unless the
  // value is to be remembered (which needs to know which file it came from), one copy out of the
  // shared first-read buffer for a small file, none for a large one (#15).
  async #read(key: string, path: string): Promise<Buffer | null> {
    let fd: number;
    try {
      fd = openSync(path, READ_FLAGS);
    } catch {
      return null; // missing, a symlink planted there, unreadable
    }
    try {
      // A value to remember gets a buffer of its own, so the memo's byte count is what it holds.
      let keep = false;
      const owned = await readValue(fd, key, (length) => (keep = this.#recent.wants(key, length, path)));
      if (owned === null) return null;
      // A bounded cache learns when the file was last used, to mark this use (LRU across processes).
      let stat = keep || this.#bounds !== null ? fstatSync(fd) : null;
      if (this.#bounds !== null && stat !== null && isDue(stat)) stat = touched(fd, stat);
      if (keep && stat !== null) {
        const { ino, size: fileSize, mtimeMs, ctimeMs } = stat;
        this.#recent.remember(key, { path, ino, size: fileSize, mtimeMs, ctimeMs, value: owned });
      }
      return owned;
    } catch {
      return null; // a directory or FIFO planted there, an I/O error
    } finally {
      try {
        closeSync(fd);
      } catch {
        // nothing left to do with a descriptor that will not close
      }
    }
  }

  // Marks a remembered file used now, and remembers the file as it is after the touch, unless
  // another file took its place meanwhile (then its value is read next time).
  #touchRemembered(key: string, known: Remembered): void {
    try {
      utimesSync(known.path, new Date(), new Date());
      const { ino, size, mtimeMs, ctimeMs } = lstatSync(known.path);
      if (ino === known.ino && size === known.size) this.#recent.remember(key, { ...known, ino, size, mtimeMs, ctimeMs });
      else this.#recent.forget(key);
    } catch {
      this.#recent.forget(key); // gone or replaced meanwhile: read again next time
    }
  }

  /**
   * Stores `value` under `key`, replacing any previous file (or planted directory) at its path. With
   * bounds, the least recently used entries are removed first to make room, and a value that alone
   * exceeds `maxBytes` is not kept (the older value under its key is removed).
   */
  async set(key: string, value: Uint8Array): Promise<void> {
    const target = this.#requirePath(key);
    this.#recent.forget(key);
    this.#swept ??= this.#sweepOrphans();
    await this.#swept;
    const head = encodeHeader(key, value);
    if (this.#bounds?.tooLarge(head.length + value.length)) return this.delete(key);
    const temp = join(this.directory, `${TEMP_PREFIX}${process.pid}-${randomBytes(8).toString('hex')}`);
    try {
      await this.#writeNew(temp, [head, value]);
      if (this.#bounds === null) await replaceWith(temp, target);
      else await this.#bounds.place(temp, basename(target), head.length + value.length, replaceWith);
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw cacheError(`Cannot store the cache entry ${target}`, error);
    }
  }

  /** Removes the entry for `key`; a missing entry is not an error. */
  async delete(key: string): Promise<void> {
    const target = this.#requirePath(key);
    this.#recent.forget(key);
    try {
      if (this.#bounds === null) await removeEntry(target);
      else await this.#bounds.remove(basename(target), removeEntry);
    } catch (error) {
      throw cacheError(`Cannot delete the cache entry ${target}`, error);
    }
  }

  /**
   * Takes the single-flight lease on `key` for `ttlMs` (a lease file made with an exclusive link,
   * taken over once expired): the holder's token, or null while another process holds it.
   */
  async acquire(key: string, ttlMs: number): Promise<string | null> {
    try {
      return acquireLease(this.directory, key, ttlMs);
    } catch (error) {
      throw cacheError(`Cannot take a lease in ${this.directory}`, error);
    }
  }

  /** Gives back the lease on `key` if `token` still holds it. */
  async release(key: string, token: string): Promise<void> {
    try {
      releaseLease(this.directory, key, token);
    } catch (error) {
      throw cacheError(`Cannot give back a lease in ${this.directory}`, error);
    }
  }

  /**
   * Every file in the directory but temp files, read and checked (for `inspectCache`): a damaged
   * file, a symlink or a file named for another key is listed with its problem. Subdirectories are
   * not the cache's and are left out.
   */
  records(): AsyncIterable<StoredRecord> {
    return listFiles(this.directory, this.#safe);
  }

  /** Removes a listed file, unless another file took its name since it was listed. */
  async removeRecord(ref: RecordRef): Promise<boolean> {
    if (!isFileRef(ref)) return false;
    if (ref.key !== null) this.#recent.forget(ref.key);
    try {
      const removed = await removeListed(this.directory, ref);
      // Whoever keeps bounds on this directory counts it again at its next write.
      if (removed) forgetUsage(this.directory);
      return removed;
    } catch (error) {
      throw cacheError(`Cannot remove the cache file ${join(this.directory, ref.location)}`, error);
    }
  }

  // Once per instance, before its first write: remove temp files of writers killed mid-write, and
  // expired leases.
  // Best effort; a failure here must never fail a set.
  async #sweepOrphans(): Promise<void> {
    try {
      const now = Date.now();
      for (const name of await readdir(this.directory)) {
        // The lease of a process that died while it held it.
        if (name.startsWith(LEASE_PREFIX)) removeIfOver(join(this.directory, name));
        if (!name.startsWith(TEMP_PREFIX)) continue;
        const path = join(this.directory, name);
        const info = await lstat(path).catch(() => null);
        if (info?.isFile() && now - info.mtimeMs > ORPHAN_AGE_MS) await unlink(path).catch(() => undefined);
      }
    } catch {
      // an unreadable directory shows up in the write itself
    }
  }

  // 'wx' = O_CREAT | O_EXCL: never opens an existing file or follows a symlink someone planted.
  async #writeNew(temp: string, chunks: Uint8Array[]): Promise<void> {
    const options = { flag: 'wx', mode: FILE_MODE } as const;
    try {
      await writeFile(temp, chunks, options);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      // The directory was removed behind our back (e.g. a user cleared the cache): recreate it once.
      makeDirectory(this.directory);
      await writeFile(temp, chunks, options);
    }
  }

  // Computed for each read past the memo (a remembered value carries its path). Not memoised: with
  // more keys than a memo of names holds, its churn of short-lived strings into a long-lived map cost
  // more in garbage collection than hashing the key again (#15).
  #pathOf(key: string): string | null {
    try {
      const name = this.#safe(key);
      return isSafeSegment(name) ? join(this.directory, name) : null;
    } catch {
      return null;
    }
  }

  #requirePath(key: string): string {
    const path = this.#pathOf(key);
    if (path === null) {
      throw new HttpLib2Error('The cache file name for this key is not a single safe path segment', { code: 'ERR_CACHE' });
    }
    return path;
  }
}

/** True for a name that stays inside the directory as one plain file name of ours. */
function isSafeSegment(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name.length > 0 &&
    name !== '.' &&
    name !== '..' &&
    !isReservedName(name) &&
    !/[/\\\0]/.test(name) &&
    Buffer.byteLength(name) <= 255
  );
}

// A bounded cache marks a file used when it was last marked over a second ago: enough to order
// entries for eviction, and a hot entry costs at most one touch a second per process.
const TOUCH_MS = 1000;

function isDue(stat: Stats): boolean {
  return Date.now() - stat.mtimeMs > TOUCH_MS;
}

// The file's mtime becomes now (its last use); returns its stat after the touch.
function touched(fd: number, stat: Stats): Stats {
  try {
    futimesSync(fd, stat.atime, new Date());
    return fstatSync(fd);
  } catch {
    return stat;
  }
}

function pinnedNames(safe: SafeName): string[] {
  try {
    return [safe(IDENTITY_KEY_NAME)];
  } catch {
    return [];
  }
}

function checkBound(name: string, value: unknown): void {
  if (typeof value !== 'number' || !(value > 0)) {
    throw new HttpLib2Error(`FileCache option ${name} must be a positive number (or Infinity); received ${String(value)}`, { code: 'ERR_INVALID_REQUEST' });
  }
}

function cacheError(message: string, cause: unknown): HttpLib2Error {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new HttpLib2Error(`${message}${detail}`, { code: 'ERR_CACHE', cause });
}
