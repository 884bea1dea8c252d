/**
 * Proxy authentication decisions (RFC 9110 §11.7.1-§11.7.2, Basic RFC 7617, Digest RFC 7616): the
 * Proxy-Authorization a request to a forward proxy carries up front, and the answer to a 407, both
 * from the ProxyInfo credentials. Pure: the cnonce is injected; nothing here sends, reads the clock or
 * draws random numbers. It answers the proxy only (never the origin) and at most once per challenge.
 */
import { UnimplementedDigestAuthOptionError } from '../errors.js';
import { basicAuthorization } from '../auth/basic.js';
import { parseAuthParams, parseChallenges } from '../auth/challenge.js';
import { chooseDigest, digestAuthorization, type DigestChallenge } from '../auth/digest.js';

/** The ProxyInfo user and password. */
export interface ProxyCredentials {
  readonly user: string;
  readonly password: string;
}

/** The request on the proxy hop that a Proxy-Authorization covers. */
export interface ProxyTarget {
  /** `CONNECT` for a tunnel, else the forwarded request's method. */
  readonly method: string;
  /**
   * The request-target as sent to the proxy, which is what Digest's `uri` repeats (RFC 7616 §3.4):
   * the absolute URI of a forwarded request (RFC 9110 §7.1 absolute-form), `host:port` for CONNECT
   * (§9.3.6 authority-form).
   */
  readonly uri: string;
  readonly body: Buffer | null;
}

/** What is sent up front to a proxy: what it accepted last (a Digest session keeps its nonce count). */
export type ProxySession =
  | { readonly scheme: 'none' }
  | { readonly scheme: 'basic' }
  | { readonly scheme: 'digest'; readonly challenge: DigestChallenge; readonly nc: number };

/**
 * How a request came to carry its Proxy-Authorization: up front (`preemptive`, possibly none), in
 * answer to a 407 (`answer`), or on the new nonce of a Digest `stale=true` 407 (`renewal`).
 */
export type ProxyRound = 'preemptive' | 'answer' | 'renewal';

/** One request's Proxy-Authorization and the session it leaves behind (its nonce count used). */
export interface ProxyAuthorization {
  /** The header value, or null to send none. */
  readonly value: string | null;
  readonly round: ProxyRound;
  /** What to send up front next time once the proxy accepts this request. */
  readonly session: ProxySession;
}

/** The decision on a 407: answer it with `authorization`, or give up with `reason` (a ProxyError). */
export type ProxyChallengeAnswer =
  | { readonly kind: 'answer'; readonly authorization: ProxyAuthorization }
  | { readonly kind: 'refuse'; readonly reason: string };

/**
 * The session of a proxy nothing has been learned about yet. With credentials it is Basic, sent up
 * front as httplib2 does (no extra round trip for the common Basic proxy); a proxy that then asks
 * for Digest is answered and remembered, and gets no more Basic. A user-id containing ":" cannot be
 * sent as Basic (RFC 7617 §2), so it waits for a challenge.
 */
export function initialProxySession(credentials: ProxyCredentials | null): ProxySession {
  return credentials && !credentials.user.includes(':') ? { scheme: 'basic' } : { scheme: 'none' };
}

/** The Proxy-Authorization to send up front with `session`; Digest counts its nonce up (§3.4). */
export function preemptiveAuthorization(
  session: ProxySession,
  credentials: ProxyCredentials | null,
  target: ProxyTarget,
  cnonce: string,
): ProxyAuthorization {
  if (credentials === null || session.scheme === 'none') return { value: null, round: 'preemptive', session: { scheme: 'none' } };
  if (session.scheme === 'basic') return basicAnswer(credentials, 'preemptive');
  return digestAnswer(session.challenge, session.nc + 1, credentials, target, cnonce, 'preemptive');
}

/**
 * The answer to a 407 whose `Proxy-Authenticate` is `challengeHeader`, given what the refused
 * request carried. The rules (as for an origin's 401): a refused up-front answer is forgotten and
 * the strongest challenge offered (Digest over Basic) answered once; a refused answer ends it,
 * except that a Digest `stale=true` (§3.3: right credentials, expired nonce) is renewed once. Every
 * reason names the 407, so the ProxyError says what the proxy answered.
 */
export function answerProxyChallenge(
  challengeHeader: string | undefined,
  sent: ProxyAuthorization,
  credentials: ProxyCredentials | null,
  target: ProxyTarget,
  cnonce: string,
): ProxyChallengeAnswer {
  if (credentials === null) return refuse('requires authentication (407) and the ProxyInfo has no user/password');
  if (sent.round === 'renewal') return refuse('refused the credentials on a renewed nonce (407)');
  const challenges = parseChallenges(challengeHeader);
  const digests = challenges.filter((c) => c.scheme === 'digest');
  if (digests.length > 0) {
    if (sent.round === 'answer') {
      const stale = digests.filter((c) => (c.params.get('stale') ?? '').toLowerCase() === 'true');
      const renewed = sent.session.scheme === 'digest' ? tryChooseDigest(stale) : null;
      if (renewed === null || typeof renewed === 'string') return refuse('refused the credentials (407)');
      return answer(digestAnswer(renewed, 1, credentials, target, cnonce, 'renewal'));
    }
    const chosen = tryChooseDigest(digests);
    if (typeof chosen === 'string') return refuse(`asks for a Digest option this library does not implement (407): ${chosen}`);
    if (chosen === null) return refuse('sent a Digest challenge without a nonce (407)');
    return answer(digestAnswer(chosen, 1, credentials, target, cnonce, 'answer'));
  }
  if (challenges.some((c) => c.scheme === 'basic')) {
    if (sent.round === 'answer') return refuse('refused the credentials (407)');
    // RFC 7617 §2: a user-id with a colon cannot be told from the password.
    if (credentials.user.includes(':')) return refuse('asks for Basic (407), which cannot carry a user name containing ":"');
    return answer(basicAnswer(credentials, 'answer'));
  }
  const offered = [...new Set(challenges.map((c) => c.scheme))].join(', ');
  return refuse(`asks for ${offered ? `a scheme this library does not answer (${offered})` : 'authentication without a challenge'} (407); only Basic and Digest are`);
}

/**
 * The session to keep after the proxy accepted a request authorized with `sent`: `sent.session`
 * itself unless something changed. RFC 7616 §3.5: a `nextnonce` in Proxy-Authentication-Info is the
 * nonce to use from now on, counted from 1 again.
 */
export function acceptedProxySession(sent: ProxyAuthorization, authenticationInfo: string | undefined): ProxySession {
  const session = sent.session;
  if (session.scheme !== 'digest') return session;
  const nextnonce = parseAuthParams(authenticationInfo).get('nextnonce');
  if (!nextnonce || nextnonce === session.challenge.nonce) return session;
  return { scheme: 'digest', challenge: { ...session.challenge, nonce: nextnonce }, nc: 0 };
}

function refuse(reason: string): ProxyChallengeAnswer {
  return { kind: 'refuse', reason };
}

function answer(authorization: ProxyAuthorization): ProxyChallengeAnswer {
  return { kind: 'answer', authorization };
}

function basicAnswer(credentials: ProxyCredentials, round: ProxyRound): ProxyAuthorization {
  return { value: basicAuthorization(credentials.user, credentials.password), round, session: { scheme: 'basic' } };
}

function digestAnswer(
  challenge: DigestChallenge,
  nc: number,
  credentials: ProxyCredentials,
  target: ProxyTarget,
  cnonce: string,
  round: ProxyRound,
): ProxyAuthorization {
  const value = digestAuthorization(challenge, {
    name: credentials.user,
    password: credentials.password,
    method: target.method,
    uri: target.uri,
    body: target.body,
    cnonce,
    nc,
  });
  return { value, round, session: { scheme: 'digest', challenge, nc } };
}

// The strongest Digest challenge we can answer, null if none has a nonce, or the text of the option
// we do not implement (a proxy gets a ProxyError, not the origin's UnimplementedDigestAuthOptionError).
function tryChooseDigest(challenges: Parameters<typeof chooseDigest>[0]): DigestChallenge | string | null {
  try {
    return chooseDigest(challenges);
  } catch (error) {
    if (error instanceof UnimplementedDigestAuthOptionError) return error.message;
    throw error;
  }
}
