/**
 * The origin's "not before" (RFC 9110 §10.2.3): when the Retry-After of a 429 or 503 lets it be asked
 * again, capped by the cache's limit, and whether a stored response still holds requests back at
 * `now`. Pure functions of a head and `now`; they never perform I/O nor read the clock, and never
 * invent a time the origin did not give.
 */
import type { HeaderRecord } from '../headers.js';
import { parseHttpDate } from '../http-date.js';
import type { StoredResponse } from './freshness.js';

/**
 * The longest a Retry-After holds requests back by default, in seconds (HttpOptions.maxRetryAfter):
 * a day. A server that asks for more is more likely wrong (a date in the wrong year) than meant.
 */
export const DEFAULT_MAX_RETRY_AFTER = 86400;

// RFC 9110 §10.2.3 gives Retry-After a meaning on 503 and 3xx; RFC 6585 §4 on 429. A redirect's is
// only advice on when to follow it, so the two refusals are the ones remembered.
const REFUSALS = new Set([429, 503]);
const DELTA = /^[0-9]+$/;

/** A not-before time with the words the trace gives it. */
export interface NotBefore {
  /** ms since the epoch. */
  readonly at: number;
  /** How it was read: `Retry-After: 120`, `Retry-After: <date>`, `capped at 86400s`. */
  readonly source: string;
}

/** What {@link notBeforeOf} reads of an answer. */
export interface RefusalAnswer {
  readonly status: number;
  readonly headers: Readonly<HeaderRecord>;
  /** When the answer arrived, ms since the epoch. */
  readonly responseTime: number;
}

/**
 * The time before which the origin asked not to be asked again, from the Retry-After of a 429 or a
 * 503, or null: another status, no Retry-After, one that does not parse, or one already past. Delay
 * seconds count from when the answer arrived; an HTTP-date is read against the answer's own Date
 * (the origin's clock), so a client clock that is off does not shorten or stretch the wait. Capped
 * at `maxSeconds` after the answer (0: nothing is remembered).
 */
export function notBeforeOf(answer: RefusalAnswer, maxSeconds: number): NotBefore | null {
  if (!REFUSALS.has(answer.status)) return null;
  const value = answer.headers['retry-after']?.trim();
  if (value === undefined || value === '') return null;
  const delay = delayOf(value, answer);
  if (delay === null || delay <= 0) return null;
  const cap = maxSeconds * 1000;
  if (cap <= 0) return null;
  if (delay > cap) return { at: answer.responseTime + cap, source: `Retry-After: ${value}, capped at ${maxSeconds}s` };
  return { at: answer.responseTime + delay, source: `Retry-After: ${value}` };
}

// The wait in ms after the answer arrived, or null for a value that is neither form.
function delayOf(value: string, answer: RefusalAnswer): number | null {
  if (DELTA.test(value)) return Number(value) * 1000;
  const date = parseHttpDate(value, answer.responseTime);
  if (date === null) return null;
  // RFC 9110 §6.6.1: a message without a valid Date is dated when it was received.
  const sent = parseHttpDate(answer.headers['date'], answer.responseTime) ?? answer.responseTime;
  return date - sent;
}

/** The not-before time of `stored` while it still holds requests back at `now`, else null. */
export function heldUntil(stored: StoredResponse, now: number): number | null {
  const at = stored.notBefore;
  return at !== undefined && at > now ? at : null;
}

/**
 * True for a stored 429 or 503 kept for its Retry-After alone: it stands in for the answer while
 * nothing else is stored, and is never a representation to revalidate or serve once the time passed.
 */
export function isStandIn(stored: StoredResponse): boolean {
  return REFUSALS.has(stored.status) && stored.notBefore !== undefined;
}

/** The instant in the trace's words (ISO 8601, UTC). */
export function instant(ms: number): string {
  return new Date(ms).toISOString();
}
