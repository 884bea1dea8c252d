/**
 * WSSE UsernameToken authentication, as Atom publishing servers use it: `Authorization: WSSE
 * profile="UsernameToken"` plus an `X-WSSE` header whose PasswordDigest is
 * Base64(SHA-1(nonce + created + password)). Pure: the nonce and the time are injected; it never sends
 * the password itself.
 */
import { createHash } from 'node:crypto';
import type { HeaderRecord } from '../headers.js';
import type { Credential } from '../types.js';
import { quote, utf8Bytes, type Challenge } from './challenge.js';
import { assertSafeCredential } from './credentials.js';
import type { Realm } from './realm.js';
import type { AfterResponse, AnswerHead, AuthScheme, AuthSession, Entropy, Opened } from './session.js';

/** `YYYY-MM-DDTHH:MM:SSZ` (the WSSE and HMACDigest `Created` form) for `now` in milliseconds. */
export function isoSeconds(now: number): string {
  return `${new Date(now).toISOString().slice(0, 19)}Z`;
}

/** Base64(SHA-1(nonce + created + password)), the password taken as UTF-8. */
export function wssePasswordDigest(nonce: string, created: string, password: string): string {
  return createHash('sha1').update(Buffer.from(nonce + created + password, 'utf8')).digest('base64');
}

/** The `X-WSSE` value for `name` and `password` with `nonce` at `created`. */
export function wsseToken(name: string, password: string, nonce: string, created: string): string {
  const digest = wssePasswordDigest(nonce, created, password);
  return `UsernameToken Username=${quote(utf8Bytes(name))}, PasswordDigest=${quote(digest)}, Nonce=${quote(nonce)}, Created=${quote(created)}`;
}

class WsseSession implements AuthSession {
  readonly scheme = 'wsse';

  constructor(readonly credential: Credential, readonly realm: Realm) {
    assertSafeCredential(credential);
  }

  authorize(_req: unknown, entropy: Entropy): Readonly<HeaderRecord> {
    const created = isoSeconds(entropy.now);
    return {
      [this.realm.credentialsField]: 'WSSE profile="UsernameToken"',
      'x-wsse': wsseToken(this.credential.name, this.credential.password, entropy.cnonce, created),
    };
  }

  afterResponse(answer: AnswerHead): AfterResponse {
    return answer.status === this.realm.status ? { kind: 'rejected' } : { kind: 'keep', session: this };
  }
}

/** The WSSE scheme; it answers the UsernameToken profile only (the one httplib2 implements). */
export const wsse: AuthScheme = {
  name: 'wsse',
  open(challenges: readonly Challenge[], credential: Credential, realm: Realm): Opened {
    const usable = challenges.some((c) => (c.params.get('profile') ?? 'UsernameToken').toLowerCase() === 'usernametoken');
    return usable ? { kind: 'session', session: new WsseSession(credential, realm) } : { kind: 'cannot', why: 'profile' };
  },
};
