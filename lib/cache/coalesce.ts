/**
 * Request coalescing: identical requests in flight share one upstream exchange. The first asker
 * leads; later ones join and wait for its value, each under its own signal. It never starts the same
 * key twice at once, never leaves a rejection unhandled, and never lets one caller's abort end
 * another's request.
 */
import { untilAborted } from '../abort.js';
import type { HeaderRecord } from '../headers.js';

/** One ask of {@link Flights.run}: whether it joined a flight under way, and its value. */
export interface Flight<T> {
  /** True when another asker leads this flight (the cache notes `coalesced: …`). */
  readonly joined: boolean;
  readonly done: Promise<T>;
}

interface Leader<T> {
  readonly signal: AbortSignal | null;
  readonly done: Promise<T>;
}

/** The flights under way, by key. One instance per cache layer (per Http). */
export class Flights<T> {
  readonly #leaders = new Map<string, Leader<T>>();

  /**
   * Leads a flight for `key` with `start()`, or joins the one under way. A joiner stops waiting when
   * its own `signal` aborts (rejecting with the signal's reason); when the leader's own signal ended
   * the flight, that is not the joiner's failure: the joiner runs `start()` on its own account.
   * Joiners get the leader's very value: it must be one nobody writes into.
   */
  run(key: string, signal: AbortSignal | null, start: () => Promise<T>): Flight<T> {
    const leader = this.#leaders.get(key);
    if (leader !== undefined) return { joined: true, done: join(leader, signal, start) };
    const led: Leader<T> = { signal, done: started(start) };
    this.#leaders.set(key, led);
    const land = (): void => {
      if (this.#leaders.get(key) === led) this.#leaders.delete(key);
    };
    led.done.then(land, land);
    return { joined: false, done: led.done };
  }

  /** How many flights are under way. */
  get size(): number {
    return this.#leaders.size;
  }
}

async function join<T>(leader: Leader<T>, signal: AbortSignal | null, start: () => Promise<T>): Promise<T> {
  try {
    return await untilAborted(leader.done, signal);
  } catch (error) {
    // Our own deadline or abort ends our wait, whatever the leader is still waiting for.
    if (signal?.aborted) throw signal.reason;
    if (!leader.signal?.aborted) throw error;
    return start();
  }
}

// A start that throws before its first await still settles the flight (and frees the key).
function started<T>(start: () => Promise<T>): Promise<T> {
  try {
    return start();
  } catch (error) {
    return Promise.reject(error as Error);
  }
}

// The fields the identity digests are left out: the store key already tells them apart, and a map
// of flights keyed by a session cookie or a token would hold that secret.
const IDENTIFIED = new Set(['authorization', 'cookie', 'x-wsse']);

/**
 * The flight key of a request: its store key and its header fields (sorted by name), so only
 * requests that would get the same answer share a flight.
 */
export function flightKey(storeKey: string, headers: Readonly<HeaderRecord>): string {
  const fields = Object.keys(headers).filter((name) => !IDENTIFIED.has(name)).sort().map((name) => [name, headers[name]]);
  return `${storeKey}\n${JSON.stringify(fields)}`;
}
