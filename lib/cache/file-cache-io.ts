/**
 * The file operations of a FileCache: reading one entry file whole with as few system calls as it
 * allows, and putting a file in place or removing one, a directory planted at its name included.
 * It never follows a symlink and never throws on a file's content (that is a null).
 */
import { read, readSync } from 'node:fs';
import { lstat, rename, rm, unlink } from 'node:fs/promises';
import { constants as bufferConstants } from 'node:buffer';
import { decodeFile, fileSizeOf } from './file-cache-format.js';

// Measured on a fresh hit of a 2 KB entry: a synchronous open/read/close costs ~10 µs, the
// fs/promises equivalent ~250 µs (four thread-pool round trips), slower than a loopback GET. Small
// files are therefore read synchronously; larger ones asynchronously so the event loop never stalls.
const SYNC_READ_LIMIT = 128 * 1024;
// A read starts with one read(2) of this many bytes, which holds a whole file of most entries: the
// header then says how long the file is, so no stat is needed to size the buffer (#15).
const FIRST_READ_BYTES = 64 * 1024;
// Reused by every synchronous first read (nothing awaits between the read and the copy out of it).
const firstRead = Buffer.allocUnsafeSlow(FIRST_READ_BYTES);
const oneByte = Buffer.alloc(1);

/**
 * The value of the entry file open at `fd` for `key`, or null when it is not a whole, verified file
 * of that key. `own(length)` is asked once about a value found: true to have it in a buffer of its
 * own (so that keeping it keeps nothing else alive). A small file is read into a buffer every read
 * reuses, so its value is copied out before anything can await (another read would overwrite it).
 */
export async function readValue(fd: number, key: string, own: (length: number) => boolean): Promise<Buffer | null> {
  const got = readSync(fd, firstRead, 0, FIRST_READ_BYTES, 0);
  const size = fileSizeOf(firstRead.subarray(0, got));
  if (size === null || size > bufferConstants.MAX_LENGTH || size < got) return null;
  if (size > got) {
    // Read into a buffer of its exact size: the value is a view of it, already its own.
    const whole = await readRest(fd, size, got);
    const value = whole === null ? null : decodeFile(whole, key);
    if (value !== null) own(value.length);
    return value;
  }
  // A short read ended at the end of the file; only a full one may have left bytes unread.
  if (got === FIRST_READ_BYTES && hasMore(fd, size)) return null;
  const value = decodeFile(firstRead.subarray(0, size), key);
  if (value === null) return null;
  const out = own(value.length) ? Buffer.allocUnsafeSlow(value.length) : Buffer.allocUnsafe(value.length);
  value.copy(out);
  return out;
}

// rename(2) replaces a file or a symlink atomically (the link itself, never its target). Only a
// directory planted at the path refuses; it sits at a name derived from our key in our private
// directory, so it is removed and the rename retried once.
export async function replaceWith(temp: string, target: string): Promise<void> {
  try {
    await rename(temp, target);
  } catch (error) {
    if (!(await isDirectory(target))) throw error;
    await rm(target, { recursive: true, force: true });
    await rename(temp, target);
  }
}

/** Removes the file (or a directory planted) at `target`; a missing one is not an error. */
export async function removeEntry(target: string): Promise<void> {
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

// A file larger than the first read: a buffer of its exact size, the first bytes copied in, the rest
// read into place (synchronously up to SYNC_READ_LIMIT); null when the file ends early or goes on.
async function readRest(fd: number, size: number, got: number): Promise<Buffer | null> {
  // allocUnsafeSlow: the value returned is a view of this buffer, which must not share a pool slab.
  const buf = Buffer.allocUnsafeSlow(size);
  firstRead.copy(buf, 0, 0, got);
  const filled = size <= SYNC_READ_LIMIT ? readFullSync(fd, buf, got) : await readFull(fd, buf, got);
  return filled === size && !hasMore(fd, size) ? buf : null;
}

// A file with bytes past the size its header gives is not one we wrote (or was written over).
function hasMore(fd: number, size: number): boolean {
  return readSync(fd, oneByte, 0, 1, size) !== 0;
}

function readFullSync(fd: number, buf: Buffer, from: number): number {
  let filled = from;
  while (filled < buf.length) {
    const n = readSync(fd, buf, filled, buf.length - filled, filled);
    if (n === 0) break;
    filled += n;
  }
  return filled;
}

async function readFull(fd: number, buf: Buffer, from: number): Promise<number> {
  let filled = from;
  while (filled < buf.length) {
    const n = await new Promise<number>((done, fail) => {
      read(fd, buf, filled, buf.length - filled, filled, (error, bytes) => (error ? fail(error) : done(bytes)));
    });
    if (n === 0) break;
    filled += n;
  }
  return filled;
}

