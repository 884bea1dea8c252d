/**
 * The one small interface every authentication scheme implements: a scheme opens a session from a
 * challenge and a credential, and the session signs requests and reads the answers to them. Types
 * only. Schemes are pure: the client nonce and the time are injected; a scheme never performs I/O,
 * reads the clock or draws random numbers, and never holds the Http.
 */
import type { HeaderRecord } from '../headers.js';
import type { Credential } from '../types.js';
import type { Challenge } from './challenge.js';
import type { Realm, SchemeName } from './realm.js';

/** The parts of a request a scheme may sign. */
export interface SignedRequest {
  readonly method: string;
  /**
   * The request-target exactly as sent (RFC 7616 §3.4.6 `uri`): the origin-form path and query to an
   * origin, the absolute URI of a request forwarded by a proxy (RFC 9110 §7.1), `host:port` for
   * CONNECT (§9.3.6).
   */
  readonly target: string;
  readonly headers: Readonly<HeaderRecord>;
  readonly body: Buffer | null;
}

/** What the caller injects into every authorization: a fresh client nonce and the time. */
export interface Entropy {
  /** Random, at least 16 characters from the token68 alphabet, never reused. */
  readonly cnonce: string;
  /** Milliseconds since the epoch. */
  readonly now: number;
}

/** The head of an answer as a session reads it; a Response fits as is. */
export interface AnswerHead {
  readonly status: number;
  /** A field's value (repeated fields joined with ", "), by lower-case name. */
  get(field: string): string | undefined;
}

/**
 * What a session makes of the answer to a request it authorized:
 * `keep` — the answer stands; use `session` next time (Digest may have taken a `nextnonce`);
 * `renew` — the server asks for the same credentials again on a new nonce (Digest `stale=true`,
 *           HMACDigest `reason="stale"`): answer once more with `session`, this is not a failure;
 * `rejected` — the credentials were refused.
 */
export type AfterResponse =
  | { readonly kind: 'keep'; readonly session: AuthSession }
  | { readonly kind: 'renew'; readonly session: AuthSession }
  | { readonly kind: 'rejected' };

/**
 * Credentials bound to one challenge of one realm. A session is a stable object: a Digest session
 * counts its nonce up itself (RFC 7616 §3.4), so every request sent with it, concurrent ones
 * included, takes the next count.
 */
export interface AuthSession {
  readonly scheme: SchemeName;
  readonly credential: Credential;
  readonly realm: Realm;
  /** The fields that authorize `req` (the realm's credentials field, and X-WSSE for WSSE). */
  authorize(req: SignedRequest, entropy: Entropy): Readonly<HeaderRecord>;
  /** What the answer to a request this session authorized means for it. */
  afterResponse(answer: AnswerHead): AfterResponse;
}

/** Why a scheme cannot answer the challenges it was given with a credential. */
export type CannotAnswer =
  | 'no-nonce' // a Digest challenge without a nonce
  | 'colon-in-user' // Basic: RFC 7617 §2, a user-id with ":" cannot be told from the password
  | 'profile'; // WSSE: a profile other than UsernameToken

/** A scheme's answer to challenges: a session, or why it cannot answer. */
export type Opened =
  | { readonly kind: 'session'; readonly session: AuthSession }
  | { readonly kind: 'cannot'; readonly why: CannotAnswer };

/** A scheme: turns its challenges and a credential into a session for one realm. */
export interface AuthScheme {
  /** The challenge's auth-scheme token, lower-case. */
  readonly name: SchemeName;
  /**
   * A session answering `challenges` (all of them name this scheme) with `credential` in `realm`.
   * Throws the scheme's `Unimplemented...Error` for an option it does not implement, and refuses
   * credentials containing CR, LF or NUL.
   */
  open(challenges: readonly Challenge[], credential: Credential, realm: Realm): Opened;
}
