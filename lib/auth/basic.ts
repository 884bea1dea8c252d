/**
 * Basic authentication (RFC 7617): the user-id and password, UTF-8 encoded (§2.1, the charset every
 * current server expects), joined by ":" and sent as base64, to an origin or a proxy alike. Pure:
 * never sends anything itself, and never answers a challenge when a stronger scheme was offered (the
 * registry sees to that).
 */
import { HttpLib2Error } from '../errors.js';
import type { Credential } from '../types.js';
import type { Challenge } from './challenge.js';
import { assertSafeCredential } from './credentials.js';
import type { Realm } from './realm.js';
import type { AfterResponse, AnswerHead, AuthScheme, AuthSession, Opened } from './session.js';

/** The error for a user-id containing ":" (RFC 7617 §2: it cannot be told apart from the password). */
export function colonInUserError(): HttpLib2Error {
  return new HttpLib2Error('Basic authentication: the user name may not contain ":"', { code: 'ERR_INVALID_REQUEST' });
}

/** The `Authorization` value for `name` and `password`. */
export function basicAuthorization(name: string, password: string): string {
  if (name.includes(':')) throw colonInUserError();
  return `Basic ${Buffer.from(`${name}:${password}`, 'utf8').toString('base64')}`;
}

class BasicSession implements AuthSession {
  readonly scheme = 'basic';
  readonly #fields: Readonly<Record<string, string>>;

  constructor(readonly credential: Credential, readonly realm: Realm) {
    this.#fields = Object.freeze({ [realm.credentialsField]: basicAuthorization(credential.name, credential.password) });
  }

  authorize(): Readonly<Record<string, string>> {
    return this.#fields;
  }

  afterResponse(answer: AnswerHead): AfterResponse {
    return answer.status === this.realm.status ? { kind: 'rejected' } : { kind: 'keep', session: this };
  }
}

/** The Basic scheme. */
export const basic: AuthScheme = {
  name: 'basic',
  open(_challenges: readonly Challenge[], credential: Credential, realm: Realm): Opened {
    assertSafeCredential(credential);
    if (credential.name.includes(':')) return { kind: 'cannot', why: 'colon-in-user' };
    return { kind: 'session', session: new BasicSession(credential, realm) };
  },
};
