/**
 * Turns any cache key into one safe file name: a short sanitised readable prefix, then the hex SHA-256
 * of the whole key (the identity). Pure and bounded: the result is always a single path segment of at
 * most 155 ASCII characters, so it must never contain a separator, start with a dot, end in a dot or
 * space, or spell a Windows device name, whatever the key holds.
 */
import { hash } from 'node:crypto';

/** Longest readable prefix kept from a key (httplib2 keeps 90 characters too). */
const PREFIX_LENGTH = 90;

// Anything outside this set (separators, NUL, controls, spaces, `:`, non-ASCII...) is folded to `,`.
const UNSAFE = /[^A-Za-z0-9._-]+/g;
// The scheme adds nothing readable; httplib2 drops it as well.
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
// Windows refuses these as a base name even with an extension (`CON.txt`), in any case.
const DEVICE = /^(con|prn|aux|nul|clock\$|conin\$|conout\$|com[0-9]|lpt[0-9])(?=[.,]|$)/i;

/**
 * The file name `FileCache` uses for `key`: `<readable prefix>,<sha256 hex>`, or the bare hash when
 * nothing readable is left. Distinct keys get distinct names (the hash covers the whole key, case
 * included); the prefix is only a hint for people listing the directory, taken from the key up to its
 * first space: in a store key what follows is the identity of a variant (a user name, digests), which
 * a listing of the directory must not show.
 *
 * @example safename('http://example.com/feed?x=1') // 'example.com,feed,x,1,' + 64 hex digits
 */
export function safename(key: string): string {
  const digest = hash('sha256', key, 'hex');
  const prefix = readablePrefix(key);
  return prefix ? `${prefix},${digest}` : digest;
}

function readablePrefix(key: string): string {
  const space = key.indexOf(' ');
  let prefix = key
    .slice(0, Math.min(space === -1 ? key.length : space, PREFIX_LENGTH * 4)) // bound the regex work for huge keys
    .replace(SCHEME, '')
    .replace(UNSAFE, ',')
    // No leading dots or dashes: no `.`/`..`, no hidden files, nothing a shell reads as an option.
    .replace(/^[.,-]+/, '')
    .slice(0, PREFIX_LENGTH)
    // Windows strips trailing dots; a trailing comma is just noise before the separator.
    .replace(/[.,]+$/, '');
  if (DEVICE.test(prefix)) prefix = `_${prefix}`;
  return prefix;
}
