import { expect } from 'chai';
import { formatHttpDate, parseHttpDate } from '../../lib/http-date.js';

const NOV_6_1994 = Date.UTC(1994, 10, 6, 8, 49, 37);
const NOW_2026 = Date.UTC(2026, 0, 1);

describe('RFC 9110 §5.6.7 HTTP-date', () => {
  it('parses the preferred IMF-fixdate', () => {
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT')).to.equal(NOV_6_1994);
  });

  it('parses the obsolete RFC 850 form, placing the two-digit year no more than 50 years ahead', () => {
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', NOW_2026)).to.equal(NOV_6_1994);
    expect(parseHttpDate('Thursday, 01-Jan-70 00:00:00 GMT', NOW_2026)).to.equal(Date.UTC(2070, 0, 1));
    expect(parseHttpDate('Monday, 01-Jan-77 00:00:00 GMT', NOW_2026)).to.equal(Date.UTC(1977, 0, 1));
    // In 2099, "01" is two years ahead, not 98 years behind.
    expect(parseHttpDate('Sunday, 01-Jan-01 00:00:00 GMT', Date.UTC(2099, 0, 1))).to.equal(Date.UTC(2101, 0, 1));
  });

  it('parses the obsolete asctime form, single-digit days padded with a space', () => {
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994')).to.equal(NOV_6_1994);
    expect(parseHttpDate('Sun Nov 16 08:49:37 1994')).to.equal(Date.UTC(1994, 10, 16, 8, 49, 37));
  });

  it('tolerates surrounding whitespace and letter case of names', () => {
    expect(parseHttpDate('  sun, 06 NOV 1994 08:49:37 gmt ')).to.equal(NOV_6_1994);
  });

  for (const bad of ['0', '-1', '', 'yesterday', 'Sun, 06 Nov 1994 08:49:37', 'Sun, 31 Feb 1994 08:49:37 GMT',
    'Sun, 06 Nov 1994 24:00:00 GMT', 'Sun, 6 Nov 1994 08:49:37 GMT', '1994-11-06T08:49:37Z', 'Sun, 06 Nov 1994 08:49:37 PST']) {
    it(`refuses ${JSON.stringify(bad)}`, () => {
      expect(parseHttpDate(bad)).to.equal(null);
    });
  }

  it('refuses non-strings', () => {
    expect(parseHttpDate(undefined)).to.equal(null);
    expect(parseHttpDate(null)).to.equal(null);
  });

  it('keeps four-digit years below 100 as they are', () => {
    expect(parseHttpDate('Mon, 01 Jan 0099 00:00:00 GMT')).to.equal(new Date('0099-01-01T00:00:00Z').getTime());
  });

  it('formats as IMF-fixdate and round-trips', () => {
    expect(formatHttpDate(NOV_6_1994)).to.equal('Sun, 06 Nov 1994 08:49:37 GMT');
    expect(parseHttpDate(formatHttpDate(NOW_2026))).to.equal(NOW_2026);
  });
});
