import { ClockHand } from './clock.js';

/**
 * What a FileCache remembers between reads: the values of often read files with the identity of the
 * file each came from (so one lstat tells whether it is still the file at that path), and how often
 * keys were read lately. All bounded; data only, no I/O.
 */

/** A value read from a file, and which file it was (inode, size, mtime, ctime). */
export interface Remembered {
  readonly path: string;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly value: Buffer;
}

/** The fields of a `Stats` that identify one version of a file. */
export interface FileIdentity {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
}

/**
 * True while `stat` shows the very file a value was read from. Writers (in any process) rename a new
 * inode into place, and a touch or an edit in place changes ctime, so any change is seen; ctime also
 * tells a recycled inode number apart.
 */
export function isSameFile(a: FileIdentity, b: FileIdentity): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

// What one remembered value costs beyond its bytes and its two strings (#15), measured with
// process.memoryUsage() over 100,000 values of ~900 bytes: ~390 bytes of heap for its slot with the
// file's identity, the Map's entry and the Buffer's two objects, ~190 for the record and header of the
// Buffer's own allocation, and 1,064 for the parse of the entry the cache layer keeps for as long as
// this exact buffer lives (its head as objects; kept because a parse on every hit of a large working
// set cost a MemoryCache 15-20% of its hit rate). Since the parse's records take V8's compact form
// (entry.ts) a head of up to ~19 fields costs ~400 bytes less (measured over 40,000 values read
// through Http), but one of 20 and more only ~185 less and more than 1,064 in all: the count stays,
// nearer the cost of a large head.
const OVERHEAD_BYTES = 1640;
/** The least one remembered value costs: a budget of bytes holds at most this many times fewer values. */
export const LEAST_COST_BYTES = OVERHEAD_BYTES + 32;

/**
 * Values of read files, within a count and a byte budget: each counts its bytes, its key and path as
 * V8 keeps them, and what its slot, its Buffer and its parse cost beside (measured, OVERHEAD_BYTES).
 * Recently read values stay, as with least recently used first out, but by a clock (clock.ts): a read
 * only marks its value used, and the hand that looks for a value to push out gives a used one another
 * round. And once full, a value is taken in only if its key was read more
 * often lately than the key it would push out (TinyLFU's admission, as in Caffeine): a working set
 * larger than the memo then keeps the most read part of it instead of replacing every value before it
 * is read again, which would only add a stat and a copy to each read.
 *
 * The clock rather than a Map kept in recency order (#15): moving an entry to the end on every read
 * leaves a hole in the Map each time, and finding its oldest entry then skipped over thousands of
 * them; each read also stored the caller's new key string in the long-lived Map.
 */
export class RecentValues {
  readonly #entries = new Map<string, Slot>();
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #reads: ReadCounts;
  #bytes = 0;
  readonly #clock = new ClockHand(this.#entries);

  constructor(maxEntries: number, maxBytes: number) {
    this.#maxEntries = maxEntries;
    this.#maxBytes = maxBytes;
    this.#reads = new ReadCounts(maxEntries);
  }

  /** Counts a read of `key`; its remembered value, if any, is marked used. */
  get(key: string): Remembered | undefined {
    this.#reads.add(key);
    const found = this.#entries.get(key);
    if (found === undefined) return undefined;
    found.used = true;
    return found;
  }

  /**
   * Whether a value of `length` bytes just read for `key` from `path` (after {@link get}) is worth remembering:
   * not too large, and either there is room, or its key was read more often lately than the one
   * whose value it would push out.
   */
  wants(key: string, length: number, path: string): boolean {
    if (this.#maxEntries === 0 || length > this.#maxBytes / 64) return false; // one value must not push out hundreds of others
    if (this.#entries.size < this.#maxEntries && this.#bytes + costOf(key, path, length) <= this.#maxBytes) return true;
    const victim = this.#victim();
    return victim === undefined || this.#reads.estimate(key) > this.#reads.estimate(victim.key);
  }

  remember(key: string, remembered: Remembered): void {
    this.forget(key);
    const slot = new Slot(key, remembered);
    this.#entries.set(key, slot);
    this.#bytes += slot.cost;
    while (this.#entries.size > this.#maxEntries || this.#bytes > this.#maxBytes) {
      const victim = this.#clock.victim(key);
      if (victim === undefined) break;
      this.forget(victim);
    }
  }

  forget(key: string): void {
    const slot = this.#entries.get(key);
    if (slot === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= slot.cost;
  }

  // The slot the clock (clock.ts) would push out next; undefined when the memo is empty.
  #victim(): Slot | undefined {
    const key = this.#clock.victim();
    return key === undefined ? undefined : this.#entries.get(key);
  }
}

/**
 * How often each key was read lately, approximately: a count-min sketch of 4-bit-sized counters
 * (four rows, the smallest of four counts is the estimate), all halved every 10 reads per slot of the
 * memo, so that old popularity fades.
 */
class ReadCounts {
  readonly #counts: Uint8Array;
  readonly #mask: number;
  readonly #period: number;
  #added = 0;
  #lastKey = '';
  #lastHash = 0;

  constructor(slots: number) {
    const width = 2 ** Math.ceil(Math.log2(Math.max(64, slots * 4)));
    this.#counts = new Uint8Array(width * ROWS);
    this.#mask = width - 1;
    this.#period = Math.max(64, slots) * 10;
  }

  add(key: string): void {
    const h = this.#hash(key);
    for (let row = 0; row < ROWS; row++) {
      const at = this.#slot(h, row);
      if (this.#counts[at]! < MAX_COUNT) this.#counts[at]!++;
    }
    if (++this.#added >= this.#period) this.#age();
  }

  estimate(key: string): number {
    const h = this.#hash(key);
    let min = MAX_COUNT;
    for (let row = 0; row < ROWS; row++) min = Math.min(min, this.#counts[this.#slot(h, row)]!);
    return min;
  }

  #slot(h: number, row: number): number {
    // Four indexes from one hash (Kirsch-Mitzenmacher): h1 + row × h2, h2 odd.
    return row * (this.#mask + 1) + ((h + row * ((h >>> 16) | 1)) & this.#mask);
  }

  #age(): void {
    this.#added = 0;
    for (let i = 0; i < this.#counts.length; i++) this.#counts[i]! >>= 1;
  }

  // FNV-1a over the key's last 128 characters and its length (keys of one site share long prefixes).
  #hash(key: string): number {
    if (key === this.#lastKey) return this.#lastHash;
    let h = 0x811c9dc5 ^ key.length;
    for (let i = Math.max(0, key.length - 128); i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    this.#lastKey = key;
    this.#lastHash = h >>> 0;
    return this.#lastHash;
  }
}

// One object per remembered value (#15): the file's identity beside its value, not a record inside
// a slot, and its cost computed once.
class Slot implements Remembered {
  readonly key: string;
  readonly path: string;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly value: Buffer;
  readonly cost: number;
  /** Read since the clock's hand last passed it. */
  used = false;

  constructor(key: string, r: Remembered) {
    this.key = key;
    this.path = r.path;
    this.ino = r.ino;
    this.size = r.size;
    this.mtimeMs = r.mtimeMs;
    this.ctimeMs = r.ctimeMs;
    this.value = r.value;
    this.cost = costOf(key, r.path, r.value.length);
  }
}

const ROWS = 4;
const MAX_COUNT = 15;

function costOf(key: string, path: string, length: number): number {
  return length + stringBytes(key) + stringBytes(path) + OVERHEAD_BYTES;
}

// V8 keeps a string of Latin-1 characters one byte each, any other two; plus its header.
function stringBytes(text: string): number {
  return 16 + (/[^\u0000-\u00ff]/.test(text) ? 2 : 1) * text.length;
}
