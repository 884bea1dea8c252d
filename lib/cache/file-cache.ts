/**
 * FileCache (httplib2's name): one file per key in a private directory. A file is written to a fresh
 * temp file beside it and renamed into place, and carries its key and a CRC-32 of key and value, so a
 * killed writer, a concurrent process, a damaged file or another key's file reads as a miss.
 * It must never write through a planted symlink, never leave the directory, never throw from `get`,
 * and never interpret the bytes it stores (they are the entry codec's business).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, mkdirSync, openSync, read, readSync } from 'node:fs';
import { lstat, mkdir, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { constants as bufferConstants } from 'node:buffer';
import { HttpLib2Error } from '../errors.js';
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
const DIR_MODE = 0o700;

/** Turns a cache key into a file name; it must return a single, non-empty path segment. */
export type SafeName = (key: string) => string;

/**
 * A cache directory with one file per key. httplib2: `httplib2.FileCache(dir_name, safe=safename)`.
 * The directory is created (mode 0700) if missing; entries are written atomically with mode 0600.
 * `get` resolves to `null` for a missing, damaged or foreign entry; `set` and `delete` reject with an
 * `HttpLib2Error` (code `ERR_CACHE`) when the file system refuses.
 */
export class FileCache implements CacheStore {
  /** Absolute path of the cache directory. */
  readonly directory: string;
  readonly #safe: SafeName;
  #swept: Promise<void> | null = null;

  /**
   * @param dir the cache directory, created (with its parents) if missing.
   * @param safe maps a key to a file name; the default is {@link safename}.
   * @throws HttpLib2Error (`ERR_CACHE`) when the directory cannot be created.
   */
  constructor(dir: string, safe: SafeName = safename) {
    this.directory = resolve(dir);
    this.#safe = safe;
    try {
      mkdirSync(this.directory, { recursive: true, mode: DIR_MODE });
    } catch (error) {
      throw cacheError(`Cannot create the cache directory ${this.directory}`, error);
    }
  }

  /** The stored value for `key`, or `null` when it is missing, damaged or belongs to another key. */
  async get(key: string): Promise<Buffer | null> {
    const path = this.#pathOf(key);
    if (path === null) return null;
    let fd: number;
    try {
      fd = openSync(path, READ_FLAGS);
    } catch {
      return null; // missing, a symlink, unreadable
    }
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile() || stat.size < HEADER_SIZE || stat.size > bufferConstants.MAX_LENGTH) return null;
      // allocUnsafeSlow: the returned value is a view of this buffer, which must not share a pool slab.
      const buf = Buffer.allocUnsafeSlow(stat.size);
      const filled = stat.size <= SYNC_READ_LIMIT ? readFullSync(fd, buf) : await readFull(fd, buf);
      return filled === buf.length ? decodeFile(buf, key) : null;
    } catch {
      return null;
    } finally {
      try {
        closeSync(fd);
      } catch {
        // nothing left to do with a descriptor that will not close
      }
    }
  }

  /** Stores `value` under `key`, replacing any previous file (or planted directory) at its path. */
  async set(key: string, value: Uint8Array): Promise<void> {
    const target = this.#requirePath(key);
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
      await mkdir(this.directory, { recursive: true, mode: DIR_MODE });
      await writeFile(temp, chunks, options);
    }
  }

  #pathOf(key: string): string | null {
    let name: string;
    try {
      name = this.#safe(key);
    } catch {
      return null;
    }
    return isSafeSegment(name) ? join(this.directory, name) : null;
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
