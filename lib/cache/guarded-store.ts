/**
 * The one bound around every cache store (FileCache, MemoryCache, keyv, a custom object): each call
 * has a store budget; a read that has not answered within it is a miss, and a write or delete stops
 * delaying the answer at the budget while it goes on in the background. A per-request view also
 * gives up at the request's deadline. Reads and writes each have a circuit breaker (breaker.ts): a
 * side that keeps failing is skipped for a while, then probed. It must never let a store hold a
 * request: no hang, no late answer, no unhandled rejection of a call it stopped waiting for.
 */
import { performance } from 'node:perf_hooks';
import { untilAborted } from '../abort.js';
import { DEBUG_NAMESPACE } from '../debug.js';
import { HttpLib2Error } from '../errors.js';
import { admit, afterCall, CLOSED, type Breaker } from './breaker.js';
import { leasesOf, type LeaseStore } from './lease.js';
import { readerOf, sharesValues, type CacheStore } from './store.js';

/**
 * The default store budget in ms: a local store answers in well under a millisecond and Redis on a
 * LAN in about one, so 250 ms passes only for a store in trouble, and stays small next to a network
 * answer.
 */
export const DEFAULT_STORE_TIMEOUT = 250;

// `then` once every write of `writing` has settled (at once when none is under way).
function afterWrites<T>(writing: ReadonlySet<Promise<unknown>>, then: () => Promise<T>): Promise<T> {
  return writing.size === 0 ? then() : Promise.all(writing).then(then);
}

/** The store operations the guard bounds. */
export type StoreOperation = 'get' | 'set' | 'delete' | 'acquire' | 'release';

/**
 * A store call the guard did not wait for: `late` (over the budget; the call goes on in the
 * background) or `skipped` (its side of the store keeps failing; the call was never made). Code
 * `ERR_CACHE`; the message says what happened, for `cacheStatus`.
 */
export class StoreUnavailable extends HttpLib2Error {
  /** Why the call was not waited for. */
  readonly reason: 'late' | 'skipped';
  constructor(message: string, reason: 'late' | 'skipped') {
    super(message, { code: 'ERR_CACHE' });
    this.reason = reason;
  }
}

/** How a {@link GuardedStore} bounds its store. */
export interface GuardOptions {
  /** The store budget in ms. */
  readonly timeout: number;
  /** Receives a line when a side of the store is given up or answers again (the debug output). */
  readonly report?: ((line: string) => void) | null;
}

type MaybePromise<T> = T | Promise<T>;

function isThenable<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/**
 * A {@link CacheStore} that bounds each call of the store it wraps. Values pass through untouched
 * (the very same object), so a store's own memo of unchanged bytes still helps the cache layer.
 */
export class GuardedStore implements CacheStore {
  /** The wrapped store. */
  readonly store: CacheStore;
  /** The store budget in ms. */
  readonly timeout: number;
  readonly #deadlines: Deadlines;
  readonly #reads: Side;
  readonly #writes: Side;
  /** The wrapped store's lease, bounded like its other calls (lease writes count as writes); null without one. */
  readonly leases: LeaseStore | null;
  // The writes and deletes under way in the store (for leases only: kept when the store has none).
  readonly #writing = new Set<Promise<unknown>>();
  readonly #read: (key: string) => ReturnType<CacheStore['get']>;
  /** Whether the wrapped store hands over the very bytes it holds (store.ts, READ_SHARED). */
  readonly sharesValues: boolean;

  constructor(store: CacheStore, options: GuardOptions) {
    this.store = store;
    this.#read = readerOf(store);
    this.sharesValues = sharesValues(store);
    this.timeout = options.timeout;
    this.#deadlines = new Deadlines(options.timeout);
    const report = options.report ?? null;
    this.#reads = new Side('reads', report);
    this.#writes = new Side('writes', report);
    const leases = leasesOf(store);
    this.leases = leases === null ? null : {
      acquire: (key, ttlMs) => {
        let taken: Promise<string | null> | null = null;
        return Promise.resolve(this.#call('acquire', () => (taken = leases.acquire(key, ttlMs))))
          .catch((error: unknown) => giveBackLate(taken, leases, key, error));
      },
      // A lease is given back once the writes under way have landed, even those the guard stopped
      // waiting for: a follower that takes the lease must find the leader's answer stored.
      release: (key, token) => Promise.resolve(this.#call('release', () => afterWrites(this.#writing, () => leases.release(key, token)))),
    };
  }

  get(key: string): ReturnType<CacheStore['get']> {
    return this.#call('get', () => this.#read(key));
  }

  set(key: string, value: Buffer): MaybePromise<unknown> {
    return this.#call('set', () => this.#tracked(this.store.set(key, value)));
  }

  delete(key: string): MaybePromise<unknown> {
    return this.#call('delete', () => this.#tracked(this.store.delete(key)));
  }

  #tracked<T>(result: MaybePromise<T>): MaybePromise<T> {
    if (this.leases === null || !isThenable(result)) return result;
    const landed = result.then(() => undefined, () => undefined);
    this.#writing.add(landed);
    void landed.then(() => this.#writing.delete(landed));
    return result;
  }

  /**
   * This store as seen by one request: every call also ends, rejecting with the signal's reason,
   * when `signal` aborts (the request's deadline or the caller's abort).
   */
  during(signal: AbortSignal | null): CacheStore {
    return signal === null ? this : new RequestStore(this, signal);
  }

  // A synchronous store has answered by the time it returns: nothing to bound (nor can a blocking
  // call be interrupted from the same thread). A promise is raced against the budget. Every ending
  // (an answer, an error, the budget) is told to the side's breaker once.
  #call<T>(operation: StoreOperation, run: () => MaybePromise<T>): MaybePromise<T> {
    const side = operation === 'get' ? this.#reads : this.#writes;
    // A release is always tried, breaker or not: skipping it would hold the other processes back
    // until the lease's time runs out, for a leader that is done.
    const admission = operation === 'release' ? null : side.admit();
    if (admission !== null) return Promise.reject(admission);
    const probe = side.probing;
    let result: MaybePromise<T>;
    try {
      result = run();
    } catch (error) {
      side.ended(probe, error);
      return Promise.reject(error as Error);
    }
    if (!isThenable(result)) {
      side.ended(probe, null);
      return result;
    }
    const pending = result;
    return new Promise<T>((resolve, reject) => {
      const call = this.#deadlines.add(() => {
        const late = new StoreUnavailable(`store ${operation} took longer than ${this.timeout} ms`, 'late');
        side.ended(probe, late);
        reject(late);
      });
      pending.then(
        (value) => {
          if (this.#deadlines.remove(call)) side.ended(probe, null);
          resolve(value);
        },
        (error: unknown) => {
          if (this.#deadlines.remove(call)) side.ended(probe, error);
          reject(error as Error);
        },
      );
    });
  }
}

/** The reads or the writes of a store, with their breaker. */
class Side {
  readonly #name: 'reads' | 'writes';
  readonly #report: ((line: string) => void) | null;
  #state: Breaker = CLOSED;
  /** Whether the call just admitted is the probe of an open breaker. */
  probing = false;

  constructor(name: 'reads' | 'writes', report: ((line: string) => void) | null) {
    this.#name = name;
    this.#report = report;
  }

  /** null when the call may go to the store; otherwise the error it is skipped with. */
  admit(): StoreUnavailable | null {
    if (this.#state === CLOSED) {
      this.probing = false;
      return null;
    }
    const admission = admit(this.#state, performance.now());
    this.#state = admission.next;
    if (admission.kind === 'call') {
      this.probing = admission.probe;
      return null;
    }
    const next = admission.retryIn > 0 ? `next try in ${(admission.retryIn / 1000).toFixed(1)} s` : 'a probe is under way';
    return new StoreUnavailable(
      `store ${this.#name} skipped (${admission.failures} failures in a row, ${admission.skipped} calls skipped; ${next})`,
      'skipped',
    );
  }

  /** Tells the breaker how a call ended: `error` null for an answer. */
  ended(probe: boolean, error: unknown): void {
    // The hot path: a healthy store answering.
    if (error === null && this.#state === CLOSED) return;
    const before = this.#state;
    const outcome = afterCall(before, { ok: error === null, probe }, performance.now());
    this.#state = outcome.next;
    if (this.#report === null || outcome.change === null) return;
    const why = error instanceof Error ? error.message : String(error);
    const line = outcome.change === 'closed'
      ? `store ${this.#name} answer again${before.kind === 'closed' ? '' : ` (${before.skipped} calls were skipped)`}`
      : outcome.change === 'opened'
        ? `store ${this.#name} skipped for ${outcome.skipFor / 1000} s after ${outcome.next.failures} failures in a row (last: ${why})`
        : `store ${this.#name} still failing (${why}): skipped for ${outcome.skipFor / 1000} s`;
    this.#report(`${DEBUG_NAMESPACE} ! ${line}`);
  }
}

/**
 * The caller stopped waiting for an acquire (the store budget ran out, the request ended) that may
 * still take the lease: whatever token it later returns is given back, so no lease is held by no one
 * until its time runs out. Rethrows `error` for the caller.
 */
function giveBackLate(taken: Promise<string | null> | null, leases: LeaseStore, key: string, error: unknown): never {
  void taken?.then((token) => (token === null ? undefined : leases.release(key, token))).catch(() => undefined);
  throw error;
}

/** A {@link GuardedStore} bound to one request's signal. */
class RequestStore implements CacheStore {
  readonly #guard: GuardedStore;
  readonly #signal: AbortSignal;
  /** The store this view bounds: what is kept per store (the identity key) is kept for it. */
  readonly shared: GuardedStore;
  #leases: LeaseStore | null | undefined;
  constructor(guard: GuardedStore, signal: AbortSignal) {
    this.#guard = guard;
    this.#signal = signal;
    this.shared = guard;
  }
  /**
   * The guard's lease, also ending at the request's signal; null without one. Made on first use:
   * most requests (hits, unsafe methods) never take a lease, and this view is made for every one.
   */
  get leases(): LeaseStore | null {
    if (this.#leases !== undefined) return this.#leases;
    const leases = this.#guard.leases;
    const signal = this.#signal;
    this.#leases = leases === null ? null : {
      acquire: (key, ttlMs) => {
        const taken = leases.acquire(key, ttlMs);
        return untilAborted(taken, signal).catch((error: unknown) => giveBackLate(taken, leases, key, error));
      },
      release: (key, token) => untilAborted(leases.release(key, token), signal),
    };
    return this.#leases;
  }
  /** Whether the store hands over the very bytes it holds (store.ts, READ_SHARED). */
  get sharesValues(): boolean {
    return this.#guard.sharesValues;
  }
  get(key: string): ReturnType<CacheStore['get']> {
    return this.#bound(this.#guard.get(key));
  }
  set(key: string, value: Buffer): MaybePromise<unknown> {
    return this.#bound(this.#guard.set(key, value));
  }
  delete(key: string): MaybePromise<unknown> {
    return this.#bound(this.#guard.delete(key));
  }
  #bound<T>(result: MaybePromise<T>): MaybePromise<T> {
    return isThenable(result) ? untilAborted(result, this.#signal) : result;
  }
}

interface Pending {
  readonly due: number;
  readonly expire: () => void;
  settled: boolean;
}

/**
 * The deadlines of the calls in flight, watched by ONE timer rather than one per call, and kept in
 * an array rather than a Set (measured: a Set emptied and refilled on every hit costs ~0.75 µs, as
 * much as the rest of the guard; an array ~0.05 µs). Every call has the same budget, so arrival
 * order is deadline order; a settled call is only marked, and the array is emptied whenever no call
 * is left in flight (every hit, when hits come one at a time).
 */
class Deadlines {
  readonly #budget: number;
  #calls: Pending[] = [];
  #live = 0;
  #timer: NodeJS.Timeout | null = null;
  #sweeping: NodeJS.Immediate | null = null;

  constructor(budget: number) {
    this.#budget = budget;
  }

  add(expire: () => void): Pending {
    const call: Pending = { due: performance.now() + this.#budget, expire, settled: false };
    this.#calls.push(call);
    this.#live += 1;
    if (this.#timer === null && this.#sweeping === null) this.#arm(this.#budget);
    // Referenced while a call waits, so a store that never answers cannot let the process exit
    // with a request unsettled; unreferenced when idle, so an idle cache never holds the process.
    else if (this.#timer !== null && this.#live === 1) this.#timer.ref();
    return call;
  }

  /** Forgets `call`; false when its deadline had already passed (it was expired). */
  remove(call: Pending): boolean {
    if (call.settled) return false;
    call.settled = true;
    this.#live -= 1;
    if (this.#live === 0) {
      this.#calls.length = 0;
      this.#timer?.unref();
    }
    return true;
  }

  #arm(delay: number): void {
    this.#timer = setTimeout(this.#fire, Math.max(1, Math.ceil(delay)));
    if (this.#live === 0) this.#timer.unref();
  }

  // The sweep waits for the check phase: after a stall of the event loop, the timers phase comes
  // before the poll phase, and a store whose answer is already there must not be called late.
  readonly #fire = (): void => {
    this.#timer = null;
    this.#sweeping = setImmediate(this.#sweep);
  };

  readonly #sweep = (): void => {
    this.#sweeping = null;
    const now = performance.now();
    let first = 0;
    for (; first < this.#calls.length; first++) {
      const call = this.#calls[first]!;
      if (call.settled) continue;
      if (call.due > now) break;
      this.remove(call);
      call.expire();
    }
    if (this.#live === 0) return;
    this.#calls.splice(0, first);
    if (this.#timer === null) this.#arm(this.#calls[0]!.due - now);
  };
}

/**
 * The bounded lease of a store seen through a guard (a {@link GuardedStore} or its view for one
 * request), or null: a store without a lease, or one not behind a guard, gets no cross-process flight.
 */
export function guardedLeases(store: CacheStore): LeaseStore | null {
  return store instanceof GuardedStore || store instanceof RequestStore ? store.leases : null;
}
