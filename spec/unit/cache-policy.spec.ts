/**
 * RFC 9111 (and RFC 5861, RFC 8246) decisions of the private cache, one block per section.
 * Fixture builders state only the header that matters: aStored({ 'cache-control': 'max-age=60' }).
 */
import { expect } from 'chai';
import { parseDirectives } from '../../lib/cache/directives.js';
import { currentAge, freshnessLifetime, parseAge, type StoredResponse } from '../../lib/cache/freshness.js';
import {
  AS_ASKED, afterFailure, afterResponse, codingVariantBase, intake, isOriginError, lookup, partFor, preconditionFor, storeKey, weakEtagMatch,
  withoutStore, type Answer, type Ask, type AskStep, type Lookup, type VisitFacts,
} from '../../lib/cache/policy.js';
import type { ErrorCode } from '../../lib/errors.js';
import type { HopRequest } from '../../lib/types.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const DATE_T0 = new Date(T0).toUTCString();
const SETTINGS = { ignoreEtag: false, optimisticConcurrencyMethods: ['PUT'], goneLifetime: 86400, maxRetryAfter: 86400 };
const URL_A = 'http://a.test/doc';

function headers(h: Record<string, string>): Record<string, string> {
  return Object.assign(Object.create(null), h);
}

function aRequest(h: Record<string, string> = {}, method = 'GET', url = URL_A): HopRequest {
  return { url: new URL(url), method, headers: headers(h), body: null };
}

function aStored(h: Record<string, string> = {}, over: Partial<StoredResponse> = {}): StoredResponse {
  return {
    key: URL_A, status: 200, reason: 'OK', version: 11,
    headers: headers({ date: DATE_T0, ...h }), vary: Object.create(null), identity: null,
    requestTime: T0, responseTime: T0, ...over,
  };
}

function look(stored: StoredResponse | null, secondsLater: number, reqHeaders: Record<string, string> = {}, method = 'GET', identity: string | null = null): Lookup {
  return lookup({ req: aRequest(reqHeaders, method), stored, bodyLength: 0, identity, now: T0 + secondsLater * 1000, settings: SETTINGS });
}

/** What an answer is decided with: the visit, the ask that went to the origin, the answer itself. */
interface AnswerCase extends VisitFacts, Omit<Answer, 'headers'> {
  readonly headers: Record<string, string>;
  readonly stored: StoredResponse | null;
  readonly via: string;
  readonly replaces?: boolean;
}

function anAnswer(status: number, h: Record<string, string> = {}, over: Partial<AnswerCase> = {}): [VisitFacts, Ask, Answer] {
  const c: AnswerCase = {
    req: aRequest(), key: URL_A, identity: null, settings: SETTINGS, status, reasonPhrase: '', version: 11,
    headers: headers(h), bodyLength: 0, stored: null, via: 'If-None-Match', requestTime: T0, responseTime: T0, ...over,
  };
  const ask: Ask = { ...AS_ASKED, stored: c.stored, via: c.via, replaces: c.replaces === true };
  return [{ req: c.req, key: c.key, identity: c.identity, settings: c.settings }, ask, c];
}

/** The If-Match a precondition adds, or null. */
function ifMatch(step: AskStep): string | null {
  return step.ask.add['if-match'] ?? null;
}

describe('cache policy', () => {
  describe('RFC 9111 §5.2 Cache-Control parsing', () => {
    it('reads directives case-insensitively, with quoted arguments holding commas', () => {
      const d = parseDirectives('No-Store, MAX-AGE=60, no-cache="set-cookie, x", max-stale');
      expect(d).to.include({ noStore: true, maxAge: 60, noCache: true, maxStale: 'any' });
    });
    it('marks floats, signs, words and conflicting duplicates invalid (§1.2.2, §4.2.1)', () => {
      for (const v of ['max-age=1.5', 'max-age=-1', 'max-age=abc', 'max-age', 'max-age=10, max-age=20']) {
        expect(parseDirectives(v).maxAge, v).to.equal('invalid');
      }
      expect(parseDirectives('max-age=5, max-age=5').maxAge).to.equal(5);
      expect(parseDirectives('max-age="7"').maxAge).to.equal(7);
    });
    it('clamps delta-seconds to 2^31 (§1.2.2)', () => {
      expect(parseDirectives('max-age=99999999999999').maxAge).to.equal(2147483648);
    });
    it('§5.4: Pragma: no-cache counts only without Cache-Control', () => {
      expect(parseDirectives(undefined, 'no-cache').noCache).to.equal(true);
      expect(parseDirectives('max-age=5', 'no-cache').noCache).to.equal(false);
    });
  });

  describe('RFC 9111 §4.2.1 freshness lifetime', () => {
    it('uses max-age', () => {
      expect(freshnessLifetime(aStored({ 'cache-control': 'max-age=60' })).seconds).to.equal(60);
    });
    it('ignores s-maxage: it is for shared caches (§5.2.2.10)', () => {
      expect(freshnessLifetime(aStored({ 'cache-control': 's-maxage=600, max-age=60' })).seconds).to.equal(60);
      expect(freshnessLifetime(aStored({ 'cache-control': 's-maxage=600' })).seconds).to.equal(0);
    });
    it('prefers max-age over Expires', () => {
      expect(freshnessLifetime(aStored({ 'cache-control': 'max-age=5', expires: new Date(T0 + 3600e3).toUTCString() })).seconds).to.equal(5);
    });
    it('uses Expires minus Date', () => {
      const stored = aStored({ date: new Date(T0 - 100e3).toUTCString(), expires: new Date(T0 + 200e3).toUTCString() });
      expect(freshnessLifetime(stored).seconds).to.equal(300);
    });
    it('§5.3: an invalid Expires such as "0" means already expired', () => {
      expect(freshnessLifetime(aStored({ expires: '0', 'last-modified': new Date(T0 - 1e9).toUTCString() })).seconds).to.equal(0);
    });
    it('tolerates a missing Date: Expires counts from the time the response was received', () => {
      const stored = aStored({ expires: new Date(T0 + 30e3).toUTCString() });
      const { date: _omit, ...rest } = stored.headers;
      expect(freshnessLifetime({ ...stored, headers: headers(rest) }).seconds).to.equal(30);
    });
    it('treats an invalid max-age as stale rather than falling back to Expires (§4.2.1)', () => {
      expect(freshnessLifetime(aStored({ 'cache-control': 'max-age=1.5', expires: new Date(T0 + 3600e3).toUTCString() })).seconds).to.equal(0);
    });
    it('keeps 301 and 308 without explicit freshness as permanent redirects', () => {
      expect(freshnessLifetime(aStored({}, { status: 301 })).seconds).to.equal(Infinity);
      // RFC 9110 §15.5.11: a 410 is kept goneLifetime seconds (a day by default) unless it says otherwise.
      expect(freshnessLifetime(aStored({}, { status: 410 }))).to.deep.equal({ seconds: 86400, source: 'heuristic 86400s for 410 Gone' });
      expect(freshnessLifetime(aStored({}, { status: 410 }), 60).seconds).to.equal(60);
      expect(freshnessLifetime(aStored({ 'cache-control': 'max-age=5' }, { status: 410 })).seconds).to.equal(5);
      expect(freshnessLifetime(aStored({}, { status: 410 }), 0).seconds).to.equal(0);
      expect(freshnessLifetime(aStored({ 'cache-control': 'max-age=10' }, { status: 308 })).seconds).to.equal(10);
    });
  });

  describe('RFC 9111 §4.2.2 heuristic freshness', () => {
    it('is 10% of the time between Last-Modified and Date', () => {
      expect(freshnessLifetime(aStored({ 'last-modified': new Date(T0 - 1000e3).toUTCString() })).seconds).to.equal(100);
    });
    it('is capped at one day', () => {
      expect(freshnessLifetime(aStored({ 'last-modified': new Date(T0 - 365 * 86400e3).toUTCString() })).seconds).to.equal(86400);
    });
    it('applies only to heuristically cacheable statuses', () => {
      expect(freshnessLifetime(aStored({ 'last-modified': new Date(T0 - 1000e3).toUTCString() }, { status: 302 })).seconds).to.equal(0);
    });
  });

  describe('RFC 9111 §5.1 Age', () => {
    it('reads a non-negative integer', () => {
      expect(parseAge('30')).to.equal(30);
    });
    it('uses the first member of a list', () => {
      expect(parseAge('30, 40')).to.equal(30);
    });
    for (const bad of ['-5', '1.5', '10abc', 'abc', '', '+3']) {
      it(`ignores the invalid value ${JSON.stringify(bad)}`, () => {
        expect(parseAge(bad)).to.equal(null);
        expect(currentAge(aStored({ age: bad }), T0)).to.equal(0);
      });
    }
    it('clamps to 2^31', () => {
      expect(parseAge('99999999999999')).to.equal(2147483648);
    });
  });

  describe('RFC 9111 §4.2.3 current age', () => {
    it('adds Age, the response delay and the resident time', () => {
      const stored = aStored({ age: '10' }, { requestTime: T0 - 2000, responseTime: T0 });
      expect(currentAge(stored, T0 + 5000)).to.equal(10 + 2 + 5);
    });
    it('uses the apparent age when Date is older than Age says', () => {
      const stored = aStored({ date: new Date(T0 - 60e3).toUTCString(), age: '10' });
      expect(currentAge(stored, T0)).to.equal(60);
    });
    it('tolerates a missing Date', () => {
      const stored = aStored({}, { headers: headers({ 'cache-control': 'max-age=60' }) });
      expect(currentAge(stored, T0 + 1000)).to.equal(1);
    });
  });

  describe('RFC 9111 §4.2 fresh or stale', () => {
    it('answers a fresh entry from the cache', () => {
      const d = look(aStored({ 'cache-control': 'max-age=60' }), 59);
      expect(d.kind).to.equal('fresh');
      expect(d.reason).to.equal('fresh: max-age=60, age 59s');
    });
    it('revalidates once current age reaches the lifetime', () => {
      expect(look(aStored({ 'cache-control': 'max-age=60', etag: '"v1"' }), 60).kind).to.equal('revalidate');
    });
    it('counts an Age header received with the response', () => {
      expect(look(aStored({ 'cache-control': 'max-age=60', age: '50', etag: '"a"' }), 11).kind).to.equal('revalidate');
    });
    it('a Last-Modified-only entry is revalidated with If-Modified-Since once stale, never dropped', () => {
      const lm = new Date(T0 - 1000e3).toUTCString();
      const d = look(aStored({ 'last-modified': lm }), 101);
      expect(d.kind).to.equal('revalidate');
      if (d.kind === 'revalidate') expect(d.ask.add['if-modified-since']).to.equal(lm);
    });
  });

  describe('RFC 9111 §4.3.1 validators', () => {
    it('sends If-None-Match and If-Modified-Since', () => {
      const d = look(aStored({ etag: 'W/"x"', 'last-modified': DATE_T0 }), 1);
      expect(d.kind).to.equal('revalidate');
      if (d.kind !== 'revalidate') return;
      expect({ ...d.ask.add }).to.deep.equal({ 'if-none-match': 'W/"x"', 'if-modified-since': DATE_T0 });
      expect(d.ask.via).to.equal('If-None-Match and If-Modified-Since');
    });
    it('leaves out If-None-Match when ignoreEtag', () => {
      const d = lookup({ req: aRequest(), stored: aStored({ etag: '"x"' }), bodyLength: 0, identity: null, now: T0 + 1000, settings: { ...SETTINGS, ignoreEtag: true } });
      expect(d.kind === 'revalidate' && { ...d.ask.add }).to.deep.equal({});
    });
    it("keeps the caller's own validators", () => {
      const d = look(aStored({ etag: '"x"' }), 1, { 'if-none-match': '"mine"' });
      expect(d.kind === 'revalidate' && 'if-none-match' in d.ask.add).to.equal(false);
    });
  });

  describe("Apache's -gzip ETags (DESIGN.md)", () => {
    const LM = 'Sun, 01 Nov 2026 10:00:00 GMT';
    const gzipVariant = aStored({ etag: '"7de-66-gzip"', '-content-encoding': 'gzip', 'last-modified': LM });
    it('recognises the tag of a coding variant by the suffix of the coding its body arrived in', () => {
      expect(codingVariantBase(gzipVariant.headers)).to.equal('"7de-66"');
      expect(codingVariantBase(headers({ etag: 'W/"x-br"', '-content-encoding': 'br' }))).to.equal('W/"x"');
      expect(codingVariantBase(headers({ etag: '"x-gzip"', 'content-encoding': 'lzma, gzip' }))).to.equal('"x"');
      // Not a coding variant: no coding, another coding, or nothing before the suffix.
      expect(codingVariantBase(headers({ etag: '"x-gzip"' }))).to.equal(null);
      expect(codingVariantBase(headers({ etag: '"x-gzip"', '-content-encoding': 'br' }))).to.equal(null);
      expect(codingVariantBase(headers({ etag: '"-gzip"', '-content-encoding': 'gzip' }))).to.equal(null);
    });
    it('revalidates with If-Modified-Since alone: neither the tag Apache never matches nor one it never sent', () => {
      const d = look(gzipVariant, 1);
      expect(d.kind === 'revalidate' && { ...d.ask.add }).to.deep.equal({ 'if-modified-since': LM });
    });
    it('sends the tag as received when there is no Last-Modified to validate with', () => {
      const d = look(aStored({ etag: '"x-gzip"', '-content-encoding': 'gzip' }), 1);
      expect(d.kind === 'revalidate' && { ...d.ask.add }).to.deep.equal({ 'if-none-match': '"x-gzip"' });
    });
    it("takes a 304 carrying the tag without the suffix as the stored variant's, and keeps it", () => {
      const d = afterResponse(...anAnswer(304, { etag: '"7de-66"' }, { stored: gzipVariant }));
      expect(d.kind).to.equal('freshen');
      expect(d.kind === 'freshen' && d.stored.headers['etag']).to.equal('"7de-66"');
      expect(afterResponse(...anAnswer(304, { etag: '"7de-66-gzip"' }, { stored: gzipVariant })).kind).to.equal('freshen');
      expect(afterResponse(...anAnswer(304, { etag: '"7de-67"' }, { stored: gzipVariant })).kind).to.equal('refetch');
    });
    it("puts the resource's own tag in If-Match", () => {
      expect(ifMatch(preconditionFor(aRequest({}, 'PUT'), gzipVariant, SETTINGS))).to.equal('"7de-66"');
      expect(ifMatch(preconditionFor(aRequest({}, 'PUT'), aStored({ etag: 'W/"7de-66-gzip"', '-content-encoding': 'gzip' }), SETTINGS))).to.equal(null);
    });
  });

  describe('RFC 9111 §5.2.1 request directives', () => {
    const fresh = aStored({ 'cache-control': 'max-age=60', etag: '"v"' });
    const stale = aStored({ 'cache-control': 'max-age=60', etag: '"v"' });
    it('no-cache reloads end to end, as httplib2 does (§5.2.1.4)', () => {
      const reload = look(fresh, 1, { 'cache-control': 'no-cache' });
      expect(reload).to.deep.include({ kind: 'miss', reason: 'miss: request no-cache (end-to-end reload)' });
      expect(reload.kind === 'miss' && reload.ask.replaces).to.equal(true);
      expect(look(fresh, 1, { pragma: 'no-cache' }).kind).to.equal('miss');
    });
    it('max-age refuses an older entry (§5.2.1.1); max-age=0 always revalidates', () => {
      expect(look(fresh, 10, { 'cache-control': 'max-age=20' }).kind).to.equal('fresh');
      expect(look(fresh, 30, { 'cache-control': 'max-age=20' }).reason).to.match(/request max-age=20/);
      expect(look(fresh, 0, { 'cache-control': 'max-age=0' }).kind).to.equal('revalidate');
    });
    it('min-fresh needs that much freshness left (§5.2.1.3)', () => {
      expect(look(fresh, 30, { 'cache-control': 'min-fresh=20' }).kind).to.equal('fresh');
      expect(look(fresh, 50, { 'cache-control': 'min-fresh=20' }).kind).to.equal('revalidate');
    });
    it('max-stale with a value accepts that much staleness (§5.2.1.2)', () => {
      expect(look(stale, 90, { 'cache-control': 'max-stale=30' }).kind).to.equal('fresh');
      expect(look(stale, 91, { 'cache-control': 'max-stale=30' }).kind).to.equal('revalidate');
    });
    it('max-stale without a value accepts any staleness', () => {
      expect(look(stale, 1e6, { 'cache-control': 'max-stale' }).kind).to.equal('fresh');
    });
    it('max-stale does not override must-revalidate (§5.2.2.2)', () => {
      const mr = aStored({ 'cache-control': 'max-age=60, must-revalidate', etag: '"v"' });
      expect(look(mr, 70, { 'cache-control': 'max-stale' }).kind).to.equal('revalidate');
    });
    it('only-if-cached with nothing usable is unsatisfiable → 504 (§5.2.1.7)', () => {
      expect(look(null, 0, { 'cache-control': 'only-if-cached' }).kind).to.equal('unsatisfiable');
      expect(look(stale, 61, { 'cache-control': 'only-if-cached' }).kind).to.equal('unsatisfiable');
      expect(look(fresh, 1, { 'cache-control': 'only-if-cached' }).kind).to.equal('fresh');
    });
  });

  describe('RFC 9111 §5.2.2 response directives', () => {
    it('no-cache revalidates even a fresh entry (§5.2.2.4)', () => {
      const d = look(aStored({ 'cache-control': 'no-cache, max-age=60', etag: '"v"' }), 1);
      expect(d.kind).to.equal('revalidate');
      expect(d.reason).to.equal('revalidate: response no-cache, with If-None-Match');
    });
    it('RFC 8246 immutable: a fresh entry is not reloaded by a request no-cache or max-age=0', () => {
      const imm = aStored({ 'cache-control': 'max-age=60, immutable' });
      expect(look(imm, 1, { 'cache-control': 'no-cache' }).kind).to.equal('fresh');
      expect(look(imm, 1, { 'cache-control': 'max-age=0' }).kind).to.equal('fresh');
      expect(look(imm, 61).kind).to.equal('revalidate');
    });
  });

  describe('RFC 5861 stale-while-revalidate and stale-if-error', () => {
    it('§3: serves stale within the window and revalidates in the background', () => {
      const s = aStored({ 'cache-control': 'max-age=60, stale-while-revalidate=30', etag: '"v"' });
      const d = look(s, 80);
      expect(d.kind).to.equal('stale-while-revalidate');
      const late = look(s, 91);
      expect(late.kind).to.equal('revalidate');
    });
    it('§4: allows a stale answer on error within the window (response or request directive)', () => {
      const s = aStored({ 'cache-control': 'max-age=60, stale-if-error=100', etag: '"v"' });
      const d = look(s, 150);
      expect(d.kind === 'revalidate' && d.ask.staleIfError).to.equal(true);
      const late = look(s, 161);
      expect(late.kind === 'revalidate' && late.ask.staleIfError).to.equal(false);
      const byRequest = look(aStored({ 'cache-control': 'max-age=60', etag: '"v"' }), 70, { 'cache-control': 'stale-if-error=60' });
      expect(byRequest.kind === 'revalidate' && byRequest.ask.staleIfError).to.equal(true);
    });
    it('must-revalidate forbids both', () => {
      const s = aStored({ 'cache-control': 'max-age=60, must-revalidate, stale-if-error=100, stale-while-revalidate=100', etag: '"v"' });
      const d = look(s, 70);
      expect([d.kind, d.kind === 'revalidate' && d.ask.staleIfError]).to.deep.equal(['revalidate', false]);
    });
  });

  describe('RFC 9111 §4.1 Vary', () => {
    const varied = aStored({ 'cache-control': 'max-age=60', vary: 'Accept-Language' }, { vary: Object.assign(Object.create(null), { 'accept-language': 'en' }) });
    it('serves the variant whose selected headers match', () => {
      expect(look(varied, 1, { 'accept-language': 'en' }).kind).to.equal('fresh');
    });
    it('misses a variant with other header values, naming the header', () => {
      expect(look(varied, 1, { 'accept-language': 'fr' })).to.deep.include({ kind: 'miss', reason: 'miss: Vary mismatch on accept-language' });
      expect(look(varied, 1).kind).to.equal('miss');
    });
    it('Vary: * never matches', () => {
      expect(look(aStored({ 'cache-control': 'max-age=60', vary: '*' }), 1).reason).to.equal('miss: Vary: * never matches');
    });
  });

  describe('DESIGN.md identity', () => {
    it('never answers one identity with an entry stored for another', () => {
      const s = aStored({ 'cache-control': 'max-age=60' }, { identity: 'user:alice' });
      expect(look(s, 1, {}, 'GET', 'user:bob').kind).to.equal('miss');
      expect(look(s, 1, {}, 'GET', null).kind).to.equal('miss');
      expect(look(s, 1, {}, 'GET', 'user:alice').kind).to.equal('fresh');
    });
  });

  describe('RFC 9110 §9.3.2 HEAD and RFC 9111 §3.3 ranges', () => {
    it('answers HEAD from a fresh GET entry', () => {
      expect(look(aStored({ 'cache-control': 'max-age=60' }), 1, {}, 'HEAD').kind).to.equal('fresh');
    });
    it('sends HEAD for a stale entry to the origin as it is', () => {
      expect(look(aStored({ etag: '"v"' }), 1, {}, 'HEAD').kind).to.equal('miss');
    });
    it('looks a single Range up like any GET; several ranges and unsafe methods bypass', () => {
      expect(look(aStored({ 'cache-control': 'max-age=60' }), 1, { range: 'bytes=0-1' }).kind).to.equal('fresh');
      expect(look(aStored({ etag: '"v"' }), 1, { range: 'bytes=0-1' }).kind).to.equal('revalidate');
      expect(look(aStored({ 'cache-control': 'max-age=60' }), 1, { range: 'bytes=0-1,3-4' }).kind).to.equal('bypass');
      expect(look(aStored({ 'cache-control': 'max-age=60' }), 1, {}, 'POST').kind).to.equal('bypass');
    });
  });

  describe('RFC 9111 §3 storing responses', () => {
    it('stores a response with max-age, naming the reason', () => {
      const d = afterResponse(...anAnswer(200, { 'cache-control': 'max-age=60' }));
      expect(d.kind).to.equal('store');
      expect(d.reason).to.equal('stored: max-age=60');
    });
    for (const cc of ['no-store', 'No-Store', 'NO-STORE, max-age=60']) {
      it(`stores nothing from Cache-Control: ${cc}`, () => {
        expect(afterResponse(...anAnswer(200, { 'cache-control': cc }))).to.deep.equal({ kind: 'pass', reason: 'not stored: no-store' });
      });
    }
    it('stores nothing for a request with no-store (§5.2.1.5)', () => {
      expect(afterResponse(...anAnswer(200, { 'cache-control': 'max-age=60' }, { req: aRequest({ 'cache-control': 'no-store' }) })).reason).to.equal('not stored: request no-store');
    });
    it('stores nothing from a 206 (§3.3: entries are whole)', () => {
      expect(afterResponse(...anAnswer(206, { 'cache-control': 'max-age=60' })).kind).to.equal('pass');
    });
    it('stores a body in a coding the client does not decode, with its Content-Encoding', () => {
      const d = afterResponse(...anAnswer(200, { 'cache-control': 'max-age=60', 'content-encoding': 'lzma', 'content-length': '3' }, { bodyLength: 3 }));
      expect(d.kind === 'store' && d.stored.headers['content-encoding']).to.equal('lzma');
    });
    it('stores nothing from a body shorter than its Content-Length', () => {
      expect(afterResponse(...anAnswer(200, { 'cache-control': 'max-age=60', 'content-length': '10' }, { bodyLength: 4 })).reason).to.equal('not stored: truncated body (4 of 10 bytes)');
    });
    it('stores nothing with Vary: *', () => {
      expect(afterResponse(...anAnswer(200, { 'cache-control': 'max-age=60', vary: '*' })).reason).to.equal('not stored: Vary: *');
    });
    it('stores a status outside the heuristic set only with explicit freshness', () => {
      expect(afterResponse(...anAnswer(302, { etag: '"x"' })).kind).to.equal('pass');
      expect(afterResponse(...anAnswer(302, { 'cache-control': 'max-age=60' })).kind).to.equal('store');
    });
    it('stores a Last-Modified-only 200 (heuristic) and a 301 as a permanent redirect', () => {
      expect(afterResponse(...anAnswer(200, { 'last-modified': new Date(T0 - 1000e3).toUTCString() })).reason).to.match(/^stored: heuristic 100s/);
      expect(afterResponse(...anAnswer(301, { location: '/new' })).reason).to.equal('stored: permanent redirect 301');
    });
    it('stores nothing that could never be used (no freshness, no validator)', () => {
      expect(afterResponse(...anAnswer(200, {})).reason).to.equal('not stored: no explicit freshness and no validator');
    });
    it('keeps the stored entry through an error answer to its revalidation or reload (429, 5xx)', () => {
      const stored = aStored({ etag: '"v"' });
      for (const status of [429, 500, 503, 599]) {
        const [visit, ask, answer] = anAnswer(status, {}, { stored });
        const d = afterResponse(visit, { ...ask, kept: stored }, answer);
        expect(d.kind === 'keep' && d.stored, String(status)).to.equal(stored);
      }
      const [visit, ask, answer] = anAnswer(404, {}, { stored });
      expect(afterResponse(visit, { ...ask, kept: stored }, answer).kind).to.equal('invalidate');
    });
    it('drops the stored entry when its new answer may not be stored', () => {
      const d = afterResponse(...anAnswer(200, { 'cache-control': 'no-store' }, { stored: aStored({ etag: '"v"' }) }));
      expect(d.kind).to.equal('invalidate');
    });
    it('stores the answer without Set-Cookie or Set-Cookie2 (DESIGN.md, Identity)', () => {
      const d = afterResponse(...anAnswer(200, { 'cache-control': 'max-age=60', 'set-cookie': 'sid=1', 'set-cookie2': 'x=1', etag: '"v"' }));
      expect(d.kind === 'store' && { ...d.stored.headers }).to.deep.equal({ 'cache-control': 'max-age=60', etag: '"v"' });
      const freshened = afterResponse(...anAnswer(304, { etag: '"v"', 'set-cookie': 'sid=2' }, { stored: aStored({ etag: '"v"', 'set-cookie': 'old=1' }) }));
      expect(freshened.kind === 'freshen' && ('set-cookie' in freshened.stored.headers)).to.equal(false);
    });
    it('records the Vary-selected request headers and the identity', () => {
      const d = afterResponse(...anAnswer(200, { 'cache-control': 'max-age=60', vary: 'Accept-Language, Accept' }, { req: aRequest({ 'accept-language': 'en  ,  fr' }), identity: 'user:alice' }));
      expect(d.kind === 'store' && { ...d.stored.vary }).to.deep.equal({ 'accept-language': 'en, fr', accept: null });
      expect(d.kind === 'store' && d.stored.identity).to.equal('user:alice');
    });
  });

  describe('RFC 9111 §4.3.4 freshening with a 304', () => {
    const stored = aStored({ 'cache-control': 'max-age=60', etag: 'W/"v1"', 'content-length': '5', 'x-old': 'kept', 'x-changed': 'old' });
    it('merges the end-to-end headers, never hop-by-hop ones or Content-Length', () => {
      const d = afterResponse(...anAnswer(304, { etag: '"v1"', 'x-changed': 'new', 'content-length': '0', connection: 'x-hop', 'x-hop': '1', 'keep-alive': 'timeout=5' }, { stored, requestTime: T0 + 100e3, responseTime: T0 + 101e3 }));
      expect(d.kind).to.equal('freshen');
      if (d.kind !== 'freshen') return;
      expect(d.reason).to.equal('revalidated: 304 via If-None-Match');
      expect(d.stored.headers['x-changed']).to.equal('new');
      expect(d.stored.headers['x-old']).to.equal('kept');
      expect(d.stored.headers['content-length']).to.equal('5');
      expect('x-hop' in d.stored.headers || 'keep-alive' in d.stored.headers || 'connection' in d.stored.headers).to.equal(false);
      expect(d.stored.responseTime).to.equal(T0 + 101e3);
    });
    it('drops the stored Age and Date the 304 does not repeat, so the entry is fresh again (§5.1, RFC 9110 §6.6.1)', () => {
      const old = aStored({ 'cache-control': 'max-age=60', etag: '"v1"', age: '100' });
      const d = afterResponse(...anAnswer(304, { etag: '"v1"' }, { stored: old, requestTime: T0 + 100e3, responseTime: T0 + 100e3 }));
      if (d.kind !== 'freshen') throw new Error(d.kind);
      expect('age' in d.stored.headers || 'date' in d.stored.headers).to.equal(false);
      expect(look(d.stored, 110).kind).to.equal('fresh');
      const withBoth = afterResponse(...anAnswer(304, { etag: '"v1"', age: '5', date: new Date(T0 + 100e3).toUTCString() }, { stored: old, requestTime: T0 + 100e3, responseTime: T0 + 100e3 }));
      if (withBoth.kind !== 'freshen') throw new Error(withBoth.kind);
      expect([withBoth.stored.headers['age'], withBoth.stored.headers['date']]).to.deep.equal(['5', new Date(T0 + 100e3).toUTCString()]);
    });
    it('compares ETags weakly to select the stored response (RFC 9110 §8.8.3.2)', () => {
      expect(weakEtagMatch('W/"a"', '"a"')).to.equal(true);
      expect(weakEtagMatch('"a"', '"b"')).to.equal(false);
      expect(afterResponse(...anAnswer(304, { etag: '"other"' }, { stored })).kind).to.equal('refetch');
    });
    it('selects by Last-Modified when the 304 has no ETag: another date is another representation (§4.3.4)', () => {
      const dated = aStored({ 'cache-control': 'max-age=60', 'last-modified': 'Sun, 01 Nov 2026 10:00:00 GMT' });
      expect(afterResponse(...anAnswer(304, { 'last-modified': 'Mon, 02 Nov 2026 10:00:00 GMT' }, { stored: dated })).kind).to.equal('refetch');
      // The same instant in the obsolete RFC 850 form still selects it.
      expect(afterResponse(...anAnswer(304, { 'last-modified': 'Sunday, 01-Nov-26 10:00:00 GMT' }, { stored: dated })).kind).to.equal('freshen');
      expect(afterResponse(...anAnswer(304, {}, { stored: dated })).kind).to.equal('freshen');
    });
    it('passes a 304 with no stored entry back as it is (a caller-made conditional request)', () => {
      expect(afterResponse(...anAnswer(304, {})).kind).to.equal('pass');
    });
  });

  describe('RFC 9111 §4.4 invalidation', () => {
    it('invalidates the target and same-origin Location / Content-Location after a non-error answer', () => {
      const d = afterResponse(...anAnswer(201, { location: '/doc/2', 'content-location': 'http://other.test/x' }, { req: aRequest({}, 'POST') }));
      expect(d.kind === 'invalidate' && d.keys).to.deep.equal(['http://a.test/doc', 'http://a.test/doc/2']);
    });
    it('invalidates nothing after an error answer', () => {
      expect(afterResponse(...anAnswer(500, {}, { req: aRequest({}, 'DELETE') })).kind).to.equal('pass');
      expect(afterResponse(...anAnswer(412, {}, { req: aRequest({}, 'PUT') })).kind).to.equal('pass');
    });
    it('leaves safe methods alone', () => {
      expect(afterResponse(...anAnswer(200, { 'cache-control': 'max-age=60' }, { req: aRequest({}, 'OPTIONS') })).kind).to.equal('pass');
    });
  });

  describe('lost-update protection (RFC 9110 §13.1.1 If-Match)', () => {
    const stored = aStored({ etag: '"v1"' });
    it('adds If-Match with the stored strong ETag to methods in optimisticConcurrencyMethods', () => {
      expect(ifMatch(preconditionFor(aRequest({}, 'PUT'), stored, SETTINGS))).to.equal('"v1"');
      expect(ifMatch(preconditionFor(aRequest({}, 'PATCH'), stored, SETTINGS))).to.equal(null);
    });
    it('adds none when the caller set one, with ignoreEtag, without an ETag, or for a weak ETag', () => {
      expect(ifMatch(preconditionFor(aRequest({ 'if-match': '"x"' }, 'PUT'), stored, SETTINGS))).to.equal(null);
      expect(ifMatch(preconditionFor(aRequest({}, 'PUT'), stored, { ...SETTINGS, ignoreEtag: true }))).to.equal(null);
      expect(ifMatch(preconditionFor(aRequest({}, 'PUT'), null, SETTINGS))).to.equal(null);
      expect(ifMatch(preconditionFor(aRequest({}, 'PUT'), aStored({ etag: 'W/"v1"' }), SETTINGS))).to.equal(null);
    });
  });

  describe('the plan of a visit: intake, parts, and RFC 5861 §4 failures', () => {
    it('reads the store for GET and HEAD (lookup) and for optimisticConcurrencyMethods (If-Match); sends other methods as they are', () => {
      expect(intake(aRequest(), SETTINGS)).to.include({ kind: 'read', then: 'lookup' });
      expect(intake(aRequest({}, 'HEAD'), SETTINGS)).to.include({ kind: 'read', then: 'lookup' });
      expect(intake(aRequest({}, 'PUT'), SETTINGS)).to.include({ kind: 'read', then: 'precondition' });
      for (const method of ['POST', 'DELETE', 'PATCH', 'OPTIONS', 'PURGE']) {
        expect(intake(aRequest({}, method), SETTINGS), method).to.deep.equal({ kind: 'ask', reason: null, ask: AS_ASKED });
      }
    });

    it('answers only-if-cached without a store with a 504 (RFC 9111 §5.2.1.7), and forwards anything else', () => {
      expect(withoutStore(aRequest({ 'cache-control': 'only-if-cached' }))).to.equal('unsatisfiable');
      expect(withoutStore(aRequest({ 'cache-control': 'no-cache' }))).to.equal('forward');
      expect(withoutStore(aRequest())).to.equal('forward');
    });

    it('keys a stored response by the normalised URI, then the identity', () => {
      expect(storeKey(new URL('HTTP://A.test:80/doc#x'), null)).to.equal('http://a.test/doc');
      expect(storeKey(new URL('http://a.test'), 'user:joe')).to.equal('http://a.test/ user:joe');
    });

    it('serves the whole of a stored response, its head only to HEAD, and what a Range selects of a 200', () => {
      const stored = aStored({ 'cache-control': 'max-age=60' });
      expect(partFor(aRequest(), stored, 10, T0)).to.deep.equal({ kind: 'whole', reason: null });
      expect(partFor(aRequest({}, 'HEAD'), stored, 10, T0).kind).to.equal('none');
      expect(partFor(aRequest({ range: 'bytes=2-4' }), stored, 10, T0)).to.include({ kind: 'slice', start: 2, end: 4 });
      expect(partFor(aRequest({ range: 'bytes=20-' }), stored, 10, T0).kind).to.equal('unsatisfiable');
      expect(partFor(aRequest({ range: 'bytes=2-4' }), aStored({}, { status: 404 }), 10, T0)).to.deep.equal({ kind: 'whole', reason: null });
    });

    it('counts 500, 502, 503 and 504 as errors, and no other status', () => {
      for (const status of [500, 502, 503, 504]) expect(isOriginError({ status }), String(status)).to.equal(true);
      for (const status of [200, 304, 404, 429, 501, 505]) expect(isOriginError({ status }), String(status)).to.equal(false);
    });

    it('counts the failures of the origin or the path to it, never a bug, an abort, a refused request or a bad body', () => {
      // Every code, so that a new one is placed on one side or the other.
      const isOrigin: Record<ErrorCode, boolean> = {
        ERR_CONNECTION: true, ERR_SERVER_NOT_FOUND: true, ERR_REQUEST_TIMEOUT: true, ERR_PROXY: true, ERR_TLS: true,
        ERR_INTERNAL: false, ERR_ABORTED: false, ERR_CLOSED: false, ERR_INVALID_REQUEST: false, ERR_BODY_TOO_LARGE: false,
        ERR_FAILED_TO_DECOMPRESS: false, ERR_CACHE: false, ERR_CACHE_UNSAFE: false, ERR_HTTPLIB2: false, ERR_RELATIVE_URI: false,
        ERR_REDIRECT_LIMIT: false, ERR_REDIRECT_MISSING_LOCATION: false, ERR_UNIMPLEMENTED_DIGEST_OPTION: false,
        ERR_UNIMPLEMENTED_HMAC_DIGEST_OPTION: false,
      };
      for (const [code, expected] of Object.entries(isOrigin)) expect(isOriginError({ code: code as ErrorCode }), code).to.equal(expected);
    });

    it('serves the stored response after an origin failure when stale-if-error allows it, else rethrows', () => {
      const stored = aStored({ 'cache-control': 'max-age=60, stale-if-error=600', etag: '"v"' });
      const ask: Ask = { ...AS_ASKED, stored, storedLength: 5, staleIfError: true, shared: true };
      const facts = { req: aRequest(), key: URL_A, identity: null, settings: SETTINGS };
      const served = afterFailure(facts, ask, 'ERR_CONNECTION', T0 + 120e3);
      expect(served).to.deep.include({ kind: 'serve-stale', reason: 'stale-if-error: served stale after ERR_CONNECTION', stored, age: 120 });
      expect(afterFailure(facts, ask, 'ERR_INTERNAL', T0 + 120e3)).to.deep.equal({ kind: 'rethrow', reason: null });
      expect(afterFailure(facts, ask, 'ERR_ABORTED', T0 + 120e3).kind).to.equal('rethrow');
      expect(afterFailure(facts, { ...ask, staleIfError: false }, 'ERR_CONNECTION', T0 + 120e3).kind).to.equal('rethrow');
      expect(afterFailure(facts, AS_ASKED, 'ERR_CONNECTION', T0 + 120e3).kind).to.equal('rethrow');
      const ranged = afterFailure({ ...facts, req: aRequest({ range: 'bytes=0-1' }) }, ask, 'ERR_TLS', T0 + 120e3);
      expect(ranged.kind === 'serve-stale' && ranged.part).to.include({ kind: 'slice', start: 0, end: 1 });
    });
  });
});
