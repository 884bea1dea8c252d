/**
 * RFC 10008 §2.7 as the policy sees it: the store key of a QUERY holds a digest of its content and
 * metadata (never the content itself), the key of every other request is what it always was, and a
 * QUERY is looked up, stored and never invalidates, as a safe method.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { afterResponse, AS_ASKED, intake, lookup, requestKey, storeKey, type Answer, type VisitFacts } from '../../lib/cache/policy.js';
import { queryContentKey } from '../../lib/cache/query.js';
import type { HopRequest } from '../../lib/types.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const SETTINGS = { ignoreEtag: false, optimisticConcurrencyMethods: ['PUT'], goneLifetime: 86400, maxRetryAfter: 86400 };

function aQuery(body: string | null, h: Record<string, string> = {}, method = 'QUERY', url = 'http://a.test/search'): HopRequest {
  return { url: new URL(url), method, headers: Object.assign(Object.create(null), h), body: body === null ? null : Buffer.from(body) };
}

describe('QUERY: the store key (RFC 10008 §2.7)', () => {
  it('leaves the key of every other request byte for byte what it was: the normalised URI, then the identity', () => {
    for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'query', 'PROPFIND']) {
      const req = aQuery('{"q":1}', { 'content-type': 'application/json' }, method, 'HTTP://A.test:80/search?x=1#frag');
      expect(requestKey(req, null), method).to.equal('http://a.test/search?x=1');
      expect(requestKey(req, 'id-digest'), method).to.equal('http://a.test/search?x=1 id-digest');
      expect(requestKey(req, 'id-digest')).to.equal(storeKey(req.url, 'id-digest'));
    }
  });

  it('is the method, the URI and a SHA-256 of the content with its metadata, then the identity', () => {
    const req = aQuery('{"q":1}', { 'content-type': 'application/json' });
    const expected = createHash('sha256').update('content-type:application/json\ncontent-encoding:\ncontent-language:\n{"q":1}').digest('hex');
    expect(requestKey(req, null)).to.equal(`QUERY http://a.test/search sha256=${expected}`);
    expect(requestKey(req, 'id-digest')).to.equal(`QUERY http://a.test/search sha256=${expected} id-digest`);
  });

  it('never holds the content in clear', () => {
    const key = requestKey(aQuery('password=hunter2&q=secret', { 'content-type': 'application/x-www-form-urlencoded' }), null);
    expect(key).not.to.include('hunter2');
    expect(key).not.to.include('secret');
  });

  it('tells apart another body, another media type, another coding or language, and no body from an empty one only by content', () => {
    const keys = [
      queryContentKey(aQuery('{"q":1}', { 'content-type': 'application/json' })),
      queryContentKey(aQuery('{"q":2}', { 'content-type': 'application/json' })),
      queryContentKey(aQuery('{"q":1}', { 'content-type': 'text/plain' })),
      queryContentKey(aQuery('{"q":1}', { 'content-type': 'application/json; charset=utf-16' })),
      queryContentKey(aQuery('{"q":1}', { 'content-type': 'application/json', 'content-encoding': 'gzip' })),
      queryContentKey(aQuery('{"q":1}', { 'content-type': 'application/json', 'content-language': 'fr' })),
      queryContentKey(aQuery('{"q":1}')),
    ];
    expect(new Set(keys).size).to.equal(keys.length);
    // No content and empty content are the same query.
    expect(queryContentKey(aQuery(null))).to.equal(queryContentKey(aQuery('')));
  });

  it('ignores what RFC 9110 makes insignificant: the case of type/subtype and whitespace around a field value', () => {
    const plain = queryContentKey(aQuery('x', { 'content-type': 'application/json; charset=UTF-8' }));
    expect(queryContentKey(aQuery('x', { 'content-type': ' Application/JSON; charset=UTF-8 ' }))).to.equal(plain);
    // Parameter values may be case-sensitive: kept as sent.
    expect(queryContentKey(aQuery('x', { 'content-type': 'application/json; charset=utf-8' }))).not.to.equal(plain);
  });

  it('ignores the other request fields (Vary selects on them, as for GET)', () => {
    expect(queryContentKey(aQuery('x', { accept: 'text/csv', 'x-trace': '1' }))).to.equal(queryContentKey(aQuery('x')));
  });
});

describe('QUERY: lookup and storing (RFC 10008 §2, §2.7)', () => {
  const visit = (req: HopRequest): VisitFacts => ({ req, key: requestKey(req, null), identity: null, settings: SETTINGS });
  const answer = (status: number, h: Record<string, string> = {}): Answer => ({
    status, reasonPhrase: '', version: 11, headers: Object.assign(Object.create(null), { date: new Date(T0).toUTCString(), ...h }),
    bodyLength: 2, requestTime: T0, responseTime: T0,
  });

  it('reads the store first, as GET does', () => {
    expect(intake(aQuery('x'), SETTINGS).kind).to.equal('read');
  });

  it('is a miss with nothing stored, shared by identical queries in flight', () => {
    const step = lookup({ req: aQuery('x'), stored: null, bodyLength: 0, identity: null, now: T0, settings: SETTINGS });
    expect(step.kind).to.equal('miss');
    expect(step.kind === 'miss' && step.ask.shared).to.equal(true);
  });

  it('stores a cacheable answer under its key', () => {
    const req = aQuery('x');
    const after = afterResponse(visit(req), AS_ASKED, answer(200, { 'cache-control': 'max-age=60' }));
    expect(after.kind).to.equal('store');
    expect(after.kind === 'store' && after.stored.key).to.equal(requestKey(req, null));
  });

  it('invalidates nothing, whatever its Location and Content-Location say (RFC 9111 §4.4 is for unsafe methods)', () => {
    const after = afterResponse(visit(aQuery('x')), AS_ASKED, answer(200, { location: '/saved', 'content-location': '/results' }));
    expect(after.kind).to.equal('pass');
    const post = afterResponse(visit(aQuery('x', {}, 'POST')), AS_ASKED, answer(200, { location: '/saved', 'content-location': '/results' }));
    expect(post.kind).to.equal('invalidate');
  });
});
