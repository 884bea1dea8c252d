/**
 * Basic authentication (RFC 7617): the user-id and password, UTF-8 encoded (§2.1, the charset every
 * current server expects), joined by ":" and sent as base64. Pure: never sends anything itself, and
 * never answers a challenge when a stronger scheme was offered (the registry sees to that).
 */
import { HttpLib2Error } from '../errors.js';
import type { Response } from '../response.js';
import type { Challenge } from './challenge.js';
import { assertSafeCredential, type Credential } from './credentials.js';
import type { AfterResponse, Authorization, AuthScheme, AuthSession } from './scheme.js';

/** The `Authorization` value for `name` and `password`. */
export function basicAuthorization(name: string, password: string): string {
  // RFC 7617 §2: a user-id containing a colon cannot be told apart from the password.
  if (name.includes(':')) {
    throw new HttpLib2Error('Basic authentication: the user name may not contain ":"', { code: 'ERR_INVALID_REQUEST' });
  }
  return `Basic ${Buffer.from(`${name}:${password}`, 'utf8').toString('base64')}`;
}

class BasicSession implements AuthSession {
  readonly scheme = 'basic';
  readonly credential: Credential;
  readonly #value: string;

  constructor(credential: Credential) {
    assertSafeCredential(credential);
    this.credential = credential;
    this.#value = basicAuthorization(credential.name, credential.password);
  }

  authorize(): Authorization {
    return { headers: { authorization: this.#value }, next: this };
  }

  afterResponse(response: Response): AfterResponse {
    return response.status === 401 ? { kind: 'rejected' } : { kind: 'keep', session: this };
  }
}

/** The Basic scheme. */
export const basic: AuthScheme = {
  name: 'basic',
  open(_challenges: readonly Challenge[], credential: Credential): AuthSession {
    return new BasicSession(credential);
  },
};
