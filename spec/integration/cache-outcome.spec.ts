/**
 * `response.cache` (#12): the machine-readable outcome of every answer, beside the words of
 * `cacheStatus`, in the spirit of RFC 9211 Cache-Status — checked against what a real loopback
 * server received.
 */
import { expect } from 'chai';
import { Http, type CacheOutcome } from '../../lib/index.js';
import { cacheSuite, reply, threeInOneFlight, type RoutedServer, type TestClock } from '../helpers/cache-fixtures.js';

describe('response.cache, the outcome of each answer (#12)', () => {
  let server: RoutedServer;
  let clock: TestClock;
  let http: Http;
  const { path } = cacheSuite((f) => ({ server, clock, http } = f));

  /** A resource whose answers the test sets: `headers` and `body` of a 200, answering 304 to If-None-Match "v1" when `notModified`. */
  function resource(name: string, headers: Record<string, string>) {
    const p = path(name);
    const state = { headers, body: 'version 1', notModified: false, status: 200 };
    const url = server.route(p, (req, res) => {
      if (state.notModified && req.headers['if-none-match'] === '"v1"') return reply(res, clock, 304, { etag: '"v1"', ...state.headers });
      return reply(res, clock, state.status, state.headers, state.body);
    });
    return { url, state, hits: () => server.hits(p) };
  }

  const outcome = (over: Partial<CacheOutcome>): CacheOutcome => ({ outcome: 'miss', stored: false, collapsed: false, ttl: null, key: null, detail: null, ...over });

  it('is uncached on an Http without a cache', async () => {
    const r = resource('uncached', { 'cache-control': 'max-age=60' });
    const plain = new Http(null);
    try {
      const [res] = await plain.request(r.url);
      expect(res.cache).to.deep.equal(outcome({ outcome: 'uncached' }));
      expect(r.hits().length).to.equal(1);
    } finally {
      await plain.close();
    }
  });

  it('says miss, hit, revalidated, then miss again as a resource is stored, served, confirmed by a 304 and changed', async () => {
    const r = resource('life', { 'cache-control': 'max-age=60', etag: '"v1"' });
    const [first] = await http.request(r.url);
    expect(first.cache).to.deep.equal(outcome({ outcome: 'miss', stored: true, ttl: 60, key: r.url, detail: 'uri-miss' }));
    clock.advance(10);
    const [hit] = await http.request(r.url);
    expect(hit.cache).to.deep.equal(outcome({ outcome: 'hit', ttl: 50, key: r.url }));
    expect(r.hits().length).to.equal(1);
    clock.advance(60);
    r.state.notModified = true;
    const [confirmed, body] = await http.request(r.url);
    expect([confirmed.status, body.toString()]).to.deep.equal([200, 'version 1']);
    expect(confirmed.cache).to.deep.equal(outcome({ outcome: 'revalidated', stored: true, ttl: 60, key: r.url, detail: 'stale' }));
    clock.advance(70);
    Object.assign(r.state, { notModified: false, body: 'version 2', headers: { 'cache-control': 'max-age=60', etag: '"v2"' } });
    const [changed] = await http.request(r.url);
    expect(changed.cache).to.deep.equal(outcome({ outcome: 'miss', stored: true, ttl: 60, key: r.url, detail: 'stale' }));
    expect(r.hits().map((h) => h.headers['if-none-match'] ?? null)).to.deep.equal([null, '"v1"', '"v1"']);
  });

  it('says why an answer was not stored', async () => {
    const r = resource('no-store', { 'cache-control': 'no-store' });
    const [res] = await http.request(r.url);
    expect(res.cache).to.deep.equal(outcome({ outcome: 'miss', key: r.url, detail: 'no-store' }));
    await http.request(r.url);
    expect(r.hits().length).to.equal(2);
  });

  it('says vary-miss for a Vary mismatch, and request for a reload (request no-cache)', async () => {
    const r = resource('vary', { 'cache-control': 'max-age=60', vary: 'accept-language' });
    await http.request(r.url, 'GET', null, { 'accept-language': 'en' });
    const [other] = await http.request(r.url, 'GET', null, { 'accept-language': 'fr' });
    expect(other.cache).to.deep.equal(outcome({ outcome: 'miss', stored: true, ttl: 60, key: r.url, detail: 'vary-miss' }));
    const [reload] = await http.request(r.url, 'GET', null, { 'accept-language': 'fr', 'cache-control': 'no-cache' });
    expect(reload.cache).to.deep.equal(outcome({ outcome: 'miss', stored: true, ttl: 60, key: r.url, detail: 'request' }));
    expect(r.hits().length).to.equal(3);
  });

  describe('bypass: the cache not consulted, or not usable', () => {
    it('for a method the cache does not look up', async () => {
      const r = resource('post', { 'cache-control': 'max-age=60' });
      const [res] = await http.request(r.url, 'POST', 'x');
      expect(res.cache).to.deep.equal(outcome({ outcome: 'bypass', key: r.url, detail: 'method' }));
      const [put] = await http.request(r.url, 'PUT', 'x');
      expect(put.cache.outcome).to.equal('bypass');
      expect(r.hits().length).to.equal(2);
    });

    it('for a request no-store', async () => {
      const r = resource('req-no-store', { 'cache-control': 'max-age=60' });
      const [res] = await http.request(r.url, 'GET', null, { 'cache-control': 'no-store' });
      expect(res.cache).to.deep.equal(outcome({ outcome: 'bypass', key: r.url, detail: 'request-no-store' }));
      const [next] = await http.request(r.url);
      expect(next.cache.outcome).to.equal('miss');
      expect(r.hits().length).to.equal(2);
    });

    it('for a Range the stored answer cannot serve', async () => {
      const r = resource('range', { 'cache-control': 'max-age=60' });
      await http.request(r.url);
      const [res] = await http.request(r.url, 'GET', null, { range: 'bytes=0-1,3-4' });
      expect(res.cache).to.deep.equal(outcome({ outcome: 'bypass', key: r.url, detail: 'range' }));
      expect(r.hits().length).to.equal(2);
    });

    it('for a store that cannot be read', async () => {
      const r = resource('broken', { 'cache-control': 'max-age=60' });
      const broken = new Http({ get() { throw new Error('EIO'); }, set() {}, delete() {} }, { clock });
      try {
        const [res] = await broken.request(r.url);
        expect(res.cache).to.deep.equal(outcome({ outcome: 'bypass', stored: true, ttl: 60, key: r.url, detail: 'store-unavailable' }));
      } finally {
        await broken.close();
      }
    });
  });

  describe('stale: a stale stored answer served without asking the origin', () => {
    it('under stale-while-revalidate', async () => {
      const r = resource('swr', { 'cache-control': 'max-age=60, stale-while-revalidate=600', etag: '"v1"' });
      await http.request(r.url);
      clock.advance(90);
      const [res] = await http.request(r.url);
      expect([res.fromcache, res.cache]).to.deep.equal([true, outcome({ outcome: 'stale', ttl: -30, key: r.url, detail: 'stale-while-revalidate' })]);
    });

    it('under stale-if-error, after a 503', async () => {
      const r = resource('sie', { 'cache-control': 'max-age=60, stale-if-error=600', etag: '"v1"' });
      await http.request(r.url);
      clock.advance(90);
      r.state.status = 503;
      const [res, body] = await http.request(r.url);
      expect([res.status, body.toString()]).to.deep.equal([200, 'version 1']);
      expect(res.cache).to.deep.equal(outcome({ outcome: 'stale', ttl: -30, key: r.url, detail: 'stale-if-error' }));
      expect(r.hits().length).to.equal(2);
    });

    it('within request max-stale', async () => {
      const r = resource('max-stale', { 'cache-control': 'max-age=60', etag: '"v1"' });
      await http.request(r.url);
      clock.advance(90);
      const [res] = await http.request(r.url, 'GET', null, { 'cache-control': 'max-stale=60' });
      expect(res.cache).to.deep.equal(outcome({ outcome: 'stale', ttl: -30, key: r.url, detail: 'max-stale' }));
      expect(r.hits().length).to.equal(1);
    });

    it('while a remembered Retry-After holds the origin back; the 503 that said so kept the entry', async () => {
      const r = resource('retry', { 'cache-control': 'max-age=60', etag: '"v1"' });
      await http.request(r.url);
      clock.advance(90);
      Object.assign(r.state, { status: 503, headers: { 'retry-after': '120' }, body: 'not now' });
      const [refused] = await http.request(r.url);
      expect([refused.status, refused.cache.outcome, refused.cache.detail, refused.cache.stored]).to.deep.equal([503, 'miss', 'retry-after', true]);
      clock.advance(30);
      const [held, body] = await http.request(r.url);
      expect([held.status, body.toString()]).to.deep.equal([200, 'version 1']);
      expect(held.cache).to.deep.equal(outcome({ outcome: 'stale', ttl: -60, key: r.url, detail: 'retry-after' }));
      expect(r.hits().length).to.equal(2);
    });
  });

  it('says origin-error when an error answer leaves the stored entry for the next revalidation', async () => {
    const r = resource('kept', { 'cache-control': 'max-age=60', etag: '"v1"' });
    await http.request(r.url);
    clock.advance(90);
    r.state.status = 500;
    const [res] = await http.request(r.url);
    expect([res.status, res.cache]).to.deep.equal([500, outcome({ outcome: 'miss', ttl: -30, key: r.url, detail: 'origin-error' })]);
  });

  it('says only-if-cached for the 504 of an only-if-cached request with nothing stored, sending nothing', async () => {
    const r = resource('oic', { 'cache-control': 'max-age=60' });
    const [res] = await http.request(r.url, 'GET', null, { 'cache-control': 'only-if-cached' });
    expect([res.status, res.cache]).to.deep.equal([504, outcome({ outcome: 'miss', key: r.url, detail: 'only-if-cached' })]);
    expect(r.hits().length).to.equal(0);
  });

  it('never names the store key of a request keyed by an identity', async () => {
    const r = resource('identity', { 'cache-control': 'private, max-age=60' });
    const [first] = await http.request(r.url, 'GET', null, { authorization: 'Bearer abc' });
    const [again] = await http.request(r.url, 'GET', null, { authorization: 'Bearer abc' });
    expect([first.cache.outcome, first.cache.key, again.cache.outcome, again.cache.key]).to.deep.equal(['miss', null, 'hit', null]);
    expect(JSON.stringify([first.cache, again.cache])).not.to.include('abc');
  });

  it('says collapsed for the identical requests that joined one in flight', async () => {
    const p = path('collapsed');
    const answers = await threeInOneFlight(server, clock, http, p);
    expect(answers.map(([res]) => [res.cache.outcome, res.cache.collapsed])).to.deep.equal([['miss', false], ['miss', true], ['miss', true]]);
    expect(server.hits(p).length).to.equal(1);
  });

  it('gives each hop of a redirect chain its own outcome', async () => {
    const target = resource('target', { 'cache-control': 'max-age=60' });
    const p = path('moved');
    const from = server.route(p, (_req, res) => reply(res, clock, 302, { location: target.url }));
    await http.request(target.url);
    const [res] = await http.request(from);
    expect([res.cache.outcome, res.previous?.cache.outcome, res.previous?.cache.detail]).to.deep.equal(['hit', 'miss', 'status']);
  });
});
