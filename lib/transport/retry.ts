/**
 * Whether a failed attempt may be sent again: a pure decision on the method, the error and the
 * attempt number. Only failures before any byte of the answer was read reach here; the error table
 * (classify.ts) says how far the attempt got. Never retries an error of our own tree.
 */
import { failureStage } from './classify.js';

// RFC 9110 §9.2.2: replaying these cannot change the outcome.
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE']);

/**
 * `attempts` is httplib2's RETRIES: the total number of tries (2 = one retry). `attempt` counts from 0.
 * A request that never left is sent again whatever its method; one whose connection closed before
 * the answer (a stale keep-alive socket) only if idempotent. httplib2 retries every method; we never
 * replay a POST or PATCH that may have reached the server. A malformed answer is never retried.
 */
export function shouldRetry(method: string, error: unknown, attempt: number, attempts: number): boolean {
  if (attempt + 1 >= attempts) return false;
  switch (failureStage(error)) {
    case 'not-sent':
      return true;
    case 'connection-closed':
      return IDEMPOTENT.has(method.toUpperCase());
    case 'other':
      return false;
    default:
      return false;
  }
}
