/**
 * How many decoded bytes a compressed body may become: `maxBodySize`, and no more than
 * `maxDecompressionRatio` times its encoded size (above a floor, so small bodies are never
 * refused). Pure: the decoder passes the result to zlib as its output bound, so a bomb stops
 * there before the memory is spent.
 */

/**
 * The default ratio of decoded to encoded size: httplib2 0.32's (its `decode_limit_ratio`). Text
 * and JSON compress 3-10x and repetitive logs or CSV 20-50x, while a gzip bomb reaches 1000x and a
 * brotli one far more.
 */
export const DEFAULT_MAX_DECOMPRESSION_RATIO = 100;

/**
 * Decoded sizes up to this are never refused for their ratio: httplib2 0.32's `decode_limit_safe`
 * (10 MiB), so a small, very compressible answer (an empty JSON array padded by a server, a page of
 * zeros) decodes as it always did.
 */
export const RATIO_FLOOR = 10 * 1024 * 1024;

/** The bound on a body's decoded size and, for the error message, what set it. */
export interface OutputLimit {
  readonly bytes: number;
  /** Completes "decoded size exceeds …". */
  readonly reason: string;
}

/**
 * The output limit of a body `encodedSize` bytes long. A ratio of 0 (as httplib2's
 * `decode_limit_ratio=0`) or Infinity leaves only `maxBodySize`.
 */
export function outputLimit(encodedSize: number, maxBodySize: number, ratio: number): OutputLimit {
  const byBody: OutputLimit = { bytes: maxBodySize, reason: `maxBodySize (${maxBodySize} bytes)` };
  if (ratio === 0 || !Number.isFinite(ratio)) return byBody;
  const byRatio = Math.max(RATIO_FLOOR, Math.floor(encodedSize * ratio));
  if (byRatio >= maxBodySize) return byBody;
  return {
    bytes: byRatio,
    reason: `${ratio} times the ${encodedSize} bytes received (maxDecompressionRatio: ${byRatio} bytes)`,
  };
}
