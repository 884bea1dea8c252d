/**
 * The authentication dialogue of one request with one realm (RFC 9110 §11.6 with an origin, §11.7 with
 * a proxy), written once: what to send, and what each answer means, until the request is accepted or
 * cannot be answered. Pure, in the shape of a generator that yields what to send and is resumed with
 * the answer's head (httpx's `auth_flow`); the caller does the I/O (converse.ts). It must never try a
 * credential twice on one request, renew a nonce more than once, or answer with a weaker scheme than
 * the strongest one offered: a wrong password never loops.
 */
import { UnimplementedDigestAuthOptionError, UnimplementedHmacDigestAuthOptionError } from '../errors.js';
import type { HeaderRecord } from '../headers.js';
import type { Credential } from '../types.js';
import { parseChallenges } from './challenge.js';
import type { Realm, SchemeName } from './realm.js';
import { strongestOffered } from './registry.js';
import type { AnswerHead, AuthSession, CannotAnswer, Entropy, SignedRequest } from './session.js';

/** What one request starts from. */
export interface Opening {
  readonly realm: Realm;
  /** The request as signed (its request-target as sent to this realm). */
  readonly target: SignedRequest;
  /** What is sent before any challenge: a protection space's session, what the proxy accepted last, Basic to a proxy; or null. */
  readonly upfront: AuthSession | null;
  /** The credentials that may answer a challenge, in the order they are tried. */
  readonly candidates: readonly Credential[];
  /** A fresh client nonce and the time, for each authorization. */
  readonly entropy: () => Entropy;
}

/**
 * How a request came to carry its credentials: sent before any challenge (`upfront`), in answer to
 * one (`answer`), or on the new nonce of a stale one (`renewal`).
 */
export type Round = 'upfront' | 'answer' | 'renewal';

/** Send the request with `fields` added (none: as it is); `session` signed them. */
export interface Move {
  readonly kind: 'send';
  readonly fields: Readonly<HeaderRecord>;
  readonly round: Round;
  readonly session: AuthSession | null;
}

/** Why a challenge went unanswered. */
export type Refusal =
  /** Nothing to answer with. */
  | { readonly kind: 'no-credentials' }
  /** Every credential was tried and refused; the last one was sent as `after`. */
  | { readonly kind: 'rejected'; readonly after: Round }
  /** No scheme of the realm among the challenges (the schemes that were offered, in order). */
  | { readonly kind: 'unsupported'; readonly offered: readonly string[] }
  /** The strongest scheme offered cannot carry this credential or answer this challenge. */
  | { readonly kind: 'cannot'; readonly scheme: SchemeName; readonly why: CannotAnswer }
  /** The challenge asks for an option the scheme does not implement. */
  | { readonly kind: 'unimplemented'; readonly error: UnimplementedDigestAuthOptionError | UnimplementedHmacDigestAuthOptionError };

/**
 * How the dialogue ended. `accepted`: the last answer stands; `session` (null when nothing was sent)
 * is what to send next time, succeeding the sessions of `replaces` (a renewed nonce, a nextnonce).
 * `unanswered`: the last answer is the realm's challenge, left as it is for `why`. Either way, the
 * sessions of `refused` had their credentials refused: they are not to be sent again.
 */
export type Ending =
  | {
      readonly kind: 'accepted';
      readonly session: AuthSession | null;
      readonly replaces: readonly AuthSession[];
      readonly refused: readonly AuthSession[];
    }
  | { readonly kind: 'unanswered'; readonly why: Refusal; readonly refused: readonly AuthSession[] };

/**
 * The dialogue: the up-front session first, if any; its answer kept ends it; one renewal on a stale
 * nonce (Digest `stale=true`, HMACDigest `reason="stale"`); a refusal is remembered, and the realm's
 * challenge is then answered by the next credential not yet tried (the up-front one counts as not
 * tried), with the strongest scheme offered, each at most once.
 */
export function* dialogue(opening: Opening): Generator<Move, Ending, AnswerHead> {
  const refused: AuthSession[] = [];
  const tried = new Set<Credential>();
  // The sessions the current one succeeds on this request (a renewed nonce replaces its stale one).
  let lineage: AuthSession[] = [];
  let renewed = false;
  let round: Round = 'upfront';
  let session = opening.upfront;
  for (;;) {
    // Signed now, before the answer: a Digest session takes its nonce count here, once.
    const fields = session ? session.authorize(opening.target, opening.entropy()) : {};
    const head: AnswerHead = yield { kind: 'send', fields, round, session };
    if (session) {
      const sent = session;
      const after = unimplementedAsRefusal(() => sent.afterResponse(head));
      if (after.kind === 'unimplemented') return { kind: 'unanswered', why: after, refused };
      if (after.kind === 'keep') {
        return { kind: 'accepted', session: after.session, replaces: [...lineage, sent].filter((s) => s !== after.session), refused };
      }
      if (after.kind === 'renew' && !renewed) {
        // RFC 7616 §3.3: the credentials were right, the nonce had expired; answer the new one, once.
        renewed = true;
        lineage = [...lineage, sent];
        session = after.session;
        round = 'renewal';
        continue;
      }
      refused.push(...lineage, sent);
      lineage = [];
    }
    if (head.status !== opening.realm.status) return { kind: 'accepted', session: null, replaces: [], refused };
    const answer = answerChallenge(head, opening, tried, round);
    if (answer.kind !== 'session') return { kind: 'unanswered', why: answer, refused };
    tried.add(answer.session.credential);
    session = answer.session;
    round = 'answer';
  }
}

// A challenge answered by the next credential not yet tried (registration order, as httplib2's
// `_auth_from_challenge` walks `credentials.iter(host)`) through the strongest scheme offered, or why
// not. Each challenge is read anew: a Digest server sends a fresh nonce with each refusal.
function answerChallenge(
  head: AnswerHead, opening: Opening, tried: ReadonlySet<Credential>, last: Round,
): { readonly kind: 'session'; readonly session: AuthSession } | Refusal {
  if (opening.candidates.length === 0) return { kind: 'no-credentials' };
  const credential = opening.candidates.find((c) => !tried.has(c));
  if (credential === undefined) return { kind: 'rejected', after: last };
  const challenges = parseChallenges(head.get(opening.realm.challengeField));
  const offered = strongestOffered(challenges, opening.realm);
  if (!offered) return { kind: 'unsupported', offered: [...new Set(challenges.map((c) => c.scheme))] };
  const opened = unimplementedAsRefusal(() => offered.scheme.open(offered.challenges, credential, opening.realm));
  // A challenge the strongest scheme cannot answer gets no weaker scheme: no downgrade.
  if (opened.kind === 'cannot') return { kind: 'cannot', scheme: offered.scheme.name, why: opened.why };
  return opened;
}

// The schemes throw their Unimplemented errors; here they are a reason like any other.
function unimplementedAsRefusal<T>(f: () => T): T | Extract<Refusal, { kind: 'unimplemented' }> {
  try {
    return f();
  } catch (error) {
    if (error instanceof UnimplementedDigestAuthOptionError || error instanceof UnimplementedHmacDigestAuthOptionError) {
      return { kind: 'unimplemented', error };
    }
    throw error;
  }
}
