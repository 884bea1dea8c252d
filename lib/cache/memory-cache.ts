/**
 * MemoryCache: a bounded in-process store for tests and short-lived programs, evicting the least
 * recently used entries (approximately: a clock, clock.ts) past a count or byte budget. It copies bytes in and out so no caller can
 * change what another one reads, and it must never grow past its bounds.
 */
import { HttpLib2Error } from '../errors.js';
import { ClockHand, type ClockSlot } from './clock.js';
import { newLeaseToken } from './lease.js';
import type { ListableStore, RecordRef, StoredRecord } from './listing.js';
import { READ_SHARED, type CacheStore } from './store.js';

/** Bounds of a {@link MemoryCache}. */
export interface MemoryCacheOptions {
  /** Most entries kept. @default 1000 */
  maxEntries?: number;
  /** Most bytes kept (values plus keys, counted in UTF-16 code units ×2). @default 64 MiB */
  maxBytes?: number;
}

const DEFAULT_MAX_ENTRIES = 1000;
const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

/**
 * An in-memory store evicting the least recently used entries first, approximately: a read marks its
 * entry used, and eviction passes over (and unmarks) the entries used since it last looked, taking the
 * oldest one not read meanwhile (a clock, or second chance). `get` resolves to `null` for a missing
 * key. A value larger than `maxBytes` is not kept (and removes any older value under its key).
 */
export class MemoryCache implements CacheStore, ListableStore {
  /** Most entries kept. */
  readonly maxEntries: number;
  /** Most bytes kept. */
  readonly maxBytes: number;
  // In the order they were stored; a hit marks its entry used instead of moving it (#15).
  readonly #entries = new Map<string, Held>();
  readonly #clock = new ClockHand(this.#entries);
  #bytes = 0;
  // Single-flight leases of the Http instances sharing this cache: a token and when it runs out.
  readonly #leases = new Map<string, { readonly token: string; readonly expires: number }>();

  /** @throws HttpLib2Error (`ERR_INVALID_REQUEST`) naming a bound that is not a positive number. */
  constructor(options: MemoryCacheOptions = {}) {
    this.maxEntries = checkBound('maxEntries', options.maxEntries ?? DEFAULT_MAX_ENTRIES);
    this.maxBytes = checkBound('maxBytes', options.maxBytes ?? DEFAULT_MAX_BYTES);
  }

  /** How many entries are held. */
  get size(): number {
    return this.#entries.size;
  }

  /** How many bytes are held (values plus keys). */
  get bytes(): number {
    return this.#bytes;
  }

  /** A copy of the value for `key`, or `null`; marks it used. */
  get(key: string): Promise<Buffer | null> {
    const value = this.#use(key);
    return Promise.resolve(value === null ? null : Buffer.from(value));
  }

  /** The cache layer's read (store.ts): the value held, not a copy; marks it used. */
  [READ_SHARED](key: string): Promise<Buffer | null> {
    return Promise.resolve(this.#use(key));
  }

  #use(key: string): Buffer | null {
    const held = this.#entries.get(key);
    if (held === undefined) return null;
    held.used = true;
    return held.value;
  }

  /** Stores a copy of `value`, evicting the least recently used entries (by the clock) past the bounds. */
  set(key: string, value: Uint8Array): Promise<void> {
    this.#remove(key);
    const cost = costOf(key, value);
    if (cost <= this.maxBytes) {
      this.#entries.set(key, new Held(Buffer.from(value)));
      this.#bytes += cost;
      this.#evict(key);
    }
    return Promise.resolve();
  }

  /** Removes `key`; a missing key is not an error. */
  delete(key: string): Promise<void> {
    this.#remove(key);
    return Promise.resolve();
  }

  /** Takes the single-flight lease on `key` for `ttlMs`: a token, or null while another holds it. */
  acquire(key: string, ttlMs: number): Promise<string | null> {
    const now = Date.now();
    const held = this.#leases.get(key);
    if (held !== undefined && held.expires > now) return Promise.resolve(null);
    const token = newLeaseToken();
    this.#leases.set(key, { token, expires: now + ttlMs });
    return Promise.resolve(token);
  }

  /** Gives back the lease on `key` if `token` still holds it. */
  release(key: string, token: string): Promise<void> {
    if (this.#leases.get(key)?.token === token) this.#leases.delete(key);
    return Promise.resolve();
  }

  /**
   * Every entry as it is now (for `inspectCache`), without marking any as used. The values are the
   * stored ones, not copies: read them, never change them.
   */
  async *records(): AsyncGenerator<StoredRecord> {
    for (const [key, { value }] of [...this.#entries]) {
      const ref: MemoryRef = { location: null, key, value };
      yield { ref, value, problem: null, size: costOf(key, value) };
    }
  }

  /** Removes a listed entry unless it was replaced since it was listed. */
  async removeRecord(ref: RecordRef): Promise<boolean> {
    const { key, value } = ref as MemoryRef;
    if (key === null || this.#entries.get(key)?.value !== value) return false;
    this.#remove(key);
    return true;
  }

  /** Removes every entry. */
  clear(): void {
    this.#entries.clear();
    this.#clock.reset();
    this.#bytes = 0;
  }

  #remove(key: string): void {
    const old = this.#entries.get(key);
    if (old === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= costOf(key, old.value);
  }

  // Past the bounds, the clock's victims go, the entry just stored (`kept`) last: only a maxEntries
  // below one leaves no room for it.
  #evict(kept: string): void {
    while (this.#entries.size > this.maxEntries || this.#bytes > this.maxBytes) {
      this.#remove(this.#clock.victim(kept) ?? kept);
    }
  }
}

/** A stored value, and whether it was read since the clock's hand last passed it. */
class Held implements ClockSlot {
  readonly value: Buffer;
  used = false;

  constructor(value: Buffer) {
    this.value = value;
  }
}

interface MemoryRef extends RecordRef {
  readonly value: Buffer;
}

function costOf(key: string, value: Uint8Array): number {
  return value.length + key.length * 2;
}

function checkBound(name: string, value: number): number {
  if (typeof value !== 'number' || !(value > 0)) {
    throw new HttpLib2Error(`MemoryCache option ${name} must be a positive number; received ${String(value)}`, {
      code: 'ERR_INVALID_REQUEST',
    });
  }
  return value;
}
