/**
 * The one small interface every authentication scheme implements, and the strongest-first registry
 * the driver chooses from. Schemes are pure: a challenge and a credential in, header values out, with
 * the client nonce and the time injected. A scheme never performs I/O, reads the clock or draws
 * random numbers, and never holds the Http.
 */
import type { HeaderRecord } from '../headers.js';
import type { Response } from '../response.js';
import { basic } from './basic.js';
import type { Challenge } from './challenge.js';
import type { Credential } from './credentials.js';
import { digest } from './digest.js';
import { hmacDigest } from './hmac-digest.js';
import { wsse } from './wsse.js';

/** The parts of a hop a scheme may sign. */
export interface SignedRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<HeaderRecord>;
  readonly body: Buffer | null;
}

/** What the driver injects into every authorization: a fresh client nonce and the time. */
export interface Entropy {
  /** Random, at least 16 characters from the token68 alphabet, never reused. */
  readonly cnonce: string;
  /** Milliseconds since the epoch. */
  readonly now: number;
}

/** The outcome of one authorization: headers to add, and the session to use next time. */
export interface Authorization {
  readonly headers: Readonly<HeaderRecord>;
  readonly next: AuthSession;
}

/**
 * What a session makes of the response to a request it authorized:
 * `keep` — the answer stands; use `session` next time (Digest may have taken a `nextnonce`);
 * `renew` — the server asks for the same credentials again on a new nonce (Digest `stale=true`,
 *           HMACDigest `reason="stale"`): retry once with `session`, this is not a failure;
 * `rejected` — the credentials were refused.
 */
export type AfterResponse =
  | { readonly kind: 'keep'; readonly session: AuthSession }
  | { readonly kind: 'renew'; readonly session: AuthSession }
  | { readonly kind: 'rejected' };

/** Credentials bound to one challenge: immutable; each authorization returns its successor. */
export interface AuthSession {
  /** Lower-case scheme token, e.g. `digest`. */
  readonly scheme: string;
  readonly credential: Credential;
  authorize(req: SignedRequest, entropy: Entropy): Authorization;
  afterResponse(response: Response): AfterResponse;
}

/** A scheme: turns its challenges and a credential into a session, or null when it cannot answer. */
export interface AuthScheme {
  /** The challenge's auth-scheme token, lower-case. */
  readonly name: string;
  /**
   * A session answering `challenges` (all of them name this scheme) with `credential`; null when
   * the challenge cannot be answered (a Digest challenge without a nonce). Throws the scheme's
   * `Unimplemented...Error` for an option it does not implement.
   */
  open(challenges: readonly Challenge[], credential: Credential): AuthSession | null;
}

/**
 * The schemes, strongest first (httplib2's order: hmacdigest, digest, wsse, basic). Only the strongest
 * scheme offered is tried, so a server offering Digest is never answered with Basic.
 */
export const SCHEMES: readonly AuthScheme[] = [hmacDigest, digest, wsse, basic];

/** The strongest registered scheme among `challenges`, with its challenges in order; null if none. */
export function strongestOffered(
  challenges: readonly Challenge[],
  registry: readonly AuthScheme[] = SCHEMES,
): { scheme: AuthScheme; challenges: Challenge[] } | null {
  for (const scheme of registry) {
    const mine = challenges.filter((c) => c.scheme === scheme.name);
    if (mine.length > 0) return { scheme, challenges: mine };
  }
  return null;
}
