import { expect } from 'chai';
import { DEFAULT_MAX_DECOMPRESSION_RATIO, RATIO_FLOOR, outputLimit } from '../../lib/transport/decode-limit.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('decoded size limit (maxBodySize and maxDecompressionRatio)', () => {
  it('defaults to httplib2 0.32: ratio 100 above a 10 MiB floor', () => {
    expect(DEFAULT_MAX_DECOMPRESSION_RATIO).to.equal(100);
    expect(RATIO_FLOOR).to.equal(10 * MiB);
  });

  const table: Array<[string, number, number, number, number, 'ratio' | 'maxBodySize']> = [
    // [case, encoded, maxBodySize, ratio, expected bytes, set by]
    ['a small body gets the floor', 1000, GiB, 100, 10 * MiB, 'ratio'],
    ['a 2 MB body gets 100 times its size', 2_000_000, GiB, 100, 200_000_000, 'ratio'],
    ['maxBodySize when it is lower', 2_000_000, 50 * MiB, 100, 50 * MiB, 'maxBodySize'],
    ['maxBodySize when the ratio allows more', 20 * MiB, GiB, 100, GiB, 'maxBodySize'],
    ['maxBodySize below the floor', 1000, MiB, 100, MiB, 'maxBodySize'],
    ['ratio 0 turns the ratio off', 1000, GiB, 0, GiB, 'maxBodySize'],
    ['ratio Infinity turns the ratio off', 1000, GiB, Infinity, GiB, 'maxBodySize'],
    ['another ratio', 100_000, GiB, 1000, 100_000_000, 'ratio'],
  ];
  for (const [what, encoded, maxBodySize, ratio, bytes, by] of table) {
    it(what, () => {
      const limit = outputLimit(encoded, maxBodySize, ratio);
      expect(limit.bytes).to.equal(bytes);
      expect(limit.reason).to.contain(by === 'ratio' ? `maxDecompressionRatio: ${bytes} bytes` : `maxBodySize (${bytes} bytes)`);
    });
  }

  it('names the ratio and the encoded size', () => {
    expect(outputLimit(2_000_000, GiB, 100).reason).to.equal('100 times the 2000000 bytes received (maxDecompressionRatio: 200000000 bytes)');
  });
});
