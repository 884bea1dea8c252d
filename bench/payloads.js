// Deterministic bodies shared by the bench server and the bench driver.
import { gzipSync } from 'node:zlib';

/** A small seeded PRNG (mulberry32), so every run serves the same bytes. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `size` bytes of printable ASCII that look like no particular format (barely compressible). */
export function opaqueBody(size, seed = 1) {
  const rnd = prng(seed);
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) out[i] = 33 + Math.floor(rnd() * 94);
  return out;
}

const WORDS = [
  'id', 'name', 'title', 'updated', 'author', 'summary', 'link', 'href', 'rel', 'alternate', 'entry',
  'feed', 'content', 'type', 'text', 'html', 'published', 'category', 'term', 'label', 'true', 'false',
];

/**
 * About `size` bytes of JSON-like text with realistic redundancy (gzip shrinks it about 4-6x), the
 * kind of body an API or a feed sends compressed.
 */
export function jsonLikeBody(size, seed = 7) {
  const rnd = prng(seed);
  const parts = [];
  let length = 0;
  let n = 0;
  while (length < size) {
    const w1 = WORDS[Math.floor(rnd() * WORDS.length)];
    const w2 = WORDS[Math.floor(rnd() * WORDS.length)];
    const num = Math.floor(rnd() * 1e9).toString(36);
    const s = `{"${w1}":"${w2}-${num}","n":${n++},"v":${(rnd() * 1000).toFixed(3)}},\n`;
    parts.push(s);
    length += s.length;
  }
  return Buffer.from(parts.join('').slice(0, size), 'latin1');
}

export const SIZES = { '1k': 1024, '100k': 100 * 1024 };
/** Large opaque bodies, measured one request at a time (and 1 MiB 100 in flight, for memory). */
export const LARGE_SIZES = { '1m': 1024 * 1024, '10m': 10 * 1024 * 1024 };
/** The cacheable answer a cache is filled with for the scale rows (`/scale/<n>`), and its headers. */
export const SCALE_BODY_SIZE = 512;
export const SCALE_HEADERS = ['Content-Type: application/octet-stream', 'Cache-Control: max-age=3600'];

export const GZIP_SIZES = { 'gzip-32k': 32 * 1024, 'gzip-100k': 100 * 1024, 'gzip-1m': 1024 * 1024 };

/** The compressed bodies, by route name. */
export function gzipBodies() {
  const out = {};
  for (const [name, size] of Object.entries(GZIP_SIZES)) {
    const plain = jsonLikeBody(size);
    out[name] = { plain, gzipped: gzipSync(plain, { level: 6 }) };
  }
  return out;
}
