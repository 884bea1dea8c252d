/**
 * The private cache's decisions (RFC 9111, RFC 5861, RFC 8246) as pure functions of the request, the
 * stored response and `now`: the whole plan of a visit, step by step — what a request needs from the
 * store, whether a stored response may answer it and which part of it, how to revalidate it or add
 * If-Match, what to store, freshen or invalidate after an answer, and when a stale answer replaces an
 * error. Each step is a tagged union with a `reason` for the trace. Never performs I/O, never reads
 * the clock, never mutates input.
 */
import { createHash } from 'node:crypto';
import { parseDirectives, type DeltaSeconds, type Directives } from './directives.js';
import { emptyRecord, endToEnd, NO_FIELDS, hasHopByHop, hopByHopNames, type HeaderRecord } from '../headers.js';
import { parseHttpDate } from '../http-date.js';
import { currentAge, freshnessLifetime, HEURISTIC_STATUSES, staleAt, type Lifetime, type StoredResponse } from './freshness.js';
import { rangeNeedsOrigin, selectRange, type RangeSelection } from './range.js';
import { QUERY, queryContentKey } from './query.js';
import { heldUntil, instant, isStandIn, notBeforeOf, type NotBefore } from './retry-after.js';
import type { ErrorCode } from '../errors.js';
import type { CacheDetail } from '../response.js';
import type { HopRequest, Settings } from '../types.js';
import { cacheKey, resolveLocation, sameOrigin } from '../uri.js';

/** Settings the policy reads. */
export type PolicySettings = Pick<Settings, 'ignoreEtag' | 'optimisticConcurrencyMethods' | 'goneLifetime' | 'maxRetryAfter'>;

// RFC 9110 §9.2.1 (and RFC 10008 §2 for QUERY): every other method is unsafe and invalidates (RFC 9111 §4.4).
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', QUERY]);
// The methods whose answers are stored: GET, and QUERY with its content in the key (RFC 10008 §2.7).
const STORED_METHODS = new Set(['GET', QUERY]);
// RFC 9111 §3.2: a 304 never replaces what describes the stored body itself.
const NOT_UPDATED_BY_304 = new Set(['content-length', 'content-encoding', '-content-encoding', 'content-range', 'transfer-encoding']);
// DESIGN.md, Identity: a cookie set for one caller is theirs alone; entries keep the response without
// it, as Chromium's disk cache persists headers without cookies.
export const NEVER_STORED: readonly string[] = ['set-cookie', 'set-cookie2'];
// RFC 5861 §4: "an error is any situation that would result in a 500, 502, 503 or 504".
const ERROR_STATUSES = new Set([500, 502, 503, 504]);
// Failures a gateway would answer with one of those: the origin, or the path to it, did not answer.
// Never a bug (ERR_INTERNAL), the caller's abort, a closed Http, a refused request, a body past its
// limit or a broken coding: an answer arrived, or the request never should have left.
const ORIGIN_FAILURES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'ERR_CONNECTION', 'ERR_SERVER_NOT_FOUND', 'ERR_REQUEST_TIMEOUT', 'ERR_PROXY', 'ERR_TLS',
]);

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
  const out = emptyRecord<string | null>();
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

// A field value without the whitespace around it; an empty one is no validator at all.
function fieldValue(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** The conditional headers that revalidate `stored` (RFC 9111 §4.3.1) and how they are named in the trace. */
export function validatorsFor(stored: StoredResponse, req: HopRequest, settings: PolicySettings): { headers: HeaderRecord; via: string } {
  const headers: HeaderRecord = emptyRecord();
  const via: string[] = [];
  // Sent exactly as received (W/, quotes, obs-text and all): an origin compares them byte for byte,
  // and feed publishers count a validator they never sent as misbehaviour. Only the whitespace
  // around a field value goes, which is no part of it (RFC 9110 §5.5) and which the parser may keep.
  const etag = fieldValue(stored.headers['etag']);
  const lastModified = fieldValue(stored.headers['last-modified']);
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
// The plan of a visit. The driver carries out one step after another: what the request needs from
// the store (intake), what the stored response allows (lookup, preconditionFor), and what the
// origin's answer or failure leaves to do (afterResponse, afterFailure). Every step has a `reason`
// for the trace (null: nothing worth a line).

/** The store key of a URI for an identity: the normalised URI, then the identity if any. */
export function storeKey(url: URL, identity: string | null): string {
  const base = cacheKey(url);
  return identity === null ? base : `${base} ${identity}`;
}

/**
 * The store key of a request for an identity: its URI's ({@link storeKey}); for QUERY, the method
 * and a digest of the request content and its metadata too (RFC 10008 §2.7), so a different query is
 * another entry. A GET key is a URI, which never starts with `QUERY `: the two never meet.
 */
export function requestKey(req: HopRequest, identity: string | null): string {
  if (req.method !== QUERY) return storeKey(req.url, identity);
  const base = `${QUERY} ${cacheKey(req.url)} ${queryContentKey(req)}`;
  return identity === null ? base : `${base} ${identity}`;
}

/** What an answer is decided with besides itself: the request, its store key, its identity and the settings. */
export interface VisitFacts {
  readonly req: HopRequest;
  readonly key: string;
  readonly identity: string | null;
  readonly settings: PolicySettings;
}

/**
 * How the origin is asked, and what may stand in for its answer: one record from the first decision
 * to the one after the answer.
 */
export interface Ask {
  /** Fields added to the request: validators (RFC 9111 §4.3.1) or If-Match; never one the caller set. */
  readonly add: Readonly<HeaderRecord>;
  /** The stored response a 304 freshens, or that may replace an error (null: none). */
  readonly stored: StoredResponse | null;
  /** Its body length in bytes (the Range selection of a freshened or stale answer counts on it). */
  readonly storedLength: number;
  /** How `add` is named in the trace (`If-None-Match and If-Modified-Since`). */
  readonly via: string;
  /** RFC 5861 §4: `stored` may replace an error answer (decided when it was looked up). */
  readonly staleIfError: boolean;
  /** A request no-cache passed over a stored response: the answer replaces it, stored or not. */
  readonly replaces: boolean;
  /**
   * The stored response an error answer leaves in place (revalidated, or passed over by a reload):
   * it is kept for the next revalidation rather than dropped (null: none).
   */
  readonly kept: StoredResponse | null;
  /** Identical asks in flight share one exchange (a GET without a body, or a QUERY: its key holds its content). */
  readonly shared: boolean;
}

/** The step that asks the origin (every method but GET and HEAD comes to it from intake or If-Match). */
export interface AskStep {
  readonly kind: 'ask';
  readonly reason: string | null;
  readonly ask: Ask;
}

/**
 * How a stored response answers this request: whole, its head only (HEAD), or what a Range selects
 * of it (range.ts: a slice, a 416, or the whole answer with the reason the Range was ignored).
 */
export type Part = RangeSelection | { readonly kind: 'whole' | 'none'; readonly reason: null };

/** A stored response served: its current age in seconds (RFC 9111 §4.2.3) and the part served. */
export interface Serving {
  readonly stored: StoredResponse;
  readonly age: number;
  readonly part: Part;
}

const WHOLE: Part = Object.freeze({ kind: 'whole', reason: null });
const NONE: Part = Object.freeze({ kind: 'none', reason: null });

/** The origin asked as the caller asked it: nothing added, nothing to stand in for its answer. */
export const AS_ASKED: Ask = Object.freeze({
  add: NO_FIELDS, stored: null, storedLength: 0, via: '', staleIfError: false, replaces: false, kept: null, shared: false,
});

// Nothing stored can answer: the origin is asked as asked; GETs in flight share the answer. A
// reload passes over `kept`, which an error answer leaves in place.
function anew(req: HopRequest, kept: StoredResponse | null): Ask {
  const shared = isShareable(req);
  const replaces = kept !== null;
  return shared || replaces ? { ...AS_ASKED, replaces, kept, shared } : AS_ASKED;
}

// One exchange may answer every identical request in flight: the store key names all they send.
function isShareable(req: HopRequest): boolean {
  return req.method === QUERY || (req.method === 'GET' && req.body === null);
}

/**
 * The part of `stored` (whose body is `bodyLength` bytes) that answers `req`: its head only for
 * HEAD (RFC 9110 §9.3.2), a Range selection of a stored 200 (RFC 9110 §14; `now` places the
 * two-digit years of an If-Range date), else the whole.
 */
export function partFor(req: HopRequest, stored: StoredResponse, bodyLength: number, now: number): Part {
  if (req.method === 'HEAD') return NONE;
  // RFC 10008 §2.8 gives a QUERY's Range the semantics of GET's, and "little value": the whole answer.
  if (req.method !== 'GET' || stored.status !== 200 || req.headers['range'] === undefined) return WHOLE;
  return selectRange(req.headers, stored.headers, bodyLength, now);
}

// `stored` (with `bodyLength` bytes of body) served to `req` at `now`.
function serving(req: HopRequest, stored: StoredResponse, bodyLength: number, now: number): Serving {
  return { stored, age: currentAge(stored, now), part: partFor(req, stored, bodyLength, now) };
}

// ---------------------------------------------------------------------------------------------
// Before the store is read (RFC 9111 §4, §4.4; httplib2's optimistic concurrency)

/** What a request needs from the store: its stored response looked up or read for its ETag, or nothing. */
export type Intake = { readonly kind: 'read'; readonly reason: null; readonly then: 'lookup' | 'precondition' } | AskStep;

const READ_FOR_LOOKUP: Intake = Object.freeze({ kind: 'read', reason: null, then: 'lookup' });
const READ_FOR_PRECONDITION: Intake = Object.freeze({ kind: 'read', reason: null, then: 'precondition' });
const ASK_AS_ASKED: AskStep = Object.freeze({ kind: 'ask', reason: null, ask: AS_ASKED });

/**
 * The first decision of a visit. GET, HEAD and QUERY look the stored response up; a method in
 * `optimisticConcurrencyMethods` reads it for its ETag (If-Match); every other method goes to the
 * origin as it is, and its answer may invalidate.
 */
export function intake(req: HopRequest, settings: PolicySettings): Intake {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === QUERY) return READ_FOR_LOOKUP;
  return settings.optimisticConcurrencyMethods.includes(req.method) ? READ_FOR_PRECONDITION : ASK_AS_ASKED;
}

/**
 * A request on an Http without a cache (RFC 9111 §5.2.1.7, as httplib2 answers it): only-if-cached
 * has nothing to be served from, so it is a 504 and no request.
 */
export function withoutStore(req: HopRequest): 'unsatisfiable' | 'forward' {
  return parseDirectives(req.headers['cache-control']).onlyIfCached ? 'unsatisfiable' : 'forward';
}

// ---------------------------------------------------------------------------------------------
// Lookup (RFC 9111 §4)

/** How a GET or HEAD is answered once its stored response (if any) was read. */
export type Lookup =
  /** Serve the stored response without contacting the origin (fresh, or stale within max-stale). */
  | ({ readonly kind: 'fresh'; readonly reason: string; readonly detail?: 'max-stale' } & Serving)
  /** RFC 5861 §3: serve the stale stored response now, and revalidate it behind the answer with `ask`. */
  | ({ readonly kind: 'stale-while-revalidate'; readonly reason: string; readonly ask: Ask } & Serving)
  /** Ask the origin with the stored response's validators (RFC 9111 §4.3.1). */
  | { readonly kind: 'revalidate'; readonly reason: string; readonly ask: Ask; readonly detail: 'stale' | 'request' | 'no-cache' }
  /**
   * RFC 9110 §10.2.3: the origin asked not to be asked before the stored not-before time, so it is
   * not: serve the stored response (stale, or the stored 429/503 itself), or, for one that may never
   * be served stale (must-revalidate, no-cache), answer 504 as a cache that cannot reach the origin
   * does (RFC 9111 §5.2.2.2).
   */
  | ({ readonly kind: 'retry-after'; readonly reason: string; readonly serve: boolean } & Serving)
  /** Nothing usable: ask the origin as asked (`ask.replaces` when a request no-cache passed over one). */
  | { readonly kind: 'miss'; readonly reason: string; readonly ask: Ask; readonly detail: 'uri-miss' | 'vary-miss' | 'request' | 'stale' }
  /** Leave the cache out of it on the way in (unsafe methods, ranges the origin answers). */
  | { readonly kind: 'bypass'; readonly reason: string }
  /** only-if-cached with nothing usable: answer 504 (RFC 9111 §5.2.1.7). */
  | { readonly kind: 'unsatisfiable'; readonly reason: string };

export interface LookupInput {
  readonly req: HopRequest;
  /** The entry stored under the request's key, if any (already parsed and verified). */
  readonly stored: StoredResponse | null;
  /** Its body length in bytes (what a Range selects from). */
  readonly bodyLength: number;
  /** The request's identity (DESIGN.md, Identity); null for anonymous. */
  readonly identity: string | null;
  readonly now: number;
  readonly settings: PolicySettings;
}

/** RFC 9111 §4: may `stored` answer `req` at `now`, and if not, how should the origin be asked? */
export function lookup(input: LookupInput): Lookup {
  const { req, stored } = input;
  if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== QUERY) return { kind: 'bypass', reason: `bypass: ${req.method} is not served from the cache` };
  // RFC 9110 §14: a single range is answered from a complete stored 200 (partFor slices it);
  // entries are never partial (RFC 9111 §3.3 is not implemented), so a miss asks the origin as is.
  const range = req.method === 'GET' ? req.headers['range'] : undefined;
  const rangeBypass = range === undefined || stored === null ? null : rangeNeedsOrigin(range, stored.headers);
  if (rangeBypass !== null) return { kind: 'bypass', reason: `bypass: Range request: ${rangeBypass}` };
  const reqCc = parseDirectives(req.headers['cache-control'], req.headers['pragma']);
  const unusable = unusableReason(stored, req, input.identity);
  if (unusable !== null || stored === null) {
    const reason = unusable ?? 'miss: nothing stored';
    const detail = unusable === null ? 'uri-miss' : 'vary-miss';
    return reqCc.onlyIfCached ? { kind: 'unsatisfiable', reason: `${reason}; only-if-cached → 504` } : { kind: 'miss', reason, ask: anew(req, null), detail };
  }
  return lookupStored(input, stored, reqCc);
}

/** Where a stored response stands for a request: its lifetime and age, and what each side's directives say. */
interface Standing {
  readonly reqCc: Directives;
  readonly resCc: Directives;
  readonly lifetime: Lifetime;
  /** Current age in seconds. */
  readonly age: number;
  readonly fresh: boolean;
  /** Why the request's directives refuse it (RFC 9111 §5.2.1), or null. */
  readonly refusal: string | null;
}

// A usable stored response: fresh, reloaded past, or stale.
function lookupStored(input: LookupInput, stored: StoredResponse, reqCc: Directives): Lookup {
  const { req, now } = input;
  const resCc = parseDirectives(stored.headers['cache-control']);
  const lifetime = freshnessLifetime(stored, input.settings.goneLifetime);
  const age = currentAge(stored, now);
  const fresh = lifetime.seconds > age; // §4.2: response_is_fresh = (freshness_lifetime > current_age)
  // RFC 8246 §2: an immutable response is not revalidated on reload while it is fresh.
  const immutableFresh = resCc.immutable && fresh && !resCc.noCache;
  const refusal = immutableFresh ? null : requestRefusal(reqCc, lifetime.seconds, age);
  // The caller insists (request no-cache): the request goes out, a not-before time notwithstanding.
  if (refusal === 'reload') {
    return reqCc.onlyIfCached ? { kind: 'unsatisfiable', reason: 'miss: request no-cache; only-if-cached → 504' }
      : { kind: 'miss', reason: 'miss: request no-cache (end-to-end reload)', ask: anew(req, isStandIn(stored) ? null : stored), detail: 'request' };
  }
  if (fresh && !resCc.noCache && refusal === null) {
    const reason = `fresh: ${lifetime.source}, age ${Math.floor(age)}s${resCc.immutable ? ', immutable' : ''}`;
    return { kind: 'fresh', reason, stored, age, part: partFor(req, stored, input.bodyLength, now) };
  }
  const until = heldUntil(stored, now);
  if (until !== null) return retryLater(input, stored, { resCc, age }, until);
  // A stored 429/503 stands in for the answer only until its time: then there is nothing to revalidate.
  if (isStandIn(stored)) {
    const reason = `miss: the stored ${stored.status} held requests back until ${instant(stored.notBefore!)}`;
    return reqCc.onlyIfCached ? { kind: 'unsatisfiable', reason: `${reason}; only-if-cached → 504` } : { kind: 'miss', reason, ask: anew(req, null), detail: 'stale' };
  }
  return lookupStale(input, stored, { reqCc, resCc, lifetime, age, fresh, refusal });
}

// RFC 9110 §10.2.3: until `until` the origin is not asked for this resource (a request no-cache
// aside). The stored response answers, stale (the origin said it will not give a fresher one before
// then), or the stored 429/503 itself; one that may never be served stale gets the 504 of a cache
// that cannot reach the origin (RFC 9111 §4.2.4, §5.2.2.2) rather than a request the origin refused.
function retryLater(input: LookupInput, stored: StoredResponse, s: Pick<Standing, 'resCc' | 'age'>, until: number): Lookup {
  const serving: Serving = { stored, age: s.age, part: partFor(input.req, stored, input.bodyLength, input.now) };
  const held = `retry-after: not asking the origin before ${instant(until)}`;
  if (isStandIn(stored)) return { kind: 'retry-after', reason: `${held}; answered with the stored ${stored.status}`, serve: true, ...serving };
  const never = s.resCc.noCache ? 'no-cache' : s.resCc.mustRevalidate ? 'must-revalidate' : s.resCc.proxyRevalidate ? 'proxy-revalidate' : null;
  if (never !== null) return { kind: 'retry-after', reason: `${held}; the stored response is ${never}, never served stale → 504`, serve: false, ...serving };
  return { kind: 'retry-after', reason: `${held}; served stale (age ${Math.floor(s.age)}s)`, serve: true, ...serving };
}

// A stored response that may not be served as it is: served stale if a directive allows it,
// revalidated otherwise.
function lookupStale(input: LookupInput, stored: StoredResponse, s: Standing): Lookup {
  const { req, now } = input;
  const staleness = s.age - s.lifetime.seconds;
  const ageText = `age ${Math.floor(s.age)}s`;
  // §4.2.4 and §5.2.2.2: must-revalidate and no-cache forbid every kind of stale answer.
  const staleAllowed = !s.resCc.noCache && !s.resCc.mustRevalidate && !s.resCc.proxyRevalidate;
  const why = s.resCc.noCache ? 'response no-cache' : s.refusal ?? `stale: ${s.lifetime.source}, ${ageText}`;
  if (!s.fresh && staleAllowed && s.refusal === null && withinDelta(s.reqCc.maxStale, staleness)) {
    const reason = `stale but acceptable: request max-stale${s.reqCc.maxStale === 'any' ? '' : `=${String(s.reqCc.maxStale)}`}, ${ageText}`;
    return { kind: 'fresh', reason, detail: 'max-stale', stored, age: s.age, part: partFor(req, stored, input.bodyLength, now) };
  }
  if (s.reqCc.onlyIfCached) return { kind: 'unsatisfiable', reason: `${why}; only-if-cached → 504` };
  // HEAD only reads what a fresh GET entry says; a stale one is asked for again as it is.
  if (req.method === 'HEAD') return { kind: 'miss', reason: `miss: HEAD with a stored GET that needs revalidation (${why})`, ask: anew(req, null), detail: 'stale' };
  const { headers, via } = validatorsFor(stored, req, input.settings);
  const staleIfError = staleAllowed && !s.fresh && (withinDelta(s.resCc.staleIfError, staleness) || withinDelta(s.reqCc.staleIfError, staleness));
  const ask: Ask = { add: headers, stored, storedLength: input.bodyLength, via, staleIfError, replaces: false, kept: stored, shared: isShareable(req) };
  if (staleAllowed && s.refusal === null && !s.fresh && withinDelta(s.resCc.staleWhileRevalidate, staleness)) {
    const reason = `stale-while-revalidate: served stale (${ageText}), revalidating with ${via}`;
    return { kind: 'stale-while-revalidate', reason, stored, age: s.age, part: partFor(req, stored, input.bodyLength, now), ask };
  }
  const detail = s.resCc.noCache ? 'no-cache' : s.refusal !== null ? 'request' : 'stale';
  return { kind: 'revalidate', reason: `revalidate: ${why}, with ${via}`, ask, detail };
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

/**
 * The If-Match a request in `optimisticConcurrencyMethods` carries, from the ETag stored for its URI
 * (lost-update protection, httplib2's optimistic concurrency): the ask with it, or as asked.
 */
export function preconditionFor(req: HopRequest, stored: StoredResponse | null, settings: PolicySettings): AskStep {
  if (!settings.optimisticConcurrencyMethods.includes(req.method)) return ASK_AS_ASKED;
  if (settings.ignoreEtag) return { kind: 'ask', reason: 'no If-Match: ignoreEtag', ask: AS_ASKED };
  if ('if-match' in req.headers) return { kind: 'ask', reason: 'no If-Match added: the caller set one', ask: AS_ASKED };
  const storedTag = fieldValue(stored?.headers['etag']);
  if (stored === null || storedTag === undefined) return { kind: 'ask', reason: 'no If-Match: no stored ETag', ask: AS_ASKED };
  // DESIGN.md, Apache's -gzip ETags: the PUT replaces the resource, whose own tag is the one Apache
  // compares; the coding variant's tag would fail every PUT with 412.
  const base = codingVariantBase(stored.headers);
  const etag = base ?? storedTag;
  // RFC 9110 §13.1.1: If-Match compares strongly, so a weak tag could never match.
  if (isWeakEtag(etag)) return { kind: 'ask', reason: `no If-Match: stored ETag ${etag} is weak`, ask: AS_ASKED };
  const why = base === null ? '' : `, the resource's tag under the coding variant's ${storedTag}`;
  return { kind: 'ask', reason: `If-Match: ${etag} (lost-update protection${why})`, ask: { ...AS_ASKED, add: { 'if-match': etag } } };
}

// ---------------------------------------------------------------------------------------------
// After the answer (RFC 9111 §3, §4.3.3, §4.3.4, §4.4) or the failure (RFC 5861 §4)

/** The origin's answer, as the policy reads it. */
export interface Answer {
  readonly status: number;
  readonly reasonPhrase: string;
  readonly version: number;
  readonly headers: Readonly<HeaderRecord>;
  /** Length of the decoded body as received. */
  readonly bodyLength: number;
  readonly requestTime: number;
  readonly responseTime: number;
}

/** What to do with the cache, and what to answer, once the origin answered. */
export type After =
  /** Store `stored` (with the answer's body) under its key, and answer with the answer. */
  | { readonly kind: 'store'; readonly reason: string; readonly stored: StoredResponse }
  /**
   * A 304 validated the stored response: keep its body, write `stored` as its head, and serve it,
   * with the 304's own `cookies` (this caller's, never stored).
   */
  | ({ readonly kind: 'freshen'; readonly reason: string; readonly cookies: Readonly<HeaderRecord> } & Serving)
  /** Remove what is stored under these keys (for this identity and the anonymous one); answer with the answer. */
  | { readonly kind: 'invalidate'; readonly reason: string; readonly keys: readonly string[]; readonly detail: CacheDetail }
  /** Leave the cache as it is; answer with the answer. */
  | { readonly kind: 'pass'; readonly reason: string; readonly detail: CacheDetail }
  /** A 304 whose validator does not match the stored response: remove it, ask again without validators. */
  | { readonly kind: 'refetch'; readonly reason: string; readonly ask: Ask }
  /** An error answer to a revalidation or a reload: leave the stored response (`stored`) as it is; answer with the answer. */
  | { readonly kind: 'keep'; readonly reason: string; readonly stored: StoredResponse }
  /**
   * A 429/503 with a Retry-After (RFC 9110 §10.2.3) to a revalidation or a reload: write the stored
   * response back as `stored`, which carries the not-before time, and answer with the answer as it
   * is, or with `stored` served stale (`answer: 'stale'`, RFC 5861 §4 stale-if-error).
   */
  | ({ readonly kind: 'hold'; readonly reason: string; readonly answer: 'as-is' | 'stale' } & Serving)
  /** RFC 5861 §4: an error answer replaced by the stored response. */
  | ({ readonly kind: 'serve-stale'; readonly reason: string } & Serving);

/** RFC 9111 §3 (storing), §4.3.4 (freshening with a 304), §4.4 (invalidation), RFC 5861 §4 (errors). */
export function afterResponse(visit: VisitFacts, ask: Ask, answer: Answer): After {
  const { req } = visit;
  const { stored } = ask;
  const notBefore = STORED_METHODS.has(req.method) ? notBeforeOf(answer, visit.settings.maxRetryAfter) : null;
  if (stored !== null && ask.staleIfError && isOriginError(answer)) {
    const reason = `stale-if-error: served stale after ${answer.status}`;
    if (notBefore !== null) return held(visit, ask, answer, { ...stored, notBefore: notBefore.at }, { reason: `${reason}; ${notBeforeText(notBefore)}`, answer: 'stale' });
    return { kind: 'serve-stale', reason, ...serving(req, stored, ask.storedLength, answer.responseTime) };
  }
  if (!SAFE_METHODS.has(req.method)) return afterUnsafe(visit, answer);
  if (!STORED_METHODS.has(req.method)) return { kind: 'pass', reason: `not stored: ${req.method} responses are not stored`, detail: 'method' };
  if (answer.status === 304) return afterNotModified(visit, ask, answer);
  // An error says nothing about the stored response (RFC 9111 does not ask for it to be dropped):
  // it is what the next revalidation needs, and dropping it made every later poll unconditional and
  // the first 200 after an outage a full download. A stored 429/503 is no such response.
  const kept = ask.kept !== null && !isStandIn(ask.kept) ? ask.kept : null;
  if (kept !== null && isErrorStatus(answer.status)) {
    const reason = `kept: stored entry kept through ${answer.status}`;
    if (notBefore !== null) return held(visit, ask, answer, { ...kept, notBefore: notBefore.at }, { reason: `${reason}; ${notBeforeText(notBefore)}`, answer: 'as-is' });
    return { kind: 'keep', reason: `${reason} for the next revalidation`, stored: kept };
  }
  if (notBefore !== null) {
    const standIn = standInFor(visit, answer, notBefore);
    if (standIn !== null) return standIn;
  }
  const refusal = storageRefusal(visit, answer);
  if (refusal !== null) {
    // httplib2 drops a stored entry whose new answer may not be stored (no-store, Vary: *...); after
    // a reload too, or the older answer would be served again once the newer one was seen.
    const { detail } = refusal;
    if (stored !== null || ask.replaces) return { kind: 'invalidate', reason: `not stored: ${refusal.text}; stored entry dropped`, keys: ownKeys(req, visit.identity), detail };
    return { kind: 'pass', reason: `not stored: ${refusal.text}`, detail };
  }
  // §3.1: the fields Connection lists and the hop-by-hop set describe this connection, not the response.
  const fresh = storedFrom(visit, answer, storableHeaders(answer.headers));
  return { kind: 'store', reason: `stored: ${freshnessLifetime(fresh, visit.settings.goneLifetime).source}`, stored: fresh };
}

// The stored response given the origin's not-before time (RFC 9110 §10.2.3), written back.
function held(visit: VisitFacts, ask: Ask, answer: Answer, stored: StoredResponse, hold: { reason: string; answer: 'as-is' | 'stale' }): After {
  return { kind: 'hold', reason: hold.reason, answer: hold.answer, ...serving(visit.req, stored, ask.storedLength, answer.responseTime) };
}

function notBeforeText(notBefore: NotBefore): string {
  return `not asking the origin before ${instant(notBefore.at)} (${notBefore.source})`;
}

// With nothing stored, the 429/503 itself is kept until its Retry-After, to answer in the origin's
// place (its status, Retry-After and body); not when it may not be stored at all (no-store...).
function standInFor(visit: VisitFacts, answer: Answer, notBefore: NotBefore): After | null {
  if (keepingRefusal(visit, answer, parseDirectives(answer.headers['cache-control'])) !== null) return null;
  const stored: StoredResponse = { ...storedFrom(visit, answer, storableHeaders(answer.headers)), notBefore: notBefore.at };
  return { kind: 'store', reason: `stored: ${answer.status} until ${instant(notBefore.at)} (${notBefore.source}), answered from the cache until then`, stored };
}

// A refusal to answer now (429, RFC 6585 §4) or a server error (5xx, RFC 9110 §15.6).
function isErrorStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599);
}

// The keys of the entry this request would store, anonymous and this identity's: for a QUERY its own
// query's entries, never the GET entries of its URI (a QUERY is safe: RFC 9111 §4.4 is for unsafe ones).
function ownKeys(req: HopRequest, identity: string | null): string[] {
  if (req.method !== QUERY) return keysOf([req.url], identity);
  return [...new Set([requestKey(req, null), requestKey(req, identity)])];
}

// The store keys of these URIs: the anonymous one and this identity's (DESIGN.md, Identity).
function keysOf(urls: readonly URL[], identity: string | null): string[] {
  const keys = new Set<string>();
  for (const url of urls) keys.add(storeKey(url, null)).add(storeKey(url, identity));
  return [...keys];
}

function afterUnsafe(visit: VisitFacts, answer: Answer): After {
  const { req } = visit;
  const { status, headers } = answer;
  // §4.4: only a non-error status (2xx, 3xx) shows the state may have changed.
  if (status < 200 || status >= 400) return { kind: 'pass', reason: `pass: ${req.method} answered ${status}, nothing invalidated`, detail: 'method' };
  const urls: URL[] = [req.url];
  for (const name of ['location', 'content-location']) {
    const value = headers[name];
    const target = value === undefined ? null : resolveLocation(value, req.url);
    // §4.4: only same-origin targets, so one origin cannot evict another's entries.
    if (target !== null && sameOrigin(target, req.url)) urls.push(target);
  }
  return { kind: 'invalidate', reason: `invalidated: ${req.method} answered ${status}`, keys: keysOf(urls, visit.identity), detail: 'method' };
}

function lastModifiedDiffers(fresh: string | undefined, stored: string | undefined, now: number): boolean {
  if (fresh === undefined || stored === undefined) return false;
  const a = parseHttpDate(fresh, now);
  const b = parseHttpDate(stored, now);
  return a !== null && b !== null && a !== b;
}

function afterNotModified(visit: VisitFacts, ask: Ask, answer: Answer): After {
  const { stored } = ask;
  const { headers } = answer;
  // The caller's own conditional request (feedparser's etag/modified): the 304 is theirs.
  if (stored === null) return { kind: 'pass', reason: 'pass: 304 with no stored entry goes back as is', detail: 'uri-miss' };
  const newTag = headers['etag'];
  const oldTag = stored.headers['etag'];
  // §4.3.4: a 304 only updates the stored response its validator selects (weak comparison). Apache
  // answers for its coding variant with the tag it compared, the stored one without its suffix.
  const base = codingVariantBase(stored.headers);
  if (newTag !== undefined && oldTag !== undefined && !weakEtagMatch(newTag, oldTag) && !(base !== null && weakEtagMatch(newTag, base))) {
    return { kind: 'refetch', reason: `refetch: 304 ETag ${newTag} does not match stored ${oldTag}`, ask: AS_ASKED };
  }
  // Without an ETag, Last-Modified is the validator that selects (§4.3.4): another date names
  // another representation than the one stored.
  if (newTag === undefined && lastModifiedDiffers(headers['last-modified'], stored.headers['last-modified'], answer.responseTime)) {
    return { kind: 'refetch', reason: `refetch: 304 Last-Modified ${headers['last-modified']} does not match stored ${stored.headers['last-modified']}`, ask: AS_ASKED };
  }
  // The origin answered: whatever it asked to wait for is over.
  const freshened: StoredResponse = {
    ...stored, headers: merged304(stored, headers), requestTime: answer.requestTime, responseTime: answer.responseTime, notBefore: undefined,
  };
  const reason = `revalidated: 304 via ${ask.via}`;
  // The 304 answered this request: its cookies are this caller's, though never stored.
  return { kind: 'freshen', reason, cookies: unstored(headers), ...serving(visit.req, freshened, ask.storedLength, answer.responseTime) };
}

// §4.3.4: the stored head with the 304's end-to-end fields, but those describing the stored body.
function merged304(stored: StoredResponse, headers: Readonly<HeaderRecord>): HeaderRecord {
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
  return merged;
}

// The fields of an answer a stored response never keeps (Set-Cookie), as they came.
function unstored(headers: Readonly<HeaderRecord>): Readonly<HeaderRecord> {
  let out: HeaderRecord | null = null;
  for (const name of NEVER_STORED) {
    const value = headers[name];
    if (value !== undefined) (out ??= emptyRecord())[name] = value;
  }
  return out ?? NO_FIELDS;
}

/** Why an answer is not stored: the words of the trace, and the token of `response.cache.detail`. */
interface Refusal {
  readonly text: string;
  readonly detail: CacheDetail;
}

function refused(text: string, detail: CacheDetail): Refusal {
  return { text, detail };
}

// Why a GET answer may not be stored (RFC 9111 §3), or null.
function storageRefusal(visit: VisitFacts, answer: Answer): Refusal | null {
  const { status, headers } = answer;
  const cc = parseDirectives(headers['cache-control']);
  const refusal = keepingRefusal(visit, answer, cc);
  if (refusal !== null) return refusal;
  const explicit = (cc.maxAge !== undefined && cc.maxAge !== 'invalid') || headers['expires'] !== undefined;
  // §3: storable when it has explicit freshness, or its status is heuristically cacheable.
  if (!explicit && !HEURISTIC_STATUSES.has(status)) return refused(`status ${status} without explicit freshness`, 'status');
  const lifetime = freshnessLifetime(storedFrom(visit, answer, headers), visit.settings.goneLifetime);
  const validator = headers['etag'] !== undefined || headers['last-modified'] !== undefined;
  // An entry that is stale at once and cannot be revalidated would never be used.
  if (lifetime.seconds <= 0 && !validator && cc.staleIfError === undefined) return refused(`${lifetime.source} and no validator`, 'no-validator');
  return null;
}

// Why an answer may not be kept at all, whatever its freshness (RFC 9111 §3), or null.
function keepingRefusal(visit: VisitFacts, answer: Answer, resCc: Directives): Refusal | null {
  const { req } = visit;
  const { status, headers, bodyLength } = answer;
  const reqCc = parseDirectives(req.headers['cache-control'], req.headers['pragma']);
  if (reqCc.noStore) return refused('request no-store', 'request-no-store');
  if (resCc.noStore) return refused('no-store', 'no-store');
  if (status < 200) return refused(`status ${status} is not final`, 'status');
  // §3.3: a 206 is only combined by caches that store ranges; this one keeps whole responses only.
  if (status === 206) return refused('206 (partial content is never stored)', 'partial');
  if (varyNames(headers['vary']) === '*') return refused('Vary: *', 'vary-star');
  const declared = headers['content-length'];
  if (declared !== undefined && /^[0-9]+$/.test(declared.trim()) && Number(declared) !== bodyLength) {
    return refused(`truncated body (${bodyLength} of ${declared} bytes)`, 'truncated');
  }
  return null;
}

function storedFrom(visit: VisitFacts, answer: Answer, headers: Readonly<HeaderRecord>): StoredResponse {
  return {
    key: visit.key,
    status: answer.status,
    reason: answer.reasonPhrase,
    version: answer.version,
    headers,
    vary: selectVaryHeaders(headers, visit.req.headers) ?? emptyRecord<string | null>(),
    identity: visit.identity,
    requestTime: answer.requestTime,
    responseTime: answer.responseTime,
  };
}

/** When to come back for what the store holds: ms since the epoch, null for none. */
export interface Schedule {
  /** When the stored response goes stale (null: nothing stored, a stand-in, or never). */
  readonly freshUntil: number | null;
  /** Until when the origin is not asked (a Retry-After still holding), or null. */
  readonly retryAfter: number | null;
}

const NO_SCHEDULE: Schedule = Object.freeze({ freshUntil: null, retryAfter: null });

/**
 * The schedule an answer carries (`response.freshUntil`, `response.retryAfter`) for `stored`, the
 * response the store holds for the request once the visit is done (null: none), at `now`. A stored
 * 429/503 standing in for the answer is no representation: it has a retry time, no freshness.
 */
export function scheduleOf(stored: StoredResponse | null, now: number, settings: PolicySettings): Schedule {
  if (stored === null) return NO_SCHEDULE;
  const freshUntil = isStandIn(stored) ? null : staleAt(stored, freshnessLifetime(stored, settings.goneLifetime).seconds);
  return { freshUntil, retryAfter: heldUntil(stored, now) };
}

/**
 * RFC 5861 §4, the one rule: "an error is any situation that would result in a 500, 502, 503, or
 * 504". An answer with one of those statuses, or a failure a gateway would answer so: the origin or
 * the path to it could not be reached or did not answer in time (ERR_CONNECTION,
 * ERR_SERVER_NOT_FOUND, ERR_REQUEST_TIMEOUT, ERR_PROXY, ERR_TLS). Never ERR_INTERNAL: a bug is no
 * reason to serve a stale answer.
 */
export function isOriginError(outcome: { readonly status: number } | { readonly code: ErrorCode }): boolean {
  return 'status' in outcome ? ERROR_STATUSES.has(outcome.status) : ORIGIN_FAILURES.has(outcome.code);
}

/** After a failure to get any answer: serve the stored response (RFC 5861 §4), or throw the error. */
export type FailureAfter =
  | ({ readonly kind: 'serve-stale'; readonly reason: string } & Serving)
  | { readonly kind: 'rethrow'; readonly reason: null };

const RETHROW: FailureAfter = Object.freeze({ kind: 'rethrow', reason: null });

/**
 * RFC 5861 §4 for a failure with `code` at `now`: the stored response the ask may fall back on is
 * served when the failure is the origin's ({@link isOriginError}); anything else is thrown as it was.
 */
export function afterFailure(visit: VisitFacts, ask: Ask, code: ErrorCode, now: number): FailureAfter {
  const { stored } = ask;
  if (stored === null || !ask.staleIfError || !isOriginError({ code })) return RETHROW;
  return { kind: 'serve-stale', reason: `stale-if-error: served stale after ${code}`, ...serving(visit.req, stored, ask.storedLength, now) };
}
