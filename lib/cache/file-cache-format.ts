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
  const read = parseFile(buf);
  // Compared as text: a key that is not well-formed UTF-16 never matches, so it is never served.
  return read !== null && read.key === key ? read.value : null;
}

/** A file's key and value, or null when its header, size or checksum do not check out. */
export function parseFile(buf: Buffer): { key: string; value: Buffer } | null {
  if (fileSizeOf(buf) !== buf.length) return null; // not ours, truncated or padded
  const keyEnd = HEADER_SIZE + buf.readUInt32BE(12);
  const keyBytes = buf.subarray(HEADER_SIZE, keyEnd);
  const value = buf.subarray(keyEnd);
  if (crc32(value, crc32(keyBytes)) !== buf.readUInt32BE(16)) return null;
  return { key: keyBytes.toString('utf8'), value };
}
