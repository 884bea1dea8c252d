/**
 * Pure URI helpers: the absolute-URI check done before any byte is sent, cache-key normalisation,
 * Location resolution and origin comparison. Never performs I/O.
 */
import { HttpLib2Error, RelativeURIError } from './errors.js';

// The WHATWG parser silently drops tabs and newlines and trims controls; we refuse them instead,
// so what is sent is what the caller wrote.
const CONTROL = /[\0-\x1f\x7f]/;
// RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then ":".
const HAS_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/** Parses a caller's URI; only absolute http(s) URIs are accepted. Spaces are percent-encoded. */
export function parseRequestUri(uri: string | URL): URL {
  // Callers from plain JavaScript: a missing URI must read as bad input, not as a failed connection.
  // (Any object with a string href passes, so a URL from another realm or library still works.)
  if (typeof uri !== 'string' && typeof (uri as { href?: unknown } | null)?.href !== 'string') {
    throw new HttpLib2Error(`Invalid URI: expected a string or a URL, received ${uri === null ? 'null' : typeof uri}`, {
      code: 'ERR_INVALID_REQUEST',
    });
  }
  const text = typeof uri === 'string' ? uri : uri.href;
  if (CONTROL.test(text)) {
    throw new HttpLib2Error(`Invalid URI ${JSON.stringify(redactUserinfo(text))}: control characters are refused`, {
      code: 'ERR_INVALID_REQUEST',
    });
  }
  let url: URL;
  try {
    url = new URL(text.replace(/ /g, '%20'));
  } catch {
    // `http://exa mple/` has a scheme: it is malformed, not relative.
    if (HAS_SCHEME.test(text)) {
      throw new HttpLib2Error(`Invalid URI ${JSON.stringify(redactUserinfo(text))}: it cannot be parsed`, { code: 'ERR_INVALID_REQUEST' });
    }
    throw new RelativeURIError(`Only absolute URIs are allowed. uri = ${redactUserinfo(text)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new RelativeURIError(`Only absolute http and https URIs are allowed. uri = ${redactUserinfo(text)}`);
  }
  if (!url.hostname) throw new RelativeURIError(`URI has no host. uri = ${redactUserinfo(text)}`);
  return url;
}

/** A user name and password written in a request URI's user info, percent-decoded. */
export interface Userinfo {
  readonly name: string;
  readonly password: string;
}

/**
 * Splits a request URI's user info from it: `http://user:pw@host/p` → `http://host/p` and
 * `{ name: 'user', password: 'pw' }` (null when there is none). The URI without it is the one every
 * layer sees, so the user info is never copied into a response header, an error or a log line.
 */
export function splitUserinfo(url: URL): { url: URL; userinfo: Userinfo | null } {
  if (url.username === '' && url.password === '') return { url, userinfo: null };
  let userinfo: Userinfo;
  try {
    userinfo = { name: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
  } catch {
    // The message names the fault, never the text: it holds a password.
    throw new HttpLib2Error('Invalid user info in the URI: bad percent-encoding', { code: 'ERR_INVALID_REQUEST' });
  }
  const bare = new URL(url.href);
  bare.username = '';
  bare.password = '';
  return { url: bare, userinfo };
}

/**
 * The cache key of a URI: scheme and host lower-cased (the URL parser does it), default port and
 * fragment dropped, empty path → `/`. Path and query keep their case and order: they name distinct
 * resources (RFC 9110 §4.2.3).
 */
export function cacheKey(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname || '/'}${url.search}`;
}

/** The origin (scheme, host, port) as a string; ports are explicit so http:80 ≠ https:80. */
export function originOf(url: URL): string {
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return `${url.protocol}//${url.hostname.toLowerCase()}:${port}`;
}

/** True if both URLs share scheme, host and port. */
export function sameOrigin(a: URL, b: URL): boolean {
  return originOf(a) === originOf(b);
}

/**
 * Resolves a Location header against the request URI as a browser does (`//host`, `/\host`,
 * backslashes, IPv6). Returns null when it cannot be parsed.
 */
export function resolveLocation(location: string, base: URL): URL | null {
  if (CONTROL.test(location)) return null;
  try {
    return new URL(location.trim(), base);
  } catch {
    return null;
  }
}

/** The request target sent on the wire: path and query, never the fragment. */
export function requestTarget(url: URL): string {
  return `${url.pathname || '/'}${url.search}`;
}

/**
 * `text` with the password of any `user:password@` replaced, for messages and logs: error texts end
 * up in logs and on terminals. Works on URIs the URL parser refused, too.
 */
export function redactUserinfo(text: string): string {
  return text.replace(/(\/\/[^/?#@:\s]*:)[^/?#]*@/g, '$1redacted@');
}
