/**
 * The QUERY method (RFC 10008) as the cache sees it: safe, idempotent and cacheable like GET, but the
 * query travels in the request content, so a stored answer is found by the method, the URI and a
 * digest of that content with its metadata. Pure: it reads a request and returns a string; it never
 * performs I/O and never changes the request.
 */
import { createHash } from 'node:crypto';
import type { HopRequest } from '../types.js';

/** The method token, as RFC 10008 registers it (method tokens are case-sensitive). */
export const QUERY = 'QUERY';

// RFC 10008 §2.7: the key incorporates "the request content and related metadata": the fields that
// say how to read the content (RFC 9110 §8.3–§8.5).
const METADATA = ['content-type', 'content-encoding', 'content-language'] as const;

/**
 * What a QUERY's request content adds to its cache key: a SHA-256 of the content with its metadata
 * (`sha256=<hex>`), so a different body, or the same bytes under another media type, is another
 * entry. Nothing is normalised but what RFC 9110 makes insignificant: the whitespace around a field
 * value and the case of a media type's type/subtype (§8.3.1); the content is digested byte for byte
 * (RFC 10008 §2.7 allows, but does not ask for, normalising it further).
 */
export function queryContentKey(req: HopRequest): string {
  const hash = createHash('sha256');
  for (const name of METADATA) {
    const value = req.headers[name]?.trim() ?? '';
    hash.update(`${name}:${name === 'content-type' ? mediaTypeCase(value) : value}\n`);
  }
  if (req.body !== null) hash.update(req.body);
  return `sha256=${hash.digest('hex')}`;
}

// `Application/JSON; charset=UTF-8` → `application/json; charset=UTF-8`: only type/subtype are case-insensitive by rule.
function mediaTypeCase(value: string): string {
  const end = value.indexOf(';');
  return end === -1 ? value.toLowerCase() : `${value.slice(0, end).toLowerCase()}${value.slice(end)}`;
}
