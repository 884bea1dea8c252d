/**
 * The credentials registered on an Http, each scoped to a domain or to the origins the caller asked
 * for. Holds data only; the auth driver decides when to use them.
 */
import { HttpLib2Error } from '../errors.js';

export interface Credential {
  readonly name: string;
  readonly password: string;
  /** `host` or `host:port`, lower-cased; '' answers any origin the caller asked for. */
  readonly domain: string;
}

/** Registered credentials; immutable snapshots are handed to each request. */
export class CredentialStore {
  #items: readonly Credential[] = [];

  add(name: string, password: string, domain = ''): void {
    for (const [what, v] of [['name', name], ['password', password], ['domain', domain]] as const) {
      if (typeof v !== 'string') {
        throw new HttpLib2Error(`addCredentials: ${what} must be a string`, { code: 'ERR_INVALID_REQUEST' });
      }
      if (/[\0\r\n]/.test(v)) {
        throw new HttpLib2Error(`addCredentials: ${what} contains CR, LF or NUL`, { code: 'ERR_INVALID_REQUEST' });
      }
    }
    this.#items = [...this.#items, { name, password, domain: domain.toLowerCase() }];
  }

  clear(): void {
    this.#items = [];
  }

  /** The credentials at this moment (a new array; later changes do not affect it). */
  snapshot(): readonly Credential[] {
    return this.#items;
  }

  get size(): number {
    return this.#items.length;
  }
}
