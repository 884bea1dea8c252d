/**
 * Who asks for credentials: an origin server (RFC 9110 §11.6, 401) or the proxy on the way (§11.7,
 * 407). Both speak one framework under other field names, so a realm is data the schemes and the
 * dialogue are given, never a branch of their own. Constants only: nothing here runs.
 */

/** The schemes this library answers with (the challenge's auth-scheme token, lower-case). */
export type SchemeName = 'hmacdigest' | 'digest' | 'wsse' | 'basic';

/** The status and field names of one side of RFC 9110's authentication framework, and its policy. */
export interface Realm {
  readonly kind: 'origin' | 'proxy';
  /** The status that challenges: 401 (§15.5.2) or 407 (§15.5.8). */
  readonly status: 401 | 407;
  /** Where the challenges come: WWW-Authenticate (§11.6.1) or Proxy-Authenticate (§11.7.1). */
  readonly challengeField: 'www-authenticate' | 'proxy-authenticate';
  /** Where the credentials go: Authorization (§11.6.2) or Proxy-Authorization (§11.7.2). */
  readonly credentialsField: 'authorization' | 'proxy-authorization';
  /** Where a server says more after accepting: Authentication-Info (§11.6.3) or Proxy-Authentication-Info (§11.7.3). */
  readonly infoField: 'authentication-info' | 'proxy-authentication-info';
  /** The schemes answered, strongest first; only the strongest one offered is tried. */
  readonly schemes: readonly SchemeName[];
  /** Whether Basic goes up front to a server nothing is known about yet. */
  readonly basicUpfront: boolean;
}

/**
 * An origin server: httplib2's strongest-first order (hmacdigest, digest, wsse, basic), and nothing
 * sent before a 401 says which scheme the server wants (a space that accepted an answer is the
 * credential store's business).
 */
export const ORIGIN_REALM: Realm = Object.freeze({
  kind: 'origin',
  status: 401,
  challengeField: 'www-authenticate',
  credentialsField: 'authorization',
  infoField: 'authentication-info',
  schemes: Object.freeze(['hmacdigest', 'digest', 'wsse', 'basic'] as const),
  basicUpfront: false,
});

/**
 * A forward proxy: Digest over Basic (the two schemes proxies use), and Basic up front to a proxy
 * nothing is known about yet, as httplib2 sends its ProxyInfo credentials (no extra round trip for
 * the common Basic proxy).
 */
export const PROXY_REALM: Realm = Object.freeze({
  kind: 'proxy',
  status: 407,
  challengeField: 'proxy-authenticate',
  credentialsField: 'proxy-authorization',
  infoField: 'proxy-authentication-info',
  schemes: Object.freeze(['digest', 'basic'] as const),
  basicUpfront: true,
});
