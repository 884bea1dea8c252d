/**
 * Lists the files of a FileCache directory for inspection (each read whole and checked), and removes
 * one listed file unless another has taken its name since. Never follows a symlink, never descends
 * into a subdirectory, never touches a temp or control file.
 */
import { constants } from 'node:fs';
import { lstat, open, opendir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { checkFile, isReservedName } from './file-cache-format.js';
import type { RecordRef, StoredRecord } from './listing.js';

/** A listed file: its name, the key it holds (if readable) and its inode when listed. */
export interface FileRef extends RecordRef {
  readonly location: string;
  readonly ino: number;
}

/** True for a ref a FileCache listing made. */
export function isFileRef(ref: RecordRef): ref is FileRef {
  return typeof ref.location === 'string' && typeof (ref as Partial<FileRef>).ino === 'number';
}

// As get: no symlink followed, no FIFO waited on.
const READ_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/** Every file of `directory` but temp and control files, read and checked against `safe`. */
export async function* listFiles(directory: string, safe: (key: string) => string): AsyncGenerator<StoredRecord> {
  // opendir streams the names: a directory of 100,000 entries is never held as one array.
  for await (const dirent of await opendir(directory)) {
    if (isReservedName(dirent.name) || dirent.isDirectory()) continue;
    const record = await readRecord(directory, dirent.name, safe);
    if (record !== null) yield record;
  }
}

async function readRecord(directory: string, name: string, safe: (key: string) => string): Promise<StoredRecord | null> {
  const path = join(directory, name);
  const info = await lstat(path).catch(() => null);
  if (info === null || info.isDirectory()) return null; // gone since the listing, or not ours
  if (!info.isFile()) {
    const problem = info.isSymbolicLink() ? 'a symbolic link (never followed)' : 'not a regular file';
    return { ref: fileRef(name, null, info.ino), value: null, problem, size: info.size };
  }
  let bytes: Buffer;
  let ino: number;
  try {
    const handle = await open(path, READ_FLAGS);
    try {
      ino = (await handle.stat()).ino;
      bytes = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return { ref: fileRef(name, null, info.ino), value: null, problem: `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`, size: info.size };
  }
  const check = checkFile(bytes);
  if (check.problem !== null) return { ref: fileRef(name, null, ino), value: null, problem: check.problem, size: bytes.length };
  // A file holding a key whose name is another never answers that key: copied or planted there.
  if (nameOf(safe, check.key) !== name) {
    return { ref: fileRef(name, check.key, ino), value: null, problem: "under another key's file name", size: bytes.length };
  }
  return { ref: fileRef(name, check.key, ino), value: check.value, problem: null, size: bytes.length };
}

function nameOf(safe: (key: string) => string, key: string): string | null {
  try {
    return safe(key);
  } catch {
    return null;
  }
}

function fileRef(location: string, key: string | null, ino: number): FileRef {
  return { location, key, ino };
}

/**
 * Removes the listed file if the file at its name is still the one listed (same inode): a new entry
 * stored under that name since is left alone. False when it is gone or replaced.
 */
export async function removeListed(directory: string, ref: FileRef): Promise<boolean> {
  // A ref names one file of this directory, nothing else.
  if (ref.location.includes('/') || ref.location === '.' || ref.location === '..' || isReservedName(ref.location)) return false;
  const path = join(directory, ref.location);
  const info = await lstat(path).catch(() => null);
  if (info === null || info.isDirectory() || info.ino !== ref.ino) return false;
  try {
    await unlink(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
