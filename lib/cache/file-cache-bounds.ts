/**
 * Keeps a FileCache directory within `maxBytes` and `maxEntries`, whatever number of processes write
 * to it: every write makes room before its file is renamed into place, under a lock file, counting
 * with a small usage record; room is made by removing the least recently used entries (oldest mtime:
 * a write sets it, a hit refreshes it). A process killed at any point leaves at worst a stale lock
 * (broken after its time) and a usage record that the next write rebuilds. It never removes the
 * entry being written, the identity key, a temp file or anything that is not a file of the cache.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, linkSync, lstatSync, openSync, readFileSync, renameSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { lstat, opendir } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { CONTROL_PREFIX, isReservedName } from './file-cache-format.js';

/** The bounds of one directory. */
export interface Bounds {
  readonly maxBytes: number;
  readonly maxEntries: number;
}

const LOCK = `${CONTROL_PREFIX}lock`;
const USAGE = `${CONTROL_PREFIX}usage`;
// A lock older than this was left by a process that died: no holder keeps it this long without
// refreshing it (a scan refreshes it every second).
const LOCK_STALE_MS = 10_000;
const LOCK_REFRESH_MS = 1_000;
// Counts drift when something else writes or removes files (a FileCache without bounds, a user's
// `rm`): recounted at least this often.
const RECOUNT_MS = 60 * 60 * 1000;
// Room is made down to 90% of a bound, so a full directory is scanned once per tenth of its size
// written, not on every write.
const SLACK = 0.1;
const FILE_MODE = 0o600;

/** What the directory holds, as counted (bytes and number of entry files) and when last scanned. */
interface Usage {
  bytes: number;
  entries: number;
  scannedAt: number;
}

// usage file: "h2tu", version 1, 3 reserved, bytes f64, entries f64, scannedAt f64, CRC-32 of the 32
// bytes before it. A torn or foreign record reads as none, and the directory is counted again.
const USAGE_MAGIC = 0x68327475;
const USAGE_SIZE = 36;

function encodeUsage(u: Usage): Buffer {
  const buf = Buffer.alloc(USAGE_SIZE);
  buf.writeUInt32BE(USAGE_MAGIC, 0);
  buf.writeUInt8(1, 4);
  buf.writeDoubleBE(u.bytes, 8);
  buf.writeDoubleBE(u.entries, 16);
  buf.writeDoubleBE(u.scannedAt, 24);
  buf.writeUInt32BE(crc32(buf.subarray(0, 32)), 32);
  return buf;
}

function decodeUsage(buf: Buffer): Usage | null {
  if (buf.length !== USAGE_SIZE || buf.readUInt32BE(0) !== USAGE_MAGIC || buf[4] !== 1) return null;
  if (crc32(buf.subarray(0, 32)) !== buf.readUInt32BE(32)) return null;
  const usage = { bytes: buf.readDoubleBE(8), entries: buf.readDoubleBE(16), scannedAt: buf.readDoubleBE(24) };
  return usage.bytes >= 0 && usage.entries >= 0 ? usage : null;
}

/**
 * Forgets the count of a directory whose files were removed by other means (an inspection's purge):
 * the next bounded write counts it again.
 */
export function forgetUsage(directory: string): void {
  try {
    unlinkSync(join(directory, USAGE));
  } catch {
    // none, or not removable: it is recounted on its age
  }
}

/** One file of the directory as a scan saw it. */
interface Seen {
  readonly name: string;
  readonly size: number;
  readonly mtimeMs: number;
}

/**
 * The keeper of one directory's bounds. `pinned` names files never evicted (the identity key every
 * process on the directory shares).
 */
export class BoundKeeper {
  readonly #directory: string;
  readonly #bounds: Bounds;
  readonly #pinned: ReadonlySet<string>;

  constructor(directory: string, bounds: Bounds, pinned: readonly string[]) {
    this.#directory = directory;
    this.#bounds = bounds;
    this.#pinned = new Set(pinned);
  }

  /** True when a file of `size` bytes can never fit. */
  tooLarge(size: number): boolean {
    return size > this.#bounds.maxBytes;
  }

  /**
   * Puts `temp` (a complete file of `size` bytes) in place as `name`, after making room for it, and
   * counts it; `replace` does the rename. Under the directory's lock.
   */
  async place(temp: string, name: string, size: number, replace: (temp: string, target: string) => Promise<void>): Promise<void> {
    await this.#locked(async (lock) => {
      const target = join(this.#directory, name);
      const old = sizeOf(target);
      let usage = lock.broken ? null : this.#readUsage();
      if (usage === null || Date.now() - usage.scannedAt > RECOUNT_MS) usage = await this.#scan(lock, null, 0);
      const bytes = usage.bytes - old.size + size;
      const entries = usage.entries - (old.exists ? 1 : 0) + 1;
      if (bytes > this.#bounds.maxBytes || entries > this.#bounds.maxEntries) usage = await this.#scan(lock, name, size);
      await replace(temp, target);
      const placed = sizeOf(target);
      this.#writeUsage({ ...usage, bytes: usage.bytes - old.size + placed.size, entries: usage.entries + (old.exists ? 0 : 1) });
    });
  }

  /** Removes the file `name` (with `remove`) and counts it. Under the directory's lock. */
  async remove(name: string, remove: (target: string) => Promise<void>): Promise<void> {
    await this.#locked(async (lock) => {
      const target = join(this.#directory, name);
      const old = sizeOf(target);
      await remove(target);
      const usage = lock.broken ? null : this.#readUsage();
      if (usage !== null && old.exists) this.#writeUsage({ ...usage, bytes: Math.max(0, usage.bytes - old.size), entries: Math.max(0, usage.entries - 1) });
    });
  }


  // Counts the directory; with `incoming`, also removes the least recently used files (never that
  // one nor a pinned one) until a file of `size` bytes fits under 90% of each bound.
  async #scan(lock: Held, incoming: string | null, size: number): Promise<Usage> {
    const seen: Seen[] = [];
    let bytes = 0;
    for await (const dirent of await opendir(this.#directory)) {
      if (isReservedName(dirent.name) || dirent.isDirectory()) continue;
      const info = await lstat(join(this.#directory, dirent.name)).catch(() => null);
      if (info === null || info.isDirectory()) continue;
      seen.push({ name: dirent.name, size: info.size, mtimeMs: info.mtimeMs });
      bytes += info.size;
      lock.refresh();
    }
    let entries = seen.length;
    if (incoming !== null) {
      const current = seen.find((s) => s.name === incoming);
      const byteGoal = goal(this.#bounds.maxBytes);
      const entryGoal = goal(this.#bounds.maxEntries);
      // After the write: the incoming file replaces its current version, if any.
      let after = bytes - (current?.size ?? 0) + size;
      let count = entries - (current ? 1 : 0) + 1;
      const victims = seen.filter((s) => s.name !== incoming && !this.#pinned.has(s.name)).sort((a, b) => a.mtimeMs - b.mtimeMs);
      for (const victim of victims) {
        if (after <= byteGoal && count <= entryGoal) break;
        if (!removeFile(join(this.#directory, victim.name))) continue;
        after -= victim.size;
        count--;
        bytes -= victim.size;
        entries--;
        lock.refresh();
      }
    }
    return { bytes, entries, scannedAt: Date.now() };
  }

  #readUsage(): Usage | null {
    try {
      return decodeUsage(readFileSync(join(this.#directory, USAGE)));
    } catch {
      return null;
    }
  }

  // Written in place: a torn record fails its CRC and is counted again, so no temp file is needed.
  #writeUsage(usage: Usage): void {
    try {
      writeFileSync(join(this.#directory, USAGE), encodeUsage(usage), { mode: FILE_MODE });
    } catch {
      // the count is rebuilt by the next write that finds it missing
    }
  }

  // One holder at a time per directory, across processes: a lock file made with O_EXCL. A lock older
  // than LOCK_STALE_MS is broken (renamed away, so two breakers cannot both take it), and the usage
  // record it protected is not trusted.
  async #locked(work: (lock: Held) => Promise<void>): Promise<void> {
    const path = join(this.#directory, LOCK);
    let broken = false;
    let ino = tryLock(path);
    for (let delay = 1; ino === null; delay = Math.min(delay * 2, 20)) {
      const state = breakIfStale(path);
      if (state === 'broken') broken = true;
      else if (state === 'held') await new Promise((resolve) => setTimeout(resolve, delay));
      ino = tryLock(path);
    }
    const held = new Held(path, broken);
    try {
      await work(held);
    } finally {
      releaseLock(path, ino);
    }
  }
}

/** A held lock: whether a stale one was broken to get it, and a refresh for long work. */
class Held {
  readonly #path: string;
  readonly broken: boolean;
  #refreshed = Date.now();

  constructor(path: string, broken: boolean) {
    this.#path = path;
    this.broken = broken;
  }

  /** Tells the other processes the holder is alive (at most once a second). */
  refresh(): void {
    const now = Date.now();
    if (now - this.#refreshed < LOCK_REFRESH_MS) return;
    this.#refreshed = now;
    try {
      utimesSync(this.#path, new Date(now), new Date(now));
    } catch {
      // broken by someone who thought it stale: the counts are redone by the next holder
    }
  }
}

// O_EXCL: exactly one process creates the file. Its inode tells our lock from a later holder's.
function tryLock(path: string): number | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, FILE_MODE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw error;
  }
  try {
    return fstatSync(fd).ino;
  } finally {
    closeSync(fd);
  }
}

// 'released': gone meanwhile, try again at once; 'held': wait; 'broken': it was stale, now gone.
function breakIfStale(path: string): 'released' | 'held' | 'broken' {
  const info = lstatSync(path, { throwIfNoEntry: false });
  if (info === undefined) return 'released';
  if (Date.now() - info.mtimeMs <= LOCK_STALE_MS) return 'held';
  const aside = `${path}-stale-${randomBytes(6).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch {
    return 'released'; // another process broke it first
  }
  // Between the lstat and the rename, another breaker may have broken the stale lock and taken a new
  // one: that one goes back (a link fails if yet another lock is there), and we wait.
  const moved = lstatSync(aside, { throwIfNoEntry: false });
  const fresh = moved !== undefined && Date.now() - moved.mtimeMs <= LOCK_STALE_MS;
  try {
    if (fresh) linkSync(aside, path);
  } catch {
    // a lock is there again
  }
  try {
    unlinkSync(aside);
  } catch {
    // left aside; a reserved name, never taken for an entry
  }
  return fresh ? 'held' : 'broken';
}

function releaseLock(path: string, ino: number): void {
  try {
    // Only our own lock: after a long pause it may have been broken and taken by another process.
    if (lstatSync(path, { throwIfNoEntry: false })?.ino === ino) unlinkSync(path);
  } catch {
    // already gone
  }
}

// A bound less its slack (a tenth, rounded down: none for a bound under 10).
function goal(bound: number): number {
  return bound === Infinity ? Infinity : bound - Math.floor(bound * SLACK);
}

function sizeOf(path: string): { exists: boolean; size: number } {
  try {
    const info = lstatSync(path, { throwIfNoEntry: false });
    return info === undefined || info.isDirectory() ? { exists: false, size: 0 } : { exists: true, size: info.size };
  } catch {
    return { exists: false, size: 0 };
  }
}

function removeFile(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}
