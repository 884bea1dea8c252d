/**
 * Who asked: `speakerOf`, the one answer the cache and the auth layer both read, and for the cache
 * key (DESIGN.md, Identity) a digest of the request's credentials and cookies that keeps no secret
 * and costs a request nothing measurable. Passwords the library holds go through scrypt once per
 * credential; high-entropy headers (tokens, signatures) through HMAC-SHA-256. Both are keyed by a
 * random key kept in the cache store itself. Memos live in an {@link IdentityDigests} owned by one
 * Http, are keyed by objects or keyed digests (never by a secret), and are emptied by `clear()`.
 */
import { createHmac, randomBytes, scrypt } from 'node:crypto';
import type { Credential, CredentialLookup, HopRequest } from './types.js';

/** A password the library holds: a registered credential (`addCredentials`). */
export interface PasswordCredential {
  readonly name: string;
  readonly password: string;
}

/** What identifies a caller besides credentials: its Cookie and X-WSSE headers, if any. */
export interface Tokens {
  /** The caller's Cookie header: a session cookie identifies a user as Authorization does. */
  readonly cookie: string | undefined;
  /** The caller's own X-WSSE header (a WSSE UsernameToken signature). */
  readonly wsse: string | undefined;
}

/**
 * Who speaks in a request (DESIGN.md, Identity), as the cache keys it and the auth layer answers for
 * it: `caller` — the caller's own Authorization, which wins (it is never replaced, and no challenge
 * is answered for it); `registered` — credentials registered on the Http apply to this URI
 * (`candidates` in the order they are tried, `key` the one the cache keys the answer by);
 * `anonymous` — neither.
 */
export type Speaker = Tokens & (
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'caller'; readonly authorization: string }
  | { readonly kind: 'registered'; readonly candidates: readonly Credential[]; readonly key: PasswordCredential }
);

/**
 * The speaker of `req`: the one answer the cache and the auth layer both use. Pure; the credentials
 * are only read. (After an https → http hop the auth layer sends nothing whatever this says.)
 */
export function speakerOf(req: HopRequest, credentials: CredentialLookup, requestedOrigins: ReadonlySet<string>): Speaker {
  const { authorization, cookie, 'x-wsse': wsse } = req.headers;
  if (authorization !== undefined) return { kind: 'caller', authorization, cookie, wsse };
  if (credentials.size > 0) {
    const key = credentials.match(req.url, requestedOrigins);
    if (key !== null) return { kind: 'registered', candidates: credentials.candidates(req.url, requestedOrigins), key, cookie, wsse };
  }
  return { kind: 'anonymous', cookie, wsse };
}

/**
 * The part of a cache store the identity key is kept in. A per-request view of a store (one bound to
 * a request's deadline) names the store it views as `shared`: the key is the store's, not the view's.
 */
export interface KeyStore {
  get(key: string): unknown;
  set(key: string, value: Buffer): unknown;
  readonly shared?: object;
}

/** A store's identity key; `lasting` false when the store could not be asked (try again next time). */
export interface IdentityKey {
  readonly key: Buffer;
  readonly lasting: boolean;
}

/** The store key under which the identity key lives; never a cache key (those are absolute URIs). */
export const IDENTITY_KEY_NAME = 'httplib2-ts:identity-key';

// `HL2K`, a version byte, 32 random bytes.
const KEY_MAGIC = Buffer.from('HL2K\x01', 'latin1');
const KEY_BYTES = 32;
// scrypt (RFC 7914) for passwords: ~40 ms and 16 MiB per guess, once per credential.
const SCRYPT_OPTIONS = { N: 1 << 14, r: 8, p: 1 };
const DIGEST_BYTES = 16;
// A long-lived Http meeting many callers' Basic credentials must not grow without bound.
const BASIC_MEMO_LIMIT = 256;

/** The digests of one store's identity key. */
interface StoreDigests {
  readonly key: Promise<IdentityKey>;
  /** Registered credentials, by object: the credential store holds the password, this only its digest. */
  readonly credentials: WeakMap<PasswordCredential, Promise<string>>;
  /** A caller's Basic header, by a keyed digest of it (see `#memoKey`), never by the header itself. */
  readonly basics: Map<string, Promise<string>>;
}

/**
 * The identity digests of one Http: computes a request's identity and remembers what is slow to
 * compute. `clear()` (called by `clearCredentials()` and `close()`) forgets everything.
 */
export class IdentityDigests {
  #stores = new WeakMap<object, StoreDigests>();
  // Keys the Basic memo; random per Http and never stored, so the memo's keys say nothing.
  #memoKey = randomBytes(32);

  /**
   * The identity of a speaker for the cache key of `store`, or null when nothing identifies it: the
   * caller's Authorization (scrypt for Basic, which carries a password; HMAC for any other scheme),
   * else the registered credential (its user name, with a scrypt digest of name and password); then
   * HMACs of the caller's X-WSSE and Cookie.
   */
  identify(speaker: Speaker, store: KeyStore): Promise<string | null> | null {
    if (speaker.kind === 'anonymous' && speaker.cookie === undefined && speaker.wsse === undefined) return null;
    return this.#identify(speaker, this.#digests(store));
  }

  /** Forgets the store keys and every digest computed with them. */
  clear(): void {
    this.#stores = new WeakMap();
    this.#memoKey = randomBytes(32);
  }

  async #identify(speaker: Speaker, digests: StoreDigests): Promise<string> {
    const { key } = await digests.key;
    const parts: string[] = [];
    if (speaker.kind === 'caller') parts.push(`authorization:${await this.#authorization(speaker.authorization, key, digests)}`);
    else if (speaker.kind === 'registered') {
      const { name } = speaker.key;
      parts.push(`user:${encodeURIComponent(name)}:${await credentialDigest(speaker.key, key, digests)}`);
    }
    // Session cookies and WSSE tokens are random values, not passwords: a keyed hash, no KDF.
    if (speaker.wsse !== undefined) parts.push(`x-wsse:${hmac(key, 'x-wsse', speaker.wsse)}`);
    if (speaker.cookie !== undefined) parts.push(`cookie:${hmac(key, 'cookie', speaker.cookie)}`);
    return parts.join(' ');
  }

  #digests(store: KeyStore): StoreDigests {
    const owner = store.shared ?? store;
    let digests = this.#stores.get(owner);
    if (digests === undefined) {
      // loadIdentityKey never rejects: a store that fails gives this request a key of its own, and
      // the next request asks the store again (a late or failing store must not leave this Http on a
      // key no other process shares for its whole life).
      const made: StoreDigests = { key: loadIdentityKey(store), credentials: new WeakMap(), basics: new Map() };
      void made.key.then(({ lasting }) => {
        if (!lasting && this.#stores.get(owner) === made) this.#stores.delete(owner);
      });
      this.#stores.set(owner, made);
      digests = made;
    }
    return digests;
  }

  // Basic carries a password (possibly a weak one): scrypt, once per header. Any other scheme carries
  // a token or a signature, high-entropy and often new on every request: a keyed hash, no KDF.
  #authorization(header: string, key: Buffer, digests: StoreDigests): Promise<string> {
    if (!/^basic\s/i.test(header)) return Promise.resolve(hmac(key, 'authorization', header));
    const memoKey = hmac(this.#memoKey, 'basic', header);
    let digest = digests.basics.get(memoKey);
    if (digest === undefined) {
      if (digests.basics.size >= BASIC_MEMO_LIMIT) digests.basics.clear();
      digest = slowDigest(key, 'authorization', header);
      digests.basics.set(memoKey, digest);
    }
    return digest;
  }
}

function credentialDigest(credential: PasswordCredential, key: Buffer, digests: StoreDigests): Promise<string> {
  let digest = digests.credentials.get(credential);
  if (digest === undefined) {
    digest = slowDigest(key, 'credential', JSON.stringify([credential.name, credential.password]));
    digests.credentials.set(credential, digest);
  }
  return digest;
}

/** HMAC-SHA-256 of `value` under the store's key, for one `purpose`; hex, 128 bits. */
function hmac(key: Buffer, purpose: string, value: string): string {
  return createHmac('sha256', key).update(`${purpose}\0${value}`).digest().subarray(0, DIGEST_BYTES).toString('hex');
}

/** scrypt of `value` salted with the store's key and `purpose`, in the thread pool; hex, 128 bits. */
function slowDigest(key: Buffer, purpose: string, value: string): Promise<string> {
  const salt = Buffer.concat([key, Buffer.from(purpose, 'latin1')]);
  return new Promise((resolve, reject) => {
    scrypt(value, salt, DIGEST_BYTES, SCRYPT_OPTIONS, (error, derived) => (error ? reject(error) : resolve(derived.toString('hex'))));
  });
}

/**
 * The store's identity key: read from the store, or made and written there by the first Http that
 * needs one, so every process on the store derives the same digests and shares the entries. Two
 * processes making one at once: each reads back what the store kept after writing, and the rare
 * loser of the race keeps its own (its identified entries are misses for the others, never wrong
 * hits). A store that does not answer (an error, a late answer, a breaker open) may hold a key all
 * the same: nothing is written then, which would replace that key under every other process; the
 * request gets a key of its own, not lasting, and the next one asks again.
 */
export async function loadIdentityKey(store: KeyStore): Promise<IdentityKey> {
  const read = await readKey(store);
  if (read.kind === 'found') return { key: read.key, lasting: true };
  const made = randomBytes(KEY_BYTES);
  if (read.kind === 'unanswered') return { key: made, lasting: false };
  try {
    await store.set(IDENTITY_KEY_NAME, Buffer.concat([KEY_MAGIC, made]));
  } catch {
    return { key: made, lasting: false };
  }
  const back = await readKey(store);
  return back.kind === 'found' ? { key: back.key, lasting: true } : { key: made, lasting: false };
}

type KeyRead = { readonly kind: 'found'; readonly key: Buffer } | { readonly kind: 'absent' } | { readonly kind: 'unanswered' };

async function readKey(store: KeyStore): Promise<KeyRead> {
  let value: unknown;
  try {
    value = await store.get(IDENTITY_KEY_NAME);
  } catch {
    return { kind: 'unanswered' };
  }
  const bytes = Buffer.isBuffer(value) ? value
    : value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength)
    : typeof value === 'string' ? Buffer.from(value, 'latin1')
    : null;
  // Nothing there, or something that is not a key of ours (damaged): a new key replaces it.
  if (bytes === null || bytes.length !== KEY_MAGIC.length + KEY_BYTES || !bytes.subarray(0, KEY_MAGIC.length).equals(KEY_MAGIC)) return { kind: 'absent' };
  // A copy: the store's buffer may be reused or changed.
  return { kind: 'found', key: Buffer.from(bytes.subarray(KEY_MAGIC.length)) };
}
