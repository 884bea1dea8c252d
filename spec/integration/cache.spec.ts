/**
 * The private cache against a real loopback server: what is served without a request, what is
 * stored, what is invalidated, and what a broken store does. Time moves only through the clock.
 */
import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Http, MemoryCache } from '../../lib/index.js';
import { startRawServer } from '../helpers/server.js';
import { MapStore, aClock, cacheSuite, reply, startRoutedServer, type RoutedServer, type TestClock } from '../helpers/cache-fixtures.js';

describe('cache (RFC 9111)', () => {
  let server: RoutedServer;
  let clock: TestClock;
  let store: MapStore;
  let http: Http;
  const { path } = cacheSuite((f) => ({ server, clock, store, http } = f));

  function serve(name: string, headers: Record<string, string>, body = 'hello'): { url: string; hits: () => number; path: string } {
    const p = path(name);
    const url = server.route(p, (_req, res) => reply(res, clock, 200, headers, body));
    return { url, path: p, hits: () => server.hits(p).length };
  }

  describe('§4.2 freshness', () => {
    it('answers a fresh entry without contacting the server', async () => {
      const r = serve('fresh', { 'cache-control': 'max-age=60' });
      const [first, c1] = await http.request(r.url);
      expect(first.fromcache).to.equal(false);
      expect(first.cacheStatus).to.deep.equal(['miss: nothing stored', 'stored: max-age=60']);
      clock.advance(59);
      const [second, c2] = await http.request(r.url);
      expect(second.status).to.equal(200);
      expect(second.fromcache).to.equal(true);
      expect(c2.toString()).to.equal('hello');
      expect(c1.toString()).to.equal('hello');
      expect(second.cacheStatus).to.deep.equal(['fresh: max-age=60, age 59s']);
      expect(second.get('content-location')).to.equal(r.url);
      expect(r.hits()).to.equal(1);
    });

    it('goes back to the server once max-age has passed', async () => {
      const r = serve('expire', { 'cache-control': 'max-age=60' });
      await http.request(r.url);
      clock.advance(60);
      const [again] = await http.request(r.url);
      expect(again.fromcache).to.equal(false);
      expect(r.hits()).to.equal(2);
    });

    it('uses Expires against Date', async () => {
      const r = serve('expires', { expires: new Date(aClock().now() + 30_000).toUTCString() });
      await http.request(r.url);
      clock.advance(29);
      expect((await http.request(r.url))[0].fromcache).to.equal(true);
      clock.advance(1);
      expect((await http.request(r.url))[0].fromcache).to.equal(false);
      expect(r.hits()).to.equal(2);
    });

    it('tolerates a missing Date (freshness counts from receipt)', async () => {
      const r = serve('nodate', { 'cache-control': 'max-age=10', date: '' });
      await http.request(r.url);
      clock.advance(9);
      expect((await http.request(r.url))[0].fromcache).to.equal(true);
      expect(r.hits()).to.equal(1);
    });

    it('counts the Age the server reports (§4.2.3) and ignores an invalid one (§5.1)', async () => {
      const aged = serve('aged', { 'cache-control': 'max-age=60', age: '50' });
      await http.request(aged.url);
      clock.advance(11);
      expect((await http.request(aged.url))[0].fromcache).to.equal(false);
      const bad = serve('badage', { 'cache-control': 'max-age=60', age: '50.5' });
      await http.request(bad.url);
      clock.advance(11);
      expect((await http.request(bad.url))[0].fromcache).to.equal(true);
    });

    it('§4.2.2: heuristic freshness is 10% of Date - Last-Modified', async () => {
      const r = serve('heuristic', { 'last-modified': new Date(aClock().now() - 1000_000).toUTCString() });
      await http.request(r.url);
      clock.advance(99);
      expect((await http.request(r.url))[0].fromcache).to.equal(true);
      expect(r.hits()).to.equal(1);
    });

    it('ignores s-maxage (a shared-cache directive)', async () => {
      const r = serve('smax', { 'cache-control': 's-maxage=600', etag: '"s"' });
      await http.request(r.url);
      await http.request(r.url);
      expect(r.hits()).to.equal(2);
    });
  });

  describe('§5.2.1 request directives', () => {
    it('no-cache reloads from the server', async () => {
      const r = serve('reqnocache', { 'cache-control': 'max-age=60' });
      await http.request(r.url);
      const [res] = await http.request(r.url, 'GET', null, { 'cache-control': 'no-cache' });
      expect(res.fromcache).to.equal(false);
      expect(r.hits()).to.equal(2);
      expect(server.hits(r.path)[1]!.headers['if-none-match']).to.equal(undefined);
    });

    it('max-age, min-fresh and max-stale (with and without a value) shape what is acceptable', async () => {
      const r = serve('reqdirs', { 'cache-control': 'max-age=60' });
      await http.request(r.url);
      clock.advance(30);
      expect((await http.request(r.url, 'GET', null, { 'cache-control': 'max-age=40' }))[0].fromcache).to.equal(true);
      expect((await http.request(r.url, 'GET', null, { 'cache-control': 'min-fresh=10' }))[0].fromcache).to.equal(true);
      clock.advance(40); // 10 s stale
      expect((await http.request(r.url, 'GET', null, { 'cache-control': 'max-stale=20' }))[0].fromcache).to.equal(true);
      expect((await http.request(r.url, 'GET', null, { 'cache-control': 'max-stale' }))[0].fromcache).to.equal(true);
      expect(r.hits()).to.equal(1);
      expect((await http.request(r.url, 'GET', null, { 'cache-control': 'max-stale=5' }))[0].fromcache).to.equal(false);
      expect(r.hits()).to.equal(2);
    });

    it('only-if-cached answers 504 on a miss without contacting the server', async () => {
      const r = serve('oic', { 'cache-control': 'max-age=60' });
      const [res, content] = await http.request(r.url, 'GET', null, { 'cache-control': 'only-if-cached' });
      expect(res.status).to.equal(504);
      expect(content.length).to.equal(0);
      expect(r.hits()).to.equal(0);
      await http.request(r.url);
      expect((await http.request(r.url, 'GET', null, { 'cache-control': 'only-if-cached' }))[0].status).to.equal(200);
    });

    it('only-if-cached on an Http without a cache answers 504 without contacting the server (httplib2)', async () => {
      const h = new Http(null, { clock });
      try {
        const r = serve('oic-nocache', { 'cache-control': 'max-age=60' });
        for (const cc of ['only-if-cached', 'max-age=0, Only-If-Cached']) {
          const [res, content] = await h.request(r.url, 'GET', null, { 'cache-control': cc });
          expect([res.status, res.fromcache, content.length], cc).to.deep.equal([504, false, 0]);
        }
        expect(r.hits()).to.equal(0);
        expect((await h.request(r.url, 'GET', null, { 'cache-control': 'no-cache' }))[0].status).to.equal(200);
        expect(r.hits()).to.equal(1);
      } finally {
        await h.close();
      }
    });
  });

  describe('§3 what is stored', () => {
    for (const cc of ['no-store', 'No-Store', 'max-age=60, NO-STORE']) {
      it(`stores nothing from Cache-Control: ${cc}`, async () => {
        const r = serve('nostore', { 'cache-control': cc });
        const [res] = await http.request(r.url);
        expect(res.cacheStatus).to.include('not stored: no-store');
        await http.request(r.url);
        expect(store.map.size).to.equal(0);
        expect(r.hits()).to.equal(2);
      });
    }

    it('stores nothing for a request with no-store', async () => {
      const r = serve('reqnostore', { 'cache-control': 'max-age=60' });
      await http.request(r.url, 'GET', null, { 'cache-control': 'no-store' });
      expect(store.map.size).to.equal(0);
    });

    it('stores nothing from a body it failed to decode', async () => {
      const broken = serve('badgzip', { 'cache-control': 'max-age=60', 'content-encoding': 'gzip' }, 'not gzip');
      let error: unknown;
      await http.request(broken.url).catch((e: unknown) => (error = e));
      expect(error).to.have.property('code', 'ERR_FAILED_TO_DECOMPRESS');
      expect(store.map.size).to.equal(0);
    });

    it('stores nothing from a truncated body', async () => {
      const raw = await startRawServer((socket) => {
        socket.end('HTTP/1.1 200 OK\r\ncache-control: max-age=60\r\ncontent-length: 10\r\n\r\nshor');
      });
      const errors: unknown[] = [];
      for (let i = 0; i < 2; i++) await http.request(raw.url('/cut')).catch((e: unknown) => errors.push(e));
      expect(errors.length).to.equal(2);
      expect(store.map.size).to.equal(0);
    });

    it('stores nothing from a 206', async () => {
      const r = serve('partial', { 'cache-control': 'max-age=60', 'content-range': 'bytes 0-4/10' });
      server.route(r.path, (_q, res) => reply(res, clock, 206, { 'cache-control': 'max-age=60', 'content-range': 'bytes 0-4/10' }, 'hello'));
      await http.request(r.url);
      expect(store.map.size).to.equal(0);
    });

    it('keeps a binary body byte for byte', async () => {
      const bytes = Buffer.from([0, 255, 1, 254, 0x89, 0x50, 13, 10]);
      const r = serve('binary', { 'cache-control': 'max-age=60', 'content-type': 'application/octet-stream' });
      server.route(r.path, (_q, res) => reply(res, clock, 200, { 'cache-control': 'max-age=60' }, bytes));
      await http.request(r.url);
      const [res, content] = await http.request(r.url);
      expect(res.fromcache).to.equal(true);
      expect(content.equals(bytes)).to.equal(true);
    });
  });

  describe('§4.1 Vary', () => {
    it('keeps variants apart and says why it missed', async () => {
      const p = path('vary');
      const url = server.route(p, (req, res) => reply(res, clock, 200, { 'cache-control': 'max-age=60', vary: 'Accept-Language' }, `lang ${req.headers['accept-language']}`));
      await http.request(url, 'GET', null, { 'accept-language': 'en' });
      const [fr, frBody] = await http.request(url, 'GET', null, { 'accept-language': 'fr' });
      expect(fr.fromcache).to.equal(false);
      expect(frBody.toString()).to.equal('lang fr');
      expect(fr.cacheStatus[0]).to.equal('miss: Vary mismatch on accept-language');
      const [fr2, fr2Body] = await http.request(url, 'GET', null, { 'accept-language': 'fr' });
      expect([fr2.fromcache, fr2Body.toString()]).to.deep.equal([true, 'lang fr']);
      expect(server.hits(p).length).to.equal(2);
    });

    it('never serves Vary: *', async () => {
      const r = serve('varystar', { 'cache-control': 'max-age=60', vary: '*' });
      await http.request(r.url);
      await http.request(r.url);
      expect(r.hits()).to.equal(2);
    });
  });

  describe('HEAD and Range', () => {
    it('answers HEAD from a fresh GET entry', async () => {
      const r = serve('head', { 'cache-control': 'max-age=60', 'x-entity': 'tag' });
      await http.request(r.url);
      const [res, content] = await http.request(r.url, 'HEAD');
      expect([res.status, res.fromcache, content.length, res.get('x-entity')]).to.deep.equal([200, true, 0, 'tag']);
      expect(r.hits()).to.equal(1);
    });

    it('sends a Range request with nothing stored to the server and stores nothing from its 206', async () => {
      const r = serve('range', { 'cache-control': 'max-age=60', 'content-range': 'bytes 0-1/5' });
      server.route(r.path, (_q, res) => reply(res, clock, 206, { 'cache-control': 'max-age=60', 'content-range': 'bytes 0-1/5' }, 'he'));
      const [res] = await http.request(r.url, 'GET', null, { range: 'bytes=0-1' });
      expect([res.status, res.fromcache]).to.deep.equal([206, false]);
      expect(res.cacheStatus).to.deep.equal(['miss: nothing stored', 'not stored: 206 (partial content is never stored)']);
      expect(r.hits()).to.equal(1);
      expect(store.sets).to.equal(0);
    });
  });

  describe('cache keys', () => {
    it('keeps distinct resources apart: encoded slash, query order, path case', async () => {
      const long = `/k/long?${'x'.repeat(10_000)}`;
      const paths = ['/k/a/b', '/k/a%2Fb', '/k/q?a=1&b=2', '/k/q?b=2&a=1', '/k/Case', '/k/case', `${long}1`, `${long}2`];
      for (const p of paths) server.route(p, (_q, res) => reply(res, clock, 200, { 'cache-control': 'max-age=60' }, p));
      for (const p of paths) await http.request(server.url(p));
      for (const p of paths) {
        const [res, content] = await http.request(server.url(p));
        expect([res.fromcache, content.toString()], p.slice(0, 20)).to.deep.equal([true, p]);
      }
      expect(store.map.size).to.equal(paths.length);
    });

    it('shares an entry between equivalent forms: fragment, host case, default-free port', async () => {
      const r = serve('equiv', { 'cache-control': 'max-age=60' });
      await http.request(`${r.url}#one`);
      const upper = r.url.replace('http://', 'HTTP://');
      const [res] = await http.request(`${upper}#two`);
      expect(res.fromcache).to.equal(true);
      expect(r.hits()).to.equal(1);
    });
  });

  describe('§4.4 invalidation', () => {
    it('an unsafe method invalidates the target and a same-origin Location, not another origin', async () => {
      const target = serve('inv', { 'cache-control': 'max-age=60' });
      const located = serve('located', { 'cache-control': 'max-age=60' });
      const other = await startRoutedServer();
      const otherUrl = other.route('/elsewhere', (_q, res) => reply(res, clock, 200, { 'cache-control': 'max-age=60' }, 'x'));
      server.route(target.path, (req, res) => req.method === 'POST'
        ? reply(res, clock, 201, { location: located.path, 'content-location': otherUrl })
        : reply(res, clock, 200, { 'cache-control': 'max-age=60' }, 'hello'));
      for (const u of [target.url, located.url, otherUrl]) await http.request(u);
      const [post] = await http.request(target.url, 'POST', 'x');
      expect(post.cacheStatus).to.include('invalidated: POST answered 201');
      for (const u of [target.url, located.url, otherUrl]) await http.request(u);
      expect([target.hits() - 1, located.hits(), other.hits('/elsewhere').length]).to.deep.equal([2, 2, 1]);
    });

    it('an error answer invalidates nothing', async () => {
      const p = path('inverr');
      const url = server.route(p, (req, res) => req.method === 'DELETE' ? reply(res, clock, 500) : reply(res, clock, 200, { 'cache-control': 'max-age=60' }, 'ok'));
      await http.request(url);
      await http.request(url, 'DELETE');
      expect((await http.request(url))[0].fromcache).to.equal(true);
    });
  });

  describe('lost-update protection', () => {
    it('a PUT after a GET carries If-Match with the stored ETag; a 412 goes back to the caller', async () => {
      const p = path('put');
      const url = server.route(p, (req, res) => {
        if (req.method === 'GET') return reply(res, clock, 200, { etag: '"v1"', 'cache-control': 'max-age=60' }, 'doc');
        return req.headers['if-match'] === '"v1"' ? reply(res, clock, 412, {}, 'changed meanwhile') : reply(res, clock, 204);
      });
      await http.request(url);
      const [res, content] = await http.request(url, 'PUT', 'new');
      expect(server.hits(p)[1]!.headers['if-match']).to.equal('"v1"');
      expect([res.status, content.toString()]).to.deep.equal([412, 'changed meanwhile']);
      expect((await http.request(url))[0].fromcache).to.equal(true);
    });

    it("keeps the caller's If-Match, sends none with ignoreEtag, and a successful PUT invalidates", async () => {
      const p = path('put2');
      const url = server.route(p, (req, res) => req.method === 'GET'
        ? reply(res, clock, 200, { etag: '"v1"', 'cache-control': 'max-age=60' }, 'doc')
        : reply(res, clock, 204));
      await http.request(url);
      await http.request(url, 'PUT', 'a', { 'if-match': '"mine"' });
      expect(server.hits(p)[1]!.headers['if-match']).to.equal('"mine"');
      await http.request(url);
      http.ignoreEtag = true;
      await http.request(url, 'PUT', 'b');
      expect(server.hits(p).at(-1)!.headers['if-match']).to.equal(undefined);
      expect(server.hits(p).length).to.equal(4); // the PUT with the caller's If-Match invalidated the entry
    });
  });

  describe('permanent redirects', () => {
    it('answers a 301 to GET from the cache and follows it', async () => {
      const target = serve('moved-to', { 'cache-control': 'max-age=60' });
      const p = path('moved');
      const url = server.route(p, (_q, res) => reply(res, clock, 301, { location: target.path }));
      await http.request(url);
      clock.advance(3600);
      const [res, content] = await http.request(url);
      expect(content.toString()).to.equal('hello');
      expect(res.previous?.status).to.equal(301);
      expect(res.previous?.fromcache).to.equal(true);
      expect(res.previous?.get('content-location')).to.equal(url);
      expect(server.hits(p).length).to.equal(1);
    });
  });

  describe('a failing store', () => {
    const failing = {
      throws: { get() { throw new Error('EIO'); }, set() { throw new Error('ENOSPC'); }, delete() { throw new Error('EIO'); } },
      rejects: { get: () => Promise.reject(new Error('EIO')), set: () => Promise.reject(new Error('ENOSPC')), delete: () => Promise.reject(new Error('EIO')) },
      garbage: { get: () => Buffer.from('definitely not an entry'), set: () => undefined, delete: () => undefined },
      strings: { get: () => 'garbage', set: () => undefined, delete: () => undefined },
    };
    for (const [name, bad] of Object.entries(failing)) {
      it(`degrades to the network answer when the store ${name}`, async () => {
        const unhandled: unknown[] = [];
        const onUnhandled = (e: unknown) => unhandled.push(e);
        process.on('unhandledRejection', onUnhandled);
        const h = new Http(bad, { clock });
        try {
          const r = serve(`bad-${name}`, { 'cache-control': 'max-age=60', etag: '"e"' });
          for (let i = 0; i < 2; i++) {
            const [res, content] = await h.request(r.url);
            expect([res.status, content.toString(), res.fromcache]).to.deep.equal([200, 'hello', false]);
          }
          await h.request(r.url, 'PUT', 'x');
          expect(r.hits()).to.equal(3);
          await new Promise((resolve) => setImmediate(resolve));
          expect(unhandled).to.deep.equal([]);
        } finally {
          process.off('unhandledRejection', onUnhandled);
          await h.close();
        }
      });
    }
  });

  describe('with the shipped stores', () => {
    it('a directory (FileCache) serves a fresh hit to a new Http and keeps nothing from no-store', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'httplib2-ts-cache-'));
      try {
        const kept = serve('file', { 'cache-control': 'max-age=60' });
        const unkept = serve('file-nostore', { 'cache-control': 'no-store' });
        const first = new Http(dir, { clock });
        await first.request(kept.url);
        await first.request(unkept.url);
        await first.close();
        const files = readdirSync(dir).length;
        const second = new Http(dir, { clock });
        const [res, content] = await second.request(kept.url);
        await second.close();
        expect([res.fromcache, content.toString(), kept.hits(), files]).to.deep.equal([true, 'hello', 1, 1]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('a MemoryCache serves a fresh hit', async () => {
      const h = new Http(new MemoryCache(), { clock });
      try {
        const r = serve('memory', { 'cache-control': 'max-age=60' });
        await h.request(r.url);
        expect((await h.request(r.url))[0].fromcache).to.equal(true);
      } finally {
        await h.close();
      }
    });
  });

  it('adds nothing without a store', async () => {
    const h = new Http(null, { clock });
    try {
      const r = serve('nocache', { 'cache-control': 'max-age=60' });
      await h.request(r.url);
      const [res] = await h.request(r.url);
      expect([res.fromcache, res.cacheStatus]).to.deep.equal([false, []]);
      expect(r.hits()).to.equal(2);
    } finally {
      await h.close();
    }
  });
});
