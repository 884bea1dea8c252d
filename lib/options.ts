/**
 * Options of `new Http(cache, options)` and the attributes settable after construction: typed once,
 * with their defaults, validated eagerly with messages that name the option and the value received.
 */
import type { Dispatcher } from 'undici';
import { HttpLib2Error } from './errors.js';
import type { ProxyInfo } from './proxy.js';
import type { WireObserver } from './debug.js';
import type { Clock } from './types.js';

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
  /** Bring your own undici dispatcher (an Agent, a MockAgent...). @default an Agent owned by the Http */
  dispatcher?: Dispatcher;
  /** Bytes of decoded body kept in memory. @default 1 GiB */
  maxBodySize?: number;
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
   * Receives each hop's request head as sent and response head as received (before decoding), as
   * records, whatever `debug` says: what the CLI's -v and -i print. Not called for an answer served
   * from the cache without a request.
   * @default none
   */
  wireObserver?: WireObserver;
}

/** The attributes of an Http read once per request into the context. */
export interface ResolvedSettings {
  readonly followRedirects: boolean;
  readonly followAllRedirects: boolean;
  readonly forwardAuthorizationHeaders: boolean;
  readonly forceExceptionToStatusCode: boolean;
  readonly optimisticConcurrencyMethods: readonly string[];
  readonly ignoreEtag: boolean;
  readonly retries: number;
  readonly timeout: number | undefined;
  readonly maxBodySize: number;
}

export const DEFAULT_MAX_BODY_SIZE = 1024 * 1024 * 1024;

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
  const { debug } = options;
  if (debug !== undefined && typeof debug !== 'boolean' && typeof debug !== 'function') {
    throw bad('debug', debug, 'a boolean or a function receiving each line');
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

/** Validates the `redirections` argument of a request: a count that can reach zero. */
export function validateRedirections(redirections: unknown): number {
  if (!(Number.isSafeInteger(redirections) && (redirections as number) >= 0)) {
    throw bad('redirections', redirections, 'a non-negative integer');
  }
  return redirections as number;
}

/** Validates the retries attribute at request time (it is settable after construction). */
export function validateRetries(retries: unknown): number {
  if (!(Number.isSafeInteger(retries) && (retries as number) >= 0)) {
    throw bad('retries', retries, 'a non-negative integer');
  }
  return retries as number;
}
