/**
 * The schemes by name, and the two choices made from them: the strongest scheme a realm answers among
 * the challenges offered, and what goes to a realm up front. The registry imports every scheme and no
 * scheme imports it (nor the session interface they share), so auth/ has no import circle. Pure.
 */
import type { Credential } from '../types.js';
import { basic } from './basic.js';
import type { Challenge } from './challenge.js';
import { digest } from './digest.js';
import { hmacDigest } from './hmac-digest.js';
import type { Realm, SchemeName } from './realm.js';
import type { AuthScheme, AuthSession } from './session.js';
import { wsse } from './wsse.js';

const SCHEMES: Readonly<Record<SchemeName, AuthScheme>> = Object.freeze({ hmacdigest: hmacDigest, digest, wsse, basic });

/** A scheme and the challenges that name it, in the order they came. */
export interface Offered {
  readonly scheme: AuthScheme;
  readonly challenges: readonly Challenge[];
}

/**
 * The strongest scheme of `realm` among `challenges` (the realm's order: httplib2's hmacdigest,
 * digest, wsse, basic for an origin), with its challenges; null if none. Only this one is tried, so
 * a server offering Digest is never answered with Basic.
 */
export function strongestOffered(challenges: readonly Challenge[], realm: Realm): Offered | null {
  for (const name of realm.schemes) {
    const mine = challenges.filter((c) => c.scheme === name);
    if (mine.length > 0) return { scheme: SCHEMES[name], challenges: mine };
  }
  return null;
}

/**
 * What goes up front to a realm nothing has been learned about yet: Basic with `credential` where the
 * realm sends it so (a proxy, as httplib2 does), else nothing. A user-id containing ":" cannot be sent
 * as Basic (RFC 7617 §2), so it waits for a challenge.
 */
export function upfrontSession(realm: Realm, credential: Credential | null): AuthSession | null {
  if (!realm.basicUpfront || credential === null) return null;
  const opened = basic.open([], credential, realm);
  return opened.kind === 'session' ? opened.session : null;
}
