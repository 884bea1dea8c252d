/**
 * RFC 9110 §14 byte ranges answered from a complete stored 200 (lib/cache/range.ts), table-driven:
 * which slice, a 416, or the whole answer, for each form of Range and If-Range.
 */
import { expect } from 'chai';
import { parseByteRanges, rangeNeedsOrigin, selectRange } from '../../lib/cache/range.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const record = (h: Record<string, string>) => Object.assign(Object.create(null), h) as Record<string, string>;
const STORED = record({ etag: '"v1"', date: new Date(T0).toUTCString(), 'last-modified': new Date(T0 - 3600e3).toUTCString() });
const select = (h: Record<string, string>, length = 10) => selectRange(record(h), STORED, length, T0);

describe('byte ranges from the cache (RFC 9110 §14)', () => {
  describe('§14.1.2 range sets', () => {
    const valid: Array<[string, Array<[number | null, number | null]>]> = [
      ['bytes=0-499', [[0, 499]]],
      ['bytes=500-', [[500, null]]],
      ['bytes=-500', [[null, 500]]],
      ['BYTES=1-2', [[1, 2]]],
      ['bytes= 1-2 , 4-5 ,', [[1, 2], [4, 5]]],
    ];
    for (const [value, specs] of valid) {
      it(`reads ${JSON.stringify(value)}`, () => {
        expect(parseByteRanges(value)!.map((s) => [s.first, s.last])).to.deep.equal(specs);
      });
    }
    for (const value of ['bytes=5-2', 'bytes=-', 'bytes=a-b', 'bytes=1-2-3', 'items=0-1', 'bytes', 'bytes=', 'bytes=+1-2']) {
      it(`refuses ${JSON.stringify(value)} (§14.1.1: an invalid set)`, () => expect(parseByteRanges(value)).to.equal(null));
    }
  });

  describe('§14.1.1 satisfiable ranges of a 10-byte body', () => {
    const slices: Array<[string, number, number]> = [
      ['bytes=0-0', 0, 0], ['bytes=2-5', 2, 5], ['bytes=7-', 7, 9], ['bytes=5-100', 5, 9], ['bytes=-3', 7, 9], ['bytes=-20', 0, 9],
    ];
    for (const [range, start, end] of slices) {
      it(`${range} → bytes ${start}-${end}/10`, () => {
        expect(select({ range })).to.include({ kind: 'slice', start, end });
      });
    }
    for (const range of ['bytes=10-', 'bytes=10-12', 'bytes=-0']) {
      it(`${range} → 416`, () => expect(select({ range }).kind).to.equal('unsatisfiable'));
    }
    it('answers the whole body for an invalid set, another unit, several ranges, or an empty body', () => {
      for (const range of ['bytes=5-2', 'lines=1-2', 'bytes=0-1,3-4']) expect(select({ range }).kind, range).to.equal('whole');
      expect(select({ range: 'bytes=0-1' }, 0).kind).to.equal('whole');
    });
  });

  describe('§13.1.5 If-Range', () => {
    it('applies the range only on a strong match of the ETag', () => {
      expect(select({ range: 'bytes=0-1', 'if-range': '"v1"' }).kind).to.equal('slice');
      expect(select({ range: 'bytes=0-1', 'if-range': '"v0"' }).kind).to.equal('whole');
      expect(select({ range: 'bytes=0-1', 'if-range': 'W/"v1"' }).kind).to.equal('whole');
    });
    it('applies the range for a date equal to a strong Last-Modified', () => {
      expect(select({ range: 'bytes=0-1', 'if-range': STORED['last-modified']! }).kind).to.equal('slice');
      expect(select({ range: 'bytes=0-1', 'if-range': new Date(T0).toUTCString() }).kind).to.equal('whole');
      const weak = record({ date: new Date(T0).toUTCString(), 'last-modified': new Date(T0).toUTCString() });
      expect(selectRange(record({ range: 'bytes=0-1', 'if-range': weak['last-modified']! }), weak, 10, T0).kind).to.equal('whole');
    });
  });

  describe('what goes to the origin', () => {
    it('several ranges, and a body stored decoded', () => {
      expect(rangeNeedsOrigin('bytes=0-1,4-5', STORED)).to.match(/several ranges/);
      expect(rangeNeedsOrigin('bytes=0-1', record({ '-content-encoding': 'gzip' }))).to.match(/decoded/);
      expect(rangeNeedsOrigin('bytes=0-1', STORED)).to.equal(null);
    });
  });
});
