/**
 * Parses Cache-Control (RFC 9111 §5.2) and the legacy Pragma (§5.4) into a typed record that the
 * cache policy reads. Pure: string in, record out; it decides nothing about freshness or storage and
 * never performs I/O.
 */

/**
 * A delta-seconds argument (RFC 9111 §1.2.2): a non-negative integer, or `'invalid'` when the
 * directive was present with a value that is not one (a float, a sign, a word, a duplicate with
 * another value). Absent directives are `undefined`.
 */
export type DeltaSeconds = number | 'invalid';

/** The Cache-Control directives the cache acts on. Names are lower-cased (§5.2: case-insensitive). */
export interface Directives {
  readonly noCache: boolean;
  readonly noStore: boolean;
  readonly mustRevalidate: boolean;
  readonly proxyRevalidate: boolean;
  readonly public: boolean;
  readonly private: boolean;
  readonly immutable: boolean;
  readonly onlyIfCached: boolean;
  readonly noTransform: boolean;
  readonly maxAge: DeltaSeconds | undefined;
  readonly sMaxAge: DeltaSeconds | undefined;
  /** `'any'` for a bare `max-stale` (§5.2.1.2: any staleness is acceptable). */
  readonly maxStale: DeltaSeconds | 'any' | undefined;
  readonly minFresh: DeltaSeconds | undefined;
  /** RFC 5861 §3. */
  readonly staleWhileRevalidate: DeltaSeconds | undefined;
  /** RFC 5861 §4. */
  readonly staleIfError: DeltaSeconds | undefined;
}

// §1.2.2: "If a cache receives a delta-seconds value greater than the greatest integer it can
// represent, or if any of its subsequent calculations overflows, the cache MUST consider the value
// to be 2147483648 (2^31)".
const DELTA_MAX = 2147483648;
const DELTA = /^[0-9]+$/;

/** Parses a delta-seconds string: digits only, clamped to 2^31; anything else is `'invalid'`. */
export function parseDeltaSeconds(raw: string): DeltaSeconds {
  if (!DELTA.test(raw)) return 'invalid';
  const n = Number(raw);
  return n > DELTA_MAX ? DELTA_MAX : n;
}

/** Splits a field value into `name[=value]` pairs, honouring quoted strings (which may hold commas). */
export function splitDirectives(value: string): Array<[string, string | undefined]> {
  const out: Array<[string, string | undefined]> = [];
  let i = 0;
  const n = value.length;
  while (i < n) {
    // Skip separators and whitespace between list members (RFC 9110 §5.6.1 allows empty members).
    while (i < n && (value[i] === ',' || value[i] === ' ' || value[i] === '\t')) i++;
    if (i >= n) break;
    let name = '';
    while (i < n && value[i] !== '=' && value[i] !== ',') name += value[i++];
    name = name.trim().toLowerCase();
    let arg: string | undefined;
    if (value[i] === '=') {
      i++;
      while (i < n && (value[i] === ' ' || value[i] === '\t')) i++;
      if (value[i] === '"') {
        // quoted-string with quoted-pair (RFC 9110 §5.6.4)
        i++;
        arg = '';
        while (i < n && value[i] !== '"') {
          if (value[i] === '\\' && i + 1 < n) i++;
          arg += value[i++];
        }
        i++;
        while (i < n && value[i] !== ',') i++;
      } else {
        arg = '';
        while (i < n && value[i] !== ',') arg += value[i++];
        arg = arg.trim();
      }
    }
    if (name) out.push([name, arg]);
  }
  return out;
}

const EMPTY: Directives = Object.freeze({
  noCache: false, noStore: false, mustRevalidate: false, proxyRevalidate: false, public: false,
  private: false, immutable: false, onlyIfCached: false, noTransform: false, maxAge: undefined,
  sMaxAge: undefined, maxStale: undefined, minFresh: undefined, staleWhileRevalidate: undefined,
  staleIfError: undefined,
});

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type DeltaKey = 'maxAge' | 'sMaxAge' | 'minFresh' | 'staleWhileRevalidate' | 'staleIfError';

const DELTA_DIRECTIVES: Record<string, DeltaKey> = {
  'max-age': 'maxAge', 's-maxage': 'sMaxAge', 'min-fresh': 'minFresh',
  'stale-while-revalidate': 'staleWhileRevalidate', 'stale-if-error': 'staleIfError',
};

const FLAG_DIRECTIVES: Record<string, keyof Directives> = {
  'no-cache': 'noCache', 'no-store': 'noStore', 'must-revalidate': 'mustRevalidate',
  'proxy-revalidate': 'proxyRevalidate', public: 'public', private: 'private', immutable: 'immutable',
  'only-if-cached': 'onlyIfCached', 'no-transform': 'noTransform',
};

/**
 * Parses a Cache-Control value; with no Cache-Control, `Pragma: no-cache` counts as `no-cache`
 * (§5.4: Pragma is only consulted when Cache-Control is absent). Unknown directives are ignored
 * (§5.2.3). `no-cache="field"` and `private="field"` are read as their unqualified forms, which is
 * the conservative reading §5.2.2.4 permits.
 */
export function parseDirectives(cacheControl: string | undefined, pragma?: string): Directives {
  if (cacheControl === undefined || cacheControl.trim() === '') {
    if (pragma !== undefined && splitDirectives(pragma).some(([name]) => name === 'no-cache')) {
      return PRAGMA_NO_CACHE;
    }
    return EMPTY;
  }
  let parsed = PARSED.get(cacheControl);
  if (parsed === undefined) {
    parsed = Object.freeze(directivesOf(cacheControl));
    if (PARSED.size >= PARSED_LIMIT) PARSED.clear();
    PARSED.set(cacheControl, parsed);
  }
  return parsed;
}

const PRAGMA_NO_CACHE: Directives = Object.freeze({ ...EMPTY, noCache: true });

// A cache hit reads its stored Cache-Control on every serve, and a program sees few distinct values
// ("max-age=3600", "no-cache"...): each is parsed once. The memo holds at most PARSED_LIMIT values
// (a server sending a new value each time only refills it); the records are frozen, so one caller
// cannot change what another reads.
const PARSED = new Map<string, Directives>();
const PARSED_LIMIT = 256;

function directivesOf(cacheControl: string): Directives {
  const d: Mutable<Directives> = { ...EMPTY };
  for (const [name, arg] of splitDirectives(cacheControl)) {
    const flag = FLAG_DIRECTIVES[name];
    if (flag) {
      (d as Record<string, unknown>)[flag] = true;
      continue;
    }
    const key = DELTA_DIRECTIVES[name];
    if (key) {
      const parsed = arg === undefined ? 'invalid' : parseDeltaSeconds(arg);
      // §4.2.1: a duplicated directive with a different value makes the information invalid.
      d[key] = d[key] === undefined || d[key] === parsed ? parsed : 'invalid';
      continue;
    }
    if (name === 'max-stale') {
      const parsed = arg === undefined ? 'any' : parseDeltaSeconds(arg);
      d.maxStale = d.maxStale === undefined || d.maxStale === parsed ? parsed : 'invalid';
    }
  }
  return d;
}
