/**
 * The response object users see: a Map of lower-cased header names to values, as httplib2's
 * Response is a dict, plus status, reason, version, fromcache and the redirect chain.
 * It holds data only; it never performs I/O.
 */
import { HttpLib2Error } from './errors.js';

// An error's `response` is a Response: declared here, by merging into the interface errors.ts
// exports, so that errors.ts needs no import of this module (there is no import circle).
declare module './errors.js' {
  interface CarriedResponse extends Response {}
}

// httplib2's Response is a dict whose 'status' item is the status code as a string, written over any
// header a server sent by that name. Here it is a view of `status`: read through get/has, never a
// stored header, so iteration, `size` and toHeaders() list only the headers the server sent.
const STATUS = 'status';

/** Reason phrases for statuses whose server sent none (HTTP/2 has no reason phrase). */
const REASONS: Record<number, string> = {
  100: 'Continue', 200: 'OK', 201: 'Created', 202: 'Accepted', 203: 'Non-Authoritative Information',
  204: 'No Content', 206: 'Partial Content', 300: 'Multiple Choices', 301: 'Moved Permanently',
  302: 'Found', 303: 'See Other', 304: 'Not Modified', 307: 'Temporary Redirect',
  308: 'Permanent Redirect', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden',
  404: 'Not Found', 405: 'Method Not Allowed', 407: 'Proxy Authentication Required',
  408: 'Request Timeout', 409: 'Conflict', 410: 'Gone', 412: 'Precondition Failed',
  415: 'Unsupported Media Type', 429: 'Too Many Requests', 500: 'Internal Server Error',
  501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

/** The standard reason phrase for a status, or '' when unknown. */
export function reasonFor(status: number): string {
  return REASONS[status] ?? '';
}

/**
 * What answered a request, as `response.cache.outcome` says it (in the spirit of RFC 9211's
 * Cache-Status): `hit` a fresh stored answer, no request; `stale` a stale stored answer served
 * without asking the origin (max-stale, stale-while-revalidate, stale-if-error, a remembered
 * Retry-After); `revalidated` the stored answer, confirmed by a 304; `miss` the origin's answer
 * after the cache was consulted; `bypass` the origin's answer, the cache not consulted or not
 * usable (an unsafe method, a request no-store, a Range it cannot serve, a store that failed);
 * `uncached` an Http without a cache.
 */
export type CacheOutcomeKind = 'hit' | 'stale' | 'revalidated' | 'miss' | 'bypass' | 'uncached';

/**
 * The one short token that says why (`response.cache.detail`): for `stale`, what allowed it
 * (`max-stale`, `stale-while-revalidate`, `stale-if-error`, `retry-after`); for `revalidated`, why
 * the origin was asked (`stale`, `request` — request directives refused the stored answer —,
 * `no-cache`); for `miss`, why the answer was not stored when it was not (`no-store`, `vary-star`,
 * `partial`, `truncated`, `status`, `no-validator`, `method`, `origin-error` — an error answer, the
 * stored entry kept for the next revalidation —, `retry-after`, `not-kept` — the store did not
 * take it —, `only-if-cached`), else why nothing stored could answer (`uri-miss`, `vary-miss`,
 * `stale`, `request`, `no-cache`); for `bypass`, what set the cache aside (`method`,
 * `request-no-store`, `range`, `store-unavailable`). Null when there is nothing to add (a fresh hit,
 * an Http without a cache).
 */
export type CacheDetail =
  | 'uri-miss' | 'vary-miss' | 'stale' | 'request' | 'no-cache'
  | 'max-stale' | 'stale-while-revalidate' | 'stale-if-error' | 'retry-after' | 'only-if-cached'
  | 'no-store' | 'request-no-store' | 'vary-star' | 'partial' | 'truncated' | 'status' | 'no-validator'
  | 'method' | 'range' | 'origin-error' | 'not-kept' | 'store-unavailable';

/**
 * The cache's part in an answer, for programs (`response.cache`): the human account of the same
 * visit is {@link Response.cacheStatus}. In the spirit of RFC 9211 Cache-Status (`hit`, `fwd`,
 * `stored`, `collapsed`, `ttl`, `key`, `detail`).
 */
export interface CacheOutcome {
  /** What answered: see {@link CacheOutcomeKind}. */
  readonly outcome: CacheOutcomeKind;
  /** Whether this request wrote this answer (or its freshened head) to the store, and the store took it. */
  readonly stored: boolean;
  /** Whether the request joined an identical one in flight and shares its answer (RFC 9211 `collapsed`). */
  readonly collapsed: boolean;
  /**
   * Seconds until the entry the store holds for the request goes stale (as {@link Response.freshUntil},
   * rounded down; negative when it is stale already), or null when there is none.
   */
  readonly ttl: number | null;
  /**
   * The store key (the normalised URI) of an anonymous request; null for a request keyed by an
   * identity (one with credentials or a Cookie), and without a cache.
   */
  readonly key: string | null;
  /** Why, in one token (see {@link CacheDetail}), or null. */
  readonly detail: CacheDetail | null;
}

/** The outcome of an answer no cache took part in (an Http without a cache, a Response made by hand). */
export const UNCACHED: CacheOutcome = Object.freeze({ outcome: 'uncached', stored: false, collapsed: false, ttl: null, key: null, detail: null });

/**
 * How long getting a response took, in milliseconds, phase by phase (`DESIGN.md`, Response and content). The phases
 * are of the exchange on the wire that gave this response (its last try), each from the end of the
 * last phase known before it, so the known ones add up to the exchange's time; a phase is null when
 * it did not happen (`dns`, `connect`, `tls` on a reused connection) or cannot be known reliably (a
 * caller's own dispatcher). An answer served from the cache has `total` only.
 */
export interface Timings {
  /** Waiting for a connection: until one began to be made for it, or an open one took it. */
  readonly queued: number | null;
  /** Looking the host name up; null for an IP address, a reused connection, through a proxy. */
  readonly dns: number | null;
  /** Opening the TCP connection (through a proxy: the whole way to the origin, its TLS included). */
  readonly connect: number | null;
  /** The TLS handshake with the origin; null for http, a reused connection, through a proxy. */
  readonly tls: number | null;
  /** Writing the request, its body included, once it had its connection. */
  readonly requestSent: number | null;
  /** Waiting for the response head, from the request sent (or from the last phase known). */
  readonly firstByte: number | null;
  /** Reading the body as it came, until its last byte (before decoding). */
  readonly bodyDone: number | null;
  /**
   * From the start of the request() call until this response's content was in hand: for the answer
   * request() returns, the whole call (every redirect, challenge and cache visit); for a response in
   * its `previous` chain, until that hop was done. 0 on a Response not made by request().
   */
  readonly total: number;
}

/** A response nothing was measured for. */
const NO_TIMINGS: Timings = Object.freeze({
  queued: null, dns: null, connect: null, tls: null, requestSent: null, firstByte: null, bodyDone: null, total: 0,
});

/** What `new Response(init)` and {@link Response.clone} take: a status and, optionally, the rest of a head. */
export interface ResponseInit {
  /** Status code, e.g. 200. */
  status: number;
  /** Reason phrase. @default the standard one for `status` ('' when there is none) */
  reason?: string;
  /** HTTP version times ten. @default 11 */
  version?: number;
  /**
   * Header fields: `[name, value]` pairs (a `Map`, another `Response`) or a record whose array values
   * are repeated fields; names are lower-cased and repeats joined with `, `. @default none
   */
  headers?: Iterable<readonly [string, string]> | Record<string, string | string[] | undefined>;
  /** Whether the answer came from the cache. @default false */
  fromcache?: boolean;
  /** The response that redirected to this one. @default null */
  previous?: Response | null;
  /** The cache's decisions for this hop. @default [] */
  cacheStatus?: readonly string[];
  /** When the stored entry for this answer goes stale. @default null */
  freshUntil?: Date | null;
  /** Until when the cache does not ask the origin for this URL (its Retry-After). @default null */
  retryAfter?: Date | null;
  /** The cache's part in the answer. @default `{ outcome: 'uncached', stored: false, collapsed: false, ttl: null, key: null, detail: null }` */
  cache?: CacheOutcome;
  /** How long it took. @default every phase null, total 0 */
  timings?: Timings;
}

/**
 * An HTTP response head. Header names are lower-cased; repeated headers are joined with `, `.
 * httplib2: `httplib2.Response`.
 */
export class Response extends Map<string, string> {
  /** Status code, e.g. 200. */
  status: number;
  /** Reason phrase, e.g. `OK`. */
  reason: string;
  /** HTTP version times ten: 11 for HTTP/1.1. */
  version: number;
  /** True when the answer came from the cache (fresh hit, or a 304 turned into the cached 200). */
  fromcache: boolean;
  /** The response that redirected to this one, newest first; null for the first. */
  previous: Response | null;
  /**
   * The cache's decisions for this hop, in order, each with its reason (`fresh: max-age=60, age 3s`,
   * `stored: max-age=60`, `revalidated: 304 via If-None-Match`...). Empty when the Http has no cache.
   */
  cacheStatus: string[];
  /**
   * When the entry the cache holds for this request goes stale (RFC 9111 §4.2): until then it is
   * answered from the cache with no request. A time already past for an entry that is stale (the
   * next request revalidates it); null when nothing is stored for it, for an entry that never goes
   * stale (a permanent redirect), and on an Http without a cache.
   */
  freshUntil: Date | null;
  /**
   * Until when the cache does not ask the origin for this URL, because a 429 or 503 said so with
   * `Retry-After` (RFC 9110 §10.2.3; capped by the `maxRetryAfter` option): requests before then are
   * answered from the cache. Null when no such time holds.
   *
   * A poller sleeps until the later of this and {@link freshUntil} (the first moment a request can
   * reach the server), or its own interval when neither lies ahead.
   */
  retryAfter: Date | null;
  /**
   * The cache's part in this answer, for programs: `outcome` (`hit`, `stale`, `revalidated`, `miss`,
   * `bypass`, `uncached`), whether it was `stored`, `collapsed`, `ttl`, `key` and a `detail` token
   * (see {@link CacheOutcome}). Decided by the cache's plan, step by step, beside the words of
   * {@link cacheStatus}; `uncached` on an Http without a cache.
   */
  cache: CacheOutcome;
  /** How long getting this response took, phase by phase, in milliseconds: see {@link Timings}. */
  timings: Timings;

  constructor(init: ResponseInit) {
    super();
    this.status = init.status;
    this.reason = init.reason || reasonFor(init.status);
    this.version = init.version ?? 11;
    this.fromcache = init.fromcache ?? false;
    this.previous = init.previous ?? null;
    this.cacheStatus = init.cacheStatus ? [...init.cacheStatus] : [];
    this.freshUntil = copyDate(init.freshUntil);
    this.retryAfter = copyDate(init.retryAfter);
    this.cache = init.cache ?? UNCACHED;
    this.timings = init.timings ?? NO_TIMINGS;
    if (init.headers) addHeaders(this, init.headers);
  }

  /**
   * The value of a header (any case), or undefined. `get('status')` is the status code as a string,
   * as httplib2's `response['status']`.
   */
  override get(name: string): string | undefined {
    const key = name.toLowerCase();
    return key === STATUS ? String(this.status) : super.get(key);
  }

  /** Whether the header is present; always true for `status` (see {@link get}). */
  override has(name: string): boolean {
    const key = name.toLowerCase();
    return key === STATUS || super.has(key);
  }

  /** Sets a header; `set('status', '404')` sets {@link status} (a three-digit code, else an error). */
  override set(name: string, value: string): this {
    const key = name.toLowerCase();
    if (key !== STATUS) return super.set(key, value);
    if (!/^[1-9]\d\d$/.test(String(value))) {
      throw new HttpLib2Error(`Invalid status ${JSON.stringify(value)}: expected a three-digit code`, { code: 'ERR_INVALID_REQUEST' });
    }
    this.status = Number(value);
    return this;
  }

  /** Removes a header; `status` is not a header and stays. */
  override delete(name: string): boolean {
    const key = name.toLowerCase();
    return key !== STATUS && super.delete(key);
  }

  /** The headers as a plain null-prototype object, for logging or re-sending. */
  toHeaders(): Record<string, string> {
    const out: Record<string, string> = Object.create(null);
    for (const [k, v] of this) out[k] = v;
    return out;
  }

  /** A copy with the same head; `overrides` replace fields. */
  clone(overrides: Partial<ResponseInit> = {}): Response {
    return new Response({
      status: overrides.status ?? this.status,
      reason: overrides.reason ?? this.reason,
      version: overrides.version ?? this.version,
      fromcache: overrides.fromcache ?? this.fromcache,
      previous: overrides.previous === undefined ? this.previous : overrides.previous,
      cacheStatus: overrides.cacheStatus ?? this.cacheStatus,
      freshUntil: overrides.freshUntil === undefined ? this.freshUntil : overrides.freshUntil,
      retryAfter: overrides.retryAfter === undefined ? this.retryAfter : overrides.retryAfter,
      cache: overrides.cache ?? this.cache,
      timings: overrides.timings ?? this.timings,
      headers: overrides.headers ?? this,
    });
  }
}

// Each response gets Dates of its own: a caller who changes one must not change another's.
function copyDate(date: Date | null | undefined): Date | null {
  return date === undefined || date === null ? null : new Date(date.getTime());
}

/** What {@link withHead} changes: fields of the head, header fields set (lower-case names) and removed. */
export interface HeadChange extends Partial<Pick<ResponseInit, 'status' | 'reason' | 'fromcache' | 'previous' | 'cacheStatus' | 'freshUntil' | 'retryAfter' | 'cache' | 'timings'>> {
  /** Header fields set, replacing any of the same name; names lower-case. */
  readonly set?: Readonly<Record<string, string>>;
  /** Header fields removed (lower-case names), before `set` applies. */
  readonly remove?: readonly string[];
}

/**
 * A new response with `response`'s head changed as `change` says; `response` itself is never
 * changed. Layers answer with a response of their own rather than writing into one they received.
 */
export function withHead(response: Response, change: HeadChange): Response {
  const out = new Response({
    status: change.status ?? response.status,
    reason: change.reason ?? response.reason,
    version: response.version,
    fromcache: change.fromcache ?? response.fromcache,
    previous: change.previous === undefined ? response.previous : change.previous,
    cacheStatus: change.cacheStatus ?? response.cacheStatus,
    freshUntil: change.freshUntil === undefined ? response.freshUntil : change.freshUntil,
    retryAfter: change.retryAfter === undefined ? response.retryAfter : change.retryAfter,
    cache: change.cache ?? response.cache,
    timings: change.timings ?? response.timings,
  });
  const { set, remove } = change;
  // The names are lower-case already: copied as they are, without addHeaders' joining.
  for (const [name, value] of response) if (remove === undefined || !remove.includes(name)) Map.prototype.set.call(out, name, value);
  if (set !== undefined) for (const name of Object.keys(set)) out.set(name, set[name]!);
  return out;
}

function addHeaders(
  target: Response,
  headers: Iterable<readonly [string, string]> | Record<string, string | string[] | undefined>,
): void {
  if (isIterable(headers)) {
    for (const [name, value] of headers) addHeader(target, name, value);
    return;
  }
  // A record (every cache hit builds its answer from the stored one): its own keys, without the
  // array of entries Object.entries would make for each answer.
  const record = headers as Record<string, string | string[] | undefined>;
  for (const name in record) if (Object.hasOwn(record, name)) addHeader(target, name, record[name]);
}

// Pairs when the object is iterable of itself or by its class (a Map, a Headers, an array, a
// generator); a plain record (undici's parsed head inherits from Object.prototype) is read as a record
// even when a polluted Object.prototype gives it an iterator.
function isIterable(
  headers: Iterable<readonly [string, string]> | Record<string, string | string[] | undefined>,
): headers is Iterable<readonly [string, string]> {
  if (typeof (headers as Partial<Iterable<unknown>>)[Symbol.iterator] !== 'function') return false;
  const proto = Object.getPrototypeOf(headers) as object | null;
  return Object.hasOwn(headers, Symbol.iterator) || (proto !== Object.prototype && proto !== null);
}

function addHeader(target: Response, rawName: string, rawValue: string | string[] | undefined): void {
  if (rawValue === undefined) return;
  const name = rawName.toLowerCase();
  if (name === STATUS) return; // a server's Status header never stands for the status (httplib2 overwrites it)
  const value = Array.isArray(rawValue) ? rawValue.join(', ') : rawValue;
  const prior = Map.prototype.get.call(target, name) as string | undefined;
  Map.prototype.set.call(target, name, prior === undefined ? value : `${prior}, ${value}`);
}
