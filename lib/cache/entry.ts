/**
 * The stored form of a cache entry: one Buffer holding a magic tag, a format version, the response
 * head with its Vary-selected request headers, identity, times and the origin's not-before time if
 * it gave one (JSON), the body bytes as they are, and a CRC-32 over all of it. Anything that does
 * not parse and verify reads as null, a miss; this module never throws on stored bytes and never
 * decides anything about HTTP.
 */
import { crc32 } from 'node:zlib';
import type { StoredResponse } from './freshness.js';
import { emptyRecord, NO_FIELDS } from '../headers.js';

/** A stored response with its decoded body. */
export interface CacheEntry extends StoredResponse {
  readonly body: Buffer;
}

/** Bumped whenever the layout changes; other versions read as a miss. */
export const ENTRY_VERSION = 2;

const MAGIC = Buffer.from('HL2C', 'latin1');
// CRC-32 (version 2; version 1 used SHA-256): it catches truncation and every burst error up to 32
// bits, which is what a damaged file or a store returning garbage produces, at a small fraction of
// the cost of a cryptographic hash on every hit. It is an integrity check, not an authentication:
// whoever can write the store can write any response anyway.
const DIGEST_BYTES = 4;
// magic + version byte + head length
const PREFIX_BYTES = MAGIC.length + 1 + 4;

interface Head {
  key: string;
  status: number;
  reason: string;
  version: number;
  headers: Array<[string, string]>;
  vary: Array<[string, string | null]>;
  identity: string | null;
  requestTime: number;
  responseTime: number;
  // Added within version 2: entries without it read as before, and older readers ignore it.
  notBefore?: number;
}

/** Serialises an entry: `HL2C`, version, head length (uint32 BE), JSON head, body, CRC-32 (uint32 BE). */
export function serialiseEntry(entry: CacheEntry): Buffer {
  const head: Head = {
    key: entry.key,
    status: entry.status,
    reason: entry.reason,
    version: entry.version,
    // Pairs rather than an object, so a header named __proto__ round-trips as data.
    headers: Object.entries(entry.headers),
    vary: Object.entries(entry.vary),
    identity: entry.identity,
    requestTime: entry.requestTime,
    responseTime: entry.responseTime,
    ...(entry.notBefore === undefined ? {} : { notBefore: entry.notBefore }),
  };
  const json = Buffer.from(JSON.stringify(head), 'utf8');
  const prefix = Buffer.alloc(PREFIX_BYTES);
  MAGIC.copy(prefix, 0);
  prefix.writeUInt8(ENTRY_VERSION, MAGIC.length);
  prefix.writeUInt32BE(json.length, MAGIC.length + 1);
  const digest = Buffer.alloc(DIGEST_BYTES);
  digest.writeUInt32BE(crc32(entry.body, crc32(json, crc32(prefix))));
  return Buffer.concat([prefix, json, entry.body, digest]);
}

/**
 * Parses what a store returned. Stores may hand back a Buffer, any Uint8Array, or a string (some keyv
 * backends); null for anything that is not a complete entry of this version with a valid checksum.
 */
export function parseEntry(value: unknown): CacheEntry | null {
  const bytes = toBuffer(value);
  if (bytes === null || bytes.length < PREFIX_BYTES + DIGEST_BYTES) return null;
  if (!bytes.subarray(0, MAGIC.length).equals(MAGIC)) return null;
  if (bytes.readUInt8(MAGIC.length) !== ENTRY_VERSION) return null;
  const headLength = bytes.readUInt32BE(MAGIC.length + 1);
  const bodyStart = PREFIX_BYTES + headLength;
  const digestStart = bytes.length - DIGEST_BYTES;
  if (bodyStart > digestStart) return null;
  if (crc32(bytes.subarray(0, digestStart)) !== bytes.readUInt32BE(digestStart)) return null;
  let head: unknown;
  try {
    head = JSON.parse(bytes.subarray(PREFIX_BYTES, bodyStart).toString('utf8'));
  } catch {
    return null;
  }
  if (!isHead(head)) return null;
  return {
    key: head.key,
    status: head.status,
    reason: head.reason,
    version: head.version,
    headers: toRecord(head.headers),
    vary: toRecord(head.vary),
    identity: head.identity,
    requestTime: head.requestTime,
    responseTime: head.responseTime,
    ...(head.notBefore === undefined ? {} : { notBefore: head.notBefore }),
    // A view, not a copy: the entry is read-only, and the driver copies the body for each caller.
    body: bytes.subarray(bodyStart, digestStart),
  };
}

function toBuffer(value: unknown): Buffer | null {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  // A string store can only have kept our bytes as latin1 (one char per byte) or base64.
  if (typeof value === 'string') {
    const latin1 = Buffer.from(value, 'latin1');
    return latin1.subarray(0, MAGIC.length).equals(MAGIC) ? latin1 : Buffer.from(value, 'base64');
  }
  return null;
}

// The records of a parsed entry inherit nothing (headers.ts, emptyRecord): kept for as long as its
// stored value (MemoryCache, the FileCache memo), a parse took half the memory once its records were
// no longer null-prototype hash tables (881 → 473 bytes for a 4-field head); an entry without Vary
// shares the one empty record (#15).

function toRecord<T>(pairs: Array<[string, T]>): Record<string, T> {
  if (pairs.length === 0) return NO_FIELDS;
  const out = emptyRecord<T>();
  for (const [k, v] of pairs) out[k] = v;
  return out;
}

function isPairs(x: unknown, allowNull: boolean): x is Array<[string, string | null]> {
  return Array.isArray(x) && x.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string'
    && (typeof p[1] === 'string' || (allowNull && p[1] === null)));
}

function isHead(x: unknown): x is Head {
  const h = x as Partial<Head> | null;
  return typeof h === 'object' && h !== null
    && typeof h.key === 'string'
    && Number.isInteger(h.status) && (h.status as number) >= 100 && (h.status as number) <= 999
    && typeof h.reason === 'string'
    && typeof h.version === 'number'
    && isPairs(h.headers, false)
    && isPairs(h.vary, true)
    && (h.identity === null || typeof h.identity === 'string')
    && Number.isFinite(h.requestTime) && Number.isFinite(h.responseTime)
    && (h.notBefore === undefined || Number.isFinite(h.notBefore));
}
