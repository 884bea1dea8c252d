/**
 * RFC 9110 §10.2.3 Retry-After on a 429 (RFC 6585 §4) or 503: the time before which the origin is not
 * asked again, capped; whether a stored response still holds requests back.
 */
import { expect } from 'chai';
import { heldUntil, isStandIn, notBeforeOf, type RefusalAnswer } from '../../lib/cache/retry-after.js';
import type { StoredResponse } from '../../lib/cache/freshness.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const DAY = 86400;

function anAnswer(status: number, headers: Record<string, string>, responseTime = T0): RefusalAnswer {
  return { status, headers: Object.assign(Object.create(null), headers), responseTime };
}

function aStored(status: number, notBefore?: number): StoredResponse {
  return {
    key: 'http://a.test/feed', status, reason: '', version: 11, headers: Object.create(null), vary: Object.create(null),
    identity: null, requestTime: T0, responseTime: T0, ...(notBefore === undefined ? {} : { notBefore }),
  };
}

describe('Retry-After (RFC 9110 §10.2.3)', () => {
  it('counts delay-seconds from when the answer arrived', () => {
    expect(notBeforeOf(anAnswer(429, { 'retry-after': '120' }), DAY)).to.deep.equal({ at: T0 + 120e3, source: 'Retry-After: 120' });
    expect(notBeforeOf(anAnswer(503, { 'retry-after': ' 60 ' }), DAY)!.at).to.equal(T0 + 60e3);
  });

  it("reads an HTTP-date against the answer's Date, or against its arrival without one", () => {
    const date = new Date(T0 + 3600e3).toUTCString();
    expect(notBeforeOf(anAnswer(429, { 'retry-after': date }), DAY)!.at).to.equal(T0 + 3600e3);
    // The origin's clock is 5 minutes ahead of ours: it asked for 55 minutes of its time.
    const ahead = new Date(T0 + 300e3).toUTCString();
    expect(notBeforeOf(anAnswer(503, { date: ahead, 'retry-after': date }), DAY)!.at).to.equal(T0 + 3300e3);
    // The obsolete forms are HTTP-dates too (RFC 9110 §5.6.7).
    expect(notBeforeOf(anAnswer(429, { 'retry-after': 'Thursday, 01-Jan-26 13:00:00 GMT' }), DAY)!.at).to.equal(T0 + 3600e3);
  });

  it('caps the wait at maxSeconds after the answer, and says so', () => {
    expect(notBeforeOf(anAnswer(429, { 'retry-after': '999999999999999999999' }), DAY)).to.deep.equal({
      at: T0 + DAY * 1000, source: `Retry-After: 999999999999999999999, capped at ${DAY}s`,
    });
    expect(notBeforeOf(anAnswer(429, { 'retry-after': '120' }), 60)!.at).to.equal(T0 + 60e3);
    expect(notBeforeOf(anAnswer(429, { 'retry-after': '120' }), 0)).to.equal(null);
  });

  it('remembers nothing without one, from a value of neither form, a time already past, or another status', () => {
    expect(notBeforeOf(anAnswer(503, {}), DAY)).to.equal(null);
    for (const value of ['', 'soon', '-5', '1.5', '0', new Date(T0 - 1000).toUTCString()]) {
      expect(notBeforeOf(anAnswer(429, { 'retry-after': value }), DAY), value).to.equal(null);
    }
    for (const status of [200, 301, 500, 502, 504]) expect(notBeforeOf(anAnswer(status, { 'retry-after': '60' }), DAY), String(status)).to.equal(null);
  });

  it('holds requests back until the stored time only; a stored 429/503 with one stands in for the answer', () => {
    expect(heldUntil(aStored(200, T0 + 60e3), T0 + 59e3)).to.equal(T0 + 60e3);
    expect(heldUntil(aStored(200, T0 + 60e3), T0 + 60e3)).to.equal(null);
    expect(heldUntil(aStored(200), T0)).to.equal(null);
    expect(isStandIn(aStored(429, T0))).to.equal(true);
    expect(isStandIn(aStored(503, T0))).to.equal(true);
    expect(isStandIn(aStored(503))).to.equal(false);
    expect(isStandIn(aStored(200, T0 + 60e3))).to.equal(false);
  });
});
