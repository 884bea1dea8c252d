/**
 * The polite poller (#11) against a real server: what reaches the server when it says "not now".
 * A stored entry survives an error answer to its revalidation; the Retry-After of a 429 or 503 is
 * remembered in the store; a 410 is kept for a day; every answer says when to come back.
 */
import { expect } from 'chai';
import { Http } from '../../lib/index.js';
import { MapStore, aClock, cacheSuite, reply, type RoutedServer, type TestClock } from '../helpers/cache-fixtures.js';
import { startRawServer } from '../helpers/server.js';

describe('the polite poller (#11)', () => {
  let server: RoutedServer;
  let clock: TestClock;
  let store: MapStore;
  let http: Http;
  const { path } = cacheSuite((f) => ({ server, clock, store, http } = f));

  /**
   * A feed with ETag "v1" (fresh 60 s) that answers 304 to it; while `trouble` is set, every request
   * gets that answer instead.
   */
  function feed(name: string, cacheControl = 'max-age=60') {
    const p = path(name);
    const state: { trouble: { status: number; headers?: Record<string, string> } | null } = { trouble: null };
    const url = server.route(p, (req, res) => {
      if (state.trouble) return reply(res, clock, state.trouble.status, state.trouble.headers ?? {}, 'not now');
      if (req.headers['if-none-match'] === '"v1"') return reply(res, clock, 304, { etag: '"v1"', 'cache-control': cacheControl });
      return reply(res, clock, 200, { etag: '"v1"', 'cache-control': cacheControl }, 'the whole feed');
    });
    return { url, state, hits: () => server.hits(p) };
  }

  describe('1. a stored entry survives an error answer to its revalidation', () => {
    for (const status of [429, 500, 502, 503, 504]) {
      it(`gives the ${status} to the caller as it is, and revalidates the kept entry next time (no full download)`, async () => {
        const f = feed(`survives-${status}`);
        await http.request(f.url);
        clock.advance(120);
        f.state.trouble = { status };
        const [refused, body] = await http.request(f.url);
        expect([refused.status, refused.fromcache, body.toString()]).to.deep.equal([status, false, 'not now']);
        expect(refused.cacheStatus.at(-1)).to.equal(`kept: stored entry kept through ${status} for the next revalidation`);
        f.state.trouble = null;
        clock.advance(60);
        const [back, content] = await http.request(f.url);
        expect([back.status, back.fromcache, content.toString()]).to.deep.equal([200, true, 'the whole feed']);
        expect(f.hits().map((h) => h.headers['if-none-match'] ?? null)).to.deep.equal([null, '"v1"', '"v1"']);
      });
    }

    it('keeps it through a reload (request no-cache) answered 503', async () => {
      const f = feed('reload');
      await http.request(f.url);
      f.state.trouble = { status: 503 };
      const [refused] = await http.request(f.url, 'GET', null, { 'cache-control': 'no-cache' });
      expect(refused.status).to.equal(503);
      f.state.trouble = null;
      // Still fresh (30 s of 60): answered from the kept entry with no request.
      clock.advance(30);
      const [again, content] = await http.request(f.url);
      expect([again.status, again.fromcache, content.toString()]).to.deep.equal([200, true, 'the whole feed']);
      expect(f.hits().length).to.equal(2);
    });

    it('keeps it through a connection the server drops, and serves it stale where stale-if-error allows', async () => {
      let drop = false;
      let count = 0;
      const raw = await startRawServer((socket, first) => {
        count++;
        if (drop) return socket.destroy();
        const conditional = /if-none-match: "v1"/i.test(first.toString('latin1'));
        const date = new Date(clock.now()).toUTCString();
        socket.end(conditional
          ? `HTTP/1.1 304 Not Modified\r\nDate: ${date}\r\nETag: "v1"\r\nCache-Control: max-age=60, stale-if-error=600\r\nConnection: close\r\n\r\n`
          : `HTTP/1.1 200 OK\r\nDate: ${date}\r\nETag: "v1"\r\nCache-Control: max-age=60, stale-if-error=600\r\nContent-Length: 4\r\nConnection: close\r\n\r\nfeed`);
      });
      await http.request(raw.url('/feed'));
      clock.advance(120);
      drop = true;
      const [stale, content] = await http.request(raw.url('/feed'));
      expect([stale.status, stale.fromcache, content.toString()]).to.deep.equal([200, true, 'feed']);
      drop = false;
      clock.advance(60);
      const before = count;
      const [back] = await http.request(raw.url('/feed'));
      expect([back.status, back.fromcache]).to.deep.equal([200, true]);
      expect(back.cacheStatus.at(-1)).to.equal('revalidated: 304 via If-None-Match');
      expect(count - before).to.equal(1);
    });

    it('still drops it when the new answer is a success that may not be stored (no-store)', async () => {
      const p = path('no-store');
      let noStore = false;
      const url = server.route(p, (_req, res) => reply(res, clock, 200, noStore ? { 'cache-control': 'no-store' } : { etag: '"v1"', 'cache-control': 'max-age=60' }, 'x'));
      await http.request(url);
      clock.advance(120);
      noStore = true;
      expect((await http.request(url))[0].cacheStatus.at(-1)).to.equal('not stored: no-store; stored entry dropped');
    });
  });

  describe('2. the Retry-After of a 429 or 503 is remembered in the store (RFC 9110 §10.2.3)', () => {
    const at = (secondsFromT0: number) => new Date(clock.now() + secondsFromT0 * 1000).toISOString();

    it('answers from the stored entry, stale, until the time a 429 gave in seconds; then revalidates it', async () => {
      const f = feed('ra-seconds');
      await http.request(f.url);
      clock.advance(120);
      f.state.trouble = { status: 429, headers: { 'retry-after': '3600' } };
      const until = at(3600);
      const [refused] = await http.request(f.url);
      expect([refused.status, refused.fromcache]).to.deep.equal([429, false]);
      expect(refused.cacheStatus.at(-1)).to.equal(`kept: stored entry kept through 429; not asking the origin before ${until} (Retry-After: 3600)`);
      // Every 15 minutes during the hour: the stored feed, stale, and no request.
      for (let t = 900; t < 3600; t += 900) {
        clock.advance(900);
        const [held, content] = await http.request(f.url);
        expect([held.status, held.fromcache, content.toString()]).to.deep.equal([200, true, 'the whole feed']);
        expect(held.cacheStatus).to.deep.equal([`retry-after: not asking the origin before ${until}; served stale (age ${120 + t}s)`]);
        expect(held.get('age')).to.equal(String(120 + t));
      }
      expect(f.hits().length).to.equal(2);
      f.state.trouble = null;
      clock.advance(900);
      const [back] = await http.request(f.url);
      expect([back.status, back.fromcache, back.cacheStatus.at(-1)]).to.deep.equal([200, true, 'revalidated: 304 via If-None-Match']);
      expect(f.hits().map((h) => h.headers['if-none-match'] ?? null)).to.deep.equal([null, '"v1"', '"v1"']);
    });

    it('reads an HTTP-date against the answer\'s own Date (the origin\'s clock), for a 503 too', async () => {
      const f = feed('ra-date');
      await http.request(f.url);
      clock.advance(120);
      // The server's clock is 10 minutes ahead; it asks for two hours of its own time.
      const serverNow = clock.now() + 600_000;
      f.state.trouble = { status: 503, headers: { date: new Date(serverNow).toUTCString(), 'retry-after': new Date(serverNow + 7_200_000).toUTCString() } };
      const [refused] = await http.request(f.url);
      expect(refused.status).to.equal(503);
      expect(refused.cacheStatus.at(-1)).to.include(`not asking the origin before ${at(7200)}`);
      f.state.trouble = null;
      clock.advance(7199);
      expect((await http.request(f.url))[0].fromcache).to.equal(true);
      expect(f.hits().length).to.equal(2);
      clock.advance(1);
      await http.request(f.url);
      expect(f.hits().length).to.equal(3);
    });

    it('remembers nothing from a 503 without Retry-After, or a Retry-After on another status', async () => {
      const f = feed('ra-none');
      await http.request(f.url);
      clock.advance(120);
      f.state.trouble = { status: 503 };
      await http.request(f.url);
      f.state.trouble = { status: 500, headers: { 'retry-after': '3600' } };
      clock.advance(1);
      await http.request(f.url);
      clock.advance(1);
      await http.request(f.url);
      expect(f.hits().length).to.equal(4);
    });

    it('answers with the stored 429 itself when nothing else is stored, then asks again', async () => {
      const p = path('ra-first');
      let limited = true;
      const url = server.route(p, (_req, res) => limited
        ? reply(res, clock, 429, { 'retry-after': '600', 'content-type': 'text/plain' }, 'slow down')
        : reply(res, clock, 200, { etag: '"v1"', 'cache-control': 'max-age=60' }, 'feed'));
      const until = at(600);
      const [first] = await http.request(url);
      expect([first.status, first.fromcache]).to.deep.equal([429, false]);
      expect(first.cacheStatus.at(-1)).to.equal(`stored: 429 until ${until} (Retry-After: 600), answered from the cache until then`);
      clock.advance(300);
      const [held, content] = await http.request(url);
      expect([held.status, held.fromcache, held.get('retry-after'), content.toString()]).to.deep.equal([429, true, '600', 'slow down']);
      expect(held.cacheStatus).to.deep.equal([`retry-after: not asking the origin before ${until}; answered with the stored 429`]);
      expect(server.hits(p).length).to.equal(1);
      limited = false;
      clock.advance(300);
      const [after] = await http.request(url);
      expect([after.status, after.fromcache]).to.deep.equal([200, false]);
      expect(after.cacheStatus[0]).to.equal(`miss: the stored 429 held requests back until ${until}`);
      expect(server.hits(p).at(-1)!.headers['if-none-match']).to.equal(undefined);
    });

    it('lets a request with Cache-Control: no-cache go out (the caller insists)', async () => {
      const f = feed('ra-no-cache');
      await http.request(f.url);
      clock.advance(120);
      f.state.trouble = { status: 429, headers: { 'retry-after': '3600' } };
      await http.request(f.url);
      f.state.trouble = null;
      const [insisted] = await http.request(f.url, 'GET', null, { 'cache-control': 'no-cache' });
      expect([insisted.status, insisted.fromcache]).to.deep.equal([200, false]);
      expect(f.hits().length).to.equal(3);
      // Its 200 replaced the entry, and what the 429 asked for with it.
      clock.advance(30);
      const [fresh] = await http.request(f.url);
      expect(fresh.cacheStatus).to.deep.equal(['fresh: max-age=60, age 30s']);
    });

    it('is kept in the store: a new Http on it (a restart, another process) waits too', async () => {
      const f = feed('ra-restart');
      await http.request(f.url);
      clock.advance(120);
      f.state.trouble = { status: 503, headers: { 'retry-after': '1800' } };
      await http.request(f.url);
      await http.close();
      const restarted = new Http(store, { clock });
      clock.advance(900);
      try {
        const [held] = await restarted.request(f.url);
        expect([held.status, held.fromcache]).to.deep.equal([200, true]);
        expect(f.hits().length).to.equal(2);
      } finally {
        await restarted.close();
      }
    });

    it('caps a Retry-After past maxRetryAfter (default a day); 0 remembers none', async () => {
      const f = feed('ra-cap');
      await http.request(f.url);
      clock.advance(120);
      f.state.trouble = { status: 429, headers: { 'retry-after': '9999999' } };
      const [refused] = await http.request(f.url);
      expect(refused.cacheStatus.at(-1)).to.include(`not asking the origin before ${at(86400)} (Retry-After: 9999999, capped at 86400s)`);
      f.state.trouble = null;
      clock.advance(86399);
      expect((await http.request(f.url))[0].fromcache).to.equal(true);
      expect(f.hits().length).to.equal(2);
      clock.advance(1);
      await http.request(f.url);
      expect(f.hits().length).to.equal(3);

      const short = new Http(new MapStore(), { clock, maxRetryAfter: 60 });
      const g = feed('ra-cap-60');
      await short.request(g.url);
      clock.advance(120);
      g.state.trouble = { status: 429, headers: { 'retry-after': '3600' } };
      await short.request(g.url);
      clock.advance(59);
      await short.request(g.url);
      expect(g.hits().length).to.equal(2);
      clock.advance(1);
      await short.request(g.url);
      expect(g.hits().length).to.equal(3);
      await short.close();

      const none = new Http(new MapStore(), { clock, maxRetryAfter: 0 });
      const h = feed('ra-cap-0');
      await none.request(h.url);
      clock.advance(120);
      h.state.trouble = { status: 429, headers: { 'retry-after': '3600' } };
      await none.request(h.url);
      await none.request(h.url);
      expect(h.hits().length).to.equal(3);
      await none.close();
    });

    it('answers 504 for a stored response that may never be served stale (must-revalidate)', async () => {
      const f = feed('ra-must', 'max-age=60, must-revalidate');
      await http.request(f.url);
      clock.advance(120);
      f.state.trouble = { status: 503, headers: { 'retry-after': '600' } };
      await http.request(f.url);
      clock.advance(60);
      const [held] = await http.request(f.url);
      expect([held.status, held.fromcache]).to.deep.equal([504, false]);
      expect(held.cacheStatus.at(-1)).to.equal(`retry-after: not asking the origin before ${at(540)}; the stored response is must-revalidate, never served stale → 504`);
      expect(f.hits().length).to.equal(2);
    });

    it('serves stale where stale-if-error allows, and remembers the time too', async () => {
      const f = feed('ra-sie', 'max-age=60, stale-if-error=86400');
      await http.request(f.url);
      clock.advance(120);
      f.state.trouble = { status: 503, headers: { 'retry-after': '600' } };
      const [stale] = await http.request(f.url);
      expect([stale.status, stale.fromcache]).to.deep.equal([200, true]);
      expect(stale.cacheStatus.at(-1)).to.equal(`stale-if-error: served stale after 503; not asking the origin before ${at(600)} (Retry-After: 600)`);
      clock.advance(300);
      await http.request(f.url);
      expect(f.hits().length).to.equal(2);
    });

    it('refuses a maxRetryAfter that is not a non-negative number of seconds, naming it', () => {
      for (const bad of [-1, Number.NaN, Infinity, '60']) {
        expect(() => new Http(null, { maxRetryAfter: bad as number }), String(bad)).to.throw(/Invalid option maxRetryAfter: expected a non-negative, finite number of seconds/);
      }
    });
  });

  describe('3. a 410 Gone is kept (RFC 9110 §15.5.11: heuristically cacheable)', () => {
    // A feed that is gone after its first poll; the 410 carries no freshness and no validator.
    function goneFeed(name: string) {
      const p = path(name);
      let gone = false;
      const url = server.route(p, (_req, res) => gone
        ? reply(res, clock, 410, { 'content-type': 'text/plain' }, 'gone for good')
        : reply(res, clock, 200, { etag: '"v1"', 'cache-control': 'max-age=900' }, 'feed'));
      return { url, hits: () => server.hits(p), goAway: () => void (gone = true) };
    }

    it('answers a 410 from the cache for a day, then asks again', async () => {
      const g = goneFeed('gone');
      await http.request(g.url);
      g.goAway();
      clock.advance(900);
      const [first, body] = await http.request(g.url);
      expect([first.status, first.fromcache, body.toString()]).to.deep.equal([410, false, 'gone for good']);
      expect(first.cacheStatus.at(-1)).to.equal('stored: heuristic 86400s for 410 Gone');
      // Every 15 minutes for the rest of the day: from the cache, no request.
      for (let t = 900; t < 86400; t += 900) {
        clock.advance(900);
        const [again, content] = await http.request(g.url);
        expect([again.status, again.fromcache, content.toString()], `after ${t + 900} s`).to.deep.equal([410, true, 'gone for good']);
      }
      expect(g.hits().length).to.equal(2);
      clock.advance(900);
      expect((await http.request(g.url))[0].fromcache).to.equal(false);
      expect(g.hits().length).to.equal(3);
    });

    it('keeps it for goneLifetime seconds (0: no lifetime of its own, asked every time)', async () => {
      const hour = new Http(store, { clock, goneLifetime: 3600 });
      const g = goneFeed('gone-hour');
      g.goAway();
      expect((await hour.request(g.url))[0].cacheStatus.at(-1)).to.equal('stored: heuristic 3600s for 410 Gone');
      clock.advance(3599);
      expect((await hour.request(g.url))[0].fromcache).to.equal(true);
      clock.advance(1);
      expect((await hour.request(g.url))[0].fromcache).to.equal(false);
      await hour.close();

      const never = new Http(new MapStore(), { clock, goneLifetime: 0 });
      const h = goneFeed('gone-never');
      h.goAway();
      await never.request(h.url);
      expect((await never.request(h.url))[0].fromcache).to.equal(false);
      expect(h.hits().length).to.equal(2);
      await never.close();
    });

    it('leaves a 404 as it was: asked again unless the server gave it freshness', async () => {
      const p = path('missing');
      const url = server.route(p, (_req, res) => reply(res, clock, 404, {}, 'no such feed'));
      await http.request(url);
      clock.advance(900);
      expect((await http.request(url))[0].fromcache).to.equal(false);
      const q = path('missing-fresh');
      const fresh = server.route(q, (_req, res) => reply(res, clock, 404, { 'cache-control': 'max-age=3600' }, 'no such feed'));
      await http.request(fresh);
      clock.advance(900);
      expect((await http.request(fresh))[0].fromcache).to.equal(true);
    });

    it('refuses a goneLifetime that is not a non-negative number of seconds, naming it', () => {
      for (const bad of [-1, Number.NaN, Infinity, '60']) {
        expect(() => new Http(null, { goneLifetime: bad as number }), String(bad)).to.throw(/Invalid option goneLifetime: expected a non-negative, finite number of seconds/);
      }
    });
  });

  describe('4. every answer says when to come back: freshUntil and retryAfter', () => {
    const at = (seconds: number) => new Date(aClock().now() + seconds * 1000);

    it('a stored answer and every hit carry when the entry goes stale; a kept stale one its past time', async () => {
      const f = feed('when-fresh');
      const [first] = await http.request(f.url);
      expect([first.freshUntil, first.retryAfter]).to.deep.equal([at(60), null]);
      clock.advance(30);
      const [hit] = await http.request(f.url);
      expect([hit.freshUntil, hit.retryAfter]).to.deep.equal([at(60), null]);
      clock.advance(60);
      const [revalidated] = await http.request(f.url);
      expect(revalidated.freshUntil).to.deep.equal(at(150));
      clock.advance(120);
      f.state.trouble = { status: 500 };
      const [failed] = await http.request(f.url);
      expect([failed.status, failed.freshUntil, failed.retryAfter]).to.deep.equal([500, at(150), null]);
    });

    it('while a Retry-After holds, retryAfter says until when, on the 429 and on the stale answers', async () => {
      const f = feed('when-held');
      await http.request(f.url);
      clock.advance(120);
      f.state.trouble = { status: 429, headers: { 'retry-after': '3600' } };
      const [refused] = await http.request(f.url);
      expect([refused.freshUntil, refused.retryAfter]).to.deep.equal([at(60), at(3720)]);
      clock.advance(900);
      const [held] = await http.request(f.url);
      expect([held.fromcache, held.freshUntil, held.retryAfter]).to.deep.equal([true, at(60), at(3720)]);
      // A poller sleeps until the later of the two: the first moment a request can reach the server.
      clock.advance(2700);
      f.state.trouble = null;
      const [back] = await http.request(f.url);
      expect([back.cacheStatus.at(-1), back.freshUntil, back.retryAfter]).to.deep.equal(['revalidated: 304 via If-None-Match', at(3780), null]);
    });

    it('a stored 429 standing in has a retry time and no freshness; a 410 is fresh for a day', async () => {
      const p = path('when-first');
      const url = server.route(p, (_req, res) => reply(res, clock, 429, { 'retry-after': '600' }, 'slow down'));
      const [first] = await http.request(url);
      expect([first.freshUntil, first.retryAfter]).to.deep.equal([null, at(600)]);
      const [held] = await http.request(url);
      expect([held.fromcache, held.freshUntil, held.retryAfter]).to.deep.equal([true, null, at(600)]);
      const q = path('when-gone');
      const gone = server.route(q, (_req, res) => reply(res, clock, 410, {}, 'gone'));
      expect((await http.request(gone))[0].freshUntil).to.deep.equal(at(86400));
    });

    it('is null for what is not stored, on the final answer of a redirect its own, and on an Http without a cache', async () => {
      const p = path('when-none');
      const plain = server.route(p, (_req, res) => reply(res, clock, 200, {}, 'no validators'));
      expect((await http.request(plain))[0].freshUntil).to.equal(null);
      const f = feed('when-target');
      const q = path('when-302');
      const moved = server.route(q, (_req, res) => reply(res, clock, 302, { location: f.url }));
      const [final] = await http.request(moved);
      expect([final.status, final.freshUntil, final.previous!.freshUntil]).to.deep.equal([200, at(60), null]);
      const bare = new Http(null, { clock });
      const [uncached] = await bare.request(f.url);
      expect([uncached.freshUntil, uncached.retryAfter]).to.deep.equal([null, null]);
      await bare.close();
    });
  });

  describe('5. validators go back exactly as received, updated by every 200 and 304, never invented', () => {
    // A raw server, so the spec sees the request head byte for byte as it left the client.
    async function rawFeed(answer: (n: number, head: string) => Buffer) {
      const heads: Buffer[] = [];
      const raw = await startRawServer((socket, first) => {
        heads.push(first);
        socket.end(answer(heads.length - 1, first.toString('latin1')));
      });
      const field = (n: number, name: string): Buffer | null => {
        const head = heads[n]!;
        const start = head.indexOf(Buffer.from(`\r\n${name}: `, 'latin1'));
        if (start === -1) return null;
        const from = start + name.length + 4;
        return head.subarray(from, head.indexOf(Buffer.from('\r\n'), from));
      };
      return { url: raw.url('/feed'), heads, field };
    }
    const head = (status: string, fields: Array<Buffer | string>, body = '') => Buffer.concat([
      Buffer.from(`HTTP/1.1 ${status}\r\nDate: ${new Date(clock.now()).toUTCString()}\r\n`, 'latin1'),
      ...fields.flatMap((f) => [typeof f === 'string' ? Buffer.from(f, 'latin1') : f, Buffer.from('\r\n', 'latin1')]),
      Buffer.from(`Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`, 'latin1'),
    ]);

    it('sends a weak ETag with obs-text, and an obsolete-form Last-Modified, byte for byte (without the whitespace around them)', async () => {
      const tag = Buffer.from([0x57, 0x2f, 0x22, 0x61, 0xe9, 0x2c, 0x20, 0x62, 0x22]); // W/"a\xe9, b"
      const lastModified = 'Sunday, 06-Nov-94 08:49:37 GMT';
      const f = await rawFeed((n) => n === 0
        ? head('200 OK', [Buffer.concat([Buffer.from('ETag:  '), tag, Buffer.from('  ')]), `Last-Modified: ${lastModified}`, 'Cache-Control: max-age=0'], 'feed')
        : head('304 Not Modified', []));
      await http.request(f.url);
      clock.advance(1);
      const [again] = await http.request(f.url);
      expect([again.status, again.fromcache]).to.deep.equal([200, true]);
      expect(f.field(1, 'if-none-match')!.equals(tag)).to.equal(true);
      expect(f.field(1, 'if-modified-since')!.toString('latin1')).to.equal(lastModified);
    });

    it('takes the validators of every 304 and every 200 (the body unchanged or not) for the next revalidation', async () => {
      const answers = [
        head('200 OK', ['ETag: "v1"', 'Last-Modified: Mon, 01 Jun 2026 10:00:00 GMT', 'Cache-Control: max-age=0'], 'same'),
        // A 304 that names the stored tag in its weak form, with a later Last-Modified.
        head('304 Not Modified', ['ETag: W/"v1"', 'Last-Modified: Mon, 01 Jun 2026 11:00:00 GMT']),
        // The same body again, under new validators.
        head('200 OK', ['ETag: "v2"', 'Last-Modified: Mon, 01 Jun 2026 12:00:00 GMT', 'Cache-Control: max-age=0'], 'same'),
        head('304 Not Modified', ['ETag: "v2"']),
      ];
      const f = await rawFeed((n) => answers[Math.min(n, answers.length - 1)]!);
      for (let i = 0; i < 4; i++) {
        await http.request(f.url);
        clock.advance(1);
      }
      const sent = [1, 2, 3].map((n) => [f.field(n, 'if-none-match')?.toString('latin1') ?? null, f.field(n, 'if-modified-since')?.toString('latin1') ?? null]);
      expect(sent).to.deep.equal([
        ['"v1"', 'Mon, 01 Jun 2026 10:00:00 GMT'],
        ['W/"v1"', 'Mon, 01 Jun 2026 11:00:00 GMT'],
        ['"v2"', 'Mon, 01 Jun 2026 12:00:00 GMT'],
      ]);
    });

    it('invents none: only the validators the server sent, and none at all from a feed without them', async () => {
      const cases = [
        { fields: ['ETag: "only"', 'Cache-Control: max-age=0'], sent: ['"only"', null] },
        { fields: ['Last-Modified: Mon, 01 Jun 2026 10:00:00 GMT', 'Cache-Control: max-age=0'], sent: [null, 'Mon, 01 Jun 2026 10:00:00 GMT'] },
        { fields: ['Cache-Control: max-age=0, stale-if-error=60'], sent: [null, null] },
      ];
      for (const c of cases) {
        const f = await rawFeed(() => head('200 OK', c.fields, 'feed'));
        await http.request(f.url);
        clock.advance(1);
        await http.request(f.url);
        expect([f.field(1, 'if-none-match')?.toString() ?? null, f.field(1, 'if-modified-since')?.toString() ?? null], c.fields[0]).to.deep.equal(c.sent);
      }
    });
  });
});
