/**
 * Cross-process single flight, carried out: the one request of a process that must ask the origin
 * (in-process coalescing already chose it) takes the store's lease and asks, or waits for the answer
 * another process holding the lease stores, then answers from it. flight.ts decides each move; this
 * file does the store calls (bounded by the store guard: a failing or stalled store only means the
 * origin is asked) and the pauses (ended by the request's deadline). It never lets a lease outlive
 * its request, and never releases a lease it does not hold.
 */
import { performance } from 'node:perf_hooks';
import type { Exchange } from '../types.js';
import { flightKey } from './coalesce.js';
import type { CacheEntry } from './entry.js';
import { flightPlan, isNewer, nextMove, startWaiting, type Round, type Waiting } from './flight.js';
import { guardedLeases, StoreUnavailable } from './guarded-store.js';
import type { LeaseStore } from './lease.js';
import type { Ask } from './policy.js';
import type { Visit } from './visit.js';

/** What the cache layer lends a flight: asking the origin, and going on from a newer entry. */
export interface FlightHooks {
  /** Asks the origin with `ask` and carries the visit to its end (the answer stored). */
  readonly ask: (ask: Ask) => Promise<Exchange>;
  /** Carries the visit on from `entry`, a newer one another process stored (looked up again). */
  readonly resume: (entry: CacheEntry) => Promise<Exchange>;
}

/** A lease taken, and how to give it back. */
interface Taken {
  readonly lease: Round['lease'];
  readonly token: string | null;
}

/**
 * Asks the origin for `visit` once across every process on its store: leads under the store's lease,
 * or waits for the leader's stored answer; without a lease (a store that has none, a request that
 * may not share), simply asks.
 */
export async function acrossProcesses(visit: Visit, ask: Ask, hooks: FlightHooks): Promise<Exchange> {
  const leases = guardedLeases(visit.store);
  const { leaseTtl, timeout } = visit.ctx.settings;
  const plan = flightPlan(visit.req, leases !== null, leaseTtl);
  if (plan.kind === 'alone' || leases === null) {
    visit.note(plan.kind === 'alone' ? plan.reason : null);
    return hooks.ask(ask);
  }
  const key = flightKey(visit.key, visit.req.headers);
  const seen = visit.entry;
  // Real elapsed time, not the request's clock: an injected clock may stand still.
  let waiting: Waiting = startWaiting(performance.now(), leaseTtl, timeout);
  for (;;) {
    const taken = await take(visit, leases, key, leaseTtl);
    const found = taken.lease === 'failed' ? null : await lookAgain(visit, () => give(leases, key, taken.token));
    const move = nextMove(waiting, { lease: taken.lease, newer: isNewer(seen, found) }, performance.now());
    if (move.kind === 'wait') {
      await pause(move.delay, visit.ctx.signal);
      waiting = move.next;
      continue;
    }
    if (move.kind === 'lead') return leading(ask, hooks, () => give(leases, key, taken.token));
    visit.note(move.reason);
    await give(leases, key, taken.token);
    return move.kind === 'use' ? hooks.resume(found!) : hooks.ask(ask);
  }
}

// The leader asks, stores the answer, and only then gives the lease back: a follower that then takes
// it finds the newer entry first.
async function leading(ask: Ask, hooks: FlightHooks, release: () => Promise<void>): Promise<Exchange> {
  try {
    return await hooks.ask(ask);
  } finally {
    await release();
  }
}

// The store read again; a request that ends meanwhile gives back the lease it took.
async function lookAgain(visit: Visit, release: () => Promise<void>): Promise<CacheEntry | null> {
  try {
    return await visit.read();
  } catch (error) {
    await release();
    throw error;
  }
}

// One try for the lease. A store that fails, stalls past its budget or is skipped by its breaker
// costs nothing but the flight: told to the debug output only, since the answer is the origin's as
// it would be without a lease. The request's own end still ends the request.
async function take(visit: Visit, leases: LeaseStore, key: string, ttl: number): Promise<Taken> {
  try {
    const token = await leases.acquire(key, ttl);
    return { lease: token === null ? 'held' : 'acquired', token };
  } catch (error) {
    if (visit.ctx.signal?.aborted) throw visit.ctx.signal.reason;
    visit.ctx.note(`single flight: lease not taken (${error instanceof StoreUnavailable ? error.message : describe(error)}): asking the origin`);
    return { lease: 'failed', token: null };
  }
}

// Gives a lease back; never throws (an unreleased lease runs out at its time).
async function give(leases: LeaseStore, key: string, token: string | null): Promise<void> {
  if (token === null) return;
  try {
    await leases.release(key, token);
  } catch {
    // the lease expires on its own
  }
}

// A pause that the request's deadline or abort ends (with its reason), leaving no timer behind.
function pause(ms: number, signal: AbortSignal | null): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason as Error);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? `${(error as { code?: string }).code ?? error.name}: ${error.message}` : String(error);
}
