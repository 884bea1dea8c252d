/**
 * The single-flight leases of a FileCache directory: one lease file per key, under a reserved name
 * (never listed, counted, evicted nor inspected as an entry), holding its holder's token and when it
 * runs out. A lease is written whole to a temp file and linked into place, so exactly one process
 * creates it (link fails on an existing name, like O_EXCL) and nobody ever reads half of one. An
 * expired lease (its holder died) is taken over; a lease is only ever removed by its own holder, or
 * once expired.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, linkSync, openSync, readSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LEASE_PREFIX, TEMP_PREFIX } from './file-cache-format.js';
import { leaseDigest, newLeaseToken } from './lease.js';

const FILE_MODE = 0o600;
// As entries are read: a symlink planted at a lease's name is never followed, a FIFO never blocks.
const READ_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);
// A lease file is 53 to 68 bytes; one read of this many tells a lease from anything else.
const READ_BYTES = 128;
// "h2tl 1 <token> <expires, ms since the epoch>"
const LEASE_FORMAT = /^h2tl 1 ([0-9a-f]{32}) ([0-9]{1,16})\n$/;

/** A lease as read from its file: null when the file is gone or is not a lease of ours. */
interface Lease {
  readonly token: string;
  readonly expires: number;
}

/** The file name of the lease on `key`. */
export function leaseName(key: string): string {
  return `${LEASE_PREFIX}${leaseDigest(key)}`;
}

/**
 * Takes the lease on `key` in `directory` for `ttlMs`: the token, or null while another holder's
 * runs. A lease file that cannot be read as one of ours is taken over as an expired one.
 */
export function acquireLease(directory: string, key: string, ttlMs: number): string | null {
  const path = join(directory, leaseName(key));
  const token = newLeaseToken();
  const temp = join(directory, `${TEMP_PREFIX}lease-${process.pid}-${randomBytes(6).toString('hex')}`);
  writeFileSync(temp, `h2tl 1 ${token} ${Date.now() + ttlMs}\n`, { flag: 'wx', mode: FILE_MODE });
  try {
    if (linked(temp, path)) return token;
    const held = readLease(path);
    if (held !== undefined && !isOver(held)) return null;
    // Over (or gone meanwhile): set aside, then try for it once more.
    if (!setAsideIfOver(path)) return null;
    return linked(temp, path) ? token : null;
  } finally {
    removeFile(temp);
  }
}

/** Gives back the lease on `key` if `token` still holds it. */
export function releaseLease(directory: string, key: string, token: string): void {
  const path = join(directory, leaseName(key));
  if (readLease(path)?.token !== token) return;
  const aside = `${path}-released-${randomBytes(6).toString('hex')}`;
  if (!moved(path, aside)) return;
  // Between the read and the rename, ours may have expired and another holder's taken its place: that
  // one goes back (unless yet another lease is there by now).
  const got = readLease(aside);
  if (got !== undefined && got !== null && got.token !== token) linked(aside, path);
  removeFile(aside);
}

/** Removes the lease file at `path` if it has run out (its holder died): the sweep of a directory. */
export function removeIfOver(path: string): void {
  const held = readLease(path);
  if (held !== undefined && isOver(held)) setAsideIfOver(path);
}

// The lease at `path`: undefined when there is none, null when the file is not a lease of ours.
function readLease(path: string): Lease | null | undefined {
  let fd: number;
  try {
    fd = openSync(path, READ_FLAGS);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : null;
  }
  const buf = Buffer.alloc(READ_BYTES);
  let got = 0;
  try {
    got = readSync(fd, buf, 0, READ_BYTES, 0);
  } catch {
    return null; // a directory or FIFO planted there
  } finally {
    closeSync(fd);
  }
  const match = LEASE_FORMAT.exec(buf.toString('latin1', 0, got));
  return match === null ? null : { token: match[1]!, expires: Number(match[2]) };
}

function isOver(lease: Lease | null): boolean {
  return lease === null || lease.expires <= Date.now();
}

// Sets an expired lease aside so it can be replaced. Two processes may both find it expired: the
// rename lets one of them move it; if what it moved is a fresh lease (another process took over the
// expired one in between), it goes back and the caller waits. True when the name is now free.
function setAsideIfOver(path: string): boolean {
  const aside = `${path}-expired-${randomBytes(6).toString('hex')}`;
  if (!moved(path, aside)) return true;
  const got = readLease(aside);
  const over = got === undefined || isOver(got);
  if (!over) linked(aside, path);
  removeFile(aside);
  return over;
}

// link(2) fails with EEXIST when the name is taken: the atomic create that makes one holder.
function linked(from: string, to: string): boolean {
  try {
    linkSync(from, to);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

function moved(from: string, to: string): boolean {
  try {
    renameSync(from, to);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone already; a reserved name otherwise, never taken for an entry
  }
}
