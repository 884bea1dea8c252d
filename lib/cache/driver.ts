/**
 * The cache layer. Placeholder that passes requests through until the cache lands (issue: The private
 * cache).
 */
import type { Send } from '../types.js';

export function withCache(next: Send): Send {
  return next;
}
