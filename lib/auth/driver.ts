/**
 * The authentication layer: answers a 401 challenge with registered credentials. Placeholder that
 * passes requests through until the auth schemes land (issue: Authentication).
 */
import type { Send } from '../types.js';

export function withAuth(next: Send): Send {
  return next;
}
