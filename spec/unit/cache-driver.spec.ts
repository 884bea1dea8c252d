/**
 * The cache layer driven through the `Send` seam, without a socket: a fake next layer answers from a
 * script and counts what reaches it, a MemoryCache holds the entries, and time moves only by hand.
 * Each block names the RFC rule the layer carries out; the decisions themselves are
 * cache-policy.spec.ts's.
 */
import { expect } from 'chai';
import { withCache } from '../../lib/cache/driver.js';
import { MemoryCache } from '../../lib/cache/memory-cache.js';
import { AbortError, ConnectionError, HttpLib2Error, internalError } from '../../lib/errors.js';
import { IdentityDigests } from '../../lib/identity.js';
import type { Exchange, Send } from '../../lib/types.js';
import { aContext, anExchange, aRequest, fakeClock, fakeNext, type Answerer } from '../helpers/fake-next.js';

const URL_A = 'http://a.test/doc';
const STALE_IF_ERROR = { 'cache-control': 'max-age=60, stale-if-error=600', etag: '"v1"' };

/** A cache layer over a fake next layer, with one store and one clock for every request. */
function aCache(...answers: Answerer[]) {
  const fake = fakeNext(...answers);
  const clock = fakeClock();
  const store = new MemoryCache();
  const layer: Send = withCache(fake.send, new IdentityDigests());
  const send = (method = 'GET', headers: Record<string, string> = {}, ctx = aContext({ cache: store, clock, url: URL_A })): Promise<Exchange> =>
    layer(aRequest(URL_A, method, headers), ctx);
  return { fake, clock, store, send };
}

/** A promise settled by hand, for answers that must still be in flight when the next request comes. */
function deferred<T>(): { promise: Promise<T>; resolve(value: T): void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

describe('cache driver (withCache over a fake next layer)', () => {
  describe('RFC 9111 §4.2 fresh and §4.3 stale entries', () => {
    it('answers a fresh entry without calling the next layer', async () => {
      const { fake, clock, send } = aCache(anExchange(200, { 'cache-control': 'max-age=60' }, 'kept'));
      await send();
      clock.advance(30_000);
      const { response, content } = await send();
      expect(fake.count()).to.equal(1);
      expect([response.status, response.fromcache, content.toString(), response.get('age')]).to.deep.equal([200, true, 'kept', '30']);
      expect(response.cacheStatus).to.deep.equal(['fresh: max-age=60, age 30s']);
    });

    it('revalidates a stale entry with its validator, turns the 304 into the stored 200 and freshens the entry', async () => {
      const { fake, clock, send } = aCache(
        anExchange(200, { 'cache-control': 'max-age=60', etag: '"v1"' }, 'one'),
        anExchange(304, { etag: '"v1"', 'x-new': 'yes' }),
      );
      await send();
      clock.advance(120_000);
      const revalidated = await send();
      expect(fake.count()).to.equal(2);
      expect(fake.requests[1]!.headers['if-none-match']).to.equal('"v1"');
      expect([revalidated.response.status, revalidated.response.fromcache, revalidated.content.toString()]).to.deep.equal([200, true, 'one']);
      expect(revalidated.response.get('x-new')).to.equal('yes');
      expect(revalidated.response.cacheStatus).to.deep.equal([
        'revalidate: stale: max-age=60, age 120s, with If-None-Match',
        'revalidated: 304 via If-None-Match',
      ]);
      // Freshened: the next request is answered from the entry again, which is 0 s old.
      const after = await send();
      expect(fake.count()).to.equal(2);
      expect([after.response.get('age'), after.response.get('x-new')]).to.deep.equal(['0', 'yes']);
    });

    it('RFC 5861 §3: serves a stale entry at once within stale-while-revalidate and revalidates it behind the answer', async () => {
      const answered = deferred<Exchange>();
      const { fake, clock, send } = aCache(
        anExchange(200, { 'cache-control': 'max-age=60, stale-while-revalidate=600', etag: '"v1"' }, 'old'),
        () => answered.promise,
      );
      await send();
      clock.advance(120_000);
      const { response, content } = await send();
      expect([response.fromcache, content.toString(), response.get('age')]).to.deep.equal([true, 'old', '120']);
      expect(fake.count()).to.equal(2);
      answered.resolve(anExchange(200, { 'cache-control': 'max-age=60', etag: '"v2"' }, 'new'));
      await new Promise((r) => setImmediate(r));
      const next = await send();
      expect([next.response.fromcache, next.content.toString(), fake.count()]).to.deep.equal([true, 'new', 2]);
    });
  });

  describe('the part of a stored response served (RFC 9110 §9.3.2, §14)', () => {
    it('answers HEAD from a fresh GET entry with its head and no body', async () => {
      const { fake, send } = aCache(anExchange(200, { 'cache-control': 'max-age=60', 'content-length': '4' }, 'kept'));
      await send();
      const { response, content } = await send('HEAD');
      expect([fake.count(), response.status, response.fromcache, content.length, response.get('content-length')]).to.deep.equal([1, 200, true, 0, '4']);
    });

    it('answers a Range with a slice of the stored body, and revalidates behind a stale one for the whole', async () => {
      const answered = deferred<Exchange>();
      const { fake, clock, send } = aCache(
        anExchange(200, { 'cache-control': 'max-age=60, stale-while-revalidate=600', etag: '"v1"' }, '0123456789'),
        () => answered.promise,
      );
      await send();
      const slice = await send('GET', { range: 'bytes=2-4' });
      expect([slice.response.status, slice.content.toString(), slice.response.get('content-range')]).to.deep.equal([206, '234', 'bytes 2-4/10']);
      expect(slice.response.cacheStatus).to.deep.equal(['fresh: max-age=60, age 0s', 'range: bytes 2-4/10 from the stored response']);
      clock.advance(120_000);
      const stale = await send('GET', { range: 'bytes=8-', 'if-range': '"v1"' });
      expect([stale.response.status, stale.content.toString()]).to.deep.equal([206, '89']);
      expect(fake.count()).to.equal(2);
      expect(['range' in fake.requests[1]!.headers, 'if-range' in fake.requests[1]!.headers]).to.deep.equal([false, false]);
      expect(fake.requests[1]!.headers['if-none-match']).to.equal('"v1"');
      answered.resolve(anExchange(304, { etag: '"v1"' }));
    });

    it("gives a freshened answer the 304's Set-Cookie, which is never stored", async () => {
      const { fake, clock, send } = aCache(
        anExchange(200, { 'cache-control': 'max-age=60', etag: '"v1"' }, 'doc'),
        anExchange(304, { etag: '"v1"', 'set-cookie': 'sid=1' }),
      );
      await send();
      clock.advance(120_000);
      const freshened = await send();
      expect([freshened.response.get('set-cookie'), freshened.content.toString()]).to.deep.equal(['sid=1', 'doc']);
      const next = await send();
      expect([fake.count(), next.response.has('set-cookie')]).to.deep.equal([2, false]);
    });
  });

  describe('identical requests in flight share one exchange', () => {
    it('sends one request for identical GETs in flight, and notes the join in the joiner\'s cacheStatus', async () => {
      const answered = deferred<Exchange>();
      const { fake, send } = aCache(() => answered.promise);
      const first = send();
      const second = send();
      await new Promise((r) => setImmediate(r));
      answered.resolve(anExchange(200, { 'cache-control': 'max-age=60' }, 'shared'));
      const [a, b] = await Promise.all([first, second]);
      expect(fake.count()).to.equal(1);
      expect([a.content.toString(), b.content.toString()]).to.deep.equal(['shared', 'shared']);
      expect(a.response).to.not.equal(b.response);
      expect(a.response.cacheStatus).to.deep.equal(['miss: nothing stored', 'stored: max-age=60']);
      expect(b.response.cacheStatus).to.deep.equal(['miss: nothing stored', 'coalesced: joined an identical request in flight']);
    });

    it('sends requests that differ in a header separately', async () => {
      const answered = deferred<Exchange>();
      const { fake, send } = aCache(() => answered.promise);
      const both = Promise.all([send('GET', { accept: 'text/html' }), send('GET', { accept: 'application/json' })]);
      await new Promise((r) => setImmediate(r));
      answered.resolve(anExchange(200, {}, 'x'));
      await both;
      expect(fake.count()).to.equal(2);
    });
  });

  describe('RFC 5861 §4 stale-if-error', () => {
    it('serves the stale entry instead of a 503', async () => {
      const { clock, send } = aCache(anExchange(200, STALE_IF_ERROR, 'stale'), anExchange(503, {}, 'down'));
      await send();
      clock.advance(120_000);
      const { response, content } = await send();
      expect([response.status, response.fromcache, content.toString(), response.get('age')]).to.deep.equal([200, true, 'stale', '120']);
      expect(response.cacheStatus).to.include('stale-if-error: served stale after 503');
    });

    it('serves the stale entry when the origin cannot be reached (ERR_CONNECTION)', async () => {
      const { clock, send } = aCache(anExchange(200, STALE_IF_ERROR, 'stale'), new ConnectionError('connect ECONNREFUSED'));
      await send();
      clock.advance(120_000);
      const { response, content } = await send();
      expect([response.status, response.fromcache, content.toString()]).to.deep.equal([200, true, 'stale']);
      expect(response.cacheStatus).to.include('stale-if-error: served stale after ERR_CONNECTION');
    });

    it('never serves stale for a bug (ERR_INTERNAL) or the caller\'s own abort: the error is thrown as it was', async () => {
      const bug = new TypeError('x.y is not a function');
      const internal = internalError(new RangeError('bad'), URL_A);
      const aborted = new AbortError('Request aborted by the caller');
      for (const error of [bug, internal, aborted]) {
        const { clock, send } = aCache(anExchange(200, STALE_IF_ERROR, 'stale'), error);
        await send();
        clock.advance(120_000);
        const thrown = await send().then(() => null, (e: unknown) => e);
        expect(thrown, String(error)).to.equal(error);
      }
      expect(internal).to.be.instanceOf(HttpLib2Error);
      expect(internal.code).to.equal('ERR_INTERNAL');
    });

    it('passes a 503 through when the entry allows no stale answer', async () => {
      const { clock, send } = aCache(anExchange(200, { 'cache-control': 'max-age=60', etag: '"v1"' }, 'stale'), anExchange(503, {}, 'down'));
      await send();
      clock.advance(120_000);
      const { response, content } = await send();
      expect([response.status, response.fromcache, content.toString()]).to.deep.equal([503, false, 'down']);
    });
  });

  describe('unsafe methods', () => {
    it('sends a PUT with If-Match from the stored ETag (lost-update protection)', async () => {
      const { fake, send } = aCache(anExchange(200, { 'cache-control': 'max-age=60', etag: '"v1"' }, 'doc'), anExchange(204));
      await send();
      await send('PUT');
      expect(fake.requests[1]!.headers['if-match']).to.equal('"v1"');
    });

    it('RFC 9111 §4.4: a 201 to a POST invalidates the stored entry', async () => {
      const { fake, send } = aCache(anExchange(200, { 'cache-control': 'max-age=60' }, 'v1'), anExchange(201), anExchange(200, { 'cache-control': 'max-age=60' }, 'v2'));
      await send();
      const posted = await send('POST');
      expect(posted.response.cacheStatus).to.deep.equal(['invalidated: POST answered 201']);
      const { content, response } = await send();
      expect([fake.count(), content.toString(), response.fromcache]).to.deep.equal([3, 'v2', false]);
    });
  });

  describe('responses are values (#10)', () => {
    it('answers with a response of its own: the one the next layer returned is left as it was', async () => {
      for (const method of ['GET', 'HEAD', 'POST', 'DELETE']) {
        const received = anExchange(200, { 'cache-control': 'max-age=60' }, 'body');
        const { send } = aCache(received);
        const { response } = await send(method);
        expect(response, method).to.not.equal(received.response);
        expect(response.cacheStatus.length, method).to.be.greaterThan(0);
        expect(received.response.cacheStatus, method).to.deep.equal([]);
      }
    });
  });
});
