/**
 * Conditional GET against a real server: validators sent, 304 merges, the caller's own conditional
 * requests, and RFC 5861 stale answers (stale-while-revalidate, stale-if-error on 5xx and on network
 * failures).
 */
import { expect } from 'chai';
import { Http } from '../../lib/index.js';
import { MapStore, aClock, cacheSuite, reply, type RoutedServer, type TestClock } from '../helpers/cache-fixtures.js';
import { startRawServer } from '../helpers/server.js';

describe('cache revalidation (RFC 9111 §4.3, RFC 5861)', () => {
  let server: RoutedServer;
  let clock: TestClock;
  let store: MapStore;
  let http: Http;
  const { path } = cacheSuite((f) => ({ server, clock, store, http } = f));

  // A resource with ETag "v1" that answers 304 to a matching If-None-Match.
  function versioned(name: string, extra: Record<string, string> = {}, on304: Record<string, string> = {}) {
    const p = path(name);
    const url = server.route(p, (req, res) => {
      if (req.headers['if-none-match'] === '"v1"') return reply(res, clock, 304, { etag: '"v1"', ...on304 });
      return reply(res, clock, 200, { etag: '"v1"', 'cache-control': 'max-age=60', 'x-version': 'one', ...extra }, 'body-v1');
    });
    return { p, url, hits: () => server.hits(p) };
  }

  it('revalidates a stale entry with If-None-Match; a 304 returns 200 from the cache with the cached body', async () => {
    const r = versioned('inm');
    await http.request(r.url);
    clock.advance(61);
    const [res, content] = await http.request(r.url);
    expect([res.status, res.fromcache, content.toString()]).to.deep.equal([200, true, 'body-v1']);
    expect(r.hits()[1]!.headers['if-none-match']).to.equal('"v1"');
    expect(res.cacheStatus).to.deep.equal(['revalidate: stale: max-age=60, age 61s, with If-None-Match', 'revalidated: 304 via If-None-Match']);
    expect(res.get('content-location')).to.equal(r.url);
    // The 304 refreshed the entry: fresh again for 60 s.
    clock.advance(59);
    expect((await http.request(r.url))[0].fromcache).to.equal(true);
    expect(r.hits().length).to.equal(2);
  });

  it('merges the 304 end-to-end headers, never shrinking the body on Content-Length: 0 or keeping hop-by-hop fields', async () => {
    const r = versioned('merge', {}, { 'x-version': 'two', 'content-length': '0', connection: 'x-hop', 'x-hop': 'private' });
    await http.request(r.url);
    clock.advance(61);
    const [res, content] = await http.request(r.url);
    expect([res.get('x-version'), res.get('x-hop'), content.toString()]).to.deep.equal(['two', undefined, 'body-v1']);
    clock.advance(1);
    const [again, body] = await http.request(r.url);
    expect([again.fromcache, again.get('x-version'), body.toString()]).to.deep.equal([true, 'two', 'body-v1']);
  });

  it('sends If-Modified-Since for a Last-Modified-only entry, keeping it rather than dropping it', async () => {
    const p = path('ims');
    const lm = new Date(aClock().now() - 1000_000).toUTCString();
    const url = server.route(p, (req, res) => req.headers['if-modified-since'] === lm
      ? reply(res, clock, 304)
      : reply(res, clock, 200, { 'last-modified': lm }, 'dated'));
    await http.request(url);
    clock.advance(101);
    const [res, content] = await http.request(url);
    expect([res.status, res.fromcache, content.toString()]).to.deep.equal([200, true, 'dated']);
    expect(res.cacheStatus.at(-1)).to.equal('revalidated: 304 via If-Modified-Since');
  });

  it('sends no If-None-Match with ignoreEtag', async () => {
    const r = versioned('ignore');
    await http.request(r.url);
    clock.advance(61);
    http.ignoreEtag = true;
    const [res] = await http.request(r.url);
    expect(r.hits()[1]!.headers['if-none-match']).to.equal(undefined);
    expect(res.fromcache).to.equal(false);
  });

  it('revalidates a fresh entry marked no-cache on every use', async () => {
    const r = versioned('nocache', { 'cache-control': 'no-cache, max-age=60' });
    await http.request(r.url);
    const [res] = await http.request(r.url);
    expect([res.fromcache, r.hits().length]).to.deep.equal([true, 2]);
  });

  it("passes a 304 to the caller's own conditional request back as it is (feedparser's etag/modified)", async () => {
    const r = versioned('feed');
    const [res, content] = await http.request(r.url, 'GET', null, { 'if-none-match': '"v1"' });
    expect([res.status, res.fromcache, content.length]).to.deep.equal([304, false, 0]);
    expect(res.cacheStatus).to.include('pass: 304 with no stored entry goes back as is');
    expect(store.map.size).to.equal(0);
  });

  it('asks again without validators when a 304 names another ETag than the stored one', async () => {
    const p = path('mismatch');
    const url = server.route(p, (req, res) => req.headers['if-none-match']
      ? reply(res, clock, 304, { etag: '"other"' })
      : reply(res, clock, 200, { etag: '"v1"', 'cache-control': 'max-age=60' }, 'full'));
    await http.request(url);
    clock.advance(61);
    const [res, content] = await http.request(url);
    expect([res.status, res.fromcache, content.toString()]).to.deep.equal([200, false, 'full']);
    expect(server.hits(p).map((h) => h.headers['if-none-match'] ?? null)).to.deep.equal([null, '"v1"', null]);
  });

  describe('RFC 5861 §3 stale-while-revalidate', () => {
    it('serves the stale entry at once and refreshes it behind the answer', async () => {
      let version = 1;
      const p = path('swr');
      const url = server.route(p, (_q, res) => {
        reply(res, clock, 200, { 'cache-control': 'max-age=60, stale-while-revalidate=30' }, `v${version}`);
      });
      await http.request(url);
      version = 2;
      clock.advance(70);
      const written = new Promise<void>((resolve) => {
        const set = store.set.bind(store);
        store.set = (k, v) => {
          set(k, v);
          resolve();
        };
      });
      const [res, content] = await http.request(url);
      expect([res.fromcache, content.toString()]).to.deep.equal([true, 'v1']);
      expect(res.cacheStatus[0]).to.match(/^stale-while-revalidate: served stale/);
      await written;
      const [next, nextBody] = await http.request(url);
      expect([next.fromcache, nextBody.toString()]).to.deep.equal([true, 'v2']);
      expect(server.hits(p).length).to.equal(2);
    });
  });

  describe('RFC 5861 §4 stale-if-error', () => {
    it('serves the stale entry when the origin answers 500-504, not after the window', async () => {
      let down = false;
      const p = path('sie');
      const url = server.route(p, (_q, res) => down
        ? reply(res, clock, 503, {}, 'down')
        : reply(res, clock, 200, { 'cache-control': 'max-age=60, stale-if-error=300' }, 'kept'));
      await http.request(url);
      down = true;
      clock.advance(120);
      const [res, content] = await http.request(url);
      expect([res.status, res.fromcache, content.toString()]).to.deep.equal([200, true, 'kept']);
      expect(res.cacheStatus.at(-1)).to.equal('stale-if-error: served stale after 503');
      clock.advance(300);
      expect((await http.request(url))[0].status).to.equal(503);
    });

    it('never serves stale for must-revalidate', async () => {
      let down = false;
      const p = path('siemr');
      const url = server.route(p, (_q, res) => down
        ? reply(res, clock, 500)
        : reply(res, clock, 200, { 'cache-control': 'max-age=60, must-revalidate, stale-if-error=300' }, 'kept'));
      await http.request(url);
      down = true;
      clock.advance(120);
      expect((await http.request(url))[0].status).to.equal(500);
    });

    it('serves the stale entry when the connection is refused, reset or times out', async () => {
      // A raw server: the first request of each path gets a good answer, later ones a failure.
      let mode: 'ok' | 'reset' | 'stall' = 'ok';
      const raw = await startRawServer((socket) => {
        if (mode === 'ok') {
          const body = 'survivor';
          socket.end(`HTTP/1.1 200 OK\r\ndate: ${new Date(clock.now()).toUTCString()}\r\ncache-control: max-age=60, stale-if-error=600\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
        } else if (mode === 'reset') {
          socket.resetAndDestroy();
        }
        // 'stall': say nothing until the client's deadline passes.
      });
      const h = new Http(store, { clock, timeout: 300 });
      try {
        for (const failure of ['reset', 'stall'] as const) {
          mode = 'ok';
          const url = raw.url(`/sie-${failure}`);
          await h.request(url);
          clock.advance(120);
          mode = failure;
          const [res, content] = await h.request(url);
          expect([res.status, res.fromcache, content.toString()], failure).to.deep.equal([200, true, 'survivor']);
          expect(res.cacheStatus.at(-1), failure).to.match(/^stale-if-error: served stale after ERR_(CONNECTION|REQUEST_TIMEOUT)/);
        }
        // Refused: nothing listens on the port any more.
        mode = 'ok';
        const url = raw.url('/sie-refused');
        await h.request(url);
        await raw.close();
        clock.advance(120);
        const [res, content] = await h.request(url);
        expect([res.status, res.fromcache, content.toString()]).to.deep.equal([200, true, 'survivor']);
      } finally {
        await h.close();
      }
    });
  });
});
