/**
 * Inspection and maintenance of a cache store that can list what it holds (FileCache, MemoryCache,
 * a keyv store whose adapter iterates): its entries described (URI, status, when stored, size, fresh
 * until, whether a variant for an identity), totals, purges and a checksum verification. It reads
 * entries with the entry codec and judges freshness with the policy; it never shows an identity or a
 * credential, and never lists, purges or counts the store's identity key (lib/identity.ts).
 */
import type Keyv from 'keyv';
import { HttpLib2Error } from '../errors.js';
import { IDENTITY_KEY_NAME } from '../identity.js';
import { parseEntry } from './entry.js';
import { FileCache } from './file-cache.js';
import { isKeyv, KeyvStore } from './keyv-store.js';
import { currentAge, freshnessLifetime, staleAt } from './freshness.js';
import { isListable, type ListableStore, type RecordRef, type StoredRecord } from './listing.js';

export { isListable, type ListableStore, type RecordRef, type StoredRecord };


/** A stored response, described without its identity. */
export interface EntryInfo {
  /** A readable entry. */
  readonly kind: 'entry';
  /** The normalised URI it answers. */
  readonly uri: string;
  /**
   * The method whose answer it is, as its key says: `QUERY` for a QUERY answer (RFC 10008; one per
   * request content, all under the same URI), else `GET`.
   */
  readonly method: 'GET' | 'QUERY';
  /** Its status code. */
  readonly status: number;
  /** When the response was received. */
  readonly storedAt: Date;
  /** Bytes it takes in the store. */
  readonly size: number;
  /** When it goes stale (RFC 9111 §4.2); null for a response that never does (a permanent redirect). */
  readonly freshUntil: Date | null;
  /** Stale now: its freshness lifetime is not more than its current age. */
  readonly stale: boolean;
  /** A variant for one identity (credentials, Cookie, X-WSSE); which one is never shown. */
  readonly identified: boolean;
  /** Its file name in a FileCache; null in the other stores. */
  readonly location: string | null;
}

/** A record that is not a readable entry: damaged, of another format version, or another key's. */
export interface UnreadableInfo {
  /** A record that is not a readable entry. */
  readonly kind: 'unreadable';
  /** The URI its key names, when the key could be read; null otherwise. */
  readonly uri: string | null;
  /** Bytes it takes in the store. */
  readonly size: number;
  /** What is wrong with it. */
  readonly problem: string;
  /** Its file name in a FileCache (the only name of a record whose key cannot be read); else null. */
  readonly location: string | null;
}

/** One listed item. */
export type CacheItem = EntryInfo | UnreadableInfo;

/** Counts over a whole store. */
export interface CacheTotals {
  /** Readable entries. */
  readonly entries: number;
  /** Bytes the readable entries take in the store. */
  readonly bytes: number;
  /** Entries fresh now. */
  readonly fresh: number;
  /** Entries stale now. */
  readonly stale: number;
  /** Entries that are variants for an identity. */
  readonly identified: number;
  /** Records that are not readable entries. */
  readonly unreadable: number;
  /** Bytes the unreadable records take. */
  readonly unreadableBytes: number;
}

/**
 * What {@link CacheInspector.purge} removes. `stale` and `unreadable` choose by state (either one
 * matches); `prefix` by URI (any one matches); given together, a record must match both. `all`
 * removes everything and goes alone.
 */
export interface PurgeOptions {
  /** Entries whose freshness lifetime has passed. */
  stale?: boolean;
  /** Records that are not readable entries (damaged, another version, another key's). */
  unreadable?: boolean;
  /** Entries (and unreadable records with a readable key) whose URI starts with this. */
  prefix?: string | readonly string[];
  /** Every entry and record (the store's identity key stays). */
  all?: boolean;
}

/** What a purge removed. */
export interface PurgeResult {
  /** Records removed. */
  readonly removed: number;
  /** Bytes they took in the store. */
  readonly bytes: number;
}

/** What a verification found. */
export interface VerifyResult {
  /** Records checked (entries and unreadable ones). */
  readonly checked: number;
  /** Records that failed a checksum or did not parse. */
  readonly damaged: readonly UnreadableInfo[];
}

/** Options of {@link inspectCache}. */
export interface InspectOptions {
  /** The clock freshness is judged by, in ms since the epoch. @default Date.now */
  now?: () => number;
}

/**
 * Lists, counts, purges and verifies the entries of one store. Made by {@link inspectCache}; works
 * on the store itself, not through an `Http` (no store budget: a listing reads every record).
 */
export class CacheInspector {
  readonly #store: ListableStore;
  readonly #now: () => number;

  constructor(store: ListableStore, options: InspectOptions = {}) {
    this.#store = store;
    this.#now = options.now ?? Date.now;
  }

  /** Every entry and unreadable record, described; the identity key is left out. */
  async *list(): AsyncGenerator<CacheItem> {
    for await (const record of this.#store.records()) {
      const item = describeRecord(record, this.#now());
      if (item !== null) yield item;
    }
  }

  /** Counts and bytes of the whole store. */
  async totals(): Promise<CacheTotals> {
    const t = { entries: 0, bytes: 0, fresh: 0, stale: 0, identified: 0, unreadable: 0, unreadableBytes: 0 };
    for await (const item of this.list()) {
      if (item.kind === 'unreadable') {
        t.unreadable++;
        t.unreadableBytes += item.size;
        continue;
      }
      t.entries++;
      t.bytes += item.size;
      if (item.stale) t.stale++;
      else t.fresh++;
      if (item.identified) t.identified++;
    }
    return t;
  }

  /**
   * Removes what `options` chooses. The records are chosen during one listing and removed after
   * it; one replaced in between (a new answer stored) is left.
   * @throws HttpLib2Error (`ERR_INVALID_REQUEST`) when nothing is chosen, or `all` comes with another.
   */
  async purge(options: PurgeOptions): Promise<PurgeResult> {
    const chosen = purgeFilter(options);
    // Only the refs are kept, not the values: a purge of a large store holds no bodies.
    const doomed: Array<{ ref: RecordRef; size: number }> = [];
    for await (const record of this.#store.records()) {
      const item = describeRecord(record, this.#now());
      if (item !== null && chosen(item)) doomed.push({ ref: record.ref, size: item.size });
    }
    let removed = 0;
    let bytes = 0;
    for (const { ref, size } of doomed) {
      if (await this.#store.removeRecord(ref)) {
        removed++;
        bytes += size;
      }
    }
    return { removed, bytes };
  }

  /** Checks every record's checksums; lists those that fail (a purge of `unreadable` removes them). */
  async verify(): Promise<VerifyResult> {
    let checked = 0;
    const damaged: UnreadableInfo[] = [];
    for await (const item of this.list()) {
      checked++;
      if (item.kind === 'unreadable') damaged.push(item);
    }
    return { checked, damaged };
  }
}

/**
 * What a record is: an entry described, an unreadable record, or null for what is not an entry of
 * ours and must be neither shown nor purged (the store's identity key).
 */
export function describeRecord(record: StoredRecord, now: number): CacheItem | null {
  const { location, key } = record.ref;
  if (key === IDENTITY_KEY_NAME) return null;
  const { size } = record;
  const uri = key === null ? null : uriOf(key);
  if (record.value === null) return { kind: 'unreadable', uri, size, problem: record.problem ?? 'unreadable', location };
  const entry = parseEntry(record.value);
  if (entry === null) return { kind: 'unreadable', uri, size, problem: 'not an entry of this version, or its checksum fails', location };
  // The driver's own check: an entry under another key's name is never served.
  if (key !== null && entry.key !== key) return { kind: 'unreadable', uri, size, problem: "holds another key's entry", location };
  const lifetime = freshnessLifetime(entry).seconds;
  const age = currentAge(entry, now);
  return {
    kind: 'entry',
    uri: uriOf(entry.key),
    method: methodOf(entry.key),
    status: entry.status,
    storedAt: new Date(entry.responseTime),
    size,
    // A fixed instant, as response.freshUntil gives it: not moved by when the listing runs.
    freshUntil: lifetime === Infinity ? null : new Date(staleAt(entry, lifetime)!),
    // RFC 9111 §4.2: fresh while the freshness lifetime exceeds the current age.
    stale: !(lifetime > age),
    identified: entry.identity !== null,
    location,
  };
}

// A store key is the normalised URI, then a space and the identity digest for a variant
// (policy.ts storeKey); a QUERY's starts with `QUERY ` and has its content digest after the URI
// (policy.ts requestKey). A URI never holds a space.
function uriOf(key: string): string {
  const words = key.split(' ', 2);
  return words[0] === 'QUERY' && words.length === 2 ? words[1]! : words[0]!;
}

function methodOf(key: string): 'GET' | 'QUERY' {
  return key.startsWith('QUERY ') ? 'QUERY' : 'GET';
}

function purgeFilter(options: PurgeOptions): (item: CacheItem) => boolean {
  const prefixes = options.prefix === undefined ? [] : typeof options.prefix === 'string' ? [options.prefix] : [...options.prefix];
  const byState = options.stale === true || options.unreadable === true;
  if (options.all === true) {
    if (byState || prefixes.length > 0) throw invalid('purge: `all` removes everything and goes alone');
    return () => true;
  }
  if (!byState && prefixes.length === 0) throw invalid('purge: say what to remove: stale, unreadable, prefix or all');
  if (prefixes.some((p) => typeof p !== 'string' || p === '')) throw invalid('purge: a prefix must be a non-empty string');
  const normalised = prefixes.map(normalisePrefix);
  return (item) => {
    const state = !byState || (item.kind === 'unreadable' ? options.unreadable === true : options.stale === true && item.stale);
    const scope = normalised.length === 0 || (item.uri !== null && normalised.some((p) => item.uri!.startsWith(p)));
    return state && scope;
  };
}

// Stored URIs have their scheme and host lower-cased (uri.ts cacheKey); so is a prefix's, the
// rest is matched as given.
function normalisePrefix(prefix: string): string {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)/i.exec(prefix);
  return match === null ? prefix : match[0].toLowerCase() + prefix.slice(match[0].length);
}

function invalid(message: string): HttpLib2Error {
  return new HttpLib2Error(message, { code: 'ERR_INVALID_REQUEST' });
}

/**
 * An inspector over `cache`: a FileCache directory (made if missing, as `new Http(dir)` does), a
 * FileCache or MemoryCache, a keyv `Keyv` whose adapter can iterate (SQLite, Redis), or any
 * {@link ListableStore}.
 * @throws HttpLib2Error (`ERR_INVALID_REQUEST`) for a store that cannot list its entries;
 *   `ERR_CACHE`/`ERR_CACHE_UNSAFE` as `new FileCache(dir)` for a directory.
 */
export function inspectCache(cache: string | ListableStore | Keyv, options: InspectOptions = {}): CacheInspector {
  if (typeof cache === 'string') return new CacheInspector(new FileCache(cache), options);
  if (isListable(cache)) return new CacheInspector(cache, options);
  if (isKeyv(cache)) return new CacheInspector(new KeyvStore(cache), options);
  throw invalid('inspectCache: expected a cache directory, a FileCache, a MemoryCache or a keyv store that can list its entries');
}
