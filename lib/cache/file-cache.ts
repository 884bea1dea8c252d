/**
 * FileCache (httplib2's name): one file per key in a private directory. A file is written to a fresh
 * temp file beside it and renamed into place, and carries its key and a CRC-32 of key and value, so a
 * killed writer, a concurrent process, a damaged file or another key's file reads as a miss.
 * It must never write through a planted symlink, never leave the directory, never throw from `get`,
 * and never interpret the bytes it stores (they are the entry codec's business).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, openSync, read, readSync, type Stats } from 'node:fs';
import { lstat, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { constants as bufferConstants } from 'node:buffer';
import { HttpLib2Error } from '../errors.js';
import { assertPrivateDirectory, makeDirectory } from './private-directory.js';
import { safename } from './safename.js';
import type { CacheStore } from './store.js';

// File layout, all integers big-endian:
//   0  4  magic "h2tc"          8  4  value length in bytes
//   4  1  format version (1)    12 4  key length in bytes
//   5  3  reserved (0)          16 4  CRC-32 of key bytes then value bytes
//   20 …  key (UTF-8), then the value; the file size must be exactly 20 + key + value.
// CRC-32 rather than SHA-256: it catches truncation and bit flips (every burst up to 32 bits) at a
// fifth of the cost, and the stored key, not the checksum, is what tells a foreign file apart.
const MAGIC = 0x68327463; // "h2tc"
const VERSION = 1;
const HEADER_SIZE = 20;

// Measured on a fresh hit of a 2 KB entry: a synchronous open/read/close costs ~10 µs, the
// fs/promises equivalent ~250 µs (four thread-pool round trips), slower than a loopback GET. Small
// files are therefore read synchronously; larger ones asynchronously so the event loop never stalls.
const SYNC_READ_LIMIT = 128 * 1024;
// O_NOFOLLOW: a symlink planted at an entry's path is a miss, never read through.
// O_NONBLOCK: a FIFO planted there must not block the process in open().
const READ_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);
const TEMP_PREFIX = '.tmp-';
const FILE_MODE = 0o600;
// A temp file older than this was left by a writer that died (no write takes an hour).
const ORPHAN_AGE_MS = 60 * 60 * 1000;
// Recently read values are kept while their file is unchanged (same inode, size, mtime and ctime):
// a fresh hit then costs one lstat instead of open/fstat/read/close and a checksum. A writer in any
// process renames a new inode into place, so a change is always seen.
const RECENT_ENTRIES = 256;
const RECENT_BYTES = 16 * 1024 * 1024;
const NAME_MEMO_ENTRIES = 1024;

interface Recent {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly value: Buffer;
}

function sameFile(a: Recent, b: Stats): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

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
}

/**
 * A cache directory with one file per key. httplib2: `httplib2.FileCache(dir_name, safe=safename)`.
 * The directory is created (mode 0700) if missing, and refused if others can write it (unless
 * `allowSharedDirectory`); entries are written atomically with mode 0600.
 * `get` resolves to `null` for a missing, damaged or foreign entry; `set` and `delete` reject with an
 * `HttpLib2Error` (code `ERR_CACHE`) when the file system refuses.
 */
export class FileCache implements CacheStore {
  /** Absolute path of the cache directory. */
  readonly directory: string;
  readonly #safe: SafeName;
  #swept: Promise<void> | null = null;
  readonly #recent = new Map<string, Recent>();
  #recentBytes = 0;
  readonly #names = new Map<string, string | null>();

  /**
   * @param dir the cache directory, created (with its parents, mode 0700) if missing.
   * @param options `{ safe, allowSharedDirectory }`, or (httplib2's form) the `safe` function alone.
   * @throws HttpLib2Error (`ERR_CACHE`) when the directory cannot be created or is not a directory;
   *   (`ERR_CACHE_UNSAFE`) when others can write it, naming it and the fix (`chmod 700 <dir>`).
   */
  constructor(dir: string, options: SafeName | FileCacheOptions = {}) {
    const { safe = safename, allowSharedDirectory = false } = typeof options === 'function' ? { safe: options } : options;
    this.directory = resolve(dir);
    this.#safe = safe;
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
    const path = this.#pathOf(key);
    if (path === null) return null;
    let stat: Stats | undefined;
    try {
      stat = lstatSync(path, { throwIfNoEntry: false });
    } catch {
      return null;
    }
    if (stat === undefined || !stat.isFile()) return this.#forget(path);
    const recent = this.#recent.get(path);
    if (recent !== undefined && sameFile(recent, stat)) return recent.value;
    let fd: number;
    try {
      fd = openSync(path, READ_FLAGS);
    } catch {
      return this.#forget(path); // vanished, a symlink planted since, unreadable
    }
    try {
      const opened = fstatSync(fd);
      if (!opened.isFile() || opened.size < HEADER_SIZE || opened.size > bufferConstants.MAX_LENGTH) return this.#forget(path);
      // allocUnsafeSlow: the returned value is a view of this buffer, which must not share a pool slab.
      const buf = Buffer.allocUnsafeSlow(opened.size);
      const filled = opened.size <= SYNC_READ_LIMIT ? readFullSync(fd, buf) : await readFull(fd, buf);
      const value = filled === buf.length ? decodeFile(buf, key) : null;
      if (value === null) return this.#forget(path);
      this.#remember(path, opened, value);
      return value;
    } catch {
      return this.#forget(path);
    } finally {
      try {
        closeSync(fd);
      } catch {
        // nothing left to do with a descriptor that will not close
      }
    }
  }

  #remember(path: string, stat: Stats, value: Buffer): void {
    this.#forget(path);
    if (value.length > RECENT_BYTES / 4) return;
    this.#recent.set(path, { ino: stat.ino, size: stat.size, mtimeMs: stat.mtimeMs, ctimeMs: stat.ctimeMs, value });
    this.#recentBytes += value.length;
    for (const [oldest, r] of this.#recent) {
      if (this.#recent.size <= RECENT_ENTRIES && this.#recentBytes <= RECENT_BYTES) break;
      this.#recent.delete(oldest);
      this.#recentBytes -= r.value.length;
    }
  }

  #forget(path: string): null {
    const r = this.#recent.get(path);
    if (r !== undefined) {
      this.#recent.delete(path);
      this.#recentBytes -= r.value.length;
    }
    return null;
  }

  /** Stores `value` under `key`, replacing any previous file (or planted directory) at its path. */
  async set(key: string, value: Uint8Array): Promise<void> {
    const target = this.#requirePath(key);
    this.#forget(target);
    this.#swept ??= this.#sweepOrphans();
    await this.#swept;
    const temp = join(this.directory, `${TEMP_PREFIX}${process.pid}-${randomBytes(8).toString('hex')}`);
    try {
      await this.#writeNew(temp, [encodeHeader(key, value), value]);
      await replaceWith(temp, target);
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw cacheError(`Cannot store the cache entry ${target}`, error);
    }
  }

  /** Removes the entry for `key`; a missing entry is not an error. */
  async delete(key: string): Promise<void> {
    const target = this.#requirePath(key);
    this.#forget(target);
    try {
      await removeEntry(target);
    } catch (error) {
      throw cacheError(`Cannot delete the cache entry ${target}`, error);
    }
  }

  // Once per instance, before its first write: remove temp files of writers killed mid-write.
  // Best effort; a failure here must never fail a set.
  async #sweepOrphans(): Promise<void> {
    try {
      const now = Date.now();
      for (const name of await readdir(this.directory)) {
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

  #pathOf(key: string): string | null {
    const known = this.#names.get(key);
    if (known !== undefined) return known;
    let path: string | null;
    try {
      const name = this.#safe(key);
      path = isSafeSegment(name) ? join(this.directory, name) : null;
    } catch {
      return null;
    }
    // Hashing the key is a third of a fresh hit's cost; the mapping never changes for an instance.
    if (this.#names.size >= NAME_MEMO_ENTRIES) this.#names.clear();
    this.#names.set(key, path);
    return path;
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
    !name.startsWith(TEMP_PREFIX) &&
    !/[/\\\0]/.test(name) &&
    Buffer.byteLength(name) <= 255
  );
}

function encodeHeader(key: string, value: Uint8Array): Buffer {
  const keyBytes = Buffer.from(key, 'utf8');
  if (value.length > 0xffffffff) throw new RangeError('A cache value is limited to 4 GiB');
  const head = Buffer.alloc(HEADER_SIZE + keyBytes.length);
  head.writeUInt32BE(MAGIC, 0);
  head.writeUInt8(VERSION, 4);
  head.writeUInt32BE(value.length, 8);
  head.writeUInt32BE(keyBytes.length, 12);
  head.writeUInt32BE(crc32(value, crc32(keyBytes)), 16);
  keyBytes.copy(head, HEADER_SIZE);
  return head;
}

/** The value in a file's bytes, or null unless magic, version, size, key and checksum all agree. */
function decodeFile(buf: Buffer, key: string): Buffer | null {
  if (buf.readUInt32BE(0) !== MAGIC || buf[4] !== VERSION) return null;
  const keyEnd = HEADER_SIZE + buf.readUInt32BE(12);
  if (keyEnd + buf.readUInt32BE(8) !== buf.length) return null; // truncated or padded
  const keyBytes = buf.subarray(HEADER_SIZE, keyEnd);
  // Compared as text: a key that is not well-formed UTF-16 never matches, so it is never served.
  if (keyBytes.toString('utf8') !== key) return null;
  const value = buf.subarray(keyEnd);
  return crc32(value, crc32(keyBytes)) === buf.readUInt32BE(16) ? value : null;
}

// rename(2) replaces a file or a symlink atomically (the link itself, never its target). Only a
// directory planted at the path refuses; it sits at a name derived from our key in our private
// directory, so it is removed and the rename retried once.
async function replaceWith(temp: string, target: string): Promise<void> {
  try {
    await rename(temp, target);
  } catch (error) {
    if (!(await isDirectory(target))) throw error;
    await rm(target, { recursive: true, force: true });
    await rename(temp, target);
  }
}

async function removeEntry(target: string): Promise<void> {
  try {
    await unlink(target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (!(await isDirectory(target))) throw error;
    await rm(target, { recursive: true, force: true });
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isDirectory();
  } catch {
    return false;
  }
}

function readFullSync(fd: number, buf: Buffer): number {
  let filled = 0;
  while (filled < buf.length) {
    const n = readSync(fd, buf, filled, buf.length - filled, filled);
    if (n === 0) break;
    filled += n;
  }
  return filled;
}

async function readFull(fd: number, buf: Buffer): Promise<number> {
  let filled = 0;
  while (filled < buf.length) {
    const n = await new Promise<number>((done, fail) => {
      read(fd, buf, filled, buf.length - filled, filled, (error, bytes) => (error ? fail(error) : done(bytes)));
    });
    if (n === 0) break;
    filled += n;
  }
  return filled;
}

function cacheError(message: string, cause: unknown): HttpLib2Error {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new HttpLib2Error(`${message}${detail}`, { code: 'ERR_CACHE', cause });
}
