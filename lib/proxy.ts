/**
 * Proxy settings: `ProxyInfo` (httplib2's name), the environment default and NO_PROXY matching.
 * Pure: the environment is passed in, never read here.
 */
import { HttpLib2Error } from './errors.js';

export type ProxyProtocol = 'http' | 'https' | 'socks5';

export interface ProxyInfoInit {
  host: string;
  port: number;
  user?: string;
  password?: string;
  /** How this Http talks to the proxy itself. @default 'http' */
  protocol?: ProxyProtocol;
  /** Hosts never sent through this proxy (NO_PROXY syntax). @default [] */
  bypassHosts?: readonly string[];
}

/** A forward proxy. httplib2: `httplib2.ProxyInfo`. */
export class ProxyInfo {
  readonly host: string;
  readonly port: number;
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly protocol: ProxyProtocol;
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

  /** Identity of this proxy for pooling connections. */
  key(): string {
    return `${this.protocol}://${this.user ?? ''}@${this.host}:${this.port}`;
  }

  /** False when `url`'s host is in `bypassHosts`. */
  appliesTo(url: URL): boolean {
    return !matchesNoProxy(url, this.bypassHosts);
  }
}

function envValue(env: NodeJS.ProcessEnv, name: string, cgiSafe: boolean): string | undefined {
  const lower = env[name.toLowerCase()];
  if (lower) return lower;
  // httpoxy (CVE-2016-5385): in a CGI environment HTTP_PROXY can come from a request's Proxy header.
  if (!cgiSafe && env.REQUEST_METHOD !== undefined) return undefined;
  return env[name] || undefined;
}

/** Splits a NO_PROXY value into its entries. */
export function noProxyEntries(value: string | undefined): string[] {
  if (!value) return [];
  return value.split(/[,\s]+/).map((s) => s.trim().toLowerCase()).filter(Boolean);
}

/**
 * NO_PROXY as curl reads it: `*` matches all; an entry matches the host exactly or as a domain
 * suffix (`example.com` and `.example.com` both cover `a.example.com`); `host:port` also checks the
 * port. Never a prefix match: `127.0.0.2` does not cover `127.0.0.20`.
 */
export function matchesNoProxy(url: URL, entries: readonly string[]): boolean {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  for (const raw of entries) {
    const entry = raw.toLowerCase();
    if (entry === '*') return true;
    let name = entry;
    let entryPort: string | undefined;
    const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(entry);
    if (m && !(entry.split(':').length > 2 && !entry.startsWith('['))) {
      name = m[1]!;
      entryPort = m[2];
    }
    name = name.replace(/^\[|\]$/g, '').replace(/^\*?\./, '.');
    if (entryPort !== undefined && entryPort !== port) continue;
    if (name.startsWith('.')) {
      if (host.endsWith(name) || host === name.slice(1)) return true;
    } else if (host === name || host.endsWith(`.${name}`)) {
      return true;
    }
  }
  return false;
}

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
  const protocol: ProxyProtocol = scheme === 'https' ? 'https' : scheme.startsWith('socks') ? 'socks5' : 'http';
  const port = Number(u.port || (protocol === 'https' ? 443 : protocol === 'socks5' ? 1080 : 80));
  return new ProxyInfo({
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    protocol,
    ...(u.username ? { user: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
  });
}

/** The proxy the environment asks for `url`, or null. `env` is passed in (usually process.env). */
export function proxyFromEnvironment(env: NodeJS.ProcessEnv, url: URL): ProxyInfo | null {
  const isHttps = url.protocol === 'https:';
  const value =
    (isHttps ? envValue(env, 'HTTPS_PROXY', true) : envValue(env, 'HTTP_PROXY', false)) ??
    envValue(env, 'ALL_PROXY', true);
  if (!value) return null;
  const noProxy = noProxyEntries(env.no_proxy ?? env.NO_PROXY);
  if (matchesNoProxy(url, noProxy)) return null;
  return parseProxyUrl(value);
}
