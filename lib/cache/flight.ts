/**
 * Cross-process single flight, decided (DESIGN.md, Stores): whether a request that must ask the
 * origin may take a store lease, and, round after round, whether it leads (asks the origin holding
 * the lease), waits for the answer another process is getting, uses the answer it stored, or goes to
 * the origin on its own. Pure: time is the `now` it is given; it never touches a store nor a timer.
 */
import type { HopRequest } from '../types.js';
import { parseDirectives } from './directives.js';
import type { StoredResponse } from './freshness.js';

/** The default lease time in ms (HttpOptions.leaseTtl): as long as a follower waits for a leader. */
export const DEFAULT_LEASE_TTL = 5000;

/** The first pause of a follower between two looks at the store, in ms; it doubles each time. */
export const FIRST_POLL_MS = 25;
/** The longest pause between two looks at the store, in ms. */
export const LAST_POLL_MS = 200;

/** Whether a request takes part in a cross-process flight, and if not, why (null: nothing to say). */
export type FlightPlan = { readonly kind: 'lease' } | { readonly kind: 'alone'; readonly reason: string | null };

/**
 * Whether `req`, which must ask the origin, may take a lease on a store that can hold one
 * (`canLease`). Only a GET without a body shares its answer; a Range request wants a part of its
 * own; a caller's no-store or no-cache asks for the origin's own answer (RFC 9111 §5.2.1.4, §5.2.1.5),
 * not one another process got.
 */
export function flightPlan(req: HopRequest, canLease: boolean, leaseTtl: number): FlightPlan {
  if (!canLease || leaseTtl === 0) return { kind: 'alone', reason: null };
  if (req.method !== 'GET' || req.body !== null) return { kind: 'alone', reason: null };
  const why = 'range' in req.headers ? 'a Range request' : callerRefusal(req);
  return why === null ? { kind: 'lease' } : { kind: 'alone', reason: `single flight: none for ${why}` };
}

function callerRefusal(req: HopRequest): string | null {
  const cc = parseDirectives(req.headers['cache-control'], req.headers['pragma']);
  return cc.noStore ? 'a request no-store' : cc.noCache ? 'a request no-cache' : null;
}

/** A follower's wait: when it began, until when it may last, how many looks it took so far. */
export interface Waiting {
  readonly since: number;
  readonly until: number;
  readonly round: number;
}

/**
 * The wait that begins at `now`: at most the lease time (a dead leader's lease has run out by then),
 * and at most half the request's `timeout` (ms, if any), so that a request asking on its own still
 * has the other half.
 */
export function startWaiting(now: number, leaseTtl: number, timeout: number | undefined): Waiting {
  const limit = timeout === undefined ? leaseTtl : Math.min(leaseTtl, timeout / 2);
  return { since: now, until: now + limit, round: 0 };
}

/** What one round found: the lease (taken, held by another, or the store failed), and the store. */
export interface Round {
  readonly lease: 'acquired' | 'held' | 'failed';
  /** True when the store holds a newer entry than the one the request looked up. */
  readonly newer: boolean;
}

/** The next move of a request in a cross-process flight. */
export type FlightMove =
  /** Ask the origin holding the lease; release it after the answer is stored. Nothing to note. */
  | { readonly kind: 'lead' }
  /** Look at the store again after `delay` ms. */
  | { readonly kind: 'wait'; readonly delay: number; readonly next: Waiting }
  /** Answer from the newer entry another process stored (release the lease if taken). */
  | { readonly kind: 'use'; readonly reason: string }
  /**
   * Ask the origin without the lease (release it if taken). `reason` null: the store failed at the
   * lease, which the debug output tells, not `cacheStatus` (the answer is the origin's as ever).
   */
  | { readonly kind: 'go'; readonly reason: string | null };

/**
 * The move after a round at `now`. A newer entry answers; a lease taken at the first round leads; a
 * lease taken later means the holder is gone (released without storing a newer answer, or expired)
 * and the request asks on its own rather than making the others wait in turn; a lease held by another
 * is waited on with a bounded back-off until the wait's end.
 */
export function nextMove(waiting: Waiting, round: Round, now: number): FlightMove {
  const waited = Math.max(0, Math.round(now - waiting.since));
  if (round.newer) {
    return { kind: 'use', reason: waiting.round === 0
      ? "single flight: another process's request stored a newer answer meanwhile: used"
      : `single flight: waited ${waited} ms for another process's request to the origin: its answer is used` };
  }
  switch (round.lease) {
    case 'failed':
      return { kind: 'go', reason: null };
    case 'acquired':
      return waiting.round === 0
        ? { kind: 'lead' }
        : { kind: 'go', reason: `single flight: after ${waited} ms the other process's lease ended without a newer answer: asking the origin` };
    case 'held': {
      if (now >= waiting.until) return { kind: 'go', reason: `single flight: waited ${waited} ms for another process's request: asking the origin` };
      const backoff = Math.min(FIRST_POLL_MS * 2 ** waiting.round, LAST_POLL_MS);
      return { kind: 'wait', delay: Math.max(1, Math.min(backoff, waiting.until - now)), next: { ...waiting, round: waiting.round + 1 } };
    }
    default:
      return assertNever(round.lease);
  }
}

/**
 * True when `found` (read from the store now) is another entry than `seen` (the one the request
 * looked up, null for none): written since, by a 200, a 304's freshening or a Retry-After.
 */
export function isNewer(seen: StoredResponse | null, found: StoredResponse | null): boolean {
  if (found === null) return false;
  if (seen === null) return true;
  return found.requestTime !== seen.requestTime || found.responseTime !== seen.responseTime
    || found.notBefore !== seen.notBefore || found.headers['etag'] !== seen.headers['etag']
    || found.headers['date'] !== seen.headers['date'];
}

function assertNever(x: never): never {
  throw new Error(`unexpected lease outcome ${JSON.stringify(x)}`);
}
