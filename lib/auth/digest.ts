/**
 * Digest access authentication (RFC 7616): chooses the strongest algorithm offered, computes the
 * `response` for a request (qop auth or auth-int, -sess variants, userhash, RFC 2069 without qop) and
 * counts nonces up, one counter per session, to an origin or a proxy alike. Pure: the cnonce is
 * injected, and nothing here sends, reads the clock or draws random numbers. It must never fall back
 * to a weaker scheme on its own.
 */
import { createHash } from 'node:crypto';
import { UnimplementedDigestAuthOptionError } from '../errors.js';
import type { HeaderRecord } from '../headers.js';
import type { Credential } from '../types.js';
import { parseAuthParams, parseChallenges, quote, type Challenge } from './challenge.js';
import { assertSafeCredential } from './credentials.js';
import type { Realm } from './realm.js';
import type { AfterResponse, AnswerHead, AuthScheme, AuthSession, Entropy, Opened, SignedRequest } from './session.js';

/** A Digest algorithm: its hash and whether it is a session (-sess) variant. */
export interface DigestAlgorithm {
  /** The name as sent, e.g. `SHA-256-sess`. */
  readonly name: string;
  readonly hash: 'md5' | 'sha256' | 'sha512-256';
  readonly session: boolean;
}

// RFC 7616 §3.3 and §6.1, strongest first: the order is the preference when several are offered.
const ALGORITHMS: readonly DigestAlgorithm[] = [
  { name: 'SHA-512-256', hash: 'sha512-256', session: false },
  { name: 'SHA-512-256-sess', hash: 'sha512-256', session: true },
  { name: 'SHA-256', hash: 'sha256', session: false },
  { name: 'SHA-256-sess', hash: 'sha256', session: true },
  { name: 'MD5', hash: 'md5', session: false },
  { name: 'MD5-sess', hash: 'md5', session: true },
];

/** A Digest challenge reduced to what the answer needs. */
export interface DigestChallenge {
  readonly realm: string;
  readonly nonce: string;
  readonly opaque: string | null;
  readonly algorithm: DigestAlgorithm;
  /** null: the server offered no qop (RFC 2069 compatibility, §3.4.1 without cnonce and nc). */
  readonly qop: 'auth' | 'auth-int' | null;
  readonly userhash: boolean;
}

/** The request fields and client values a Digest response covers. */
export interface DigestInput {
  readonly name: string;
  readonly password: string;
  readonly method: string;
  /** The request-target, exactly as sent (RFC 7616 §3.4.6). */
  readonly uri: string;
  readonly body: Buffer | null;
  readonly cnonce: string;
  /** The nonce count, 1 for the first request on a nonce. */
  readonly nc: number;
}

/**
 * The best Digest challenge we can answer: the strongest algorithm offered; null when no challenge
 * has a nonce. Throws {@link UnimplementedDigestAuthOptionError} when every challenge with a nonce
 * asks for an algorithm or qop this library does not implement.
 */
export function chooseDigest(challenges: readonly Challenge[]): DigestChallenge | null {
  let best: DigestChallenge | null = null;
  let rank = Infinity;
  let refusal: string | null = null;
  for (const c of challenges) {
    const nonce = c.params.get('nonce');
    if (c.scheme !== 'digest' || !nonce) continue;
    const algName = (c.params.get('algorithm') ?? 'MD5').toUpperCase();
    const i = ALGORITHMS.findIndex((a) => a.name.toUpperCase() === algName);
    if (i < 0) {
      refusal = `Unsupported value for algorithm: ${c.params.get('algorithm')}`;
      continue;
    }
    const qop = chooseQop(c.params.get('qop'));
    if (qop === undefined) {
      refusal = `Unsupported value for qop: ${c.params.get('qop')}`;
      continue;
    }
    if (i < rank) {
      rank = i;
      best = {
        realm: c.params.get('realm') ?? '',
        nonce,
        opaque: c.params.get('opaque') ?? null,
        algorithm: ALGORITHMS[i]!,
        qop,
        userhash: (c.params.get('userhash') ?? '').toLowerCase() === 'true',
      };
    }
  }
  if (!best && refusal) throw new UnimplementedDigestAuthOptionError(refusal);
  return best;
}

// RFC 7616 §3.3: qop is a quoted, comma-separated list. `auth` is preferred; auth-int is used when it
// is the only one offered. undefined: only options we do not implement (auth-conf...).
function chooseQop(offered: string | undefined): DigestChallenge['qop'] | undefined {
  if (offered === undefined) return null;
  const options = offered.split(',').map((o) => o.trim().toLowerCase());
  if (options.includes('auth')) return 'auth';
  if (options.includes('auth-int')) return 'auth-int';
  return undefined;
}

// Values from the server are byte strings (latin1); values from the caller are text sent as UTF-8
// (RFC 7616 §4: charset=UTF-8).
const server = (s: string): Buffer => Buffer.from(s, 'latin1');
const caller = (s: string): Buffer => Buffer.from(s, 'utf8');

function h(alg: DigestAlgorithm, ...parts: Buffer[]): string {
  const hash = createHash(alg.hash);
  parts.forEach((p, i) => {
    if (i > 0) hash.update(':');
    hash.update(p);
  });
  return hash.digest('hex');
}

/** The nonce count as sent: 8 lower-case hex digits (RFC 7616 §3.4). */
export function formatNc(nc: number): string {
  return nc.toString(16).padStart(8, '0');
}

/** The `response` value of RFC 7616 §3.4.1 for `challenge` and `input`. */
export function digestResponse(challenge: DigestChallenge, input: DigestInput): string {
  const alg = challenge.algorithm;
  const nonce = server(challenge.nonce);
  const cnonce = server(input.cnonce);
  // §3.4.2: A1, and for -sess the hash of A1 bound to this nonce and cnonce.
  let ha1 = h(alg, caller(input.name), server(challenge.realm), caller(input.password));
  if (alg.session) ha1 = h(alg, server(ha1), nonce, cnonce);
  // §3.4.3: A2, with the hash of the body for auth-int.
  const a2 = [server(input.method), server(input.uri)];
  if (challenge.qop === 'auth-int') a2.push(server(h(alg, input.body ?? Buffer.alloc(0))));
  const ha2 = h(alg, ...a2);
  if (challenge.qop === null) return h(alg, server(ha1), nonce, server(ha2));
  return h(alg, server(ha1), nonce, server(formatNc(input.nc)), cnonce, server(challenge.qop), server(ha2));
}

/** The `Authorization` value answering `challenge` (parameters in the order of RFC 7616 §3.9.1). */
export function digestAuthorization(challenge: DigestChallenge, input: DigestInput): string {
  const parts: string[] = [usernameParam(challenge, input.name)];
  parts.push(`realm=${quote(challenge.realm)}`, `uri=${quote(input.uri)}`, `algorithm=${challenge.algorithm.name}`);
  parts.push(`nonce=${quote(challenge.nonce)}`);
  if (challenge.qop !== null) parts.push(`nc=${formatNc(input.nc)}`);
  if (challenge.qop !== null || challenge.algorithm.session) parts.push(`cnonce=${quote(input.cnonce)}`);
  if (challenge.qop !== null) parts.push(`qop=${challenge.qop}`);
  parts.push(`response=${quote(digestResponse(challenge, input))}`);
  if (challenge.opaque !== null) parts.push(`opaque=${quote(challenge.opaque)}`);
  if (challenge.userhash) parts.push('userhash=true');
  return `Digest ${parts.join(', ')}`;
}

// RFC 7616 §3.4.4 userhash: H(user:realm) in place of the name. §3.4.4 also: a name that cannot be
// sent as a quoted-string goes out as `username*` (RFC 8187 extended notation). `"` and `\` escaped.
function usernameParam(challenge: DigestChallenge, name: string): string {
  if (challenge.userhash) return `username=${quote(h(challenge.algorithm, caller(name), server(challenge.realm)))}`;
  if (/^[\x20-\x7e]*$/.test(name)) return `username=${quote(name)}`;
  return `username*=UTF-8''${encodeRfc8187(name)}`;
}

function encodeRfc8187(text: string): string {
  // attr-char = ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
  return encodeURIComponent(text).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The nonce count of one Digest session (RFC 7616 §3.4): each request sent on a nonce takes the next
 * count, once, whether it goes out alone or beside concurrent ones. A new nonce (stale=true,
 * nextnonce) starts a counter of its own.
 */
export class NonceCount {
  #sent = 0;

  /** The count for the next request: 1 first. */
  next(): number {
    return ++this.#sent;
  }
}

class DigestSession implements AuthSession {
  readonly scheme = 'digest';
  // One nonce, one counter: a session is the pair, and a new nonce makes a new session.
  readonly #count = new NonceCount();

  constructor(readonly credential: Credential, readonly challenge: DigestChallenge, readonly realm: Realm) {}

  authorize(req: SignedRequest, entropy: Entropy): Readonly<HeaderRecord> {
    const value = digestAuthorization(this.challenge, {
      name: this.credential.name,
      password: this.credential.password,
      method: req.method,
      uri: req.target,
      body: req.body,
      cnonce: entropy.cnonce,
      // Taken at once, before anything is sent: a concurrent request never repeats a count.
      nc: this.#count.next(),
    });
    return { [this.realm.credentialsField]: value };
  }

  afterResponse(answer: AnswerHead): AfterResponse {
    if (answer.status === this.realm.status) {
      // §3.3 stale=true: the credentials were right, the nonce had expired; answer the new one.
      const stale = parseChallenges(answer.get(this.realm.challengeField)).filter(
        (c) => c.scheme === 'digest' && (c.params.get('stale') ?? '').toLowerCase() === 'true',
      );
      const fresh = chooseDigest(stale);
      return fresh ? { kind: 'renew', session: new DigestSession(this.credential, fresh, this.realm) } : { kind: 'rejected' };
    }
    // §3.5 (Proxy-)Authentication-Info: nextnonce is the nonce to use from now on, counted from 1 again.
    const nextnonce = parseAuthParams(answer.get(this.realm.infoField)).get('nextnonce');
    if (nextnonce && nextnonce !== this.challenge.nonce) {
      return { kind: 'keep', session: new DigestSession(this.credential, { ...this.challenge, nonce: nextnonce }, this.realm) };
    }
    return { kind: 'keep', session: this };
  }
}

/** The Digest scheme. */
export const digest: AuthScheme = {
  name: 'digest',
  open(challenges: readonly Challenge[], credential: Credential, realm: Realm): Opened {
    assertSafeCredential(credential);
    const chosen = chooseDigest(challenges);
    return chosen ? { kind: 'session', session: new DigestSession(credential, chosen, realm) } : { kind: 'cannot', why: 'no-nonce' };
  },
};
