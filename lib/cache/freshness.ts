/**
 * How fresh and how old a stored response is (RFC 9111 §4.2): the head a cache keeps with the times
 * it was obtained at, its freshness lifetime, its current age and the Age it is served with. Pure
 * functions of a stored head and `now`; never performs I/O, never reads the clock.
 */
import { parseDirectives } from './directives.js';
import type { HeaderRecord } from '../headers.js';
import { parseHttpDate } from '../http-date.js';

/** The head of a stored response with what the policy needs about how it was obtained. */
export interface StoredResponse {
  /** The cache key of the request it answered. */
  readonly key: string;
  readonly status: number;
  readonly reason: string;
  readonly version: number;
  /** Lower-cased names, as the Response map holds them. */
  readonly headers: Readonly<HeaderRecord>;
  /** The request headers its Vary names, as they were sent (null: absent). RFC 9111 §4.1. */
  readonly vary: Readonly<Record<string, string | null>>;
  /** Who asked (DESIGN.md, Identity): null for anonymous requests. */
  readonly identity: string | null;
  /** When the request that obtained it was sent, ms since the epoch (RFC 9111 §4.2.3 request_time). */
  readonly requestTime: number;
  /** When its head arrived, ms since the epoch (RFC 9111 §4.2.3 response_time). */
  readonly responseTime: number;
  /**
   * RFC 9110 §10.2.3: ms since the epoch before which the origin asked not to be asked again for
   * this resource (the Retry-After of a 429 or 503, capped); absent when it asked nothing.
   */
  readonly notBefore?: number | undefined;
}

/** Heuristic freshness is 10% of the time since Last-Modified (RFC 9111 §4.2.2), at most one day. */
export const HEURISTIC_FRACTION = 0.1;
export const HEURISTIC_CAP_SECONDS = 24 * 60 * 60;

// RFC 9110 §15.1: statuses "heuristically cacheable" (RFC 9111 §4.2.2).
export const HEURISTIC_STATUSES = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]);
// DESIGN.md: 301/308 answers to GET are permanent redirects (httplib2 keeps them for good).
const PERMANENT_REDIRECTS = new Set([301, 308]);

/**
 * Seconds a 410 Gone without explicit freshness stays fresh by default (HttpOptions.goneLifetime):
 * a day, so a poller asks for a gone resource at most once a day.
 */
export const DEFAULT_GONE_LIFETIME = 86400;

/** A freshness lifetime in seconds with the rule that produced it. */
export interface Lifetime {
  readonly seconds: number;
  readonly source: string;
}

/**
 * RFC 9111 §4.2.1, for a private cache (s-maxage is ignored: §5.2.2.10 is for shared caches).
 * `goneLifetime` is the heuristic lifetime of a 410 in seconds (0: none of its own).
 */
export function freshnessLifetime(stored: StoredResponse, goneLifetime = DEFAULT_GONE_LIFETIME): Lifetime {
  const facts = factsOf(stored);
  if (facts.lifetime === null || facts.lifetimeGone !== goneLifetime) {
    facts.lifetime = lifetimeOf(stored, facts.date, goneLifetime);
    facts.lifetimeGone = goneLifetime;
  }
  return facts.lifetime;
}

function lifetimeOf(stored: StoredResponse, date: number, goneLifetime: number): Lifetime {
  const h = stored.headers;
  const cc = parseDirectives(h['cache-control']);
  if (cc.maxAge !== undefined) {
    // §4.2.1: invalid or conflicting freshness information makes the response stale.
    return cc.maxAge === 'invalid' ? { seconds: 0, source: 'invalid max-age' } : { seconds: cc.maxAge, source: `max-age=${cc.maxAge}` };
  }
  const expiresHeader = h['expires'];
  if (expiresHeader !== undefined) {
    const expires = parseHttpDate(expiresHeader, stored.responseTime);
    // §5.3: an invalid Expires, such as "0", means already expired.
    if (expires === null) return { seconds: 0, source: 'invalid Expires' };
    const seconds = Math.max(0, Math.floor((expires - date) / 1000));
    return { seconds, source: `Expires (${seconds}s after Date)` };
  }
  if (PERMANENT_REDIRECTS.has(stored.status)) return { seconds: Infinity, source: `permanent redirect ${stored.status}` };
  // RFC 9110 §15.5.11: a 410 is heuristically cacheable, and the condition it reports is expected to
  // be permanent; a fixed lifetime says so better than 10% of a Last-Modified it rarely carries.
  if (stored.status === 410 && goneLifetime > 0) return { seconds: goneLifetime, source: `heuristic ${goneLifetime}s for 410 Gone` };
  const lastModified = parseHttpDate(h['last-modified'], stored.responseTime);
  if (lastModified !== null && HEURISTIC_STATUSES.has(stored.status)) {
    const since = Math.max(0, (date - lastModified) / 1000);
    const seconds = Math.floor(Math.min(since * HEURISTIC_FRACTION, HEURISTIC_CAP_SECONDS));
    return { seconds, source: `heuristic ${seconds}s (10% of Date - Last-Modified)` };
  }
  return { seconds: 0, source: 'no explicit freshness' };
}

// What a stored head says about its own age and lifetime, worked out once per head: a cache hit
// reads the same head again and again (the stores hand back the parse they remember), and the Date,
// Age and Cache-Control of a stored head never change (a 304 makes a new head).
interface HeadFacts {
  /** RFC 9110 §6.6.1: the Date, or when the response was received when it has no valid Date. */
  readonly date: number;
  /** RFC 9111 §4.2.3 corrected_initial_age, in seconds. */
  readonly initialAge: number;
  lifetime: Lifetime | null;
  lifetimeGone: number;
}

const FACTS = new WeakMap<StoredResponse, HeadFacts>();

function factsOf(stored: StoredResponse): HeadFacts {
  let facts = FACTS.get(stored);
  if (facts === undefined) {
    const date = parseHttpDate(stored.headers['date'], stored.responseTime) ?? stored.responseTime;
    facts = { date, initialAge: initialAgeOf(stored, date), lifetime: null, lifetimeGone: 0 };
    FACTS.set(stored, facts);
  }
  return facts;
}

// RFC 9111 §4.2.3: corrected_initial_age = max(apparent_age, age_value + response_delay).
function initialAgeOf(stored: StoredResponse, date: number): number {
  const ageValue = parseAge(stored.headers['age']) ?? 0;
  const apparentAge = Math.max(0, (stored.responseTime - date) / 1000);
  const responseDelay = Math.max(0, (stored.responseTime - stored.requestTime) / 1000);
  return Math.max(apparentAge, ageValue + responseDelay);
}

/**
 * When `stored` goes stale, ms since the epoch: the instant its current age reaches `lifetime`
 * seconds (RFC 9111 §4.2), the same whenever it is asked. Null for a lifetime without end (a
 * permanent redirect).
 */
export function staleAt(stored: StoredResponse, lifetime: number): number | null {
  if (!Number.isFinite(lifetime)) return null;
  return stored.responseTime + (lifetime - currentAge(stored, stored.responseTime)) * 1000;
}

/**
 * RFC 9111 §5.1: the first member of a list-valued Age is used; a value that is not a non-negative
 * integer (a float, a sign, a trailing word) is ignored, as if absent. Values past 2^31 are clamped.
 */
export function parseAge(value: string | undefined): number | null {
  if (value === undefined) return null;
  const first = value.split(',')[0]!.trim();
  if (!/^[0-9]+$/.test(first)) return null;
  return Math.min(Number(first), 2147483648);
}

/** RFC 9111 §4.2.3 current_age, in seconds: the corrected initial age plus the resident time. */
export function currentAge(stored: StoredResponse, now: number): number {
  const residentTime = Math.max(0, (now - stored.responseTime) / 1000);
  return factsOf(stored).initialAge + residentTime;
}

/**
 * RFC 9111 §5.1, §4.2.3: the Age a response served from the cache carries, its current age in whole
 * seconds (delta-seconds, clamped to 2^31 as §1.2.2 asks).
 */
export function ageValue(currentAgeSeconds: number): string {
  return String(Math.min(Math.max(0, Math.floor(currentAgeSeconds)), 2147483648));
}
