/**
 * Options of `new Http(cache, options)` and the attributes settable after construction: typed once,
 * with their defaults, validated eagerly with messages that name the option and the value received,
 * and resolved once into what each layer needs. The environment is passed in, never read here.
 */
import type { Dispatcher } from 'undici';
import { DEFAULT_GONE_LIFETIME } from './cache/freshness.js';
import { DEFAULT_STORE_TIMEOUT } from './cache/guarded-store.js';
import { DEFAULT_MAX_RETRY_AFTER } from './cache/retry-after.js';
import { DEFAULT_LEASE_TTL } from './cache/flight.js';
import { assertCacheStore } from './cache/store.js';
import { resolveDebug, type DebugSink, type WireObserver } from './debug.js';
import { HttpLib2Error, describeValue } from './errors.js';
import { DEFAULT_MAX_DECOMPRESSION_RATIO } from './transport/decode-limit.js';
import { ProxyInfo, readProxyEnvironment } from './transport/proxy.js';
import type { ProxyChoice, TlsSettings, TlsVersion, TransportOptions } from './transport/transport.js';
import { isToken, normaliseMethod } from './headers.js';
import type { CacheStore, Clock, Settings } from './types.js';


/** Options of `new Http(cache, options)`. */
export interface HttpOptions {
  /**
   * Milliseconds for the whole request (connect, headers, body and any redirects), one deadline.
   * httplib2's `timeout` is in seconds.
   * @default undefined (no deadline)
   */
  timeout?: number;
  /**
   * Proxy to use: a ProxyInfo, a function choosing one per URL, or null for none.
   * @default from HTTP_PROXY / HTTPS_PROXY / ALL_PROXY / NO_PROXY
   */
  proxyInfo?: ProxyInfo | ((url: URL) => ProxyInfo | null) | null;
  /** The CA certificates (PEM) this Http trusts, in place of Node's roots. httplib2: `ca_certs`. @default Node's bundled roots */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Accept any server certificate, for this Http only. @default false */
  disableSslCertificateValidation?: boolean;
  /**
   * The lowest TLS version offered to servers and https proxies. httplib2: `tls_minimum_version`.
   * @default Node's (`tls.DEFAULT_MIN_VERSION`, TLSv1.2)
   */
  tlsMinimumVersion?: 'TLSv1.2' | 'TLSv1.3';
  /**
   * The highest TLS version offered to servers and https proxies. httplib2: `tls_maximum_version`.
   * @default Node's (`tls.DEFAULT_MAX_VERSION`, TLSv1.3)
   */
  tlsMaximumVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Bring your own undici dispatcher (an Agent, a MockAgent...). @default an Agent owned by the Http */
  dispatcher?: Dispatcher;
  /**
   * The most connections open at once to one origin (and to one http proxy); requests beyond it wait
   * for a free connection instead of opening more sockets. undici's `connections`. `Infinity` for
   * no limit. Not used with `dispatcher`.
   * @default 32
   */
  connections?: number;
  /**
   * Offer HTTP/2 to https origins during the TLS handshake (ALPN, undici's `allowH2`): an origin that
   * picks it is spoken to in HTTP/2, one request stream each over a shared connection; any other
   * stays on HTTP/1.1. Plain http is always HTTP/1.1. Not used with `dispatcher`.
   * @default false (undici 7's own default; see `DESIGN.md`, Behaviour: HTTP/2)
   */
  http2?: boolean;
  /** Bytes of decoded body kept in memory. @default 1 GiB */
  maxBodySize?: number;
  /**
   * A compressed body may decode to at most this many times its size on the wire (past 10 MiB
   * decoded; below that any ratio is fine), else FailedToDecompressContent before the memory is
   * spent. `0` turns the check off, as httplib2's `decode_limit_ratio=0` (`Infinity` too);
   * `maxBodySize` still applies. httplib2 0.32: `decode_limit_ratio`.
   * @default 100 (httplib2 0.32's)
   */
  maxDecompressionRatio?: number;
  /**
   * Clock used by the cache: an object whose `now()` returns milliseconds since the epoch; tests
   * pass a fake one to move time by hand.
   * @default the system clock (Date.now)
   */
  clock?: Clock;
  /**
   * Debug output, as httplib2's `debuglevel`: each hop's request head as sent and response head as
   * received (credentials redacted), and one line per `request()` with the cache's decisions.
   * `true` writes to stderr, a function receives each line (without its newline), `false` is off.
   * @default on (to stderr) when the `DEBUG` environment variable, read when the Http is made,
   *   names `httplib2-ts` (`DEBUG=httplib2-ts`, `DEBUG=httplib2*`, `DEBUG=*`...); otherwise off
   */
  debug?: boolean | ((line: string) => void);
  /**
   * The store budget: milliseconds each cache store call may take. A read that has not answered by
   * then is a miss (the request goes to the network); a write or delete stops delaying the answer
   * and goes on in the background. Bounds every store alike (FileCache, MemoryCache, keyv, your own).
   * @default 250
   */
  storeTimeout?: number;
  /**
   * Receives each hop's request head as sent and response head as received (before decoding), as
   * records, whatever `debug` says: what the CLI's -v and -i print. Not called for an answer served
   * from the cache without a request.
   * @default none
   */
  wireObserver?: WireObserver;
  /**
   * Seconds a `410 Gone` without explicit freshness (no max-age, no Expires) is kept fresh in the
   * cache and answered from it: RFC 9110 §15.5.11 makes 410 heuristically cacheable, and a poller
   * need not ask for a gone feed again the same day. `0` gives a 410 no heuristic lifetime of its own.
   * @default 86400 (a day)
   */
  goneLifetime?: number;
  /**
   * The longest, in seconds, that the `Retry-After` of a 429 or 503 (RFC 9110 §10.2.3) keeps requests
   * for its URL from reaching the server; a later time is capped to this. `0` remembers none.
   * @default 86400 (a day)
   */
  maxRetryAfter?: number;
  /**
   * Cross-process single flight: milliseconds a store lease lasts. When requests of several
   * processes (or machines on one Redis) need the same stale or missing GET answer at once, one takes
   * the lease on the store (FileCache, SQLite, Redis, MemoryCache) and asks the origin; the others
   * wait for the answer it stores, at most this long (and at most half their `timeout`), then ask on
   * their own. A lease whose holder died runs out after this time. `0` turns the lease off
   * (identical requests of one Http still share one request).
   * @default 5000
   */
  leaseTtl?: number;
}

/** A TLS version a bound may name; older ones are refused (RFC 8996 deprecates TLS 1.0 and 1.1). */
export type { TlsVersion };

const TLS_VERSIONS: readonly TlsVersion[] = ['TLSv1.2', 'TLSv1.3'];

export const DEFAULT_MAX_BODY_SIZE = 1024 * 1024 * 1024;

/**
 * Connections per origin. Enough for the 32 requests in flight the bench measures to run side by
 * side (a lower bound queued them and cost throughput there), few enough that a burst of thousands
 * of requests stays far below a 1024 file-descriptor limit. Browsers use 6, make-fetch-happen 15.
 */
export const DEFAULT_CONNECTIONS = 32;

/** The longest delay a Node timer honours (2^31 - 1 ms, about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Where environment variables come from: `process.env`, read by the orchestrator only. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** The constructor's options resolved once, into what each part of the Http needs. */
export interface ResolvedOptions {
  readonly transport: TransportOptions;
  readonly clock: Clock;
  /** Where debug output goes; null when it is off. */
  readonly debug: DebugSink | null;
  readonly wireObserver: WireObserver | null;
  readonly timeout: number | undefined;
  readonly maxBodySize: number;
  readonly maxDecompressionRatio: number;
  readonly storeTimeout: number;
  readonly goneLifetime: number;
  readonly maxRetryAfter: number;
  readonly leaseTtl: number;
}

const SYSTEM_CLOCK: Clock = { now: () => Date.now() };

/** The refusal of a bad option or argument: ERR_INVALID_REQUEST naming it, what it wants and what it got. */
export function bad(option: string, value: unknown, want: string, shown = describeValue(value)): HttpLib2Error {
  return new HttpLib2Error(`Invalid option ${option}: expected ${want}, received ${shown}`, {
    code: 'ERR_INVALID_REQUEST',
  });
}

/** A check of one value: null when it is fine, else what was expected instead. */
type Rule = (value: unknown) => string | null;

const TIMER = `a positive number of milliseconds up to ${MAX_TIMER_MS}`;
// Node runs a timer longer than 2^31 - 1 ms after 1 ms instead: every request would time out at once.
const isTimer = (v: unknown): boolean => typeof v === 'number' && v > 0 && v <= MAX_TIMER_MS;
const isPem = (v: unknown): boolean => typeof v === 'string' || Buffer.isBuffer(v);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const SECONDS = 'a non-negative, finite number of seconds';
const isSeconds = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const aBoolean: Rule = (v) => (typeof v === 'boolean' ? null : 'true or false');
const aTlsVersion: Rule = (v) => (TLS_VERSIONS.includes(v as TlsVersion) ? null : `'TLSv1.2' or 'TLSv1.3'`);

/** One rule per option: a key of HttpOptions without a rule does not compile, a key without an option is refused. */
const OPTION_RULES: { readonly [K in keyof Required<HttpOptions>]: Rule } = {
  timeout: (v) => (isTimer(v) ? null : TIMER),
  proxyInfo: (v) => (v === null || typeof v === 'function' || v instanceof ProxyInfo ? null : 'a ProxyInfo, a function or null'),
  ca: (v) => (isPem(v) || (Array.isArray(v) && v.every(isPem)) ? null : 'a PEM string or Buffer, or an array of them'),
  disableSslCertificateValidation: aBoolean,
  tlsMinimumVersion: aTlsVersion,
  tlsMaximumVersion: aTlsVersion,
  dispatcher: (v) => (isObject(v) && typeof v['request'] === 'function' ? null : 'an undici Dispatcher (an Agent, a MockAgent...)'),
  connections: (v) => ((Number.isSafeInteger(v) && (v as number) >= 1) || v === Infinity ? null : 'a whole number of at least 1, or Infinity for no limit'),
  http2: aBoolean,
  maxBodySize: (v) => (Number.isSafeInteger(v) && (v as number) >= 0 ? null : 'a non-negative integer number of bytes'),
  maxDecompressionRatio: (v) => (typeof v === 'number' && (v === 0 || v >= 1) ? null : 'a number of at least 1, or 0 (or Infinity) for no ratio limit'),
  clock: (v) => (isObject(v) && typeof v['now'] === 'function' ? null : 'an object whose now() returns milliseconds since the epoch'),
  debug: (v) => (typeof v === 'boolean' || typeof v === 'function' ? null : 'a boolean or a function receiving each line'),
  storeTimeout: (v) => (isTimer(v) ? null : TIMER),
  wireObserver: (v) => (isObject(v) && [v['sent'], v['received']].every((f) => f === undefined || typeof f === 'function')
    ? null : 'an object with sent and/or received functions'),
  goneLifetime: (v) => (isSeconds(v) ? null : SECONDS),
  maxRetryAfter: (v) => (isSeconds(v) ? null : SECONDS),
  leaseTtl: (v) => (v === 0 || isTimer(v) ? null : `0 (no lease) or ${TIMER}`),
};

/**
 * The constructor's options, checked and resolved once: each option by its rule (naming the first
 * bad one and the value received), an unknown key refused, then the defaults and the environment
 * (`DEBUG`, the proxy variables) applied. Only `env` is read: nothing here touches `process.env`.
 */
export function resolveOptions(options: unknown, env: Environment): ResolvedOptions {
  const o = checkOptions(options);
  return {
    transport: transportOptions(o, env),
    clock: o.clock ?? SYSTEM_CLOCK,
    // DEBUG is read once, here, like the proxy variables.
    debug: resolveDebug(o.debug, env['DEBUG']),
    wireObserver: o.wireObserver ?? null,
    timeout: o.timeout,
    maxBodySize: o.maxBodySize ?? DEFAULT_MAX_BODY_SIZE,
    maxDecompressionRatio: o.maxDecompressionRatio ?? DEFAULT_MAX_DECOMPRESSION_RATIO,
    storeTimeout: o.storeTimeout ?? DEFAULT_STORE_TIMEOUT,
    goneLifetime: o.goneLifetime ?? DEFAULT_GONE_LIFETIME,
    maxRetryAfter: o.maxRetryAfter ?? DEFAULT_MAX_RETRY_AFTER,
    leaseTtl: o.leaseTtl ?? DEFAULT_LEASE_TTL,
  };
}

// The caller's own keys only (a polluted Object.prototype never sets an option), each by its rule.
function checkOptions(options: unknown): HttpOptions {
  const checked: Record<string, unknown> = Object.create(null);
  if (options === undefined) return checked;
  if (!isObject(options) || Array.isArray(options)) {
    throw new HttpLib2Error(`Invalid options: expected an object of HttpOptions, received ${describeValue(options)}`, { code: 'ERR_INVALID_REQUEST' });
  }
  for (const key of Object.keys(options)) {
    const value = options[key];
    if (!Object.hasOwn(OPTION_RULES, key)) throw unknownKey('option', key, value, Object.keys(OPTION_RULES));
    if (value === undefined) continue;
    const want = OPTION_RULES[key as keyof HttpOptions](value);
    if (want !== null) throw bad(key, value, want);
    checked[key] = value;
  }
  const { tlsMinimumVersion: min, tlsMaximumVersion: max } = checked as HttpOptions;
  if (min !== undefined && max !== undefined && TLS_VERSIONS.indexOf(min) > TLS_VERSIONS.indexOf(max)) {
    throw bad('tlsMaximumVersion', max, `a version no lower than tlsMinimumVersion (${min})`, max);
  }
  return checked as HttpOptions;
}

/** An unknown key of an options object: named with its value, and the key meant when one is close. */
export function unknownKey(what: string, key: string, value: unknown, known: readonly string[]): HttpLib2Error {
  const near = known.find((k) => editDistance(k.toLowerCase(), key.toLowerCase()) <= 2);
  const hint = near === undefined ? `known: ${known.join(', ')}` : `did you mean ${near}?`;
  return new HttpLib2Error(`Unknown ${what} ${key} (received ${describeValue(value)}): ${hint}`, { code: 'ERR_INVALID_REQUEST' });
}

// Levenshtein distance, for the "did you mean" hint; keys are short.
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

function transportOptions(o: HttpOptions, env: Environment): TransportOptions {
  const connections = o.connections ?? DEFAULT_CONNECTIONS;
  const tls: { -readonly [K in keyof TlsSettings]: TlsSettings[K] } = {};
  if (o.ca !== undefined) tls.ca = o.ca;
  if (o.disableSslCertificateValidation) tls.rejectUnauthorized = false;
  // Both bounds reach every handshake the transport makes: origins, https proxies, TLS in a tunnel.
  if (o.tlsMinimumVersion !== undefined) tls.minVersion = o.tlsMinimumVersion;
  if (o.tlsMaximumVersion !== undefined) tls.maxVersion = o.tlsMaximumVersion;
  return {
    tls,
    dispatcher: o.dispatcher ?? null,
    proxy: proxyChoice(o.proxyInfo, env),
    timeout: o.timeout,
    connections: Number.isFinite(connections) ? connections : null,
    http2: o.http2 ?? false,
  };
}

// The proxy variables are read once, here: no request consults the environment (the hot path).
function proxyChoice(option: HttpOptions['proxyInfo'], env: Environment): ProxyChoice {
  if (option === undefined) return { kind: 'environment', environment: readProxyEnvironment(env) };
  if (option === null) return { kind: 'none' };
  if (typeof option === 'function') return { kind: 'per-url', choose: option };
  return { kind: 'fixed', proxy: option };
}

/**
 * The `cache` argument of `new Http(cache)`: a directory name (a non-empty string), a store, or
 * null/undefined for none. `''` would name the current directory by accident.
 */
export function checkCache(cache: unknown): asserts cache is string | CacheStore | null | undefined {
  if (cache === undefined || cache === null) return;
  if (typeof cache === 'string') {
    if (cache === '') {
      throw new HttpLib2Error('Invalid cache: expected a directory name (a non-empty string) or an object with get, set and delete, received ""', {
        code: 'ERR_INVALID_REQUEST',
      });
    }
    return;
  }
  assertCacheStore(cache);
}

/** Validates the `redirections` argument of a request: a count that can reach zero. */
export function validateRedirections(redirections: unknown): number {
  if (!(Number.isSafeInteger(redirections) && (redirections as number) >= 0)) {
    throw bad('redirections', redirections, 'a non-negative integer');
  }
  return redirections as number;
}

/** The attributes of an Http, settable after construction: read, and checked, at each request(). */
export interface Attributes {
  readonly followRedirects: boolean;
  readonly followAllRedirects: boolean;
  readonly redirectCodes: ReadonlySet<number> | readonly number[];
  readonly forwardAuthorizationHeaders: boolean;
  readonly forceExceptionToStatusCode: boolean;
  readonly optimisticConcurrencyMethods: readonly string[];
  readonly ignoreEtag: boolean;
  readonly retries: number;
}

/**
 * The settings of one request: the Http's attributes as they are now, each checked (a wrongly typed
 * one is ERR_INVALID_REQUEST naming it, before anything is sent, instead of failing somewhere below),
 * with the constant knobs of the resolved options.
 */
export function resolveSettings(a: Attributes, o: ResolvedOptions): Settings {
  return Object.freeze({
    followRedirects: flag('followRedirects', a.followRedirects),
    followAllRedirects: flag('followAllRedirects', a.followAllRedirects),
    redirectCodes: validateRedirectCodes(a.redirectCodes),
    forwardAuthorizationHeaders: flag('forwardAuthorizationHeaders', a.forwardAuthorizationHeaders),
    forceExceptionToStatusCode: flag('forceExceptionToStatusCode', a.forceExceptionToStatusCode),
    optimisticConcurrencyMethods: methodList('optimisticConcurrencyMethods', a.optimisticConcurrencyMethods),
    ignoreEtag: flag('ignoreEtag', a.ignoreEtag),
    retries: validateRetries(a.retries),
    timeout: o.timeout,
    maxBodySize: o.maxBodySize,
    maxDecompressionRatio: o.maxDecompressionRatio,
    goneLifetime: o.goneLifetime,
    maxRetryAfter: o.maxRetryAfter,
    leaseTtl: o.leaseTtl,
  });
}

/**
 * The settings of the last request of one Http, reused while its attributes are what they were: the
 * same values, and the same members, in the same order, in `redirectCodes` and
 * `optimisticConcurrencyMethods` (a Set or an array can be changed in place). Most programs never
 * change an attribute, and checking every one again cost a cache hit ~5% of its CPU (#15); any change
 * is checked as {@link resolveSettings} checks it, at the next request.
 */
export class SettingsMemo {
  #from: Attributes | null = null;
  #codes: readonly unknown[] = [];
  #methods: readonly unknown[] = [];
  #settings: Settings | null = null;

  settingsFor(a: Attributes, o: ResolvedOptions): Settings {
    if (this.#settings !== null && this.#unchanged(a)) return this.#settings;
    const settings = resolveSettings(a, o);
    this.#from = {
      followRedirects: a.followRedirects, followAllRedirects: a.followAllRedirects, redirectCodes: a.redirectCodes,
      forwardAuthorizationHeaders: a.forwardAuthorizationHeaders, forceExceptionToStatusCode: a.forceExceptionToStatusCode,
      optimisticConcurrencyMethods: a.optimisticConcurrencyMethods, ignoreEtag: a.ignoreEtag, retries: a.retries,
    };
    this.#codes = [...a.redirectCodes];
    this.#methods = [...a.optimisticConcurrencyMethods];
    this.#settings = settings;
    return settings;
  }

  #unchanged(a: Attributes): boolean {
    const f = this.#from!;
    return a.followRedirects === f.followRedirects && a.followAllRedirects === f.followAllRedirects &&
      a.forwardAuthorizationHeaders === f.forwardAuthorizationHeaders &&
      a.forceExceptionToStatusCode === f.forceExceptionToStatusCode && a.ignoreEtag === f.ignoreEtag &&
      a.retries === f.retries && a.redirectCodes === f.redirectCodes &&
      a.optimisticConcurrencyMethods === f.optimisticConcurrencyMethods &&
      sameMembers(a.redirectCodes, this.#codes) && sameMembers(a.optimisticConcurrencyMethods, this.#methods);
  }
}

// The members of a Set or an array, in order, are `then`'s.
function sameMembers(now: unknown, then: readonly unknown[]): boolean {
  if (now instanceof Set) {
    if (now.size !== then.length) return false;
    let i = 0;
    for (const member of now) if (member !== then[i++]) return false;
    return true;
  }
  if (!Array.isArray(now) || now.length !== then.length) return false;
  for (let i = 0; i < then.length; i++) if (now[i] !== then[i]) return false;
  return true;
}

function flag(name: keyof Attributes, value: unknown): boolean {
  if (typeof value !== 'boolean') throw bad(name, value, 'true or false');
  return value;
}

// Method names, matched as requests' methods are (standard ones upper-cased, others as given).
function methodList(name: keyof Attributes, value: unknown): readonly string[] {
  if (!Array.isArray(value) || !value.every((m) => typeof m === 'string' && isToken(m))) {
    throw bad(name, value, "an array of method names (['PUT', 'PATCH'])");
  }
  return value.map(normaliseMethod);
}

/**
 * Validates the redirectCodes attribute at request time (it is settable after construction): a Set
 * or an array of 3xx status codes.
 */
export function validateRedirectCodes(codes: unknown): ReadonlySet<number> {
  const list = codes instanceof Set ? [...(codes as Set<unknown>)] : Array.isArray(codes) ? codes : null;
  if (list === null || !list.every((c) => Number.isInteger(c) && (c as number) >= 300 && (c as number) <= 399)) {
    const shown = list === null ? describeValue(codes) : `[${list.map(String).join(', ')}]`;
    throw bad('redirectCodes', codes, 'a Set or an array of 3xx status codes', shown);
  }
  return new Set(list as number[]);
}

/** Validates the retries attribute at request time (it is settable after construction). */
export function validateRetries(retries: unknown): number {
  if (!(Number.isSafeInteger(retries) && (retries as number) >= 0)) {
    throw bad('retries', retries, 'a non-negative integer');
  }
  return retries as number;
}
