/**
 * Which dispatcher carries a hop: the caller's, or one of the transport's own undici agents, keyed by
 * (proxy, scheme, client certificate) so an agent holding a certificate is only ever used for that
 * certificate's hosts and a relaxed TLS setting never leaves this transport. Owns those agents, the
 * hops to http(s) proxies (one per proxy identity, the least recently used closed past a bound) and
 * the per-origin memo; never sends a request itself.
 */
import { Agent, buildConnector, type Dispatcher } from 'undici';
import { HttpLib2Error } from '../errors.js';
import type { HopRequest, RequestContext } from '../types.js';
import { originOf } from '../uri.js';
import { CallbackFailure } from './classify.js';
import { eagerPool } from './connection-pool.js';
import { LruMap } from './lru.js';
import { DEFAULT_TUNNEL_TIMEOUT_MS, ProxyHop } from './proxy-hop.js';
import { proxyForUrl, type ProxyEnvironment, type ProxyInfo } from './proxy.js';
import { socks5Connector } from './socks5-hop.js';

/** A client certificate presented only to hosts of its domain. */
export interface ClientCertificate {
  readonly key: string | Buffer;
  readonly cert: string | Buffer;
  readonly domain: string;
  readonly passphrase?: string;
}

/** A TLS version a bound may name; older ones are refused (RFC 8996 deprecates TLS 1.0 and 1.1). */
export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

/** The TLS settings of every handshake this transport makes (origins, https proxies, TLS in a tunnel). */
export interface TlsSettings {
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  readonly rejectUnauthorized?: boolean;
  readonly minVersion?: TlsVersion;
  readonly maxVersion?: TlsVersion;
}

/** Where a hop goes: directly, through one proxy, through the caller's choice per URL, or as the environment says. */
export type ProxyChoice =
  | { readonly kind: 'none' }
  | { readonly kind: 'fixed'; readonly proxy: ProxyInfo }
  | { readonly kind: 'per-url'; readonly choose: (url: URL) => ProxyInfo | null }
  | { readonly kind: 'environment'; readonly environment: ProxyEnvironment };

/** What the transport is built with: the Http's options, resolved once at the door (options.ts). */
export interface TransportOptions {
  readonly tls: TlsSettings;
  /** The caller's dispatcher, used for every hop as is; null: agents of the transport's own. */
  readonly dispatcher: Dispatcher | null;
  readonly proxy: ProxyChoice;
  /** The Http's timeout: how long a tunnel may take to open (the request's own deadline is its signal). */
  readonly timeout: number | undefined;
  /** Connections per origin (and to each http proxy); null for no limit. */
  readonly connections: number | null;
}

type Registered = ClientCertificate & { readonly id: number };

/**
 * The dispatcher of one hop and the proxy it goes through; `forward`: a plain http request to an
 * http(s) proxy, sent in absolute form by the proxy's hop.
 */
export interface Route {
  readonly dispatcher: Dispatcher;
  readonly proxy: ProxyInfo | null;
  readonly forward?: ProxyHop;
}

// Dispatchers remembered per origin when the choice cannot change between requests; past this many
// origins the memo starts over (a crawler must not grow it forever).
const MEMO_LIMIT = 1024;

/**
 * Proxy identities (proxy and credentials) whose connections are kept: a `proxyInfo` function that
 * hands out a new password per request (short-lived proxy tokens) would otherwise leave one pool of
 * open sockets per password. Past it the least recently used identity's pools are closed.
 */
export const MAX_PROXY_IDENTITIES = 16;

/** The dispatchers of one proxy identity: its hop (http and https proxies) and its tunnelling agents. */
interface ProxyIdentity {
  hop: ProxyHop | null;
  /** Keyed by the origin's scheme and client certificate. */
  readonly agents: Map<string, Dispatcher>;
}

/** The routes of one transport, and the dispatchers behind them. */
export class Routes {
  readonly #tls: TlsSettings;
  // Direct agents, by client certificate ('' for none).
  readonly #direct = new Map<string, Dispatcher>();
  readonly #proxied = new LruMap<string, ProxyIdentity>(MAX_PROXY_IDENTITIES, (identity) => this.#retire(identity));
  readonly #userRoute: Route | undefined;
  readonly #proxy: ProxyChoice;
  readonly #byOrigin = new Map<string, Route>();
  #certificates: Registered[] = [];
  // Aborted by close(), with its reason: tunnels still being opened are dropped.
  readonly #closing = new AbortController();
  readonly #timeout: number | undefined;
  // Connections per origin (and to each http proxy); null: no limit. Requests past it wait in
  // undici's pool for a free connection instead of each opening a socket.
  readonly #connections: number | null;

  constructor(options: TransportOptions) {
    this.#timeout = options.timeout;
    this.#connections = options.connections;
    // These TLS settings live only in this transport's own agents: never in node:tls/https globals.
    this.#tls = options.tls;
    this.#userRoute = options.dispatcher ? { dispatcher: options.dispatcher, proxy: null } : undefined;
    this.#proxy = options.proxy;
  }

  /** Presents `certificate` to the hosts of its domain from now on. */
  addCertificate(certificate: ClientCertificate): void {
    this.#certificates = [...this.#certificates, { ...certificate, id: this.#certificates.length }];
    // Origins already routed to a certificate-less agent must now pick the certificate's agent.
    this.#byOrigin.clear();
  }

  /**
   * The route of one hop: the caller's dispatcher, or one of ours keyed by (proxy, scheme, client
   * certificate), so an agent holding a certificate is only ever used for that certificate's hosts,
   * and a relaxed TLS setting never leaves this transport.
   */
  routeFor(req: HopRequest, ctx: RequestContext): Route {
    if (this.#userRoute) return this.#userRoute;
    // Static proxy settings and no certificates: the route depends on the origin only (hot path).
    const memo = this.#proxy.kind !== 'per-url' && this.#certificates.length === 0;
    let route = memo ? this.#byOrigin.get(req.url.origin) : undefined;
    if (!route) {
      route = this.#route(req.url, ctx);
      if (memo) {
        if (this.#byOrigin.size >= MEMO_LIMIT) this.#byOrigin.clear();
        this.#byOrigin.set(req.url.origin, route);
      }
    }
    if (route.proxy !== null && 'proxy-authorization' in req.headers) {
      // The proxy hop's Proxy-Authorization is ours (answering 407s); a SOCKS hop would carry the
      // caller's on to the origin.
      throw new HttpLib2Error(
        'A Proxy-Authorization request header cannot be combined with a proxy: give the proxy ' +
          'credentials as ProxyInfo user/password, which are sent to the proxy hop only',
        { code: 'ERR_INVALID_REQUEST' },
      );
    }
    return route;
  }

  #route(url: URL, ctx: RequestContext): Route {
    const proxy = this.#proxyFor(url);
    if (proxy && proxy.protocol !== 'socks5' && url.protocol === 'http:') {
      const hop = this.#hop(proxy);
      return { dispatcher: hop.dispatcher, proxy, forward: hop };
    }
    const cert = url.protocol === 'https:' ? this.#certificateFor(url, ctx) : undefined;
    const certKey = cert ? String(cert.id) : '';
    const agents = proxy ? this.#identity(proxy).agents : this.#direct;
    const key = proxy ? `${url.protocol}|${certKey}` : certKey;
    let dispatcher = agents.get(key);
    if (!dispatcher) {
      dispatcher = this.#build(proxy, cert);
      agents.set(key, dispatcher);
    }
    return { dispatcher, proxy };
  }

  #identity(proxy: ProxyInfo): ProxyIdentity {
    return this.#proxied.getOrCreate(proxy.key(), () => ({ hop: null, agents: new Map() }));
  }

  // An identity pushed out of the LRU: its pools close once their requests in flight are done.
  #retire(identity: ProxyIdentity): void {
    // A memoised route may point at these pools (static proxy settings with many identities).
    this.#byOrigin.clear();
    for (const agent of identity.agents.values()) agent.close().catch(() => undefined);
    identity.hop?.close();
  }

  #proxyFor(url: URL): ProxyInfo | null {
    const choice = this.#proxy;
    switch (choice.kind) {
      case 'none':
        return null;
      case 'environment':
        return proxyForUrl(choice.environment, url);
      case 'per-url':
        return chosenProxy(choice.choose, url);
      case 'fixed':
        return choice.proxy.appliesTo(url) ? choice.proxy : null;
      default:
        return assertNever(choice);
    }
  }

  /**
   * The first registered certificate whose domain is this host (or `host:port`), compared exactly as
   * httplib2 does: never a parent domain, never a host reached only by a redirect. An empty domain
   * means "the hosts the caller asked for", like credentials registered without one.
   */
  #certificateFor(url: URL, ctx: RequestContext): Registered | undefined {
    const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
    const hostPort = url.host.toLowerCase();
    return this.#certificates.find((c) => {
      const d = c.domain.toLowerCase().replace(/^\[([^\]]*)\]$/, '$1');
      if (d === '') return ctx.requestedOrigins.has(originOf(url));
      return d === hostPort || d === host;
    });
  }

  #build(proxy: ProxyInfo | null, cert: ClientCertificate | undefined): Dispatcher {
    const tls: Record<string, unknown> = { ...this.#tls };
    if (cert) {
      tls.key = cert.key;
      tls.cert = cert.cert;
      if (cert.passphrase !== undefined) tls.passphrase = cert.passphrase;
    }
    const pools = { factory: eagerPool, connections: this.#connections };
    if (!proxy) return new Agent({ connect: tls, ...pools });
    if (proxy.protocol === 'socks5') {
      // Every connection is a tunnel through the proxy (RFC 1928), its credentials RFC 1929 fields of
      // the handshake, never HTTP headers; then TLS to the origin for https, as over CONNECT.
      const limits = { timeoutMs: this.#timeout ?? DEFAULT_TUNNEL_TIMEOUT_MS, closed: this.#closing.signal };
      return new Agent({ connect: socks5Connector(proxy, buildConnector(tls), limits), ...pools });
    }
    // https through an http(s) proxy: each new connection is a CONNECT tunnel opened by the proxy's
    // hop (Proxy-Authorization on CONNECT only, never inside), then TLS to the origin over it.
    return new Agent({ connect: this.#hop(proxy).connector(buildConnector(tls)), ...pools });
  }

  /** The hop to `proxy`, one per proxy and credentials, so its Digest session is shared. */
  #hop(proxy: ProxyInfo): ProxyHop {
    const identity = this.#identity(proxy);
    // The proxy's own certificate is checked with this Http's CA settings, never the client certificate.
    identity.hop ??= new ProxyHop(proxy, { ...this.#tls }, { tunnelTimeout: this.#timeout, connections: this.#connections });
    return identity.hop;
  }

  /**
   * Destroys every dispatcher and proxy hop at once (undici's graceful close would wait on a stalled
   * server forever): requests still running fail with `reason`.
   */
  async close(reason: Error): Promise<void> {
    const identities = this.#proxied.values();
    const all = [...this.#direct.values(), ...identities.flatMap((i) => [...i.agents.values()])];
    const hops = identities.flatMap((i) => (i.hop ? [i.hop] : []));
    this.#direct.clear();
    this.#proxied.clear();
    this.#closing.abort(reason);
    await Promise.all([...all.map((d) => d.destroy(reason).catch(() => undefined)), ...hops.map((h) => h.destroy(reason))]);
  }
}

/** The caller's proxy choice for `url`; a chooser that throws fails the request with its own error. */
function chosenProxy(choose: (url: URL) => ProxyInfo | null, url: URL): ProxyInfo | null {
  try {
    return choose(url);
  } catch (error) {
    throw new CallbackFailure(error);
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected proxy choice ${JSON.stringify(x)}`);
}
