/**
 * The transport layer, the bottom of the pipeline: sends one hop on the dispatcher its route names
 * (routes.ts: agents, TLS, client certificates, proxies), reads the whole body within `maxBodySize`
 * (read-body.ts), retries a connection-level failure before the answer began (retry.ts), and reports
 * a failure once, classified (classify.ts). It returns the body as received (still encoded); decoding
 * is the next layer up. The hop to an http(s) proxy, with its authentication, is proxy-hop.ts's.
 */
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { untilAborted } from '../abort.js';
import { ConnectionError, HttpLib2Error } from '../errors.js';
import { Response } from '../response.js';
import type { Exchange, HopRequest, ProgressListener, RequestContext } from '../types.js';
import { requestTarget } from '../uri.js';
import { CallbackFailure, classify, type Where } from './classify.js';
import type { ProxyInfo } from './proxy.js';
import { readBody, reportProgress } from './read-body.js';
import { shouldRetry } from './retry.js';
import { Routes, type ClientCertificate, type Route, type TransportOptions } from './routes.js';
import { hopTimings, WireClock } from './wire-clock.js';

export type { ClientCertificate, ProxyChoice, TlsSettings, TlsVersion, TransportOptions } from './routes.js';

// One try of a hop: the answer, or the failure as it came (`began`: once the answer had begun).
type Attempt =
  | { readonly kind: 'answer'; readonly exchange: Exchange }
  | { readonly kind: 'failed'; readonly error: unknown; readonly began: boolean; readonly proxy: ProxyInfo | null };

export class Transport {
  readonly #routes: Routes;
  #closed = false;

  /**
   * @param options resolved once (the environment's proxy variables included), so no request
   *   consults the environment (the hot path) and a later change to it only affects Http instances
   *   built after.
   */
  constructor(options: TransportOptions) {
    this.#routes = new Routes(options);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Presents this client certificate to the hosts of its domain only. */
  addCertificate(certificate: ClientCertificate): void {
    this.#routes.addCertificate(certificate);
  }

  /**
   * Sends one hop and reads its whole body, bounded by `maxBodySize`; retries a connection-level
   * failure before the answer began. A failure leaves here classified (classify.ts), once.
   */
  send = async (req: HopRequest, ctx: RequestContext): Promise<Exchange> => {
    if (this.#closed) throw new HttpLib2Error('This Http has been closed', { code: 'ERR_CLOSED' });
    for (let attempt = 0; ; attempt++) {
      const tried = await this.#attempt(req, ctx);
      if (tried.kind === 'answer') return tried.exchange;
      const where: Where = { host: req.url.host, proxy: tried.proxy };
      // The request's own end (its deadline, the caller's abort, close()) is reported as such,
      // whatever undici made of it.
      if (ctx.signal?.aborted) throw classify(ctx.signal.reason ?? tried.error, where);
      // Once the answer has begun, nothing is sent again.
      if (tried.began || !shouldRetry(req.method, tried.error, attempt, ctx.settings.retries)) throw classify(tried.error, where);
    }
  };

  // One try: the answer read whole, or the failure as it came, with how far it got and the proxy
  // it went through.
  async #attempt(req: HopRequest, ctx: RequestContext): Promise<Attempt> {
    let route: Route | undefined;
    let data: Dispatcher.ResponseData<WireClock>;
    const clock = new WireClock(performance.now(), ctx.connected ?? null);
    try {
      route = this.#routes.routeFor(req, ctx);
      data = await this.#dispatch(route, req, ctx, clock);
    } catch (error) {
      return { kind: 'failed', error, began: false, proxy: route?.proxy ?? null };
    }
    const headers = performance.now();
    const response = new Response({
      status: data.statusCode,
      reason: data.statusText,
      // HTTP/2 only when the connection that carried it negotiated h2: known from our own pools; a
      // caller's dispatcher does not say, and its answers read HTTP/1.1.
      version: clock.h2 ? 20 : 11,
      // undici's record of the head: lower-cased names, a repeated field as an array of its values
      // (joined with ', ' as the Response joins them). Asking for the raw list made undici parse the
      // head twice, once into the list and once more for its own use (#15). A caller's dispatcher
      // that answers with the raw list anyway is still read.
      headers: Array.isArray(data.headers) ? pairs(data.headers as unknown[]) : data.headers,
    });
    try {
      if (ctx.onProgress) reportProgress(data.body, response, callerCallback(ctx.onProgress));
      const content = await readBody(data.body, ctx.settings.maxBodySize, response, req);
      response.timings = hopTimings(clock, headers, performance.now());
      return { kind: 'answer', exchange: { response, content } };
    } catch (error) {
      return { kind: 'failed', error, began: true, proxy: route.proxy };
    }
  }

  // Hands the hop to its dispatcher and waits for the response head; the transport's pools note on
  // `clock` the connection it was given.
  #dispatch(route: Route, req: HopRequest, ctx: RequestContext, clock: WireClock): Promise<Dispatcher.ResponseData<WireClock>> {
    let informational = 0;
    const options = new DispatchOptions(req, clock);
    options.signal = ctx.signal ?? undefined;
    // undici restarts its headers timer on every 1xx, so an endless 103 stream would never end.
    options.onInfo = () => {
      if (++informational > MAX_INFORMATIONAL) throw tooManyInformational(req);
    };
    // The deadline is ours (one total timeout); undici's per-phase timers stay as a backstop.
    const pending = route.forward ? route.forward.forward(options, req) : route.dispatcher.request(options);
    // undici acts on an abort only once the request is on a connection, so a TLS handshake that never
    // completes, or a tunnel still being opened through a stalled proxy, would hold the request until
    // undici's connect timeout: the signal is raced here (undici drops the request itself when the
    // connection comes, or fails).
    return untilAborted(pending, ctx.signal);
  }

  /** Releases every connection at once; requests still running, and later ones, fail with ERR_CLOSED. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#routes.close(new HttpLib2Error('This Http has been closed', { code: 'ERR_CLOSED' }));
  }
}

/**
 * What the transport asks undici for one hop. Its prototype chain ends at once (no Object.prototype):
 * undici reads optional fields (query, upgrade, throwOnError...) that a polluted Object.prototype would
 * otherwise supply. A class rather than an `Object.create(null)` record (#15): its objects have one
 * fixed shape, so undici's reads of a dozen fields are not a dictionary lookup each.
 */
class DispatchOptions implements Dispatcher.RequestOptions<WireClock> {
  readonly origin: string;
  readonly path: string;
  readonly method: Dispatcher.HttpMethod;
  readonly headers: Record<string, string>;
  readonly body: Buffer | null;
  readonly opaque: WireClock;
  signal: AbortSignal | undefined = undefined;
  onInfo: (() => void) | undefined = undefined;

  constructor(req: HopRequest, clock: WireClock) {
    this.origin = req.url.origin;
    this.path = requestTarget(req.url);
    this.method = req.method as Dispatcher.HttpMethod;
    this.headers = req.headers as Record<string, string>;
    this.body = req.body;
    this.opaque = clock;
  }
}
Object.setPrototypeOf(DispatchOptions.prototype, null);

/** The caller's progress callback; one that throws stops the body with its own error. */
function callerCallback(onProgress: ProgressListener): ProgressListener {
  return (received, total) => {
    try {
      onProgress(received, total);
    } catch (error) {
      throw new CallbackFailure(error);
    }
  };
}

// A raw header list, [name, value, name, value...], as pairs.
function pairs(raw: readonly unknown[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([String(raw[i]), String(raw[i + 1])]);
  return out;
}

// A server may send 1xx answers before the final one (RFC 9110 §15.2); more than this is a stall.
const MAX_INFORMATIONAL = 32;

function tooManyInformational(req: HopRequest): ConnectionError {
  return new ConnectionError(`${req.url.host} sent more than ${MAX_INFORMATIONAL} informational (1xx) responses`);
}
