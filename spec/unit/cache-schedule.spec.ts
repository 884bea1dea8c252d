/**
 * When to come back (#11): the schedule an answer carries for what the store holds (RFC 9111 §4.2
 * freshness, RFC 9110 §10.2.3 Retry-After), and the response fields that carry it.
 */
import { expect } from 'chai';
import type { StoredResponse } from '../../lib/cache/freshness.js';
import { scheduleOf } from '../../lib/cache/policy.js';
import { Response, withHead } from '../../lib/response.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const SETTINGS = { ignoreEtag: false, optimisticConcurrencyMethods: ['PUT'], goneLifetime: 86400, maxRetryAfter: 86400 };

function aStored(h: Record<string, string>, over: Partial<StoredResponse> = {}): StoredResponse {
  return {
    key: 'http://a.test/feed', status: 200, reason: 'OK', version: 11, headers: Object.assign(Object.create(null), h),
    vary: Object.create(null), identity: null, requestTime: T0, responseTime: T0, ...over,
  };
}

describe('the schedule of an answer (freshUntil, retryAfter)', () => {
  it('freshUntil is when the current age reaches the freshness lifetime, the same at any time it is asked', () => {
    const stored = aStored({ 'cache-control': 'max-age=600', age: '100' });
    for (const now of [T0, T0 + 300e3, T0 + 900e3]) expect(scheduleOf(stored, now, SETTINGS)).to.deep.equal({ freshUntil: T0 + 500e3, retryAfter: null });
    // An origin Date older than the arrival counts as age already spent (RFC 9111 §4.2.3 apparent_age).
    expect(scheduleOf(aStored({ 'cache-control': 'max-age=600', date: new Date(T0 - 60e3).toUTCString() }), T0, SETTINGS).freshUntil).to.equal(T0 + 540e3);
    expect(scheduleOf(aStored({}, { status: 410 }), T0, { ...SETTINGS, goneLifetime: 60 }).freshUntil).to.equal(T0 + 60e3);
  });

  it('is null for nothing stored and for a permanent redirect; a stand-in 429 has only its retry time', () => {
    expect(scheduleOf(null, T0, SETTINGS)).to.deep.equal({ freshUntil: null, retryAfter: null });
    expect(scheduleOf(aStored({}, { status: 301 }), T0, SETTINGS).freshUntil).to.equal(null);
    expect(scheduleOf(aStored({}, { status: 429, notBefore: T0 + 60e3 }), T0, SETTINGS)).to.deep.equal({ freshUntil: null, retryAfter: T0 + 60e3 });
  });

  it('retryAfter holds until the not-before time only', () => {
    const stored = aStored({ 'cache-control': 'max-age=60' }, { notBefore: T0 + 600e3 });
    expect(scheduleOf(stored, T0 + 599e3, SETTINGS).retryAfter).to.equal(T0 + 600e3);
    expect(scheduleOf(stored, T0 + 600e3, SETTINGS).retryAfter).to.equal(null);
  });

  it('responses carry both as Dates of their own through withHead and clone, null by default', () => {
    expect([new Response({ status: 200 }).freshUntil, new Response({ status: 200 }).retryAfter]).to.deep.equal([null, null]);
    const until = new Date(T0);
    const response = new Response({ status: 200, freshUntil: until, retryAfter: until });
    until.setTime(0);
    expect(response.freshUntil!.getTime()).to.equal(T0);
    const copy = withHead(response, { set: { 'x-a': '1' } });
    const cloned = response.clone();
    expect([copy.freshUntil, copy.retryAfter, cloned.freshUntil, cloned.retryAfter].map((d) => d!.getTime())).to.deep.equal([T0, T0, T0, T0]);
    copy.freshUntil!.setTime(1);
    expect(response.freshUntil!.getTime()).to.equal(T0);
    expect(withHead(response, { retryAfter: null }).retryAfter).to.equal(null);
  });
});
