/**
 * Whether a failed attempt may be sent again: a pure decision on the method, the error and the
 * attempt number. Only failures before any byte of the answer arrived reach here.
 */
import { HttpLib2Error } from './errors.js';

// RFC 9110 §9.2.2: replaying these cannot change the outcome.
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE']);
// The request never left this machine: safe to send again whatever the method.
const NOT_SENT = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH']);
// The connection broke after the request may have been written (a stale keep-alive socket).
const MAYBE_SENT = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNABORTED']);

function codeOf(error: unknown): string {
  const e = error as { code?: unknown; cause?: { code?: unknown } } | null;
  if (e && typeof e.code === 'string') return e.code;
  if (e && e.cause && typeof e.cause.code === 'string') return e.cause.code;
  return '';
}

/**
 * `attempts` is httplib2's RETRIES: the total number of tries (2 = one retry). `attempt` counts from 0.
 * httplib2 retries every method; we never replay a POST or PATCH that may have reached the server.
 */
export function shouldRetry(method: string, error: unknown, attempt: number, attempts: number): boolean {
  if (attempt + 1 >= attempts) return false;
  if (error instanceof HttpLib2Error) return false;
  const code = codeOf(error);
  if (NOT_SENT.has(code)) return true;
  return MAYBE_SENT.has(code) && IDEMPOTENT.has(method.toUpperCase());
}
