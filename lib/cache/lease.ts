/**
 * The lease a store can hold for cross-process single flight (DESIGN.md, Stores): the optional
 * `acquire`/`release` pair a store offers, the check for it, and what every store's lease shares (a
 * random token, a digest of the lease key). A store without the pair simply gets no cross-process
 * flight. Nothing here decides when to lead or wait (flight.ts does).
 */
import { createHash, randomBytes } from 'node:crypto';

/**
 * A store's lease: at most one holder per key across every process (or machine) on the store, until
 * it releases or its time runs out, so that a holder that died never blocks the others for long.
 */
export interface LeaseStore {
  /**
   * Takes the lease on `key` for `ttlMs` milliseconds: the new holder's token, or null while another
   * holder's lease is running. An expired lease is taken over.
   */
  acquire(key: string, ttlMs: number): Promise<string | null>;
  /** Gives the lease on `key` back, if `token` still holds it (never another holder's lease). */
  release(key: string, token: string): Promise<unknown>;
}

/** The lease of `store` when it offers one (acquire and release functions), else null. */
export function leasesOf(store: unknown): LeaseStore | null {
  const s = store as Partial<Record<keyof LeaseStore, unknown>> | null;
  return s !== null && typeof s === 'object' && typeof s.acquire === 'function' && typeof s.release === 'function' ? (s as LeaseStore) : null;
}

/** A fresh holder's token: 128 random bits, so only its holder can release a lease. */
export function newLeaseToken(): string {
  return randomBytes(16).toString('hex');
}

/**
 * The name a lease is kept under in a store, from its key (and the store's namespace, if it has
 * one): a SHA-256, so that no header value of the request is ever written in clear, and every name
 * has the same short, file-safe shape.
 */
export function leaseDigest(key: string, namespace = ''): string {
  return createHash('sha256').update(namespace).update('\n').update(key).digest('hex');
}
