/**
 * HMACDigest authentication as httplib2 implements it (a draft by Thomas Broyer, never an RFC): a key
 * derived from the user name, the salted password hash and the realm signs the method, the URI, both
 * nonces and the end-to-end request headers. Pure: cnonce and time are injected. Options it does not
 * implement raise UnimplementedHmacDigestAuthOptionError; it never guesses.
 */
import { createHash, createHmac } from 'node:crypto';
import { UnimplementedHmacDigestAuthOptionError } from '../errors.js';
import { hopByHopNames, type HeaderRecord } from '../headers.js';
import type { Credential } from '../types.js';
import { parseChallenges, quote, utf8Bytes, type Challenge } from './challenge.js';
import { assertSafeCredential } from './credentials.js';
import type { Realm } from './realm.js';
import type { AfterResponse, AnswerHead, AuthScheme, AuthSession, Entropy, Opened, SignedRequest } from './session.js';
import { isoSeconds } from './wsse.js';

/** An HMACDigest challenge reduced to what the answer needs. */
export interface HmacDigestChallenge {
  readonly realm: string;
  readonly snonce: string;
  readonly salt: string;
  readonly algorithm: 'HMAC-SHA-1' | 'HMAC-MD5';
  readonly pwAlgorithm: 'SHA-1' | 'MD5';
}

const HASH = { 'HMAC-SHA-1': 'sha1', 'HMAC-MD5': 'md5', 'SHA-1': 'sha1', MD5: 'md5' } as const;

// Headers that are ours to add after signing, or not end-to-end: never signed.
const UNSIGNED = new Set(['authorization', 'x-wsse', 'host', 'content-length']);

/** Reads an HMACDigest challenge; throws for a missing snonce or an algorithm we do not implement. */
export function readHmacDigestChallenge(challenge: Challenge): HmacDigestChallenge {
  const p = challenge.params;
  const snonce = p.get('snonce');
  if (!snonce) throw new UnimplementedHmacDigestAuthOptionError("The challenge doesn't contain a server nonce, or this one is empty.");
  const algorithm = p.get('algorithm') ?? 'HMAC-SHA-1';
  if (algorithm !== 'HMAC-SHA-1' && algorithm !== 'HMAC-MD5') {
    throw new UnimplementedHmacDigestAuthOptionError(`Unsupported value for algorithm: ${algorithm}.`);
  }
  const pwAlgorithm = p.get('pw-algorithm') ?? 'SHA-1';
  if (pwAlgorithm !== 'SHA-1' && pwAlgorithm !== 'MD5') {
    throw new UnimplementedHmacDigestAuthOptionError(`Unsupported value for pw-algorithm: ${pwAlgorithm}.`);
  }
  return { realm: p.get('realm') ?? '', snonce, salt: p.get('salt') ?? '', algorithm, pwAlgorithm };
}

function hex(alg: 'sha1' | 'md5', data: string): string {
  return createHash(alg).update(Buffer.from(data, 'utf8')).digest('hex');
}

/** The signing key: H(name ":" H(password + salt) ":" realm), both hashes pw-algorithm, lower-case hex. */
export function hmacDigestKey(c: HmacDigestChallenge, name: string, password: string): string {
  const pw = HASH[c.pwAlgorithm];
  return hex(pw, `${name}:${hex(pw, password + c.salt)}:${c.realm}`);
}

/** The end-to-end request header names that are signed, in a stable (sorted) order. */
export function signedHeaderNames(headers: Readonly<HeaderRecord>): string[] {
  const hop = hopByHopNames(headers['connection']);
  return Object.keys(headers).filter((k) => !hop.has(k) && !UNSIGNED.has(k)).sort();
}

/** The `Authorization` value for one request. */
export function hmacDigestAuthorization(
  c: HmacDigestChallenge,
  credential: Pick<Credential, 'name' | 'password'>,
  req: SignedRequest,
  entropy: Entropy,
): string {
  const uri = req.target;
  const created = isoSeconds(entropy.now);
  const names = signedHeaderNames(req.headers);
  // httplib2: the names each followed by a space, the values concatenated with no separator.
  const keylist = names.map((n) => `${n} `).join('');
  const values = names.map((n) => req.headers[n]).join('');
  const key = hmacDigestKey(c, credential.name, credential.password);
  const signed = `${req.method}:${uri}:${entropy.cnonce}:${c.snonce}:${values}`;
  const response = createHmac(HASH[c.algorithm], key).update(Buffer.from(signed, 'latin1')).digest('hex');
  return (
    `HMACDigest username=${quote(utf8Bytes(credential.name))}, realm=${quote(c.realm)}, snonce=${quote(c.snonce)}, ` +
    `cnonce=${quote(entropy.cnonce)}, uri=${quote(uri)}, created=${quote(created)}, response=${quote(response)}, ` +
    `headers=${quote(keylist)}`
  );
}

class HmacDigestSession implements AuthSession {
  readonly scheme = 'hmacdigest';

  constructor(readonly credential: Credential, readonly challenge: HmacDigestChallenge, readonly realm: Realm) {
    assertSafeCredential(credential);
  }

  authorize(req: SignedRequest, entropy: Entropy): Readonly<HeaderRecord> {
    return { [this.realm.credentialsField]: hmacDigestAuthorization(this.challenge, this.credential, req, entropy) };
  }

  afterResponse(answer: AnswerHead): AfterResponse {
    if (answer.status !== this.realm.status) return { kind: 'keep', session: this };
    // httplib2 retries when the server says reason="integrity" or "stale"; we answer the new snonce.
    const c = parseChallenges(answer.get(this.realm.challengeField)).find((x) => x.scheme === 'hmacdigest');
    const reason = c?.params.get('reason');
    if (!c || (reason !== 'integrity' && reason !== 'stale')) return { kind: 'rejected' };
    return { kind: 'renew', session: new HmacDigestSession(this.credential, readHmacDigestChallenge(c), this.realm) };
  }
}

/** The HMACDigest scheme. */
export const hmacDigest: AuthScheme = {
  name: 'hmacdigest',
  open(challenges: readonly Challenge[], credential: Credential, realm: Realm): Opened {
    return { kind: 'session', session: new HmacDigestSession(credential, readHmacDigestChallenge(challenges[0]!), realm) };
  },
};
