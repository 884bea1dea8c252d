/**
 * When to skip a store that keeps failing (a circuit breaker), as pure decisions of what happened
 * and `now`: after a few failures or timeouts in a row the store is skipped for a back-off period,
 * then one call probes it, and the first call that succeeds brings it back. Never performs I/O,
 * never reads the clock; every function returns a new state.
 */

/** The breaker's parameters. */
export interface BreakerSettings {
  /** Failures in a row (errors or calls over the store budget) that open the breaker. */
  readonly threshold: number;
  /** The first back-off period, in ms; it doubles after each failed probe. */
  readonly backoff: number;
  /** The longest back-off period, in ms. */
  readonly maxBackoff: number;
}

/**
 * Three failures in a row: one slow answer or a blip is not an outage. One second, doubling to four:
 * a dead store costs one probe every few seconds, and a store that comes back is used again within
 * four seconds.
 */
export const BREAKER_SETTINGS: BreakerSettings = { threshold: 3, backoff: 1000, maxBackoff: 4000 };

/** Where a breaker stands. `failures`: in a row; `skipped`: calls skipped since it opened. */
export type Breaker =
  | { readonly kind: 'closed'; readonly failures: number }
  | { readonly kind: 'open'; readonly failures: number; readonly skipped: number; readonly round: number; readonly until: number }
  | { readonly kind: 'probing'; readonly failures: number; readonly skipped: number; readonly round: number };

/** A closed breaker with no failure. */
export const CLOSED: Breaker = Object.freeze({ kind: 'closed', failures: 0 });

/** Whether a call may go to the store, and the breaker after that decision. */
export type Admission =
  | { readonly kind: 'call'; readonly probe: boolean; readonly next: Breaker }
  | { readonly kind: 'skip'; readonly failures: number; readonly skipped: number; readonly retryIn: number; readonly next: Breaker };

/** How a call ended, and the breaker after it; `change` says when the store was given up or is back. */
export interface Outcome {
  readonly next: Breaker;
  readonly change: 'opened' | 'reopened' | 'closed' | null;
  /** For `opened`/`reopened`: how long the store is skipped, in ms. */
  readonly skipFor: number;
}

/** Decides whether a call at `now` goes to the store. */
export function admit(state: Breaker, now: number): Admission {
  switch (state.kind) {
    case 'closed':
      return { kind: 'call', probe: false, next: state };
    case 'open': {
      // The back-off is over: this one call probes the store; the others keep skipping until it answers.
      if (now >= state.until) {
        return { kind: 'call', probe: true, next: { kind: 'probing', failures: state.failures, skipped: state.skipped, round: state.round } };
      }
      const next = { ...state, skipped: state.skipped + 1 };
      return { kind: 'skip', failures: state.failures, skipped: next.skipped, retryIn: state.until - now, next };
    }
    case 'probing': {
      const next = { ...state, skipped: state.skipped + 1 };
      return { kind: 'skip', failures: state.failures, skipped: next.skipped, retryIn: 0, next };
    }
    default:
      return assertNever(state);
  }
}

/**
 * The breaker after a call ends at `now`. Any success closes it (the store answers); a failure of a
 * call admitted while closed counts, and the failure of a probe backs off longer. A failure of a
 * call that was already in flight when the breaker opened changes nothing.
 */
export function afterCall(state: Breaker, call: { ok: boolean; probe: boolean }, now: number, settings: BreakerSettings = BREAKER_SETTINGS): Outcome {
  if (call.ok) {
    return { next: CLOSED, change: state.kind === 'closed' ? null : 'closed', skipFor: 0 };
  }
  if (state.kind === 'closed') {
    const failures = state.failures + 1;
    if (failures < settings.threshold) return { next: { kind: 'closed', failures }, change: null, skipFor: 0 };
    return opened({ failures, skipped: 0, round: 0 }, now, settings, 'opened');
  }
  if (state.kind === 'probing' && call.probe) {
    return opened({ failures: state.failures + 1, skipped: state.skipped, round: state.round + 1 }, now, settings, 'reopened');
  }
  return { next: state, change: null, skipFor: 0 };
}

/** What an open breaker counts: failures in a row, calls skipped since it opened, failed probes. */
type Count = Pick<Extract<Breaker, { kind: 'open' }>, 'failures' | 'skipped' | 'round'>;

// The back-off doubles with each failed probe (`round`), up to settings.maxBackoff.
function opened(count: Count, now: number, settings: BreakerSettings, change: 'opened' | 'reopened'): Outcome {
  const skipFor = Math.min(settings.backoff * 2 ** Math.min(count.round, 30), settings.maxBackoff);
  return { next: { kind: 'open', ...count, until: now + skipFor }, change, skipFor };
}

function assertNever(x: never): never {
  throw new Error(`unexpected breaker state ${JSON.stringify(x)}`);
}
