/**
 * The private cache's decisions (RFC 9111, RFC 5861, RFC 8246) as pure functions of the request, the
 * stored response and `now`: whether a stored response may be used, how to revalidate it, what to
 * store, freshen or invalidate after an answer, and when to add If-Match. Each decision is a tagged
 * union with a `reason` for the trace. Never performs I/O, never reads the clock, never mutates input.
 */
import { createHash } from 'node:crypto';
import { parseDirectives, type DeltaSeconds, type Directives } from './directives.js';
import { endToEnd, hasHopByHop, hopByHopNames, type HeaderRecord } from '../headers.js';
import { parseHttpDate } from '../http-date.js';
import { rangeNeedsOrigin } from './range.js';
import type { HopRequest, Settings } from '../types.js';
import { resolveLocation, sameOrigin } from '../uri.js';

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
}

/** Settings the policy reads. */
export type PolicySettings = Pick<Settings, 'ignoreEtag' | 'optimisticConcurrencyMethods'>;

/** Heuristic freshness is 10% of the time since Last-Modified (RFC 9111 §4.2.2), at most one day. */
export const HEURISTIC_FRACTION = 0.1;
export const HEURISTIC_CAP_SECONDS = 24 * 60 * 60;

// RFC 9110 §15.1: statuses "heuristically cacheable" (RFC 9111 §4.2.2).
const HEURISTIC_STATUSES = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]);
// DESIGN.md: 301/308 answers to GET are permanent redirects (httplib2 keeps them for good).
const PERMANENT_REDIRECTS = new Set([301, 308]);
// RFC 9110 §9.2.1: every other method is unsafe and invalidates (RFC 9111 §4.4).
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
// RFC 9111 §3.2: a 304 never replaces what describes the stored body itself.
const NOT_UPDATED_BY_304 = new Set(['content-length', 'content-encoding', '-content-encoding', 'content-range', 'transfer-encoding']);
// DESIGN.md, Identity: a cookie set for one caller is theirs alone; entries keep the response without
// it, as Chromium's disk cache persists headers without cookies.
export const NEVER_STORED: readonly string[] = ['set-cookie', 'set-cookie2'];
// RFC 5861 §4: "an error is any situation that would result in a 500, 502, 503 or 504".
const ERROR_STATUSES = new Set([500, 502, 503, 504]);

// ---------------------------------------------------------------------------------------------
// Freshness (RFC 9111 §4.2)

/** A freshness lifetime in seconds with the rule that produced it. */
export interface Lifetime {
  readonly seconds: number;
  readonly source: string;
}

/** RFC 9111 §4.2.1, for a private cache (s-maxage is ignored: §5.2.2.10 is for shared caches). */
export function freshnessLifetime(stored: StoredResponse): Lifetime {
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
    const seconds = Math.max(0, Math.floor((expires - dateValue(stored)) / 1000));
    return { seconds, source: `Expires (${seconds}s after Date)` };
  }
  if (PERMANENT_REDIRECTS.has(stored.status)) return { seconds: Infinity, source: `permanent redirect ${stored.status}` };
  const lastModified = parseHttpDate(h['last-modified'], stored.responseTime);
  if (lastModified !== null && HEURISTIC_STATUSES.has(stored.status)) {
    const since = Math.max(0, (dateValue(stored) - lastModified) / 1000);
    const seconds = Math.floor(Math.min(since * HEURISTIC_FRACTION, HEURISTIC_CAP_SECONDS));
    return { seconds, source: `heuristic ${seconds}s (10% of Date - Last-Modified)` };
  }
  return { seconds: 0, source: 'no explicit freshness' };
}

// RFC 9110 §6.6.1: a response without a valid Date is dated when it was received.
function dateValue(stored: StoredResponse): number {
  return parseHttpDate(stored.headers['date'], stored.responseTime) ?? stored.responseTime;
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

/** RFC 9111 §4.2.3 current_age, in seconds. */
export function currentAge(stored: StoredResponse, now: number): number {
  const ageValue = parseAge(stored.headers['age']) ?? 0;
  const apparentAge = Math.max(0, (stored.responseTime - dateValue(stored)) / 1000);
  const responseDelay = Math.max(0, (stored.responseTime - stored.requestTime) / 1000);
  const correctedAgeValue = ageValue + responseDelay;
  const correctedInitialAge = Math.max(apparentAge, correctedAgeValue);
  const residentTime = Math.max(0, (now - stored.responseTime) / 1000);
  return correctedInitialAge + residentTime;
}

/**
 * RFC 9111 §5.1, §4.2.3: the Age a response served from the cache carries, its current age in whole
 * seconds (delta-seconds, clamped to 2^31 as §1.2.2 asks).
 */
export function ageValue(currentAgeSeconds: number): string {
  return String(Math.min(Math.max(0, Math.floor(currentAgeSeconds)), 2147483648));
}

/**
 * The head a stored response keeps: its end-to-end fields (RFC 9111 §3.1) without Set-Cookie and
 * Set-Cookie2 (DESIGN.md, Identity).
 */
export function storableHeaders(headers: Readonly<HeaderRecord>): HeaderRecord {
  const out = endToEnd(headers);
  for (const name of NEVER_STORED) delete out[name];
  return out;
}

/** True if a head holds a field {@link storableHeaders} would leave out. */
export function hasUnstorable(headers: Readonly<HeaderRecord>): boolean {
  return hasHopByHop(headers) || NEVER_STORED.some((name) => name in headers);
}

// ---------------------------------------------------------------------------------------------
// Vary (RFC 9111 §4.1)

/** The lower-cased names in a Vary value; `'*'` when it contains `*`. */
export function varyNames(vary: string | undefined): string[] | '*' {
  if (vary === undefined) return [];
  const names = vary.split(',').map((n) => n.trim().toLowerCase()).filter((n) => n !== '');
  return names.includes('*') ? '*' : names;
}

// §4.1 lets a cache normalise whitespace in the values it compares.
function normaliseValue(value: string | undefined): string | null {
  return value === undefined ? null : value.trim().replace(/[ \t]*,[ \t]*/g, ', ').replace(/[ \t]+/g, ' ');
}

// Entries are written where others may read them, and credentials never go there (DESIGN.md,
// Identity). Authorization already separates entries by identity key, so only its presence is
// compared; other secrets are compared by digest (session cookies carry enough entropy for that).
const IDENTITY_FIELDS = new Set(['authorization', 'proxy-authorization']);
const SECRET_FIELDS = new Set(['cookie', 'x-wsse']);

/** The form in which a Vary-selected request header is stored and compared. */
function varyValue(name: string, value: string | undefined): string | null {
  const v = normaliseValue(value);
  if (v === null) return null;
  if (IDENTITY_FIELDS.has(name)) return 'present';
  if (SECRET_FIELDS.has(name)) return `sha256:${createHash('sha256').update(v).digest('hex')}`;
  return v;
}

/** The request header values a response's Vary selects, to store with it; null for `Vary: *`. */
export function selectVaryHeaders(responseHeaders: Readonly<HeaderRecord>, requestHeaders: Readonly<HeaderRecord>): Record<string, string | null> | null {
  const names = varyNames(responseHeaders['vary']);
  if (names === '*') return null;
  const out: Record<string, string | null> = Object.create(null);
  for (const name of names) out[name] = varyValue(name, requestHeaders[name]);
  return out;
}

/** The first Vary-named header whose value differs, `'*'` for `Vary: *`, or null when all match. */
export function varyMismatch(stored: StoredResponse, requestHeaders: Readonly<HeaderRecord>): string | null {
  const names = varyNames(stored.headers['vary']);
  if (names === '*') return '*';
  for (const name of names) {
    if ((stored.vary[name] ?? null) !== varyValue(name, requestHeaders[name])) return name;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Validators (RFC 9110 §8.8.3, §13.1)

/** RFC 9110 §8.8.3.2 weak comparison: opaque tags equal, W/ prefixes ignored. */
export function weakEtagMatch(a: string, b: string): boolean {
  const strip = (t: string) => t.trim().replace(/^W\//, '');
  return strip(a) === strip(b);
}

function isWeakEtag(tag: string): boolean {
  return tag.trim().startsWith('W/');
}

/**
 * The stored ETag without the suffix Apache adds for the content coding its body arrived in, or null
 * when it carries none. Apache's mod_deflate (`DeflateAlterETag AddSuffix`, its default) and
 * mod_brotli append `-gzip` / `-br` inside the quotes of the tag of the variant they encoded, but
 * evaluate If-None-Match and If-Match against the handler's own tag, without the suffix: the tag as
 * received never matches there (Apache PR 45023), and its 304s carry the tag without the suffix.
 */
export function codingVariantBase(headers: Readonly<HeaderRecord>): string | null {
  const etag = headers['etag']?.trim();
  // The decoding layer keeps the coding it removed as `-content-encoding`.
  const codings = (headers['-content-encoding'] ?? headers['content-encoding'])?.split(',');
  const coding = codings?.[codings.length - 1]!.trim().toLowerCase();
  if (etag === undefined || !coding) return null;
  const suffix = `-${coding}"`;
  const opening = etag.indexOf('"');
  if (!etag.endsWith(suffix) || etag.length - suffix.length <= opening + 1) return null;
  return `${etag.slice(0, -suffix.length)}"`;
}

/** The conditional headers that revalidate `stored` (RFC 9111 §4.3.1) and how they are named in the trace. */
export function validatorsFor(stored: StoredResponse, req: HopRequest, settings: PolicySettings): { headers: HeaderRecord; via: string } {
  const headers: HeaderRecord = Object.create(null);
  const via: string[] = [];
  const etag = stored.headers['etag'];
  const lastModified = stored.headers['last-modified'];
  // DESIGN.md, Apache's -gzip ETags: a tag Apache never matches is left out when Last-Modified can
  // validate instead (If-None-Match would make the server ignore If-Modified-Since, RFC 9110
  // §13.1.3), and the unsuffixed tag is not sent either: the server never sent it for this variant.
  const unmatchable = lastModified !== undefined && codingVariantBase(stored.headers) !== null;
  // A caller's own validators are kept as they are (httplib2: only adds what is missing).
  if (etag !== undefined && !settings.ignoreEtag && !('if-none-match' in req.headers) && !unmatchable) {
    headers['if-none-match'] = etag;
    via.push('If-None-Match');
  }
  if (lastModified !== undefined && !('if-modified-since' in req.headers)) {
    headers['if-modified-since'] = lastModified;
    via.push(unmatchable ? `If-Modified-Since (not the coding variant's ETag ${etag}, which Apache never matches)` : 'If-Modified-Since');
  }
  return { headers, via: via.length ? via.join(' and ') : 'an unconditional request (no validator)' };
}

// ---------------------------------------------------------------------------------------------
// Lookup (RFC 9111 §4)

/** What to do with a request before it reaches the network. */
export type LookupDecision =
  /** Leave the cache out of it on the way in (unsafe methods, Range). */
  | { readonly kind: 'bypass'; readonly reason: string }
  /**
   * Nothing usable: ask the origin without validators. `reload`: a stored response exists and the
   * request's no-cache passed it over, so the answer replaces it even when it may not be stored.
   */
  | { readonly kind: 'miss'; readonly reason: string; readonly reload?: boolean }
  /** Serve the stored response without contacting the origin; `age` is its current age in seconds. */
  | { readonly kind: 'fresh'; readonly reason: string; readonly stored: StoredResponse; readonly age: number }
  /**
   * Ask the origin with `headers` added. With `background`, serve the stored response now and
   * revalidate behind it (RFC 5861 §3). With `staleIfError`, an error answer may be replaced by the
   * stored one (RFC 5861 §4).
   */
  | {
      readonly kind: 'revalidate';
      readonly reason: string;
      readonly stored: StoredResponse;
      /** Its current age in seconds (the Age of a stale answer served in the background case). */
      readonly age: number;
      readonly headers: HeaderRecord;
      readonly via: string;
      readonly background: boolean;
      readonly staleIfError: boolean;
    }
  /** only-if-cached with nothing usable: answer 504 (RFC 9111 §5.2.1.7). */
  | { readonly kind: 'unsatisfiable'; readonly reason: string };

export interface LookupInput {
  readonly req: HopRequest;
  /** The entry stored under the request's key, if any (already parsed and verified). */
  readonly stored: StoredResponse | null;
  /** The request's identity (DESIGN.md, Identity); null for anonymous. */
  readonly identity: string | null;
  readonly now: number;
  readonly settings: PolicySettings;
}

/** RFC 9111 §4: may `stored` answer `req` at `now`, and if not, how should the origin be asked? */
export function lookup(input: LookupInput): LookupDecision {
  const { req, stored, identity, now, settings } = input;
  if (req.method !== 'GET' && req.method !== 'HEAD') return { kind: 'bypass', reason: `bypass: ${req.method} is not served from the cache` };
  // RFC 9110 §14: a single range is answered from a complete stored 200 (the driver slices it);
  // entries are never partial (RFC 9111 §3.3 is not implemented), so a miss asks the origin as is.
  const range = req.method === 'GET' ? req.headers['range'] : undefined;
  const rangeBypass = range === undefined || stored === null ? null : rangeNeedsOrigin(range, stored.headers);
  if (rangeBypass !== null) return { kind: 'bypass', reason: `bypass: Range request: ${rangeBypass}` };
  const reqCc = parseDirectives(req.headers['cache-control'], req.headers['pragma']);
  const unusable = unusableReason(stored, req, identity);
  if (unusable !== null || stored === null) {
    const reason = unusable ?? 'miss: nothing stored';
    return reqCc.onlyIfCached ? { kind: 'unsatisfiable', reason: `${reason}; only-if-cached → 504` } : { kind: 'miss', reason };
  }
  const resCc = parseDirectives(stored.headers['cache-control']);
  const lifetime = freshnessLifetime(stored);
  const age = currentAge(stored, now);
  const fresh = lifetime.seconds > age; // §4.2: response_is_fresh = (freshness_lifetime > current_age)
  const ageText = `age ${Math.floor(age)}s`;
  // RFC 8246 §2: an immutable response is not revalidated on reload while it is fresh.
  const immutableFresh = resCc.immutable && fresh && !resCc.noCache;
  const refusal = immutableFresh ? null : requestRefusal(reqCc, lifetime.seconds, age);
  if (refusal === 'reload') {
    return reqCc.onlyIfCached ? { kind: 'unsatisfiable', reason: 'miss: request no-cache; only-if-cached → 504' } : { kind: 'miss', reason: 'miss: request no-cache (end-to-end reload)', reload: true };
  }
  if (fresh && !resCc.noCache && refusal === null) {
    return { kind: 'fresh', reason: `fresh: ${lifetime.source}, ${ageText}${resCc.immutable ? ', immutable' : ''}`, stored, age };
  }
  const staleness = age - lifetime.seconds;
  // §4.2.4 and §5.2.2.2: must-revalidate and no-cache forbid every kind of stale answer.
  const staleAllowed = !resCc.noCache && !resCc.mustRevalidate && !resCc.proxyRevalidate;
  const why = resCc.noCache ? 'response no-cache' : refusal ?? `stale: ${lifetime.source}, ${ageText}`;
  if (!fresh && staleAllowed && refusal === null && withinDelta(reqCc.maxStale, staleness)) {
    return { kind: 'fresh', reason: `stale but acceptable: request max-stale${reqCc.maxStale === 'any' ? '' : `=${String(reqCc.maxStale)}`}, ${ageText}`, stored, age };
  }
  if (reqCc.onlyIfCached) return { kind: 'unsatisfiable', reason: `${why}; only-if-cached → 504` };
  // HEAD only reads what a fresh GET entry says; a stale one is asked for again as it is.
  if (req.method === 'HEAD') return { kind: 'miss', reason: `miss: HEAD with a stored GET that needs revalidation (${why})` };
  const { headers, via } = validatorsFor(stored, req, settings);
  const background = staleAllowed && refusal === null && !fresh && withinDelta(resCc.staleWhileRevalidate, staleness);
  const staleIfError = staleAllowed && !fresh && (withinDelta(resCc.staleIfError, staleness) || withinDelta(reqCc.staleIfError, staleness));
  return {
    kind: 'revalidate',
    reason: background ? `stale-while-revalidate: served stale (${ageText}), revalidating with ${via}` : `revalidate: ${why}, with ${via}`,
    stored,
    age,
    headers,
    via,
    background,
    staleIfError,
  };
}

function withinDelta(limit: DeltaSeconds | 'any' | undefined, staleness: number): boolean {
  if (limit === undefined || limit === 'invalid') return false;
  return limit === 'any' || staleness <= limit;
}

// Why the stored response cannot answer this request at all, or null.
function unusableReason(stored: StoredResponse | null, req: HopRequest, identity: string | null): string | null {
  if (stored === null) return null;
  // DESIGN.md, Identity: keys already separate identities; this guards a store that mixes them up.
  if (stored.identity !== identity) return 'miss: stored for another identity';
  const mismatch = varyMismatch(stored, req.headers);
  if (mismatch === '*') return 'miss: Vary: * never matches';
  if (mismatch !== null) return `miss: Vary mismatch on ${mismatch}`;
  return null;
}

// Request directives that refuse a stored response (RFC 9111 §5.2.1): 'reload' for no-cache.
function requestRefusal(cc: Directives, lifetime: number, age: number): string | 'reload' | null {
  // httplib2 reloads end to end on a request no-cache; RFC 9111 §5.2.1.4 allows that.
  if (cc.noCache) return 'reload';
  // Read as httplib2 does, min(lifetime, max-age) > age, so max-age=0 always revalidates.
  if (cc.maxAge !== undefined && cc.maxAge !== 'invalid' && !(cc.maxAge > age)) return `request max-age=${cc.maxAge}`;
  if (cc.minFresh !== undefined && cc.minFresh !== 'invalid' && lifetime - age < cc.minFresh) return `request min-fresh=${cc.minFresh}`;
  return null;
}

// ---------------------------------------------------------------------------------------------
// After the answer (RFC 9111 §3, §4.3.3, §4.3.4, §4.4)

/** What to do with the cache once the origin answered. */
export type AfterDecision =
  /** Store `stored` (with the body) under its key. */
  | { readonly kind: 'store'; readonly reason: string; readonly stored: StoredResponse }
  /** A 304 validated the stored response: keep its body, replace its head with `stored`. */
  | { readonly kind: 'freshen'; readonly reason: string; readonly stored: StoredResponse }
  /** Remove what is stored for these URIs (their keys for this identity and the anonymous one). */
  | { readonly kind: 'invalidate'; readonly reason: string; readonly urls: readonly URL[] }
  /** Leave the cache as it is. */
  | { readonly kind: 'pass'; readonly reason: string }
  /** A 304 whose validator does not match the stored response: ask again without validators. */
  | { readonly kind: 'refetch'; readonly reason: string };

export interface AfterInput {
  readonly req: HopRequest;
  readonly key: string;
  readonly identity: string | null;
  readonly status: number;
  readonly reasonPhrase: string;
  readonly version: number;
  readonly headers: Readonly<HeaderRecord>;
  /** Length of the decoded body as received. */
  readonly bodyLength: number;
  /** The stored response that was revalidated, if any. */
  readonly stored: StoredResponse | null;
  /** A reload passed over a stored response (lookup's `reload`): the answer replaces it. */
  readonly replaces?: boolean;
  /** The validators sent, for the trace (`If-None-Match`...). */
  readonly via: string;
  readonly requestTime: number;
  readonly responseTime: number;
}

/** RFC 9111 §3 (storing), §4.3.4 (freshening with a 304) and §4.4 (invalidation). */
export function afterResponse(input: AfterInput): AfterDecision {
  const { req, status } = input;
  if (!SAFE_METHODS.has(req.method)) return afterUnsafe(input);
  if (req.method !== 'GET') return { kind: 'pass', reason: `not stored: ${req.method} responses are not stored` };
  if (status === 304) return afterNotModified(input);
  const refusal = storageRefusal(input);
  if (refusal !== null) {
    // httplib2 drops a stored entry whose new answer may not be stored (no-store, Vary: *...); after
    // a reload too, or the older answer would be served again once the newer one was seen.
    if (input.stored !== null || input.replaces === true) return { kind: 'invalidate', reason: `not stored: ${refusal}; stored entry dropped`, urls: [req.url] };
    return { kind: 'pass', reason: `not stored: ${refusal}` };
  }
  // §3.1: the fields Connection lists and the hop-by-hop set describe this connection, not the response.
  const stored = storedFrom(input, storableHeaders(input.headers));
  return { kind: 'store', reason: `stored: ${freshnessLifetime(stored).source}`, stored };
}

function afterUnsafe(input: AfterInput): AfterDecision {
  const { req, status, headers } = input;
  // §4.4: only a non-error status (2xx, 3xx) shows the state may have changed.
  if (status < 200 || status >= 400) return { kind: 'pass', reason: `pass: ${req.method} answered ${status}, nothing invalidated` };
  const urls: URL[] = [req.url];
  for (const name of ['location', 'content-location']) {
    const value = headers[name];
    const target = value === undefined ? null : resolveLocation(value, req.url);
    // §4.4: only same-origin targets, so one origin cannot evict another's entries.
    if (target !== null && sameOrigin(target, req.url)) urls.push(target);
  }
  return { kind: 'invalidate', reason: `invalidated: ${req.method} answered ${status}`, urls };
}

function lastModifiedDiffers(fresh: string | undefined, stored: string | undefined, now: number): boolean {
  if (fresh === undefined || stored === undefined) return false;
  const a = parseHttpDate(fresh, now);
  const b = parseHttpDate(stored, now);
  return a !== null && b !== null && a !== b;
}

function afterNotModified(input: AfterInput): AfterDecision {
  const { stored, headers } = input;
  // The caller's own conditional request (feedparser's etag/modified): the 304 is theirs.
  if (stored === null) return { kind: 'pass', reason: 'pass: 304 with no stored entry goes back as is' };
  const newTag = headers['etag'];
  const oldTag = stored.headers['etag'];
  // §4.3.4: a 304 only updates the stored response its validator selects (weak comparison). Apache
  // answers for its coding variant with the tag it compared, the stored one without its suffix.
  const base = codingVariantBase(stored.headers);
  if (newTag !== undefined && oldTag !== undefined && !weakEtagMatch(newTag, oldTag) && !(base !== null && weakEtagMatch(newTag, base))) {
    return { kind: 'refetch', reason: `refetch: 304 ETag ${newTag} does not match stored ${oldTag}` };
  }
  // Without an ETag, Last-Modified is the validator that selects (§4.3.4): another date names
  // another representation than the one stored.
  if (newTag === undefined && lastModifiedDiffers(headers['last-modified'], stored.headers['last-modified'], input.responseTime)) {
    return { kind: 'refetch', reason: `refetch: 304 Last-Modified ${headers['last-modified']} does not match stored ${stored.headers['last-modified']}` };
  }
  const hop = hopByHopNames(headers['connection']);
  const merged: HeaderRecord = storableHeaders(stored.headers);
  // The stored Age and Date describe the old response at its old response_time, which the freshened
  // entry no longer has: an Age the 304 does not repeat would be counted again on top of the new
  // times (§5.1: Age is the time since the origin last validated it — just now), and so would an old
  // Date (RFC 9110 §6.6.1: a message without Date is dated when it is received). Either kept the
  // entry stale after every 304.
  delete merged['age'];
  if (headers['date'] === undefined) delete merged['date'];
  for (const [name, value] of Object.entries(headers)) {
    if (!hop.has(name) && !NOT_UPDATED_BY_304.has(name) && !NEVER_STORED.includes(name)) merged[name] = value;
  }
  const freshened: StoredResponse = {
    ...stored,
    headers: merged,
    requestTime: input.requestTime,
    responseTime: input.responseTime,
  };
  return { kind: 'freshen', reason: `revalidated: 304 via ${input.via}`, stored: freshened };
}

// Why a GET answer may not be stored (RFC 9111 §3), or null.
function storageRefusal(input: AfterInput): string | null {
  const { req, status, headers, bodyLength } = input;
  const reqCc = parseDirectives(req.headers['cache-control'], req.headers['pragma']);
  const resCc = parseDirectives(headers['cache-control']);
  if (reqCc.noStore) return 'request no-store';
  if (resCc.noStore) return 'no-store';
  if (status < 200) return `status ${status} is not final`;
  // §3.3: a 206 is only combined by caches that store ranges; this one keeps whole responses only.
  if (status === 206) return '206 (partial content is never stored)';
  if (varyNames(headers['vary']) === '*') return 'Vary: *';
  const declared = headers['content-length'];
  if (declared !== undefined && /^[0-9]+$/.test(declared.trim()) && Number(declared) !== bodyLength) {
    return `truncated body (${bodyLength} of ${declared} bytes)`;
  }
  const cc = resCc;
  const explicit = (cc.maxAge !== undefined && cc.maxAge !== 'invalid') || headers['expires'] !== undefined;
  // §3: storable when it has explicit freshness, or its status is heuristically cacheable.
  if (!explicit && !HEURISTIC_STATUSES.has(status)) return `status ${status} without explicit freshness`;
  const lifetime = freshnessLifetime(storedFrom(input, headers));
  const validator = headers['etag'] !== undefined || headers['last-modified'] !== undefined;
  // An entry that is stale at once and cannot be revalidated would never be used.
  if (lifetime.seconds <= 0 && !validator && cc.staleIfError === undefined) return `${lifetime.source} and no validator`;
  return null;
}

function storedFrom(input: AfterInput, headers: Readonly<HeaderRecord>): StoredResponse {
  return {
    key: input.key,
    status: input.status,
    reason: input.reasonPhrase,
    version: input.version,
    headers,
    vary: selectVaryHeaders(headers, input.req.headers) ?? Object.create(null),
    identity: input.identity,
    requestTime: input.requestTime,
    responseTime: input.responseTime,
  };
}

// ---------------------------------------------------------------------------------------------
// Errors and lost updates

/** RFC 5861 §4: may an answer with this status be replaced by a stale stored response? */
export function isErrorStatus(status: number): boolean {
  return ERROR_STATUSES.has(status);
}

/** Whether to add `If-Match` to an unsafe request (lost-update protection, httplib2's optimistic concurrency). */
export type Precondition =
  | { readonly kind: 'if-match'; readonly etag: string; readonly reason: string }
  | { readonly kind: 'none'; readonly reason: string | null };

/** The If-Match a request in `optimisticConcurrencyMethods` carries, from the ETag stored for its URI. */
export function preconditionFor(req: HopRequest, stored: StoredResponse | null, settings: PolicySettings): Precondition {
  if (!settings.optimisticConcurrencyMethods.includes(req.method)) return { kind: 'none', reason: null };
  if (settings.ignoreEtag) return { kind: 'none', reason: 'no If-Match: ignoreEtag' };
  if ('if-match' in req.headers) return { kind: 'none', reason: 'no If-Match added: the caller set one' };
  const storedTag = stored?.headers['etag'];
  if (stored === null || storedTag === undefined) return { kind: 'none', reason: 'no If-Match: no stored ETag' };
  // DESIGN.md, Apache's -gzip ETags: the PUT replaces the resource, whose own tag is the one Apache
  // compares; the coding variant's tag would fail every PUT with 412.
  const base = codingVariantBase(stored.headers);
  const etag = base ?? storedTag;
  // RFC 9110 §13.1.1: If-Match compares strongly, so a weak tag could never match.
  if (isWeakEtag(etag)) return { kind: 'none', reason: `no If-Match: stored ETag ${etag} is weak` };
  const why = base === null ? '' : `, the resource's tag under the coding variant's ${storedTag}`;
  return { kind: 'if-match', etag, reason: `If-Match: ${etag} (lost-update protection${why})` };
}
