/**
 * The layout of one FileCache file: a 20-byte header, the key, the value, with a CRC-32 of key and
 * value. Encodes a header and checks a file's bytes; it does no I/O and never throws on bytes read
 * from disk (anything that does not check out is `null`).
 */
import { crc32 } from 'node:zlib';

// File layout, all integers big-endian:
//   0  4  magic "h2tc"          8  4  value length in bytes
//   4  1  format version (1)    12 4  key length in bytes
//   5  3  reserved (0)          16 4  CRC-32 of key bytes then value bytes
//   20 …  key (UTF-8), then the value; the file size must be exactly 20 + key + value.
// CRC-32 rather than SHA-256: it catches truncation and bit flips (every burst up to 32 bits) at a
// fifth of the cost, and the stored key, not the checksum, is what tells a foreign file apart.
const MAGIC = 0x68327463; // "h2tc"
const VERSION = 1;
/** Bytes before the key. */
export const HEADER_SIZE = 20;

/** Names of files being written (renamed into place when complete). */
export const TEMP_PREFIX = '.tmp-';
/** Names of the files a bounded FileCache keeps beside the entries (never an entry's name). */
export const CONTROL_PREFIX = '.h2ts-';

/** True for a name in a cache directory that is not an entry's: a temp file or a control file. */
export function isReservedName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX) || name.startsWith(CONTROL_PREFIX);
}

/** The header (and key bytes) that go before `value` in the file for `key`. */
export function encodeHeader(key: string, value: Uint8Array): Buffer {
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

/**
 * The size the whole file must have according to its first bytes (at least {@link HEADER_SIZE}), or
 * null when they are not a header of ours: a reader learns from one read how much there is to read.
 */
export function fileSizeOf(head: Buffer): number | null {
  if (head.length < HEADER_SIZE || head.readUInt32BE(0) !== MAGIC || head[4] !== VERSION) return null;
  return HEADER_SIZE + head.readUInt32BE(12) + head.readUInt32BE(8);
}

/** The value in a file's bytes, or null unless magic, version, size, key and checksum all agree. */
export function decodeFile(buf: Buffer, key: string): Buffer | null {
  const read = checkFile(buf);
  // Compared as text: a key that is not well-formed UTF-16 never matches, so it is never served.
  return read.problem === null && read.key === key ? read.value : null;
}

/** What a file holds, or why it cannot be trusted (its key and value are then unknown). */
export type FileCheck =
  | { readonly problem: null; readonly key: string; readonly value: Buffer }
  | { readonly problem: string };

/** A file's key and value, or what is wrong with it: its header, its size or its checksum. */
export function checkFile(buf: Buffer): FileCheck {
  const size = fileSizeOf(buf);
  if (size === null) return { problem: 'not a cache file (unknown header)' };
  if (size !== buf.length) return { problem: size > buf.length ? 'truncated' : 'longer than its header says' };
  const keyEnd = HEADER_SIZE + buf.readUInt32BE(12);
  const keyBytes = buf.subarray(HEADER_SIZE, keyEnd);
  const value = buf.subarray(keyEnd);
  if (crc32(value, crc32(keyBytes)) !== buf.readUInt32BE(16)) return { problem: 'checksum mismatch (damaged)' };
  return { problem: null, key: keyBytes.toString('utf8'), value };
}
