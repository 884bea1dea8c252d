/**
 * Content-Encoding decoding with node:zlib: gzip, x-gzip, deflate (zlib-wrapped or raw), br, and zstd
 * where the running Node has it. Output is bounded (maxBodySize, and a ratio to the encoded size:
 * decode-limit.ts) so a bomb fails before its memory is spent; at most five stacked codings. Never
 * touches the network.
 */
import * as zlib from 'node:zlib';
import { FailedToDecompressContent } from '../errors.js';
import { withHeaders } from '../headers.js';
import { hasNoContent } from './message-body.js';
import { outputLimit, type OutputLimit } from './decode-limit.js';
import { nextHop } from '../redirect.js';
import { withHead } from '../response.js';
import type { Exchange, Send } from '../types.js';

const MAX_CODINGS = 5;

type Decoder = (input: Buffer, maxOutputLength: number) => Buffer;

// zstd arrived in Node 22.15 / 23.8; feature-detect rather than compare versions.
const zstdDecompressSync = (zlib as unknown as { zstdDecompressSync?: Decoder }).zstdDecompressSync;

// zlib's default 16 KiB output chunks make a large output an array of tens of thousands of buffers:
// stopping a bomb at 1 GiB took seconds instead of about one. Output chunks grow with the input
// (about four times its size, between the default and 1 MiB) so small bodies stay small.
function zlibOptions(input: Buffer, max: number): zlib.ZlibOptions {
  const chunkSize = Math.min(1 << 20, Math.max(zlib.constants.Z_DEFAULT_CHUNK, input.length * 4));
  return { maxOutputLength: max, chunkSize };
}

// A Map, not an object literal: a Content-Encoding of `constructor` or `__proto__` (or a name
// planted on a polluted Object.prototype) must be an unknown coding, not a function to call.
const DECODERS: ReadonlyMap<string, Decoder> = new Map<string, Decoder>([
  ['gzip', (b, max) => zlib.gunzipSync(b, zlibOptions(b, max))],
  ['x-gzip', (b, max) => zlib.gunzipSync(b, zlibOptions(b, max))],
  ['deflate', inflateEitherForm],
  ['br', (b, max) => zlib.brotliDecompressSync(b, zlibOptions(b, max) as zlib.BrotliOptions)],
  ...(zstdDecompressSync ? [['zstd', (b: Buffer, max: number) => zstdDecompressSync(b, { maxOutputLength: max } as never)] as const] : []),
]);

/** The Accept-Encoding value listing what this Node can decode. */
export const ACCEPT_ENCODING = ['gzip', 'deflate', 'br', ...(zstdDecompressSync ? ['zstd'] : [])].join(', ');

// RFC 9110 §8.4.1: "deflate" is the zlib format, but servers have long sent raw deflate too.
function inflateEitherForm(input: Buffer, max: number): Buffer {
  // A zlib header: compression method 8 in the low nibble of CMF, and CMF·FLG a multiple of 31.
  if (input.length >= 2 && (input[0]! & 0x0f) === 8 && ((input[0]! << 8) | input[1]!) % 31 === 0) {
    return zlib.inflateSync(input, zlibOptions(input, max));
  }
  return zlib.inflateRawSync(input, zlibOptions(input, max));
}

/** The codings named by a Content-Encoding value, in the order they were applied. */
export function parseCodings(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c && c !== 'identity');
}

/**
 * Decodes `content` per `codings` (applied left to right, so undone right to left), each step
 * bounded by `limit` (a byte count, or an {@link OutputLimit} that names what set it). Returns null
 * when a coding is unknown: the body is then passed through as received, as httplib2 does.
 */
export function decodeBody(content: Buffer, codings: readonly string[], limit: number | OutputLimit): Buffer | null {
  const { bytes: maxOutputLength, reason } = typeof limit === 'number' ? { bytes: limit, reason: `maxBodySize (${limit} bytes)` } : limit;
  if (codings.length > MAX_CODINGS) {
    throw new FailedToDecompressContent(`Content-Encoding stacks ${codings.length} codings; at most ${MAX_CODINGS} are decoded`);
  }
  if (!codings.every((c) => DECODERS.has(c))) return null;
  // An empty body has nothing to undo (servers send `Content-Encoding: gzip` on empty answers).
  if (content.length === 0) return content;
  let out = content;
  for (let i = codings.length - 1; i >= 0; i--) {
    const coding = codings[i]!;
    try {
      out = DECODERS.get(coding)!(out, maxOutputLength);
    } catch (error) {
      const code = (error as { code?: string }).code;
      const why =
        code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError
          ? `decoded size exceeds ${reason}`
          : (error as Error).message;
      throw new FailedToDecompressContent(`Content purported to be compressed with ${coding} but failed to decompress: ${why}`, {
        cause: error,
      });
    }
  }
  return out;
}

/**
 * The decoding layer: asks for what this Node can decode, undoes Content-Encoding within the size
 * and ratio limits, and answers with a response of its own whose headers say so (the one it received
 * is never changed). The encoded body of a redirect that will be followed is dropped undecoded:
 * nobody reads it, and a bomb there must cost nothing.
 */
export function decoding(next: Send): Send {
  return async (req, ctx) => {
    const sent = 'accept-encoding' in req.headers ? req : { ...req, headers: withHeaders(req.headers, { 'accept-encoding': ACCEPT_ENCODING }) };
    const exchange = await next(sent, ctx);
    // The same decision the redirect loop takes on this answer (pure, so asking twice is safe). A
    // plain body costs nothing more and stays (RedirectLimit carries it, as in httplib2).
    if (exchange.response.has('content-encoding') && nextHop(req, exchange.response, ctx.settings).kind === 'follow') {
      return withoutContent(exchange);
    }
    const { maxBodySize, maxDecompressionRatio } = ctx.settings;
    return decodeExchange(exchange, req.method, (encoded) => outputLimit(encoded, maxBodySize, maxDecompressionRatio));
  };
}

/**
 * The exchange with its encoded content dropped and headers that say so: no Content-Encoding (moved
 * to `-content-encoding`, as after decoding) and Content-Length 0, so the cache above may store a
 * permanent redirect as it stores any answer whose body it has whole.
 */
function withoutContent({ response }: Exchange): Exchange {
  const head = withHead(response, {
    remove: ['content-encoding'],
    set: { '-content-encoding': response.get('content-encoding')!, 'content-length': '0' },
  });
  return { response: head, content: Buffer.alloc(0) };
}

function decodeExchange(exchange: Exchange, method: string, limitFor: (encodedSize: number) => OutputLimit): Exchange {
  const { response } = exchange;
  const encoding = response.get('content-encoding');
  if (encoding === undefined) return exchange;
  if (hasNoContent(method, response.status)) return { response, content: Buffer.alloc(0) };
  const codings = parseCodings(encoding);
  let content: Buffer | null;
  try {
    content = codings.length === 0 ? exchange.content : decodeBody(exchange.content, codings, limitFor(exchange.content.length));
  } catch (error) {
    const e = error as FailedToDecompressContent;
    throw new FailedToDecompressContent(e.message, { cause: e.cause, response, content: exchange.content });
  }
  if (content === null) return exchange;
  // A response of its own: the transport's stays as it was received (the wire view reads it).
  const head = withHead(response, {
    remove: ['content-encoding'],
    set: { '-content-encoding': encoding, 'content-length': String(content.length) },
  });
  return { response: head, content };
}
