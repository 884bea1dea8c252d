/**
 * The only module that talks to undici: owns the keep-alive Agent (or the caller's dispatcher),
 * TLS settings, client certificates by domain, proxies, the byte cap on bodies and connection-level
 * retries. It returns the body as received (still encoded); decoding is the next layer up.
 */
import { Agent, ProxyAgent, Socks5ProxyAgent, type Dispatcher } from 'undici';
import { ConnectionError, HttpLib2Error, ProxyError, mapError } from './errors.js';
import { Response } from './response.js';
import { proxyFromEnvironment, type ProxyInfo } from './proxy.js';
import type { HttpOptions } from './options.js';
import type { Exchange, HopRequest, RequestContext } from './types.js';
import { requestTarget } from './uri.js';
import { shouldRetry } from './retry.js';

/** A client certificate presented only to hosts of its domain. */
export interface ClientCertificate {
  readonly key: string | Buffer;
  readonly cert: string | Buffer;
  readonly domain: string;
  readonly passphrase?: string;
}

type TlsOptions = { ca?: string | Buffer | Array<string | Buffer>; rejectUnauthorized?: boolean };

export class Transport {
  readonly #tls: TlsOptions;
  readonly #own = new Map<string, Dispatcher>();
  readonly #userDispatcher: Dispatcher | undefined;
  readonly #proxyOption: HttpOptions['proxyInfo'];
  readonly #env: NodeJS.ProcessEnv;
  #certificates: ClientCertificate[] = [];
  #closed = false;

  constructor(options: HttpOptions, env: NodeJS.ProcessEnv = process.env) {
    this.#tls = {};
    if (options.ca !== undefined) this.#tls.ca = options.ca;
    if (options.disableSslCertificateValidation) this.#tls.rejectUnauthorized = false;
    this.#userDispatcher = options.dispatcher;
    this.#proxyOption = options.proxyInfo;
    this.#env = env;
  }

  get closed(): boolean {
    return this.#closed;
  }

  addCertificate(certificate: ClientCertificate): void {
    this.#certificates = [...this.#certificates, certificate];
    // Agents built before this certificate was known must not be reused for its domain.
    for (const [key, d] of this.#own) {
      if (key !== 'direct') continue;
      this.#own.delete(key);
      void d.close().catch(() => undefined);
    }
  }

  /** Sends one hop and reads its whole body, bounded by `maxBodySize`. */
  send = async (req: HopRequest, ctx: RequestContext): Promise<Exchange> => {
    if (this.#closed) throw new HttpLib2Error('This Http has been closed', { code: 'ERR_CLOSED' });
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#sendOnce(req, ctx);
      } catch (error) {
        if (ctx.signal?.aborted) throw mapError(ctx.signal.reason ?? error, req.url.host);
        if (!shouldRetry(req.method, error, attempt, ctx.settings.retries)) throw this.#mapError(error, req);
      }
    }
  };

  async #sendOnce(req: HopRequest, ctx: RequestContext): Promise<Exchange> {
    const dispatcher = this.#dispatcherFor(req.url);
    let informational = 0;
    // Null prototype: undici reads optional fields (query, upgrade, throwOnError...) that a polluted
    // Object.prototype would otherwise supply.
    const options: Dispatcher.RequestOptions = Object.assign(Object.create(null) as object, {
      origin: req.url.origin,
      path: requestTarget(req.url),
      method: req.method as Dispatcher.HttpMethod,
      headers: req.headers as Record<string, string>,
      body: req.body,
      signal: ctx.signal ?? undefined,
      responseHeaders: 'raw' as const,
      // undici restarts its headers timer on every 1xx, so an endless 103 stream would never end.
      onInfo: () => {
        if (++informational > MAX_INFORMATIONAL) throw tooManyInformational(req);
      },
      // The deadline is ours (one total timeout); undici's per-phase timers stay as a backstop.
    });
    const data = await dispatcher.request(options);
    const response = new Response({
      status: data.statusCode,
      reason: data.statusText,
      headers: pairs(data.headers as unknown as string[]),
    });
    try {
      if (ctx.onProgress) reportProgress(data.body, response, ctx.onProgress);
      const content = await readBody(data.body, ctx.settings.maxBodySize, response, req);
      return { response, content };
    } catch (error) {
      // The answer had begun: mapped here so it is never retried (shouldRetry skips our errors).
      if (ctx.signal?.aborted) throw mapError(ctx.signal.reason ?? error, req.url.host);
      throw this.#mapError(error, req);
    }
  }

  #mapError(error: unknown, req: HopRequest): HttpLib2Error {
    const text = error instanceof Error ? error.message : '';
    const code = (error as { code?: string } | null)?.code ?? '';
    if (/Proxy|tunnel/i.test(text) && !(error instanceof HttpLib2Error)) {
      return new ProxyError(`Proxy refused the request to ${req.url.host}: ${text}`, { cause: error });
    }
    if (code === 'UND_ERR_PRX_TLS') return new ProxyError(`TLS to the proxy failed: ${text}`, { cause: error });
    return mapError(error, req.url.host);
  }

  #dispatcherFor(url: URL): Dispatcher {
    if (this.#userDispatcher) return this.#userDispatcher;
    const proxy = this.#proxyFor(url);
    const cert = url.protocol === 'https:' ? this.#certificateFor(url) : undefined;
    const key = `${proxy ? proxy.key() : 'direct'}|${cert ? cert.domain : ''}|${proxy ? url.protocol : ''}`;
    let d = this.#own.get(key);
    if (!d) {
      d = this.#build(url, proxy, cert);
      this.#own.set(key, d);
    }
    return d;
  }

  #proxyFor(url: URL): ProxyInfo | null {
    const option = this.#proxyOption;
    if (option === null) return null;
    if (option === undefined) return proxyFromEnvironment(this.#env, url);
    if (typeof option === 'function') return option(url);
    return option.appliesTo(url) ? option : null;
  }

  #certificateFor(url: URL): ClientCertificate | undefined {
    const host = url.hostname.toLowerCase();
    const hostPort = url.host.toLowerCase();
    return this.#certificates.find((c) => {
      const d = c.domain.toLowerCase();
      return d === hostPort || d === host || host.endsWith(`.${d}`);
    });
  }

  #build(url: URL, proxy: ProxyInfo | null, cert: ClientCertificate | undefined): Dispatcher {
    const tls: Record<string, unknown> = { ...this.#tls };
    if (cert) {
      tls.key = cert.key;
      tls.cert = cert.cert;
      if (cert.passphrase !== undefined) tls.passphrase = cert.passphrase;
    }
    if (!proxy) return new Agent({ connect: tls });
    if (proxy.protocol === 'socks5') {
      // SOCKS5 credentials are RFC 1929 fields of the handshake, never HTTP headers.
      const auth = proxy.user !== undefined ? { username: proxy.user, password: proxy.password ?? '' } : {};
      return new Socks5ProxyAgent(proxy.url(), { ...auth, requestTls: tls } as unknown as Socks5ProxyAgent.Options);
    }
    return new ProxyAgent({
      uri: proxy.url(),
      requestTls: tls,
      proxyTls: this.#tls,
      // A plain http target is forwarded in absolute form; https goes through CONNECT.
      proxyTunnel: url.protocol === 'https:',
      ...(proxy.user !== undefined ? { token: proxy.basicToken() } : {}),
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#own.values()];
    this.#own.clear();
    // destroy, not close: undici's close() waits for requests in flight, so one stalled server would
    // hold close() forever. Requests still running fail with ERR_CLOSED.
    const reason = new HttpLib2Error('This Http has been closed', { code: 'ERR_CLOSED' });
    await Promise.all(all.map((d) => d.destroy(reason).catch(() => undefined)));
  }
}

function pairs(raw: readonly (string | Buffer)[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([String(raw[i]), String(raw[i + 1])]);
  return out;
}

/** Reads a whole body, failing (and closing the connection) past `limit` bytes. */
function readBody(body: Dispatcher.ResponseData['body'], limit: number, response: Response, req: HopRequest): Promise<Buffer> {
  const declared = Number(response.get('content-length'));
  if (Number.isFinite(declared) && declared > limit && !response.has('content-encoding')) {
    body.destroy();
    return Promise.reject(tooLarge(limit, req, response));
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    body.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        body.destroy();
        reject(tooLarge(limit, req, response));
        return;
      }
      chunks.push(chunk);
    });
    body.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    body.on('error', (error: Error) => reject(error));
  });
}

/**
 * Feeds `RequestOptions.onProgress` from a listener of its own, attached only when the caller asked,
 * so a request without the callback does no extra work per chunk. A throwing callback fails the body.
 */
function reportProgress(
  body: Dispatcher.ResponseData['body'],
  response: Response,
  onProgress: (received: number, total: number | null) => void,
): void {
  const declared = Number(response.get('content-length') ?? NaN);
  const total = Number.isSafeInteger(declared) && declared >= 0 ? declared : null;
  let received = 0;
  body.on('data', (chunk: Buffer) => {
    received += chunk.length;
    try {
      onProgress(received, total);
    } catch (error) {
      body.destroy(error as Error);
    }
  });
}

// A server may send 1xx answers before the final one (RFC 9110 §15.2); more than this is a stall.
const MAX_INFORMATIONAL = 32;

function tooManyInformational(req: HopRequest): ConnectionError {
  return new ConnectionError(`${req.url.host} sent more than ${MAX_INFORMATIONAL} informational (1xx) responses`);
}

function tooLarge(limit: number, req: HopRequest, response: Response): HttpLib2Error {
  return new HttpLib2Error(`Response body from ${req.url.host} is larger than maxBodySize (${limit} bytes)`, {
    code: 'ERR_BODY_TOO_LARGE',
    response,
  });
}
