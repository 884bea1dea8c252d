/**
 * `Http`, the orchestrator: holds the attributes, credentials and certificates, composes the layers
 * once (cache → auth → decoding → transport), and runs the redirect loop over them. Decisions live
 * in the pure modules it calls; this file only sequences them.
 */
import { withAuth } from './auth/driver.js';
import { CredentialStore } from './auth/credentials.js';
import { withCache } from './cache/driver.js';
import { IdentityDigests } from './identity.js';
import type { CacheStore } from './cache/store.js';
import { debugging, storeTroubleLine, summaryLine, type DebugSink } from './debug.js';
import { metering, RequestEvents } from './events.js';
import { decoding } from './transport/decode.js';
import {
  HttpLib2Error,
  RedirectLimit,
  RedirectMissingLocation,
  RequestTimeout,
  AbortError,
  describeValue,
  internalError,
} from './errors.js';
import { CallbackFailure } from './transport/classify.js';
import type { HeadersInput } from './headers.js';
import { checkCache, resolveOptions, SettingsMemo, type HttpOptions, type ResolvedOptions } from './options.js';
import { checkRequest, requestArguments, shownMethod, type RequestOptions } from './request.js';
import { DEFAULT_REDIRECT_CODES, nextHop } from './redirect.js';
import { Response, reasonFor, withHead } from './response.js';
import { Transport } from './transport/transport.js';
import { ms } from './transport/wire-clock.js';
import type { Exchange, HopRequest, RequestContext, Send } from './types.js';
import { originOf, redactUserinfo } from './uri.js';
import { openCache } from './cache/open.js';
import { GuardedStore } from './cache/guarded-store.js';

/** The merged deadline/caller signal of one request() call, and how to release its timer. */
interface Deadline {
  readonly signal: AbortSignal | null;
  dispose(): void;
}

/** One request() under way: its first hop, its redirect budget, its context and deadline. */
interface Call {
  /** When it began (`performance.now()`), for its responses' `timings.total`. */
  readonly started: number;
  readonly req: HopRequest;
  readonly redirections: number;
  readonly ctx: RequestContext;
  readonly deadline: Deadline;
}

/** What a failed request() had got to, for its report. */
interface Failed {
  readonly uri: unknown;
  readonly args: RequestOptions | undefined;
  readonly call: Call | undefined;
  readonly decisions: readonly string[];
  readonly events: RequestEvents | null;
}
const ignore = (): void => undefined;

/** An HTTP client with a cache, redirects, decoding and authentication. httplib2: `httplib2.Http`. */
export class Http {
  /** Follow 3xx answers to GET, HEAD and QUERY. httplib2: `follow_redirects`. */
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
  // The constructor's options, resolved once (options.ts).
  readonly #options: ResolvedOptions;
  // The attributes as the last request checked them, reused while unchanged (options.ts).
  readonly #settings = new SettingsMemo();
  readonly #debug: DebugSink | null;
  // Whether the debug output has said that the cache cannot keep answers (once per Http).
  #troubleTold = false;

  /**
   * @param cache a directory (used as a FileCache), any object with get/set/delete (a FileCache,
   *   a MemoryCache, a keyv `Keyv`), or null/undefined for no cache.
   */
  constructor(cache?: string | CacheStore | null, options?: HttpOptions) {
    // The environment is read here, once for this Http, and nowhere else in the library (the proxy
    // variables and DEBUG): a later change to it only affects Http instances built after.
    this.#options = resolveOptions(options, process.env);
    checkCache(cache);
    this.#debug = this.#options.debug;
    // Every store call is bounded at the store boundary (DESIGN.md, Stores): one guard around any
    // store. Its breaker reports to the debug output.
    this.#cache = cache === undefined || cache === null ? null : new GuardedStore(openCache(cache), {
      timeout: this.#options.storeTimeout,
      report: (line) => this.#debug?.(line),
    });
    this.#transport = new Transport(this.#options.transport);
    // With debug output off the layer is not in the pipeline at all; when on, it sits on the wire
    // side of decoding, so it shows the headers every layer added (If-None-Match, Authorization,
    // Accept-Encoding) and the raw answer.
    const observer = this.#options.wireObserver;
    const wire = this.#debug || observer ? debugging(this.#transport.send, this.#debug, observer) : this.#transport.send;
    this.#send = withCache(withAuth(decoding(metering(wire)), { credentials: this.#credentials }), this.#identities);
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
   *   UTF-8, or bytes; default none), `headers` (a record, a `Headers`, a `Map` or `[name, value]`
   *   pairs; names case-insensitive; default none), `redirections` (hops to follow before
   *   {@link RedirectLimit}; default 5), `signal` (an `AbortSignal`; default none) and
   *   `onProgress(received, total)` (each hop's body bytes as they arrive; default none).
   * @returns `[response, content]`: the final {@link Response} (its `previous` holds the redirect
   *   chain) and the decoded body. Every status resolves, 4xx and 5xx included.
   * @throws {@link RelativeURIError} when `uri` is not an absolute http(s) URI.
   * @throws {@link HttpLib2Error} with `code` `ERR_INVALID_REQUEST`, before anything is sent, for a
   *   bad method, header, body, `redirections`, `signal` or `onProgress`, an unknown key in `options`,
   *   or an attribute of this Http set to a value of the wrong kind (each named with the value
   *   received); `ERR_CLOSED` after {@link Http.close}; `ERR_BODY_TOO_LARGE` past `maxBodySize`;
   *   `ERR_INTERNAL` for a failure inside the library (never reported as a network error). A
   *   callback of the caller's that throws (`onProgress`, a `proxyInfo` function) fails the request
   *   with its own error.
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
   * @param headers Request headers (a record, a `Headers`, a `Map` or `[name, value]` pairs); names are
   *   case-insensitive. Default none.
   * @param redirections Redirects to follow before {@link RedirectLimit}. Default 5.
   * @returns `[response, content]`, as the options form.
   * @throws The errors the options form lists.
   */
  request(
    uri: string | URL,
    method?: string,
    body?: string | Uint8Array | null,
    headers?: HeadersInput,
    redirections?: number,
  ): Promise<[Response, Buffer]>;
  // Five parameters: httplib2's public positional signature, kept as it is.
  async request(
    uri: string | URL,
    methodOrOptions?: string | RequestOptions,
    body?: string | Uint8Array | null,
    headers?: HeadersInput,
    redirections = 5,
  ): Promise<[Response, Buffer]> {
    // The cache's decisions for the debug summary; nobody reads them when debug output is off.
    const decisions: string[] = [];
    // The request events (events.ts): null, and nothing measured, while nobody subscribes.
    const events = RequestEvents.open();
    let args: RequestOptions | undefined;
    let call: Call | undefined;
    try {
      args = requestArguments(methodOrOptions, body, headers, redirections);
      call = this.#begin(uri, args, decisions, events);
      events?.started(call.req.method, call.req.url.href);
      const { response, content } = await this.#follow(call);
      if (this.#debug) this.#tell(summaryLine(call.req.method, call.req.url, { response }, call.ctx.cache === null ? null : decisions), decisions);
      events?.ended(response, content);
      return [response, content];
    } catch (error) {
      return this.#failed(error, { uri, args, call, decisions, events });
    } finally {
      call?.deadline.dispose();
    }
  }

  /**
   * Everything a request needs, checked before anything is sent: the Http is open, the arguments are
   * sound, the attributes are what they should be (each is settable, so read and checked now). Then
   * the deadline starts.
   */
  #begin(uri: unknown, args: RequestOptions, decisions: string[], events: RequestEvents | null): Call {
    const started = performance.now();
    if (this.#transport.closed) throw new HttpLib2Error('This Http has been closed', { code: 'ERR_CLOSED' });
    const checked = checkRequest(uri, args);
    const settings = this.#settings.settingsFor(this, this.#options);
    const deadline = this.#deadline(checked.signal);
    const ctx: RequestContext = Object.freeze({
      settings,
      clock: this.#options.clock,
      signal: deadline.signal,
      requestedOrigins: new Set([originOf(checked.req.url)]),
      cache: this.#cache === null ? null : this.#cache.during(deadline.signal),
      credentials: this.#credentials,
      note: this.#debug ? (line: string) => void decisions.push(line) : ignore,
      onProgress: checked.onProgress,
      meter: events === null ? null : events.meter,
    });
    return { started, req: checked.req, redirections: checked.redirections, ctx, deadline };
  }

  // The closing line of a request() for the debug output, and, the first time a request's decisions
  // show the cache could not keep an answer, one line saying so (each summary shows its own).
  #tell(summary: string, decisions: readonly string[] | null): void {
    this.#debug?.(summary);
    if (this.#troubleTold || decisions === null) return;
    const trouble = storeTroubleLine(decisions);
    if (trouble === null) return;
    this.#troubleTold = true;
    this.#debug?.(trouble);
  }

  // How a request() ends when something failed: the error reported, or a response made of it.
  #failed(error: unknown, at: Failed): [Response, Buffer] {
    const { call } = at;
    // Once parsed, the URI is shown without its user info; before, with the password masked.
    const e = reported(error, call?.deadline.signal ?? null, call ? call.req.url.href : redactUserinfo(shownUri(at.uri)));
    const shownError = e instanceof CallbackFailure ? e.cause : e;
    const noted = call === undefined || call.ctx.cache === null ? null : at.decisions;
    if (this.#debug) this.#tell(summaryLine(shownMethod(at.args), call?.req.url ?? shownUri(at.uri), { error: shownError }, noted), noted);
    at.events?.failed(shownError, call?.req.method ?? shownMethod(at.args), call?.req.url.href ?? shownUri(at.uri));
    // The caller's own callback threw: its error goes back as it was thrown, whatever the settings.
    if (e instanceof CallbackFailure) throw e.cause;
    // Only a valid `true` turns errors into responses: a wrongly typed attribute is itself the error.
    if (this.forceExceptionToStatusCode === true) return errorAsResponse(e);
    throw e;
  }

  // One deadline for the whole call (connect, headers, body, every hop), merged with the caller's signal.
  #deadline(callerSignal: AbortSignal | null): Deadline {
    const timeout = this.#options.timeout;
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

  async #follow(call: Call): Promise<Exchange> {
    const { ctx } = call;
    let req = call.req;
    let previous: Response | null = null;
    for (let left = call.redirections; ; left--) {
      const answer = await this.#send(req, ctx);
      // A response of its own per hop: the chain and the URI it answers, as httplib2 shows them, and
      // the time since the call began. Not for QUERY: there Content-Location names where a GET finds
      // the results (RFC 10008 §2.3), which only the server can say.
      const located = answer.response.has('content-location') || req.method === 'QUERY' ? undefined : { 'content-location': req.url.href };
      const timings = { ...answer.response.timings, total: ms(performance.now() - call.started) };
      const response = withHead(answer.response, { previous, timings, ...(located ? { set: located } : {}) });
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

/**
 * What request() reports for a failure: the deadline or the caller's abort when it ended the request
 * (unless an error already carries the answer), our errors as they are, a caller's callback failure
 * for the caller, and anything else as what it is, an internal error: never a network one.
 */
function reported(error: unknown, signal: AbortSignal | null, shown: string): HttpLib2Error | CallbackFailure {
  const cause = signal?.aborted && !(error instanceof HttpLib2Error && error.response) ? signal.reason : error;
  if (cause instanceof HttpLib2Error || cause instanceof CallbackFailure) return cause;
  return internalError(cause, shown);
}

// The URI as given, as text, whatever it was (a caller from plain JavaScript may pass anything).
function shownUri(uri: unknown): string {
  if (typeof uri === 'string') return uri;
  const href = (uri as { href?: unknown } | null)?.href;
  return typeof href === 'string' ? href : describeValue(uri);
}

/** `forceExceptionToStatusCode`: httplib2 turns errors into responses instead of raising them. */
function errorAsResponse(e: HttpLib2Error): [Response, Buffer] {
  if (e.response) {
    const response = e.response.clone({ status: 500, reason: e.message });
    return [response, e.content ?? Buffer.alloc(0)];
  }
  const status = e.statusHint;
  const reason = reasonFor(status);
  const content = Buffer.from(status === 408 ? 'Request Timeout' : e.message, 'utf8');
  const response = new Response({
    status,
    reason,
    headers: { 'content-type': 'text/plain', 'content-length': String(content.length) },
  });
  return [response, content];
}
