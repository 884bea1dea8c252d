/**
 * Proxy settings: `ProxyInfo` (httplib2's name), the environment default and NO_PROXY matching.
 * Pure: the environment is passed in (the transport snapshots it once per Http), never read here;
 * no sockets, no undici. Credentials never become part of a URL: they travel to the proxy hop only.
 */
import { createHash } from 'node:crypto';
import { HttpLib2Error } from './errors.js';

/** How an Http talks to the proxy itself: plain HTTP, TLS, or SOCKS5. */
export type ProxyProtocol = 'http' | 'https' | 'socks5';

/** The fields of `new ProxyInfo({...})`; httplib2 takes them as positional and keyword arguments. */
export interface ProxyInfoInit {
  /** The proxy's host name or IP address. httplib2: `proxy_host`. */
  host: string;
  /** The proxy's port, 1-65535. httplib2: `proxy_port`. */
  port: number;
  /**
   * User name sent to the proxy only: Proxy-Authorization Basic up front, or Basic/Digest in answer
   * to a 407. httplib2: `proxy_user`. @default none
   */
  user?: string;
  /** Password sent to the proxy only. httplib2: `proxy_pass`. @default none */
  password?: string;
  /** How this Http talks to the proxy itself. @default 'http' */
  protocol?: ProxyProtocol;
  /** Hosts never sent through this proxy (NO_PROXY syntax). @default [] */
  bypassHosts?: readonly string[];
}

/** A forward proxy. httplib2: `httplib2.ProxyInfo`. */
export class ProxyInfo {
  /** The proxy's host name or IP address. */
  readonly host: string;
  /** The proxy's port. */
  readonly port: number;
  /** User name for the proxy hop, if any. */
  readonly user: string | undefined;
  /** Password for the proxy hop, if any. */
  readonly password: string | undefined;
  /** How this Http talks to the proxy itself. */
  readonly protocol: ProxyProtocol;
  /** Hosts never sent through this proxy (NO_PROXY syntax). */
  readonly bypassHosts: readonly string[];

  constructor(init: ProxyInfoInit) {
    if (!init || typeof init.host !== 'string' || !init.host) {
      throw new HttpLib2Error('Invalid ProxyInfo: host is required', { code: 'ERR_INVALID_REQUEST' });
    }
    if (!Number.isInteger(init.port) || init.port <= 0 || init.port > 65535) {
      throw new HttpLib2Error(`Invalid ProxyInfo: port must be 1-65535, received ${String(init.port)}`, {
        code: 'ERR_INVALID_REQUEST',
      });
    }
    const protocol = init.protocol ?? 'http';
    if (!['http', 'https', 'socks5'].includes(protocol)) {
      throw new HttpLib2Error(`Invalid ProxyInfo: protocol must be http, https or socks5, received ${protocol}`, {
        code: 'ERR_INVALID_REQUEST',
      });
    }
    for (const [what, v] of [['user', init.user], ['password', init.password]] as const) {
      if (v !== undefined && /[\0\r\n]/.test(v)) {
        throw new HttpLib2Error(`Invalid ProxyInfo: ${what} contains CR, LF or NUL`, { code: 'ERR_INVALID_REQUEST' });
      }
    }
    this.host = init.host;
    this.port = init.port;
    this.user = init.user;
    this.password = init.password;
    this.protocol = protocol;
    this.bypassHosts = init.bypassHosts ?? [];
  }

  /** The proxy's URL without credentials: they travel separately, to the proxy hop only. */
  url(): string {
    const host = this.host.includes(':') && !this.host.startsWith('[') ? `[${this.host}]` : this.host;
    return `${this.protocol}://${host}:${this.port}`;
  }

  /** `Basic …` for Proxy-Authorization on the proxy hop only. */
  basicToken(): string {
    return `Basic ${Buffer.from(`${this.user ?? ''}:${this.password ?? ''}`, 'utf8').toString('base64')}`;
  }

  /**
   * Identity of this proxy for pooling connections and remembering its authentication: other
   * credentials are another identity (a hash of them, so the password never sits in a key).
   */
  key(): string {
    const who = this.user === undefined ? '' : createHash('sha256').update(`${this.user}\0${this.password ?? ''}`).digest('hex').slice(0, 32);
    return `${this.protocol}://${who}@${this.host}:${this.port}`;
  }

  /** False when `url`'s host is in `bypassHosts`. */
  appliesTo(url: URL): boolean {
    return !matchesNoProxy(url, this.bypassHosts);
  }
}

/**
 * The proxy settings of one environment, parsed once. A malformed proxy URL is kept as its error and
 * raised only when a request would use it, so a stray variable never breaks `new Http()`.
 */
export interface ProxyEnvironment {
  readonly http: ProxyInfo | HttpLib2Error | null;
  readonly https: ProxyInfo | HttpLib2Error | null;
  readonly noProxy: readonly string[];
}

function envValue(env: Readonly<Record<string, string | undefined>>, name: string, cgiSafe: boolean): string | undefined {
  const lower = env[name.toLowerCase()];
  if (lower) return lower;
  // httpoxy (CVE-2016-5385): in a CGI environment HTTP_PROXY can come from a request's Proxy header,
  // so, as curl and Go do, only the lower-case form is believed there.
  if (!cgiSafe && env.REQUEST_METHOD !== undefined) return undefined;
  return env[name] || undefined;
}

function parseOrError(value: string | undefined): ProxyInfo | HttpLib2Error | null {
  if (!value) return null;
  try {
    return parseProxyUrl(value);
  } catch (error) {
    return error instanceof HttpLib2Error ? error : new HttpLib2Error(`Invalid proxy URL in the environment: ${String(error)}`, { code: 'ERR_PROXY', cause: error });
  }
}

/**
 * Reads HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and NO_PROXY (lower-case forms first) from `env`.
 * Upper-case HTTP_PROXY is ignored when REQUEST_METHOD is set (httpoxy).
 */
export function readProxyEnvironment(env: Readonly<Record<string, string | undefined>>): ProxyEnvironment {
  const all = envValue(env, 'ALL_PROXY', true);
  return {
    http: parseOrError(envValue(env, 'HTTP_PROXY', false) ?? all),
    https: parseOrError(envValue(env, 'HTTPS_PROXY', true) ?? all),
    noProxy: noProxyEntries(env.no_proxy || env.NO_PROXY),
  };
}

/** The proxy a parsed environment asks for `url`, or null; throws if that variable is malformed. */
export function proxyForUrl(settings: ProxyEnvironment, url: URL): ProxyInfo | null {
  const chosen = url.protocol === 'https:' ? settings.https : settings.http;
  if (chosen === null || matchesNoProxy(url, settings.noProxy)) return null;
  if (chosen instanceof HttpLib2Error) throw chosen;
  return chosen;
}

/** Splits a NO_PROXY value into its entries. */
export function noProxyEntries(value: string | undefined): string[] {
  if (!value) return [];
  return value.split(/[,\s]+/).map((s) => s.trim().toLowerCase()).filter(Boolean);
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * NO_PROXY as curl reads it: `*` matches all; a name matches the host exactly or as a domain
 * suffix (`example.com` and `.example.com` both cover `a.example.com`); `host:port` also checks the
 * port; case-insensitive. An IP address matches only exactly: never by prefix or suffix, so
 * `127.0.0.2` does not cover `127.0.0.20` (CIDR ranges are not supported).
 */
export function matchesNoProxy(url: URL, entries: readonly string[]): boolean {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const isIp = IPV4.test(host) || host.includes(':');
  for (const raw of entries) {
    const entry = raw.toLowerCase();
    if (entry === '*') return true;
    let name = entry;
    let entryPort: string | undefined;
    // `host:port` and `[v6]:port`; a bare IPv6 address (`::1`) has colons but no port.
    const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(entry);
    if (m && !(entry.split(':').length > 2 && !entry.startsWith('['))) {
      name = m[1]!;
      entryPort = m[2];
    }
    name = name.replace(/^\[|\]$/g, '').replace(/^\*?\./, '.');
    if (entryPort !== undefined && entryPort !== port) continue;
    if (isIp) {
      if (host === name) return true;
    } else if (name.startsWith('.')) {
      if (host.endsWith(name) || host === name.slice(1)) return true;
    } else if (host === name || host.endsWith(`.${name}`)) {
      return true;
    }
  }
  return false;
}

// socks5h resolves names at the proxy, which is what undici's SOCKS5 agent does anyway.
const SCHEMES: Readonly<Record<string, ProxyProtocol>> = { http: 'http', https: 'https', socks5: 'socks5', socks5h: 'socks5', socks: 'socks5' };

/** Parses a proxy URL from the environment (`http://user:pw@host:port`, or a bare `host:port`). */
export function parseProxyUrl(value: string): ProxyInfo {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new HttpLib2Error(`Invalid proxy URL in the environment: ${value}`, { code: 'ERR_PROXY' });
  }
  const scheme = u.protocol.slice(0, -1).toLowerCase();
  const protocol = SCHEMES[scheme];
  if (protocol === undefined || !u.hostname) {
    throw new HttpLib2Error(`Unsupported proxy URL in the environment: ${u.protocol}//${u.host} (http, https or socks5 only)`, {
      code: 'ERR_PROXY',
    });
  }
  const port = Number(u.port || (protocol === 'https' ? 443 : protocol === 'socks5' ? 1080 : 80));
  return new ProxyInfo({
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    protocol,
    ...(u.username ? { user: decodeUserinfo(u.username) } : {}),
    ...(u.password ? { password: decodeUserinfo(u.password) } : {}),
  });
}

/**
 * Percent-decodes a user name or password from a proxy URL. A `%` that starts no escape is a literal
 * (`50%off`), as curl reads it: people paste passwords into HTTP_PROXY unencoded, and a throwing
 * decode here would surface as an unrelated failure of every request.
 */
function decodeUserinfo(text: string): string {
  try {
    return decodeURIComponent(text.replace(/%(?![0-9A-Fa-f]{2})/g, '%25'));
  } catch {
    return text; // escapes that are not UTF-8 (`%FF`): kept as written
  }
}

/** The proxy the environment asks for `url`, or null. `env` is passed in (usually process.env). */
export function proxyFromEnvironment(env: Readonly<Record<string, string | undefined>>, url: URL): ProxyInfo | null {
  return proxyForUrl(readProxyEnvironment(env), url);
}
