/**
 * The credentials registered on an Http, each scoped to an origin, a domain or the origins the
 * caller asked for, and the protection spaces where an earlier answer may be sent pre-emptively.
 * Holds data and answers scoping questions; the auth driver decides when to use them. It must never
 * let credentials without a domain answer an origin the caller did not ask for (one reached by a
 * redirect), nor a credential bound to one scheme answer over another.
 */
import { HttpLib2Error } from '../errors.js';
import { originOf } from '../uri.js';
import type { Credential, CredentialLookup } from '../types.js';
import type { AuthSession } from './session.js';

export type { Credential };

/** One protection space that accepted an answer: later requests under `path` on `origin` reuse it. */
interface Space {
  readonly origin: string;
  /** The directory of the URI that succeeded, ending in `/`. */
  readonly path: string;
  session: AuthSession;
}

const UNSAFE = /[\0\r\n]/;

// A long-lived Http crawling many directories must not grow without bound: the oldest space goes.
const MAX_SPACES = 1000;

/**
 * Refuses credentials that could split a header (CR, LF) or truncate it (NUL), for every scheme and
 * before anything is sent.
 */
export function assertSafeCredential(credential: Pick<Credential, 'name' | 'password'>): void {
  if (UNSAFE.test(credential.name) || UNSAFE.test(credential.password)) {
    throw new HttpLib2Error('Credentials containing CR, LF or NUL are refused', { code: 'ERR_INVALID_REQUEST' });
  }
}

/**
 * True if `credential` may answer a challenge from `url`: its origin is the URL's, its domain names
 * the host (and the port, when given), or it has no domain and the caller asked for this origin.
 * (Whatever the domain, nothing answers after an https → http hop: the driver sees to that.)
 */
export function credentialApplies(credential: Credential, url: URL, requestedOrigins: ReadonlySet<string>): boolean {
  if (credential.origin !== undefined) return credential.origin === originOf(url);
  if (credential.domain === '') return requestedOrigins.has(originOf(url));
  const { host, port } = splitDomain(credential.domain);
  if (host !== url.hostname.toLowerCase()) return false;
  return port === null || port === (url.port || (url.protocol === 'https:' ? '443' : '80'));
}

// `host`, `host:port`, `[v6]` or `[v6]:port`.
function splitDomain(domain: string): { host: string; port: string | null } {
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(domain);
  if (!m) return { host: domain, port: null };
  return { host: m[1]!, port: m[2] ?? null };
}

// RFC 6454 §4: an origin is a scheme, a host and a port; `https://host` names port 443. A path,
// query, fragment or user info would suggest a narrower scope than the one applied, so they are
// refused rather than ignored.
const ORIGIN_FORM = /^https?:\/\/[^/?#@\\]+\/?$/i;

function parseOriginForm(domain: string): string | undefined {
  if (!domain.includes('://')) return undefined;
  let url: URL | null = null;
  try {
    if (ORIGIN_FORM.test(domain)) url = new URL(domain);
  } catch {
    // reported below
  }
  if (!url) {
    throw new HttpLib2Error(
      `addCredentials: domain ${JSON.stringify(domain)} is neither host, host:port nor an origin (http[s]://host[:port])`,
      { code: 'ERR_INVALID_REQUEST' },
    );
  }
  return originOf(url);
}

/** The directory part of a path: `/dir/index.html` → `/dir/`. */
function directoryOf(url: URL): string {
  const path = url.pathname || '/';
  return path.slice(0, path.lastIndexOf('/') + 1) || '/';
}

/** Registered credentials and the protection spaces they have opened. */
export class CredentialStore implements CredentialLookup {
  #items: readonly Credential[] = [];
  #spaces: Space[] = [];
  // The identity standing for several candidates ({@link match}), by their registration indexes.
  #together = new Map<string, Credential>();

  add(name: string, password: string, domain = ''): void {
    for (const [what, v] of [['name', name], ['password', password], ['domain', domain]] as const) {
      if (typeof v !== 'string') {
        throw new HttpLib2Error(`addCredentials: ${what} must be a string`, { code: 'ERR_INVALID_REQUEST' });
      }
      if (UNSAFE.test(v)) {
        throw new HttpLib2Error(`addCredentials: ${what} contains CR, LF or NUL`, { code: 'ERR_INVALID_REQUEST' });
      }
    }
    const origin = parseOriginForm(domain);
    const credential: Credential = { name, password, domain: domain.toLowerCase(), ...(origin !== undefined ? { origin } : {}) };
    this.#items = [...this.#items, credential];
  }

  /** Forgets every credential and every protection space opened with them. */
  clear(): void {
    this.#items = [];
    this.#spaces = [];
    this.#together.clear();
  }

  /** The credentials at this moment (a new array; later changes do not affect it). */
  snapshot(): readonly Credential[] {
    return this.#items;
  }

  get size(): number {
    return this.#items.length;
  }

  /**
   * The credentials that may answer a challenge from `url`, in the order they are tried: the order
   * they were registered in, whatever their domain (httplib2's `Credentials.iter`).
   */
  candidates(url: URL, requestedOrigins: ReadonlySet<string>): readonly Credential[] {
    return this.#items.filter((c) => credentialApplies(c, url, requestedOrigins));
  }

  /**
   * The credential an answer from `url` is keyed by in the cache (DESIGN.md, Identity), or null
   * when none applies. With one candidate, that credential. With several, any of them may be the
   * one the server accepts (each is tried in turn), so the key stands for all of them: a value named
   * after the first candidate whose password field holds every candidate's name and password, in
   * order. It is never sent; it is the same object while the registrations stay the same, so the
   * cache derives its digest once.
   */
  match(url: URL, requestedOrigins: ReadonlySet<string>): Credential | null {
    const candidates = this.candidates(url, requestedOrigins);
    if (candidates.length <= 1) return candidates[0] ?? null;
    const key = candidates.map((c) => this.#items.indexOf(c)).join(',');
    let together = this.#together.get(key);
    if (together === undefined) {
      const password = JSON.stringify(candidates.map((c) => [c.name, c.password]));
      together = Object.freeze({ name: candidates[0]!.name, password, domain: '' });
      this.#together.set(key, together);
    }
    return together;
  }

  /**
   * The session to send pre-emptively to `url`: the deepest protection space containing it that
   * was opened with a credential that may answer here now ({@link candidates}), so an answer never
   * goes where its credential no longer applies.
   */
  sessionFor(url: URL, requestedOrigins: ReadonlySet<string>): AuthSession | null {
    const candidates = this.candidates(url, requestedOrigins);
    if (candidates.length === 0) return null;
    const origin = originOf(url);
    const path = url.pathname || '/';
    let best: Space | null = null;
    for (const s of this.#spaces) {
      if (s.origin !== origin || !path.startsWith(s.path)) continue;
      if (!candidates.includes(s.session.credential)) continue;
      if (!best || s.path.length > best.path.length) best = s;
    }
    return best ? best.session : null;
  }

  /**
   * Records `session` for the space of `url` (the directory of its path), replacing an earlier one;
   * wherever a session of `replaces` is remembered (the one `session` succeeds: a Digest nonce renewed
   * by stale=true or replaced by a nextnonce), `session` takes its place too.
   */
  remember(url: URL, session: AuthSession, replaces: readonly AuthSession[] = []): void {
    if (!this.#items.includes(session.credential)) return; // cleared meanwhile
    for (const s of this.#spaces) if (replaces.includes(s.session)) s.session = session;
    const origin = originOf(url);
    const path = directoryOf(url);
    const existing = this.#spaces.find((s) => s.origin === origin && s.path === path);
    if (existing) existing.session = session;
    else {
      this.#spaces.push({ origin, path, session });
      if (this.#spaces.length > MAX_SPACES) this.#spaces.shift();
    }
  }

  /** Forgets every space using `session` (its credentials were refused). */
  forget(session: AuthSession): void {
    this.#spaces = this.#spaces.filter((s) => s.session !== session);
  }
}
