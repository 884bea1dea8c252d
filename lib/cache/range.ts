/**
 * Byte ranges (RFC 9110 §14) answered from a complete stored 200: which slice of the stored body a
 * Range request gets, a 416 when none of it can be sent, or the whole answer when the Range is to
 * be ignored. Pure: header values and a length in, a decision out; it never sees the body itself.
 */
import type { HeaderRecord } from '../headers.js';
import { parseHttpDate } from '../http-date.js';

/** What a GET with Range gets from a stored 200 whose body is `length` bytes. */
export type RangeSelection =
  /** The Range does not apply (invalid, another unit, If-Range not matching): the whole 200. */
  | { readonly kind: 'whole'; readonly reason: string }
  /** A 206 with bytes `start`..`end` (inclusive) of the stored body. */
  | { readonly kind: 'slice'; readonly start: number; readonly end: number; readonly reason: string }
  /** A 416: no range of the set overlaps the body (RFC 9110 §15.5.17). */
  | { readonly kind: 'unsatisfiable'; readonly reason: string };

interface RangeSpec {
  /** null for a suffix range (`-N`). */
  readonly first: number | null;
  /** The last position, or for a suffix range its length; null for `N-`. */
  readonly last: number | null;
}

// RFC 9110 §14.1.2: int-range = first-pos "-" [ last-pos ], suffix-range = "-" suffix-length.
const SPEC = /^(\d*)-(\d*)$/;

/** The byte range specs of a Range value, or null when it is not a valid `bytes=` set (§14.1.1). */
export function parseByteRanges(value: string): RangeSpec[] | null {
  const eq = value.indexOf('=');
  // §14.1: range units are case-insensitive.
  if (eq < 0 || value.slice(0, eq).trim().toLowerCase() !== 'bytes') return null;
  const specs: RangeSpec[] = [];
  for (const raw of value.slice(eq + 1).split(',')) {
    const part = raw.trim();
    if (part === '') continue; // §5.6.1: empty list elements are ignored
    const m = SPEC.exec(part);
    if (!m || (m[1] === '' && m[2] === '')) return null;
    const first = m[1] === '' ? null : Number(m[1]);
    const last = m[2] === '' ? null : Number(m[2]);
    // §14.1.1: an int-range whose last-pos is below its first-pos makes the set invalid.
    if (first !== null && last !== null && last < first) return null;
    specs.push({ first, last });
  }
  return specs.length ? specs : null;
}

/**
 * Why a Range request cannot be answered from this stored response and goes to the origin, or null.
 * Several ranges would need a multipart/byteranges body: the origin makes it. A body the decoding
 * layer decoded is not the coded representation the byte positions count (§14.1.1).
 */
export function rangeNeedsOrigin(range: string, storedHeaders: Readonly<HeaderRecord>): string | null {
  const specs = parseByteRanges(range);
  if (specs !== null && specs.length > 1) return 'several ranges (multipart) are left to the origin';
  if (storedHeaders['-content-encoding'] !== undefined) return `the body is stored decoded (${storedHeaders['-content-encoding']}); ranges count its coded bytes`;
  return null;
}

/**
 * RFC 9110 §14.2, §13.1.5: the answer to a GET with `Range` (and maybe `If-Range`) from a stored 200
 * with `length` bytes of body; `now` places two-digit years of obsolete dates.
 */
export function selectRange(requestHeaders: Readonly<HeaderRecord>, storedHeaders: Readonly<HeaderRecord>, length: number, now: number): RangeSelection {
  const range = requestHeaders['range'] ?? '';
  const specs = parseByteRanges(range);
  // §14.2: a server may ignore a Range it does not understand; so may a cache.
  if (specs === null || specs.length !== 1) return { kind: 'whole', reason: `range: ${JSON.stringify(range)} ignored, whole answer` };
  const ifRange = requestHeaders['if-range'];
  if (ifRange !== undefined && !ifRangeMatches(ifRange, storedHeaders, now)) {
    return { kind: 'whole', reason: 'range: If-Range does not match the stored response, whole answer (RFC 9110 §13.1.5)' };
  }
  const spec = specs[0]!;
  // An empty body has no byte to select; its whole (empty) answer is the useful one.
  if (length === 0) return { kind: 'whole', reason: 'range: empty body, whole answer' };
  let start: number;
  let end: number;
  if (spec.first === null) {
    // §14.1.1: a suffix-length of 0 is unsatisfiable; one past the length selects the whole body.
    if (spec.last === 0) return unsatisfiable(range, length);
    start = Math.max(0, length - spec.last!);
    end = length - 1;
  } else {
    if (spec.first >= length) return unsatisfiable(range, length);
    start = spec.first;
    end = spec.last === null ? length - 1 : Math.min(spec.last, length - 1);
  }
  return { kind: 'slice', start, end, reason: `range: bytes ${start}-${end}/${length} from the stored response` };
}

function unsatisfiable(range: string, length: number): RangeSelection {
  return { kind: 'unsatisfiable', reason: `range: ${JSON.stringify(range)} not satisfiable for ${length} bytes → 416` };
}

/**
 * §13.1.5: an entity-tag matches by strong comparison; a date only when it equals a Last-Modified
 * that is itself strong (§8.8.2.2: at least a second before the response's Date).
 */
function ifRangeMatches(ifRange: string, storedHeaders: Readonly<HeaderRecord>, now: number): boolean {
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) {
    const etag = storedHeaders['etag']?.trim();
    return etag !== undefined && !etag.startsWith('W/') && !value.startsWith('W/') && etag === value;
  }
  const lastModified = parseHttpDate(storedHeaders['last-modified'], now);
  const date = parseHttpDate(storedHeaders['date'], now);
  const asked = parseHttpDate(value, now);
  return lastModified !== null && date !== null && asked === lastModified && date - lastModified >= 1000;
}
