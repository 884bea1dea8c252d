/**
 * The machine-readable outcome of a cache visit (`response.cache`, in the spirit of RFC 9211's
 * Cache-Status), decided from the steps of the policy's plan as the driver carries them out: the
 * step that answered, why the visit went to the origin, and what the store did. Pure: it reads its
 * arguments only, never the clock, and never the words of `cacheStatus`.
 */
import type { CacheDetail, CacheOutcome, CacheOutcomeKind } from '../response.js';
import type { After, AskStep, FailureAfter, Intake, Lookup } from './policy.js';

/** Every step of a visit's plan, as the driver meets them. */
export type PlanStep = Intake | Lookup | AskStep | After | FailureAfter;

/** What a visit met on its way, besides the step that answers: recorded as the steps go by. */
export interface Path {
  /** Why the origin was asked (the step that sent the request there), or null: it was not. */
  readonly forward: CacheDetail | null;
  /** The store could not be read (it failed, or its breaker is open): a miss not of the cache's making. */
  readonly unreadable: boolean;
  /** Whether a write of this visit was taken by the store: null when none was tried. */
  readonly kept: boolean | null;
}

export const SET_OUT: Path = Object.freeze({ forward: null, unreadable: false, kept: null });

/** The path once `step` was met: the steps that send a request to the origin say why. */
export function passed(path: Path, step: PlanStep): Path {
  switch (step.kind) {
    case 'miss':
    case 'revalidate':
      return { ...path, forward: step.detail };
    // A method the cache does not look up (RFC 9111 §4: GET and HEAD are), with or without If-Match.
    case 'ask':
      return path.forward === null ? { ...path, forward: 'method' } : path;
    case 'bypass':
      return { ...path, forward: 'range' };
    default:
      return path;
  }
}

/** What answered, and why, when `step` answers (null for a step that does not: the visit goes on or throws). */
export function outcomeOf(step: PlanStep, path: Path): { readonly outcome: CacheOutcomeKind; readonly detail: CacheDetail | null } | null {
  switch (step.kind) {
    case 'fresh':
      return step.detail === undefined ? { outcome: 'hit', detail: null } : { outcome: 'stale', detail: step.detail };
    case 'stale-while-revalidate':
      return { outcome: 'stale', detail: 'stale-while-revalidate' };
    case 'serve-stale':
      return { outcome: 'stale', detail: 'stale-if-error' };
    case 'retry-after':
      return step.serve ? { outcome: 'stale', detail: 'retry-after' } : fromOrigin(path, 'retry-after');
    case 'hold':
      return step.answer === 'stale' ? { outcome: 'stale', detail: 'stale-if-error' } : fromOrigin(path, 'retry-after');
    case 'freshen':
      return { outcome: 'revalidated', detail: path.forward };
    case 'bypass':
      return { outcome: 'bypass', detail: 'range' };
    case 'unsatisfiable':
      return fromOrigin(path, 'only-if-cached');
    case 'store':
      return fromOrigin(path, path.kept === false ? 'not-kept' : path.forward);
    case 'keep':
      return fromOrigin(path, 'origin-error');
    case 'pass':
    case 'invalidate':
      // A request no-store leaves the cache out of it as much as it may (RFC 9111 §5.2.1.5).
      return step.detail === 'request-no-store' ? { outcome: 'bypass', detail: step.detail } : fromOrigin(path, step.detail);
    default:
      return null;
  }
}

// An answer the cache did not serve: a miss, unless the cache was never consulted (a method it does
// not look up) or could not be (a store that failed to read).
function fromOrigin(path: Path, detail: CacheDetail | null): { outcome: CacheOutcomeKind; detail: CacheDetail | null } {
  if (path.forward === 'method') return { outcome: 'bypass', detail: 'method' };
  if (path.unreadable) return { outcome: 'bypass', detail: 'store-unavailable' };
  return { outcome: 'miss', detail };
}

/**
 * `response.cache` for an answer: its outcome, whether this visit's write was taken, the entry's
 * time left (`freshUntil` at `now`, both ms since the epoch), and the store key when it names no
 * identity (RFC 9211 `key`; an identity digest stays out of what programs log).
 */
export function cacheOutcome(
  decided: { readonly outcome: CacheOutcomeKind; readonly detail: CacheDetail | null },
  path: Path,
  schedule: { readonly freshUntil: number | null; readonly now: number },
  key: string | null,
): CacheOutcome {
  const ttl = schedule.freshUntil === null ? null : Math.floor((schedule.freshUntil - schedule.now) / 1000);
  return { outcome: decided.outcome, stored: path.kept === true, collapsed: false, ttl, key, detail: decided.detail };
}
