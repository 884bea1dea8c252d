/**
 * Request coalescing: concurrent identical GETs of a missing or stale cacheable resource within one
 * Http produce one upstream request, and every caller gets the answer.
 */
import { expect } from 'chai';
import { Http } from '../../lib/index.js';
import { cacheSuite, reply, type RoutedServer, type TestClock } from '../helpers/cache-fixtures.js';

describe('cache request coalescing', () => {
  let server: RoutedServer;
  let clock: TestClock;
  let http: Http;
  const { path } = cacheSuite((f) => ({ server, clock, http } = f));

  // A route whose answers wait until `release()`: every caller is in flight before the first answer.
  function gated(headers: Record<string, string>, status304 = false) {
    const p = path('gated');
    let open!: () => void;
    let gate = new Promise<void>((resolve) => (open = resolve));
    const url = server.route(p, async (req, res) => {
      await gate;
      if (status304 && req.headers['if-none-match'] === '"g"') return reply(res, clock, 304, { etag: '"g"' });
      return reply(res, clock, 200, { etag: '"g"', ...headers }, `body of ${p}`);
    });
    return {
      url,
      hits: () => server.hits(p).length,
      release: () => open(),
      rearm: () => void (gate = new Promise<void>((resolve) => (open = resolve))),
      waitForFirst: async () => {
        while (server.hits(p).length === 0) await new Promise((resolve) => setImmediate(resolve));
      },
    };
  }

  it('sends one request for five concurrent GETs of a missing resource', async () => {
    const r = gated({ 'cache-control': 'max-age=60' });
    const all = Promise.all(Array.from({ length: 5 }, () => http.request(r.url)));
    await r.waitForFirst();
    r.release();
    const results = await all;
    expect(results.map(([res, c]) => [res.status, c.toString()])).to.deep.equal(Array(5).fill([200, `body of ${new URL(r.url).pathname}`]));
    expect(r.hits()).to.equal(1);
    expect(results.filter(([res]) => res.cacheStatus.includes('coalesced: joined an identical request in flight')).length).to.equal(4);
    // Each caller owns its response: changing one leaves the others alone.
    results[0]![0].set('x-mine', '1');
    expect(results[1]![0].has('x-mine')).to.equal(false);
  });

  it('sends one revalidation for concurrent GETs of a stale resource', async () => {
    const r = gated({ 'cache-control': 'max-age=60' }, true);
    r.release();
    await http.request(r.url);
    clock.advance(61);
    r.rearm();
    const all = Promise.all(Array.from({ length: 4 }, () => http.request(r.url)));
    await r.waitForFirst();
    r.release();
    const results = await all;
    expect(results.every(([res, c]) => res.status === 200 && res.fromcache && c.length > 0)).to.equal(true);
    expect(r.hits()).to.equal(2);
  });

  it('does not merge requests whose headers differ', async () => {
    const r = gated({ 'cache-control': 'max-age=60', vary: 'accept-language' });
    const all = Promise.all(['en', 'fr'].map((lang) => http.request(r.url, 'GET', null, { 'accept-language': lang })));
    await r.waitForFirst();
    r.release();
    await all;
    expect(r.hits()).to.equal(2);
  });

  it('shares an error with every caller', async () => {
    const p = path('broken');
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const url = server.route(p, async (_q, res) => {
      await gate;
      res.writeHead(200, { 'content-encoding': 'gzip', 'cache-control': 'max-age=60' });
      res.end('not gzip');
    });
    const all = Promise.allSettled(Array.from({ length: 3 }, () => http.request(url)));
    while (server.hits(p).length === 0) await new Promise((resolve) => setImmediate(resolve));
    open();
    const results = await all;
    expect(results.map((r) => r.status)).to.deep.equal(['rejected', 'rejected', 'rejected']);
    expect(server.hits(p).length).to.equal(1);
  });
});
