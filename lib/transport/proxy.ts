/**
 * Proxy settings: `ProxyInfo` (httplib2's name), the environment default and NO_PROXY matching.
 * Pure: the environment is passed in (the transport snapshots it once per Http), never read here;
 * no sockets, no undici. Credentials never become part of a URL: they travel to the proxy hop only.
 */
import { createHash } from 'node:crypto';
import { HttpLib2Error } from '../errors.js';

/** What a proxy password is printed as, wherever a proxy URL or a ProxyInfo is shown. */
const MASK = '****';
const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/**
 * `text`, a proxy URL as written (parseable or not), with the password of its user info shown as
 * `****`; the user name stays, to tell which account failed. The user info is taken to end at the
 * last `@`: a password pasted unencoded may hold `/`, `?`, `#` or `@` (where a URI parser would stop
 * early), and masking too much of a broken URL beats printing a secret.
 */
export function maskProxyPassword(text: string): string {
  const start = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text)?.[0].length ?? 0;
  const at = text.lastIndexOf('@');
  const colon = text.indexOf(':', start);
  if (at < start || colon === -1 || colon > at) return text;
  return `${text.slice(0, colon + 1)}${MASK}${text.slice(at)}`;
}

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

  /** The proxy's URL for messages and logs: `http://user:****@host:port`, never the password. */
  toString(): string {
    if (this.user === undefined) return this.url();
    const userinfo = `${encodeURIComponent(this.user)}${this.password === undefined ? '' : `:${MASK}`}@`;
    return this.url().replace('://', `://${userinfo}`);
  }

  /** What `JSON.stringify` writes (loggers serialise objects so): every field, the password as `****`. */
  toJSON(): ProxyInfoInit {
    return {
      host: this.host,
      port: this.port,
      ...(this.user === undefined ? {} : { user: this.user }),
      ...(this.password === undefined ? {} : { password: MASK }),
      protocol: this.protocol,
      bypassHosts: this.bypassHosts,
    };
  }

  /** What `util.inspect` and `console.log` show: the fields of toJSON(), so never the password. */
  [INSPECT](_depth: number, options: object, inspect: (value: unknown, options: object) => string): string {
    return `ProxyInfo ${inspect(this.toJSON(), options)}`;
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
    // A foreign error's text (and cause) could quote the value, password included: neither is kept.
    return error instanceof HttpLib2Error
      ? error
      : new HttpLib2Error(`Invalid proxy URL in the environment: ${maskProxyPassword(value)}`, { code: 'ERR_PROXY' });
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

/** Splits a NO_PROXY value into its entries (commas and whitespace separate them, as curl reads it). */
export function noProxyEntries(value: string | undefined): string[] {
  if (!value) return [];
  return value.split(/[,\s]+/).map((s) => s.trim().toLowerCase()).filter(Boolean);
}

/**
 * One NO_PROXY entry, parsed: every host (`*`), a name and its subdomains, an address range, or
 * nothing at all (an entry that cannot be read, such as a range after a name, never matches).
 */
type NoProxyRule =
  | { readonly kind: 'all' }
  | { readonly kind: 'name'; readonly name: string; readonly port: string | undefined }
  | { readonly kind: 'ip'; readonly bytes: Uint8Array; readonly bits: number; readonly port: string | undefined }
  | { readonly kind: 'none' };

const NONE: NoProxyRule = { kind: 'none' };

/** An IPv4 address in strict dotted-quad form (as inet_pton reads it: no `127.1`, no leading zeros). */
function ipv4Bytes(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return null;
  return Uint8Array.from(parts, Number);
}

/** The 16-bit groups of one side of `::` (an IPv4 tail counts as two), or null. */
function ipv6Groups(side: string, v4Tail: boolean): number[] | null {
  if (side === '') return [];
  const groups: number[] = [];
  const pieces = side.split(':');
  for (const [i, piece] of pieces.entries()) {
    const v4 = v4Tail && i === pieces.length - 1 && piece.includes('.') ? ipv4Bytes(piece) : null;
    if (v4) groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    else if (/^[0-9a-f]{1,4}$/i.test(piece)) groups.push(parseInt(piece, 16));
    else return null;
  }
  return groups;
}

/** An IPv6 address in any RFC 4291 §2.2 text form (`::1`, `0:0:0:0:0:0:0:1`, `::ffff:1.2.3.4`), or null. */
function ipv6Bytes(text: string): Uint8Array | null {
  const sides = text.split('::');
  if (sides.length > 2) return null;
  const head = ipv6Groups(sides[0]!, sides.length === 1);
  const tail = sides.length === 2 ? ipv6Groups(sides[1]!, true) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (sides.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...new Array<number>(sides.length === 2 ? missing : 0).fill(0), ...tail];
  return Uint8Array.from(groups.flatMap((g) => [g >> 8, g & 0xff]));
}

function ipBytes(text: string): Uint8Array | null {
  return text.includes(':') ? ipv6Bytes(text) : ipv4Bytes(text);
}

/** Splits `host:port`, `[v6]:port`, `[v6]` and a bare `v6` (whose colons are not a port) into host and port. */
function splitPort(entry: string): { host: string; port: string | undefined } | null {
  const bracketed = /^\[([^\]]*)\](.*)$/.exec(entry);
  if (bracketed) {
    const inside = bracketed[1]!;
    const rest = bracketed[2]!;
    if (rest === '') return { host: inside, port: undefined };
    if (/^:\d+$/.test(rest)) return { host: inside, port: rest.slice(1) };
    if (/^\/\d+$/.test(rest)) return { host: inside + rest, port: undefined }; // `[fd00::]/8`
    return null;
  }
  const colons = entry.split(':').length - 1;
  if (colons !== 1) return { host: entry, port: undefined };
  const [host, port] = entry.split(':') as [string, string];
  return /^\d+$/.test(port) ? { host, port } : null;
}

/**
 * Reads one NO_PROXY entry (already lower-cased). Trailing dots go (`localhost.` is `localhost`);
 * a name's leading `.` or `*.` goes too, so `.example.com` covers `example.com` itself, as curl
 * reads it; an address, bracketed or not, is compared as parsed bytes, with an optional `/bits`.
 */
function parseNoProxyEntry(entry: string): NoProxyRule {
  if (entry === '*') return { kind: 'all' };
  const split = splitPort(entry);
  if (!split) return NONE;
  const range = /^(.*)\/(\d{1,3})$/.exec(split.host);
  if (split.host.includes('/') && !range) return NONE;
  const host = (range ? range[1]! : split.host).replace(/\.$/, '');
  const bytes = ipBytes(host);
  if (bytes) {
    const bits = range ? Number(range[2]) : bytes.length * 8;
    return bits > bytes.length * 8 ? NONE : { kind: 'ip', bytes, bits, port: split.port };
  }
  const name = host.replace(/^\*?\./, '');
  // A range after a name, or a name that is empty or still holds a wildcard, can match nothing.
  return range || !name || name.includes('*') ? NONE : { kind: 'name', name, port: split.port };
}

/** True when the first `bits` bits of `address` are those of `network` (same family only). */
function inRange(address: Uint8Array, network: Uint8Array, bits: number): boolean {
  if (address.length !== network.length) return false;
  for (let i = 0; i < bits; i += 8) {
    const mask = bits - i >= 8 ? 0xff : (0xff << (8 - (bits - i))) & 0xff;
    if ((address[i / 8]! & mask) !== (network[i / 8]! & mask)) return false;
  }
  return true;
}

/**
 * NO_PROXY as curl (7.86+) reads it, case-insensitively; README's proxy section has the grammar.
 * `*` matches every host. A name matches the host itself and its subdomains by whole labels
 * (`example.com` and `.example.com` both cover `example.com` and `a.example.com`, never
 * `badexample.com`), trailing dots ignored on both sides. A host that is an IP address is compared
 * only with address entries, as parsed bytes: `0:0:0:0:0:0:0:1` is `[::1]`, and `10.0.0.0/8` or
 * `fd00::/8` cover their ranges (`127.0.0.2` never covers `127.0.0.20`). An entry with a port
 * (`host:port`, `[v6]:port`) matches that port only, as Go and Python read it; curl has no port syntax.
 */
export function matchesNoProxy(url: URL, entries: readonly string[]): boolean {
  const hostname = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const address = ipBytes(hostname);
  const host = address ? hostname : hostname.replace(/\.$/, '');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  for (const raw of entries) {
    const rule = parseNoProxyEntry(raw.toLowerCase());
    if (rule.kind === 'all') return true;
    if (rule.kind === 'none' || (rule.port !== undefined && rule.port !== port)) continue;
    const hit = rule.kind === 'ip'
      ? address !== null && inRange(address, rule.bytes, rule.bits)
      : address === null && (host === rule.name || host.endsWith(`.${rule.name}`));
    if (hit) return true;
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
    // No cause: the URL parser's TypeError carries the whole value (`input`), password included.
    throw new HttpLib2Error(`Invalid proxy URL in the environment: ${maskProxyPassword(value)}`, { code: 'ERR_PROXY' });
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
