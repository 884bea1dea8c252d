/**
 * `Http`, the orchestrator: holds the attributes, credentials and certificates, composes the layers
 * once (cache → auth → decoding → transport), and runs the redirect loop over them. Decisions live
 * in the pure modules it calls; this file only sequences them.
 */
import { withAuth } from './auth/driver.js';
import { CredentialStore } from './auth/credentials.js';
import { withCache } from './cache/driver.js';
import { IdentityDigests } from './identity.js';
import { assertCacheStore, type CacheStore } from './cache/store.js';
import { debugging, resolveDebug, summaryLine, type DebugSink } from './debug.js';
import { decoding } from './transport/decode.js';
import { DEFAULT_MAX_DECOMPRESSION_RATIO } from './transport/decode-limit.js';
import {
  HttpLib2Error,
  RedirectLimit,
  RedirectMissingLocation,
  RequestTimeout,
  AbortError,
  mapError,
} from './errors.js';
import { buildRequest, normaliseMethod } from './first-hop.js';
import {
  DEFAULT_GONE_LIFETIME,
  DEFAULT_MAX_BODY_SIZE,
  DEFAULT_MAX_RETRY_AFTER,
  validateOptions,
  validateRedirectCodes,
  validateRedirections,
  validateRetries,
  type HttpOptions,
} from './options.js';
import { DEFAULT_REDIRECT_CODES, nextHop } from './redirect.js';
import { Response, withHead } from './response.js';
import { Transport } from './transport/transport.js';
import type { Clock, Exchange, HopRequest, RequestContext, Send, Settings } from './types.js';
import { originOf, redactUserinfo } from './uri.js';
import { openCache } from './cache/open.js';
import { DEFAULT_STORE_TIMEOUT, GuardedStore } from './cache/guarded-store.js';

/** The options-object form of {@link Http.request}. */
export interface RequestOptions {
  /**
   * Any method token. The standard methods (GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE,
   * PATCH) are upper-cased whatever their case; an extension method is sent exactly as given
   * (method tokens are case-sensitive, RFC 9110 §9.1). @default 'GET'
   */
  method?: string;
  /** The request body: text (sent as UTF-8) or bytes. @default null (no body) */
  body?: string | Uint8Array | null;
  /** Request headers; names are case-insensitive. @default {} */
  headers?: Record<string, string>;
  /** Redirects to follow before {@link RedirectLimit}. @default 5 */
  redirections?: number;
  /** Aborts the request (an {@link AbortError}). @default none */
  signal?: AbortSignal;
  /**
   * Called as each hop's body arrives: bytes received so far (as sent, before decoding) and the
   * Content-Length, or null when the server sent none. Not called for answers served from the cache.
   */
  onProgress?: (received: number, total: number | null) => void;
}

/** The merged deadline/caller signal of one request() call, and how to release its timer. */
interface Deadline {
  readonly signal: AbortSignal | null;
  dispose(): void;
}
const SYSTEM_CLOCK: Clock = { now: () => Date.now() };
const ignore = (): void => undefined;

/** An HTTP client with a cache, redirects, decoding and authentication. httplib2: `httplib2.Http`. */
export class Http {
  /** Follow 3xx answers to GET and HEAD. httplib2: `follow_redirects`. */
  followRedirects = true;
  /** Follow 3xx answers to every method. httplib2: `follow_all_redirects`. */
  followAllRedirects = false;
  /**
   * The statuses followed as redirects (a Set or an array of 3xx codes, read at each request).
   * Remove 308 to get every 308 back, as httplib2 users do for resumable uploads.
   * httplib2: `redirect_codes`. @default [300, 301, 302, 303, 307, 308]
   */
  redirectCodes: ReadonlySet<number> | readonly number[] = [...DEFAULT_REDIRECT_CODES];
  /** Keep Authorization, Cookie and X-WSSE on a redirect to another origin. httplib2: `forward_authorization_headers`. */
  forwardAuthorizationHeaders = false;
  /** Return errors as responses (500/408/400) instead of throwing. httplib2: `force_exception_to_status_code`. */
  forceExceptionToStatusCode = false;
  /**
   * Methods that carry If-Match with the cached strong ETag (lost-update protection).
   * httplib2: `optimistic_concurrency_methods`. @default ['PUT', 'PATCH'] (httplib2 0.32)
   */
  optimisticConcurrencyMethods: string[] = ['PUT', 'PATCH'];
  /** Never send If-None-Match / If-Match from cached ETags. httplib2: `ignore_etag`. */
  ignoreEtag = false;
  /** Attempts for a connection-level failure (2 = one retry). httplib2: `RETRIES`. */
  retries = 2;

  readonly #transport: Transport;
  readonly #credentials = new CredentialStore();
  // Cache identity digests and what they memoise: emptied with the credentials and on close().
  readonly #identities = new IdentityDigests();
  readonly #cache: GuardedStore | null;
  readonly #send: Send;
  readonly #clock: Clock;
  readonly #timeout: number | undefined;
  readonly #maxBodySize: number;
  readonly #maxDecompressionRatio: number;
  readonly #goneLifetime: number;
  readonly #maxRetryAfter: number;
  readonly #debug: DebugSink | null;

  /**
   * @param cache a directory (used as a FileCache), any object with get/set/delete (a FileCache,
   *   a MemoryCache, a keyv `Keyv`), or null/undefined for no cache.
   */
  constructor(cache?: string | CacheStore | null, options: HttpOptions = {}) {
    validateOptions(options);
    if (cache !== undefined && cache !== null && typeof cache !== 'string') assertCacheStore(cache);
    // Every store call is bounded at the store boundary (DESIGN.md, Stores): one guard around any
    // store. Its breaker reports to the debug output, resolved below.
    this.#cache = cache === undefined || cache === null ? null : new GuardedStore(openCache(cache), {
      timeout: options.storeTimeout ?? DEFAULT_STORE_TIMEOUT,
      report: (line) => this.#debug?.(line),
    });
    this.#transport = new Transport(options);
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#timeout = options.timeout;
    this.#maxBodySize = options.maxBodySize ?? DEFAULT_MAX_BODY_SIZE;
    this.#maxDecompressionRatio = options.maxDecompressionRatio ?? DEFAULT_MAX_DECOMPRESSION_RATIO;
    this.#goneLifetime = options.goneLifetime ?? DEFAULT_GONE_LIFETIME;
    this.#maxRetryAfter = options.maxRetryAfter ?? DEFAULT_MAX_RETRY_AFTER;
    // DEBUG is read once, here, like the proxy variables. With debug output off the layer is not
    // in the pipeline at all; when on, it sits on the wire side of decoding, so it shows the
    // headers every layer added (If-None-Match, Authorization, Accept-Encoding) and the raw answer.
    this.#debug = resolveDebug(options.debug, process.env['DEBUG']);
    const observer = options.wireObserver ?? null;
    const wire = this.#debug || observer ? debugging(this.#transport.send, this.#debug, observer) : this.#transport.send;
    this.#send = withCache(withAuth(decoding(wire), { credentials: this.#credentials }), this.#identities);
  }

  /**
   * Registers credentials for 401 challenges. `domain` limits where they apply: `host`, `host:port`,
   * or an origin `https://host[:port]` (that scheme, host and port only); '' answers the origins the
   * caller asks for. Nothing answers after a redirect from https to http.
   */
  addCredentials(name: string, password: string, domain = ''): void {
    this.#credentials.add(name, password, domain);
  }

  /** Forgets every registered name and password and the authorizations learnt from them (client certificates stay, as in httplib2). */
  clearCredentials(): void {
    this.#credentials.clear();
    this.#identities.clear();
  }

  /** Presents this client certificate (PEM key and cert) to hosts of `domain` only. */
  addCertificate(key: string | Buffer, cert: string | Buffer, domain: string, password?: string): void {
    this.#transport.addCertificate({ key, cert, domain, ...(password !== undefined ? { passphrase: password } : {}) });
  }

  /** Releases the pooled sockets; later requests fail with an error. */
  async close(): Promise<void> {
    this.#identities.clear();
    await this.#transport.close();
  }

  /**
   * Sends a request, following redirects, answering auth challenges and using the cache.
   *
   * @param uri An absolute `http:` or `https:` URI, as a string or a `URL`.
   * @param options `method` (any token, upper-cased; default `'GET'`), `body` (a string sent as
   *   UTF-8, or bytes; default none), `headers` (names case-insensitive; default none),
   *   `redirections` (hops to follow before {@link RedirectLimit}; default 5), `signal` (an
   *   `AbortSignal`; default none) and `onProgress(received, total)` (each hop's body bytes as they
   *   arrive; default none).
   * @returns `[response, content]`: the final {@link Response} (its `previous` holds the redirect
   *   chain) and the decoded body. Every status resolves, 4xx and 5xx included.
   * @throws {@link RelativeURIError} when `uri` is not an absolute http(s) URI.
   * @throws {@link HttpLib2Error} with `code` `ERR_INVALID_REQUEST` for a bad method, header, body or
   *   `redirections` (before anything is sent), `ERR_CLOSED` after {@link Http.close}, or
   *   `ERR_BODY_TOO_LARGE` past `maxBodySize`.
   * @throws {@link ServerNotFoundError}, {@link ConnectionError}, {@link TlsError} or {@link ProxyError}
   *   when the server cannot be reached or spoken to; {@link RequestTimeout} at the `timeout` deadline;
   *   {@link AbortError} when `signal` fires.
   * @throws {@link RedirectLimit} or {@link RedirectMissingLocation} for a redirect that cannot be
   *   followed, {@link FailedToDecompressContent} for a body that cannot be decoded, and
   *   {@link UnimplementedDigestAuthOptionError} / {@link UnimplementedHmacDigestAuthOptionError} for a
   *   challenge asking for what is not implemented (each carries `.response`).
   *   With {@link Http.forceExceptionToStatusCode} nothing is thrown: errors become responses.
   */
  request(uri: string | URL, options: RequestOptions): Promise<[Response, Buffer]>;
  /**
   * httplib2's positional form: `request(uri, method, body, headers, redirections)`. Same behaviour
   * and errors as the options form.
   *
   * @param uri An absolute `http:` or `https:` URI, as a string or a `URL`.
   * @param method Any method token, upper-cased. Default `'GET'`.
   * @param body A string (sent as UTF-8) or bytes. Default none.
   * @param headers Request headers; names are case-insensitive. Default none.
   * @param redirections Redirects to follow before {@link RedirectLimit}. Default 5.
   * @returns `[response, content]`, as the options form.
   * @throws The errors the options form lists.
   */
  request(
    uri: string | URL,
    method?: string,
    body?: string | Uint8Array | null,
    headers?: Record<string, string>,
    redirections?: number,
  ): Promise<[Response, Buffer]>;
  async request(
    uri: string | URL,
    methodOrOptions?: string | RequestOptions,
    body?: string | Uint8Array | null,
    headers?: Record<string, string>,
    redirections = 5,
  ): Promise<[Response, Buffer]> {
    // Own properties only, into a null-prototype record: a polluted Object.prototype.headers (or
    // .body, .signal...) must never become part of the request.
    const o: RequestOptions = Object.assign(
      Object.create(null) as RequestOptions,
      typeof methodOrOptions === 'object' && methodOrOptions !== null
        ? methodOrOptions
        : { method: methodOrOptions, body, headers, redirections },
    );
    let deadline: Deadline | undefined;
    let ctx: RequestContext | undefined;
    let req: HopRequest | undefined;
    // The cache's decisions for the debug summary; nobody reads them when debug output is off.
    const decisions: string[] = [];
    try {
      deadline = this.#deadline(o.signal);
      req = buildRequest(uri, o);
      const redirections = validateRedirections(o.redirections ?? 5);
      ctx = this.#context(req.url, deadline.signal, o.onProgress, decisions);
      const { response, content } = await this.#follow(req, ctx, redirections);
      if (this.#debug) this.#debug(summaryLine(req.method, req.url, { response }, ctx.cache === null ? null : decisions));
      return [response, content];
    } catch (error) {
      const signal = deadline?.signal;
      // Once parsed, the URI is shown without its user info; before, with the password masked.
      const shown = req ? req.url.href : redactUserinfo(String(uri));
      const e = signal?.aborted && !(error instanceof HttpLib2Error && error.response)
        ? mapError(signal.reason, shown)
        : mapError(error, shown);
      const noted = ctx === undefined || ctx.cache === null ? null : decisions;
      if (this.#debug) this.#debug(summaryLine(normaliseMethod(String(o.method ?? 'GET')), req?.url ?? uri, { error: e }, noted));
      if (this.forceExceptionToStatusCode) return errorAsResponse(e);
      throw e;
    } finally {
      deadline?.dispose();
    }
  }

  #context(url: URL, signal: AbortSignal | null, onProgress: RequestOptions['onProgress'], decisions: string[]): RequestContext {
    const settings: Settings = {
      followRedirects: this.followRedirects,
      followAllRedirects: this.followAllRedirects,
      redirectCodes: validateRedirectCodes(this.redirectCodes),
      forwardAuthorizationHeaders: this.forwardAuthorizationHeaders,
      forceExceptionToStatusCode: this.forceExceptionToStatusCode,
      optimisticConcurrencyMethods: this.optimisticConcurrencyMethods.map((m) => normaliseMethod(String(m))),
      ignoreEtag: this.ignoreEtag,
      retries: validateRetries(this.retries),
      timeout: this.#timeout,
      maxBodySize: this.#maxBodySize,
      maxDecompressionRatio: this.#maxDecompressionRatio,
      goneLifetime: this.#goneLifetime,
      maxRetryAfter: this.#maxRetryAfter,
    };
    return Object.freeze({
      settings: Object.freeze(settings),
      clock: this.#clock,
      signal,
      requestedOrigins: new Set([originOf(url)]),
      cache: this.#cache === null ? null : this.#cache.during(signal),
      credentials: this.#credentials,
      note: this.#debug ? (line: string) => void decisions.push(line) : ignore,
      onProgress: onProgress ?? null,
    });
  }

  // One deadline for the whole call (connect, headers, body, every hop), merged with the caller's signal.
  #deadline(callerSignal: AbortSignal | undefined): Deadline {
    if (this.#transport.closed) throw new HttpLib2Error('This Http has been closed', { code: 'ERR_CLOSED' });
    const timeout = this.#timeout;
    if (timeout === undefined && !callerSignal) return { signal: null, dispose() {} };
    const controller = new AbortController();
    const abort = (reason: HttpLib2Error) => controller.abort(reason);
    const timer = timeout === undefined ? undefined
      : setTimeout(() => abort(new RequestTimeout(`Request timed out after ${timeout} ms`)), timeout);
    const onCallerAbort = () => abort(new AbortError('Request aborted by the caller', { cause: callerSignal?.reason }));
    if (callerSignal?.aborted) onCallerAbort();
    else callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
    return {
      signal: controller.signal,
      dispose() {
        if (timer) clearTimeout(timer);
        callerSignal?.removeEventListener('abort', onCallerAbort);
      },
    };
  }

  async #follow(first: HopRequest, ctx: RequestContext, redirections: number): Promise<Exchange> {
    let req = first;
    let previous: Response | null = null;
    for (let left = redirections; ; left--) {
      const answer = await this.#send(req, ctx);
      // A response of its own per hop: the chain and the URI it answers, as httplib2 shows them.
      const located = answer.response.has('content-location') ? undefined : { 'content-location': req.url.href };
      const response = withHead(answer.response, { previous, ...(located ? { set: located } : {}) });
      const { content } = answer;
      const decision = nextHop(req, response, ctx.settings);
      switch (decision.kind) {
        case 'return':
          return { response, content };
        case 'missing-location':
          throw new RedirectMissingLocation('Redirected but the response is missing a Location: header.', { response, content });
        case 'follow':
          if (left <= 0) {
            throw new RedirectLimit('Redirected more times than redirection_limit allows.', { response, content });
          }
          previous = response;
          req = decision.request;
          break;
        default:
          return assertNever(decision);
      }
    }
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected decision ${JSON.stringify(x)}`);
}

/** `forceExceptionToStatusCode`: httplib2 turns errors into responses instead of raising them. */
function errorAsResponse(e: HttpLib2Error): [Response, Buffer] {
  if (e.response) {
    const response = e.response.clone({ status: 500, reason: e.message });
    return [response, e.content ?? Buffer.alloc(0)];
  }
  const status = e.statusHint;
  const reason = status === 408 ? 'Request Timeout' : 'Bad Request';
  const content = Buffer.from(status === 408 ? 'Request Timeout' : e.message, 'utf8');
  const response = new Response({
    status,
    reason,
    headers: { 'content-type': 'text/plain', 'content-length': String(content.length) },
  });
  return [response, content];
}
