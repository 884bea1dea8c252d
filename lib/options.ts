/**
 * Options of `new Http(cache, options)` and the attributes settable after construction: typed once,
 * with their defaults, validated eagerly with messages that name the option and the value received.
 */
import type { Dispatcher } from 'undici';
import { HttpLib2Error } from './errors.js';
import type { ProxyInfo } from './transport/proxy.js';
import type { WireObserver } from './debug.js';
import type { Clock } from './types.js';

export { DEFAULT_GONE_LIFETIME } from './cache/freshness.js';
export { DEFAULT_MAX_RETRY_AFTER } from './cache/retry-after.js';

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
}

/** A TLS version a bound may name; older ones are refused (RFC 8996 deprecates TLS 1.0 and 1.1). */
export type TlsVersion = NonNullable<HttpOptions['tlsMinimumVersion']>;

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

function bad(option: string, value: unknown, want: string): HttpLib2Error {
  return new HttpLib2Error(`Invalid option ${option}: expected ${want}, received ${String(value)}`, {
    code: 'ERR_INVALID_REQUEST',
  });
}

/** Validates the constructor options, naming the first bad one. */
export function validateOptions(options: HttpOptions): void {
  const { timeout, maxBodySize } = options;
  // Node runs a timer longer than 2^31 - 1 ms after 1 ms instead: every request would time out at once.
  if (timeout !== undefined && !(typeof timeout === 'number' && timeout > 0 && timeout <= MAX_TIMER_MS)) {
    throw bad('timeout', timeout, `a positive number of milliseconds up to ${MAX_TIMER_MS}`);
  }
  if (maxBodySize !== undefined && !(Number.isSafeInteger(maxBodySize) && maxBodySize >= 0)) {
    throw bad('maxBodySize', maxBodySize, 'a non-negative integer number of bytes');
  }
  const { connections } = options;
  if (connections !== undefined && !((Number.isSafeInteger(connections) && connections >= 1) || connections === Infinity)) {
    throw bad('connections', connections, 'a whole number of at least 1, or Infinity for no limit');
  }
  const { maxDecompressionRatio: ratio } = options;
  if (ratio !== undefined && !(typeof ratio === 'number' && (ratio === 0 || ratio >= 1))) {
    throw bad('maxDecompressionRatio', ratio, 'a number of at least 1, or 0 (or Infinity) for no ratio limit');
  }
  const { storeTimeout } = options;
  if (storeTimeout !== undefined && !(typeof storeTimeout === 'number' && storeTimeout > 0 && storeTimeout <= MAX_TIMER_MS)) {
    throw bad('storeTimeout', storeTimeout, `a positive number of milliseconds up to ${MAX_TIMER_MS}`);
  }
  const { debug } = options;
  if (debug !== undefined && typeof debug !== 'boolean' && typeof debug !== 'function') {
    throw bad('debug', debug, 'a boolean or a function receiving each line');
  }
  validateTlsBounds(options);
  for (const name of ['goneLifetime', 'maxRetryAfter'] as const) {
    const seconds = options[name];
    if (seconds !== undefined && !(typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0)) {
      throw bad(name, seconds, 'a non-negative, finite number of seconds');
    }
  }
  const { wireObserver } = options;
  if (wireObserver !== undefined && (typeof wireObserver !== 'object' || wireObserver === null ||
    [wireObserver.sent, wireObserver.received].some((f) => f !== undefined && typeof f !== 'function'))) {
    throw bad('wireObserver', wireObserver, 'an object with sent and/or received functions');
  }
  const { proxyInfo } = options;
  if (proxyInfo !== undefined && proxyInfo !== null && typeof proxyInfo !== 'function' && typeof proxyInfo !== 'object') {
    throw bad('proxyInfo', proxyInfo, 'a ProxyInfo, a function or null');
  }
}

function validateTlsBounds({ tlsMinimumVersion: min, tlsMaximumVersion: max }: HttpOptions): void {
  const want = `'TLSv1.2' or 'TLSv1.3'`;
  if (min !== undefined && !TLS_VERSIONS.includes(min)) throw bad('tlsMinimumVersion', JSON.stringify(min), want);
  if (max !== undefined && !TLS_VERSIONS.includes(max)) throw bad('tlsMaximumVersion', JSON.stringify(max), want);
  if (min !== undefined && max !== undefined && TLS_VERSIONS.indexOf(min) > TLS_VERSIONS.indexOf(max)) {
    throw bad('tlsMaximumVersion', max, `a version no lower than tlsMinimumVersion (${min})`);
  }
}

/** Validates the `redirections` argument of a request: a count that can reach zero. */
export function validateRedirections(redirections: unknown): number {
  if (!(Number.isSafeInteger(redirections) && (redirections as number) >= 0)) {
    throw bad('redirections', redirections, 'a non-negative integer');
  }
  return redirections as number;
}

/**
 * Validates the redirectCodes attribute at request time (it is settable after construction): a Set
 * or an array of 3xx status codes.
 */
export function validateRedirectCodes(codes: unknown): ReadonlySet<number> {
  const list = codes instanceof Set ? [...(codes as Set<unknown>)] : Array.isArray(codes) ? codes : null;
  if (list === null || !list.every((c) => Number.isInteger(c) && (c as number) >= 300 && (c as number) <= 399)) {
    const shown = list === null ? String(codes) : `[${list.map(String).join(', ')}]`;
    throw bad('redirectCodes', shown, 'a Set or an array of 3xx status codes');
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
