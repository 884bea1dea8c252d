/**
 * What a FileCache remembers between reads: the values of often read files with the identity of the
 * file each came from (so one lstat tells whether it is still the file at that path), how often keys
 * were read lately, and the file name of recently seen keys. All bounded; data only, no I/O.
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

// What one remembered value costs beyond its bytes: the record, the map slot, and the parse of the
// entry the cache layer keeps for as long as this exact buffer lives (its head as objects).
const OVERHEAD_BYTES = 1024;

/**
 * Values of read files, within a count and a byte budget (values, keys and an estimate of what each
 * one keeps alive). Least recently used first out; and once full, a value is taken in only if its
 * key was read more often lately than the key it would push out (TinyLFU's admission, as in
 * Caffeine): a working set larger than the memo then keeps the most read part of it instead of
 * replacing every value before it is read again, which would only add a stat and a copy to each read.
 */
export class RecentValues {
  readonly #entries = new Map<string, Remembered>();
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #reads: ReadCounts;
  #bytes = 0;

  constructor(maxEntries: number, maxBytes: number) {
    this.#maxEntries = maxEntries;
    this.#maxBytes = maxBytes;
    this.#reads = new ReadCounts(maxEntries);
  }

  /** Counts a read of `key`; its remembered value, if any, becomes the most recent. */
  get(key: string): Remembered | undefined {
    this.#reads.add(key);
    const found = this.#entries.get(key);
    if (found !== undefined) {
      // A Map iterates in insertion order: re-inserting moves the key to the most recent end.
      this.#entries.delete(key);
      this.#entries.set(key, found);
    }
    return found;
  }

  /**
   * Whether a value of `length` bytes just read for `key` (after {@link get}) is worth remembering:
   * not too large, and either there is room, or its key was read more often lately than the one
   * whose value it would push out.
   */
  wants(key: string, length: number): boolean {
    if (this.#maxEntries === 0 || length > this.#maxBytes / 64) return false; // one value must not push out hundreds of others
    if (this.#entries.size < this.#maxEntries && this.#bytes + length + OVERHEAD_BYTES <= this.#maxBytes) return true;
    const victim = this.#entries.keys().next().value;
    return victim === undefined || this.#reads.estimate(key) > this.#reads.estimate(victim);
  }

  remember(key: string, remembered: Remembered): void {
    this.forget(key);
    this.#entries.set(key, remembered);
    this.#bytes += costOf(key, remembered);
    for (const [oldest, r] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries && this.#bytes <= this.#maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= costOf(oldest, r);
    }
  }

  forget(key: string): void {
    const r = this.#entries.get(key);
    if (r === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= costOf(key, r);
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

const ROWS = 4;
const MAX_COUNT = 15;

function costOf(key: string, r: Remembered): number {
  return r.value.length + 2 * (key.length + r.path.length) + OVERHEAD_BYTES;
}

/**
 * Key → file name for recently seen keys (hashing a key is a good part of a read's cost), within a
 * count and a length budget; emptied at once when full, which costs one hash per key afterwards.
 * Being here also tells that a key was asked for recently: a second read is worth remembering.
 */
export class RecentNames {
  readonly #names = new Map<string, string | null>();
  readonly #maxEntries: number;
  readonly #maxChars: number;
  #chars = 0;

  constructor(maxEntries: number, maxChars: number) {
    this.#maxEntries = maxEntries;
    this.#maxChars = maxChars;
  }

  get(key: string): string | null | undefined {
    return this.#names.get(key);
  }

  set(key: string, path: string | null): void {
    if (this.#names.has(key)) return;
    const chars = key.length + (path?.length ?? 0);
    if (this.#names.size >= this.#maxEntries || this.#chars + chars > this.#maxChars) {
      this.#names.clear();
      this.#chars = 0;
    }
    this.#names.set(key, path);
    this.#chars += chars;
  }
}
