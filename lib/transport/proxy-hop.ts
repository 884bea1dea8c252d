/**
 * The hop to an http or https forward proxy: plain http requests forwarded in absolute form (RFC 9110
 * §7.1) and https tunnels opened with CONNECT (§9.3.6), each carrying the Proxy-Authorization that
 * proxy-auth.ts decides and answering a 407 challenge once. Proxy-Authorization goes to the proxy
 * only: it is never part of what the origin receives, and nothing is ever written inside a tunnel here.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { Client, Pool, type Dispatcher, type buildConnector } from 'undici';
import { eagerPool } from './connection-pool.js';
import { ProxyError, TlsError, mapError } from '../errors.js';
import type { ProxyInfo } from './proxy.js';
import {
  acceptedProxySession,
  answerProxyChallenge,
  initialProxySession,
  preemptiveAuthorization,
  type ProxyAuthorization,
  type ProxyCredentials,
  type ProxySession,
  type ProxyTarget,
} from './proxy-auth.js';
import type { HopRequest } from '../types.js';
import { requestTarget } from '../uri.js';

const randomCnonce = (): string => randomBytes(16).toString('hex');

/** How long a proxy may take to open a tunnel (CONNECT, a SOCKS5 handshake) when the Http has no timeout of its own. */
export const DEFAULT_TUNNEL_TIMEOUT_MS = 30_000;

export class ProxyHop {
  readonly #proxy: ProxyInfo;
  readonly #credentials: ProxyCredentials | null;
  readonly #cnonce: () => string;
  readonly #tunnelTimeout: number;
  readonly #proxyTls: Readonly<Record<string, unknown>>;
  // CONNECT attempts under way, destroyed with the hop.
  readonly #connecting = new Set<Client>();
  // One pool of connections to the proxy, for forwarded requests and for CONNECTs (each CONNECT
  // takes its connection out of the pool as the tunnel).
  readonly #pool: Pool;
  // What the proxy accepted last, shared by every request and tunnel through it (Digest nonce count).
  #session: ProxySession;

  /**
   * @param proxyTls the Http's CA settings, used to verify an https proxy itself (never a client certificate).
   * @param connections the most connections to the proxy (forwarded requests of every origin share them).
   */
  constructor(
    proxy: ProxyInfo,
    proxyTls: Readonly<Record<string, unknown>>,
    { tunnelTimeout = DEFAULT_TUNNEL_TIMEOUT_MS, connections = null }: { tunnelTimeout?: number | undefined; connections?: number | null } = {},
    cnonce: () => string = randomCnonce,
  ) {
    this.#tunnelTimeout = tunnelTimeout;
    this.#proxyTls = proxyTls;
    this.#proxy = proxy;
    this.#credentials = proxy.user !== undefined ? { user: proxy.user, password: proxy.password ?? '' } : null;
    this.#cnonce = cnonce;
    this.#session = initialProxySession(this.#credentials);
    this.#pool = eagerPool(proxy.url(), { connect: { ...proxyTls }, connections });
  }

  /** The connections to the proxy. */
  get dispatcher(): Dispatcher {
    return this.#pool;
  }

  /**
   * Sends `req` (a plain http request) to the proxy in absolute form and returns its answer; a 407
   * is answered as proxy-auth.ts decides, else it is a ProxyError. `options` are the transport's
   * request options; only the path and the headers are changed here.
   */
  async forward(options: Dispatcher.RequestOptions, req: HopRequest): Promise<Dispatcher.ResponseData> {
    const target: ProxyTarget = { method: req.method, uri: `${req.url.origin}${requestTarget(req.url)}`, body: req.body };
    let auth = this.#begin(target);
    for (;;) {
      const headers: Record<string, string> = Object.assign(Object.create(null) as object, req.headers);
      // The origin's Host, as in any absolute-form request (RFC 9110 §7.2); a caller's own Host stays.
      headers.host ??= req.url.host;
      if (auth.value !== null) headers['proxy-authorization'] = auth.value;
      let data: Dispatcher.ResponseData;
      try {
        data = await this.#pool.request(Object.assign(Object.create(null) as object, options, { path: target.uri, headers }));
      } catch (error) {
        throw this.#tlsFailure(error, req.url.host);
      }
      if (data.statusCode !== 407) {
        this.#accepted(auth, header(data.headers, 'proxy-authentication-info'));
        return data;
      }
      await data.body.dump().catch(() => undefined);
      auth = this.#answer(header(data.headers, 'proxy-authenticate'), auth, target, req.url.host);
    }
  }

  /**
   * A connector for an undici Agent: opens a tunnel through the proxy to the origin the Agent asks
   * for, then hands the tunnel to `endpoint` (TLS to the origin, with its name and this Http's TLS
   * settings and client certificate).
   */
  connector(endpoint: buildConnector.connector): buildConnector.connector {
    return (opts, callback) => {
      this.#tunnel(opts).then(
        (socket) => {
          // TLS setup can throw at once (a client key that does not load): inside this callback
          // that would be an unhandled rejection and a request waiting forever for its connection.
          try {
            endpoint({ ...opts, httpSocket: socket }, callback);
          } catch (error) {
            socket.destroy();
            callback(error as Error, null);
          }
        },
        (error: Error) => callback(error, null),
      );
    };
  }

  async #tunnel(opts: buildConnector.Options): Promise<Socket> {
    // undici gives an IPv6 host without brackets; authority-form needs them (RFC 3986 §3.2.2).
    const host = opts.hostname.includes(':') ? `[${opts.hostname}]` : opts.hostname;
    const authority = `${host}:${opts.port || (opts.protocol === 'https:' ? '443' : '80')}`;
    const target: ProxyTarget = { method: 'CONNECT', uri: authority, body: null };
    let auth = this.#begin(target);
    for (;;) {
      const headers: Record<string, string> = { host: authority };
      if (auth.value !== null) headers['proxy-authorization'] = auth.value;
      let answer: Dispatcher.ConnectData;
      try {
        answer = await this.#connect(authority, headers);
      } catch (error) {
        throw this.#tlsFailure(error, authority);
      }
      const { statusCode, socket } = answer;
      // RFC 9110 §9.3.6: any 2xx turns the connection into the tunnel.
      if (statusCode >= 200 && statusCode < 300) {
        this.#accepted(auth, header(answer.headers, 'proxy-authentication-info'));
        return socket as Socket;
      }
      // The refusal's body, if any, is still on this socket: it is never reused.
      socket.on('error', () => undefined).destroy();
      if (statusCode !== 407) throw new ProxyError(`The ${this.#where()} refused the request (${statusCode}) for ${authority}`);
      auth = this.#answer(header(answer.headers, 'proxy-authenticate'), auth, target, authority);
    }
  }

  // One connection per CONNECT (it becomes the tunnel). The connector does not know the request's
  // deadline, and undici's abort of a CONNECT leaves its socket open, so a proxy that never answers
  // would hold a socket (and keep the process alive) until undici's 300 s headers timeout: the
  // attempt gets a deadline of its own and its connection is destroyed when it passes.
  async #connect(authority: string, headers: Record<string, string>): Promise<Dispatcher.ConnectData> {
    const client = new Client(this.#proxy.url(), { connect: { ...this.#proxyTls } });
    this.#connecting.add(client);
    const timer = setTimeout(() => {
      void client.destroy(new ProxyError(`The ${this.#where()} did not answer CONNECT ${authority} in ${this.#tunnelTimeout} ms`)).catch(() => undefined);
    }, this.#tunnelTimeout);
    timer.unref();
    try {
      return await client.connect({ path: authority, headers });
    } finally {
      clearTimeout(timer);
      this.#connecting.delete(client);
      // A successful CONNECT has handed its socket over as the tunnel; closing the client leaves it open.
      void client.close().catch(() => undefined);
    }
  }

  #begin(target: ProxyTarget): ProxyAuthorization {
    const auth = preemptiveAuthorization(this.#session, this.#credentials, target, this.#cnonce());
    // Counted now, so concurrent requests on one Digest nonce never repeat a nonce count.
    if (auth.session.scheme === 'digest') this.#session = auth.session;
    return auth;
  }

  #answer(challenge: string | undefined, sent: ProxyAuthorization, target: ProxyTarget, host: string): ProxyAuthorization {
    const decision = answerProxyChallenge(challenge, sent, this.#credentials, target, this.#cnonce());
    if (decision.kind === 'refuse') throw new ProxyError(`The ${this.#where()} ${decision.reason} for ${host}`);
    // What the proxy asks for now is what later requests send up front.
    this.#session = decision.authorization.session;
    return decision.authorization;
  }

  #accepted(sent: ProxyAuthorization, authenticationInfo: string | undefined): void {
    // Only a nextnonce changes the session here: the nonce count was taken when the request was
    // authorized, and requests sent since then may have counted further.
    const next = acceptedProxySession(sent, authenticationInfo);
    if (next !== sent.session) this.#session = next;
  }

  // TLS to an https proxy that fails is the proxy's failure, not the origin's.
  #tlsFailure(error: unknown, host: string): unknown {
    if (this.#proxy.protocol === 'https' && mapError(error, host) instanceof TlsError) {
      return new ProxyError(`TLS to the ${this.#where()} failed: ${(error as Error).message}`, { cause: error });
    }
    return error;
  }

  #where(): string {
    return `${this.#proxy.protocol} proxy ${this.#proxy.host}:${this.#proxy.port}`;
  }

  /** Closes the connections to the proxy once the requests on them are done (tunnels handed over stay). */
  close(): void {
    this.#pool.close().catch(() => undefined);
  }

  async destroy(reason: Error): Promise<void> {
    const all = [this.#pool, ...this.#connecting];
    this.#connecting.clear();
    await Promise.all(all.map((d) => d.destroy(reason).catch(() => undefined)));
  }
}

/** A response header's value from undici's raw or parsed headers, repeated fields joined with ", ". */
function header(headers: unknown, name: string): string | undefined {
  const values: string[] = [];
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() === name) values.push(String(headers[i + 1]));
    }
  } else if (headers && typeof headers === 'object') {
    const v = (headers as Record<string, string | string[] | undefined>)[name];
    if (v !== undefined) values.push(...(Array.isArray(v) ? v : [v]));
  }
  return values.length > 0 ? values.join(', ') : undefined;
}
