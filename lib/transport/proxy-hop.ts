/**
 * The hop to an http or https forward proxy: plain http requests forwarded in absolute form (RFC 9110
 * §7.1) and https tunnels opened with CONNECT (§9.3.6), both carrying the Proxy-Authorization of the
 * auth dialogue (auth/dialogue.ts with the proxy's realm, §11.7: the lifecycle the origin's 401 has).
 * Proxy-Authorization goes to the proxy only: it is never part of what the origin receives, and
 * nothing is ever written inside a tunnel here.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { Client, Pool, type Dispatcher, type buildConnector } from 'undici';
import { converse, type Line } from '../auth/converse.js';
import { dialogue, type Refusal } from '../auth/dialogue.js';
import { PROXY_REALM } from '../auth/realm.js';
import { upfrontSession } from '../auth/registry.js';
import type { AnswerHead, AuthSession, CannotAnswer, SignedRequest } from '../auth/session.js';
import { eagerPool } from './connection-pool.js';
import { ProxyError } from '../errors.js';
import { ProxyHopFailure } from './classify.js';
import type { ProxyInfo } from './proxy.js';
import type { Credential, HopRequest } from '../types.js';
import { requestTarget } from '../uri.js';

const randomCnonce = (): string => randomBytes(16).toString('hex');

/** How long a proxy may take to open a tunnel (CONNECT, a SOCKS5 handshake) when the Http has no timeout of its own. */
export const DEFAULT_TUNNEL_TIMEOUT_MS = 30_000;

export class ProxyHop {
  readonly #proxy: ProxyInfo;
  // The ProxyInfo user and password: the one credential that answers this proxy.
  readonly #credential: Credential | null;
  readonly #cnonce: () => string;
  readonly #tunnelTimeout: number;
  readonly #proxyTls: Readonly<Record<string, unknown>>;
  // CONNECT attempts under way, destroyed with the hop.
  readonly #connecting = new Set<Client>();
  // One pool of connections to the proxy, for forwarded requests and for CONNECTs (each CONNECT
  // takes its connection out of the pool as the tunnel).
  readonly #pool: Pool;
  // What goes up front: what the proxy asked for last, shared by every request and tunnel through it
  // (a Digest session counts its nonce up itself); Basic before the proxy said anything.
  #session: AuthSession | null;

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
    this.#credential = proxy.user !== undefined ? { name: proxy.user, password: proxy.password ?? '', domain: '' } : null;
    this.#cnonce = cnonce;
    this.#session = upfrontSession(PROXY_REALM, this.#credential);
    this.#pool = eagerPool(proxy.url(), { connect: { ...proxyTls }, connections });
  }

  /** The connections to the proxy. */
  get dispatcher(): Dispatcher {
    return this.#pool;
  }

  /**
   * Sends `req` (a plain http request) to the proxy in absolute form and returns its answer; a 407
   * is answered as the dialogue says, else it is a ProxyError. `options` are the transport's request
   * options; only the path and the headers are changed here.
   */
  async forward<T>(options: Dispatcher.RequestOptions<T>, req: HopRequest): Promise<Dispatcher.ResponseData<T>> {
    const path = `${req.url.origin}${requestTarget(req.url)}`;
    const target: SignedRequest = { method: req.method, target: path, headers: req.headers, body: req.body };
    return this.#converse(target, req.url.host, {
      send: async (move) => {
        const headers: Record<string, string> = Object.assign(Object.create(null) as object, req.headers);
        // The origin's Host, as in any absolute-form request (RFC 9110 §7.2); a caller's own Host stays.
        headers.host ??= req.url.host;
        Object.assign(headers, move.fields);
        let data: Dispatcher.ResponseData<T>;
        try {
          data = await this.#pool.request<T>(Object.assign(Object.create(null) as object, options, { path, headers }));
        } catch (error) {
          throw new ProxyHopFailure(error, this.#proxy);
        }
        return { head: headOf(data.statusCode, data.headers), value: data };
      },
      discard: (data) => data.body.dump().then(() => undefined, () => undefined),
    });
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
    const target: SignedRequest = { method: 'CONNECT', target: authority, headers: {}, body: null };
    return this.#converse(target, authority, {
      send: async (move) => {
        let answer: Dispatcher.ConnectData;
        try {
          answer = await this.#connect(authority, { host: authority, ...move.fields });
        } catch (error) {
          throw new ProxyHopFailure(error, this.#proxy);
        }
        const { statusCode, socket } = answer;
        // RFC 9110 §9.3.6: any 2xx turns the connection into the tunnel. A refusal's body, if any, is
        // still on its socket: it is never reused.
        const tunnel = statusCode >= 200 && statusCode < 300;
        if (!tunnel) socket.on('error', () => undefined).destroy();
        if (!tunnel && statusCode !== 407) throw new ProxyError(`The ${this.#where()} refused the request (${statusCode}) for ${authority}`);
        return { head: headOf(statusCode, answer.headers), value: socket as Socket };
      },
      discard: (socket) => void socket.destroy(),
    });
  }

  /**
   * Runs the proxy realm's dialogue for one request or tunnel over `line`: the answer it ends on, or a
   * ProxyError naming why a 407 went unanswered (after disposing of that 407).
   */
  async #converse<T>(target: SignedRequest, host: string, line: Line<T>): Promise<T> {
    const talk = dialogue({
      realm: PROXY_REALM,
      target,
      upfront: this.#session,
      candidates: this.#credential ? [this.#credential] : [],
      entropy: () => ({ cnonce: this.#cnonce(), now: Date.now() }),
    });
    const { ending, last } = await converse(talk, {
      send: (move) => {
        // What the proxy asks for now is what later requests and tunnels send up front.
        if (move.round !== 'upfront' && move.session) this.#session = move.session;
        return line.send(move);
      },
      discard: (value) => line.discard(value),
    });
    if (ending.kind === 'accepted') {
      // A nextnonce: the new nonce from now on, unless a request since has moved on already.
      if (ending.session && this.#session && ending.replaces.includes(this.#session)) this.#session = ending.session;
      return last;
    }
    await line.discard(last);
    throw new ProxyError(`The ${this.#where()} ${proxyRefusal(ending.why)} for ${host}`);
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

// What the dialogue says of each reason a 407 went unanswered; every text names the 407, so the
// ProxyError says what the proxy answered.
const CANNOT: Readonly<Record<CannotAnswer, string>> = {
  'no-nonce': 'sent a Digest challenge without a nonce (407)',
  // RFC 7617 §2: a user-id with a colon cannot be told from the password.
  'colon-in-user': 'asks for Basic (407), which cannot carry a user name containing ":"',
  // Not reached: a proxy is answered with Digest or Basic only.
  profile: 'asks for a WSSE profile this library does not answer (407)',
};

/** Why a 407 went unanswered, as the ProxyError says it after "The <proxy> ". */
export function proxyRefusal(why: Refusal): string {
  switch (why.kind) {
    case 'no-credentials':
      return 'requires authentication (407) and the ProxyInfo has no user/password';
    case 'rejected':
      return why.after === 'renewal' ? 'refused the credentials on a renewed nonce (407)' : 'refused the credentials (407)';
    case 'unsupported': {
      const offered = why.offered.join(', ');
      return `asks for ${offered ? `a scheme this library does not answer (${offered})` : 'authentication without a challenge'} (407); only Basic and Digest are`;
    }
    case 'unimplemented':
      return `asks for a Digest option this library does not implement (407): ${why.error.message}`;
    case 'cannot':
      return CANNOT[why.why];
  }
}

/** An answer's head as the dialogue reads it, from undici's raw or parsed headers. */
function headOf(status: number, headers: unknown): AnswerHead {
  return { status, get: (field) => header(headers, field) };
}

/** A response header's value from undici's raw or parsed headers, repeated fields joined with ", ". */
function header(headers: unknown, name: string): string | undefined {
  const values: string[] = [];
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() === name) values.push(String(headers[i + 1]));
    }
  } else if (headers && typeof headers === 'object' && Object.hasOwn(headers, name)) {
    // Own fields only: undici's record inherits from Object.prototype, which a polluted program may
    // have given a `proxy-authenticate` of its own.
    const v = (headers as Record<string, string | string[] | undefined>)[name];
    if (v !== undefined) values.push(...(Array.isArray(v) ? v : [v]));
  }
  return values.length > 0 ? values.join(', ') : undefined;
}
