/**
 * The required points of RFC 9111 a private client cache can meet, against a real loopback server:
 * Age on every answer served from the cache (§5.1, §4.2.3), hop-by-hop fields never stored (§3.1),
 * a content coding the client does not decode stored like any other answer (§3), and Range requests
 * answered from a complete stored 200 (RFC 9110 §14). Time moves only through the clock.
 */
import { expect } from 'chai';
import { Http } from '../../lib/index.js';
import { MapStore, cacheSuite, reply, type RoutedServer, type TestClock } from '../helpers/cache-fixtures.js';

describe('cache: RFC 9111 required points', () => {
  let server: RoutedServer;
  let clock: TestClock;
  let store: MapStore;
  let http: Http;
  const { path } = cacheSuite((f) => ({ server, clock, store, http } = f));

  function serve(name: string, status: number, headers: Record<string, string>, body: string | Buffer = 'hello'): { url: string; path: string; hits: () => number } {
    const p = path(name);
    const url = server.route(p, (_req, res) => reply(res, clock, status, headers, body));
    return { url, path: p, hits: () => server.hits(p).length };
  }

  describe('§5.1 Age on every answer served from the cache', () => {
    it('carries the current age, updated on every serve', async () => {
      const r = serve('age', 200, { 'cache-control': 'max-age=60' });
      const [first] = await http.request(r.url);
      expect(first.fromcache).to.equal(false);
      clock.advance(10);
      const [hit] = await http.request(r.url);
      expect([hit.fromcache, hit.get('age')]).to.deep.equal([true, '10']);
      clock.advance(15);
      const [later] = await http.request(r.url);
      expect([later.fromcache, later.get('age')]).to.deep.equal([true, '25']);
      expect(r.hits()).to.equal(1);
    });

    it("adds the time spent in the cache to the Age the origin's answer carried (§4.2.3)", async () => {
      const r = serve('upstream-age', 200, { 'cache-control': 'max-age=600', age: '100' });
      await http.request(r.url);
      clock.advance(7);
      const [hit] = await http.request(r.url);
      expect([hit.fromcache, hit.get('age')]).to.deep.equal([true, '107']);
    });

    it('starts again from the 304 that freshened the entry', async () => {
      const p = path('age-304');
      const url = server.route(p, (req, res) => (req.headers['if-none-match'] === '"v1"'
        ? reply(res, clock, 304, { 'cache-control': 'max-age=60', etag: '"v1"' })
        : reply(res, clock, 200, { 'cache-control': 'max-age=60', etag: '"v1"' }, 'body')));
      await http.request(url);
      clock.advance(90);
      const [revalidated, content] = await http.request(url);
      expect([revalidated.status, revalidated.fromcache, content.toString(), revalidated.get('age')]).to.deep.equal([200, true, 'body', '0']);
      clock.advance(4);
      const [hit] = await http.request(url);
      expect([hit.fromcache, hit.get('age')]).to.deep.equal([true, '4']);
      expect(server.hits(p).length).to.equal(2);
    });

    it('answers HEAD and a stale-if-error fallback with their age too', async () => {
      const p = path('age-sie');
      let down = false;
      const url = server.route(p, (_req, res) => (down
        ? reply(res, clock, 503, {}, 'down')
        : reply(res, clock, 200, { 'cache-control': 'max-age=60, stale-if-error=600' }, 'body')));
      await http.request(url);
      clock.advance(30);
      const [head] = await http.request(url, 'HEAD');
      expect([head.fromcache, head.get('age')]).to.deep.equal([true, '30']);
      down = true;
      clock.advance(60);
      const [fallback] = await http.request(url);
      expect([fallback.fromcache, fallback.get('age')]).to.deep.equal([true, '90']);
    });
  });

  describe('§3.1 hop-by-hop fields are never stored nor served', () => {
    it('leaves out the fields Connection lists and the hop-by-hop set', async () => {
      const r = serve('hop', 200, {
        'cache-control': 'max-age=60',
        connection: 'X-Session-Hint, x-route',
        'x-session-hint': 'node-7',
        'x-route': 'blue',
        'keep-alive': 'timeout=5',
        'proxy-authenticate': 'Basic realm="proxy"',
        'x-end-to-end': 'kept',
      });
      const [first] = await http.request(r.url);
      expect(first.fromcache).to.equal(false);
      const stored = [...store.map.values()].map((v) => Buffer.from(v).toString('latin1')).join('\n');
      for (const name of ['x-session-hint', 'x-route', 'keep-alive', 'proxy-authenticate', 'connection']) {
        expect(stored.toLowerCase(), `${name} stored`).not.to.include(`"${name}"`);
      }
      const [hit] = await http.request(r.url);
      expect(hit.fromcache).to.equal(true);
      for (const name of ['x-session-hint', 'x-route', 'keep-alive', 'proxy-authenticate', 'connection']) {
        expect(hit.has(name), `${name} served`).to.equal(false);
      }
      expect(hit.get('x-end-to-end')).to.equal('kept');
    });
  });

  describe('§3 a content coding the client does not decode', () => {
    it('is stored and served with its Content-Encoding, like any other answer', async () => {
      const coded = Buffer.from([0x5d, 0, 0, 0x80, 0, 0xff, 0xff, 0x01, 0x02]);
      const r = serve('lzma', 200, { 'cache-control': 'max-age=60', 'content-encoding': 'lzma', 'content-type': 'text/plain' }, coded);
      const [first, body] = await http.request(r.url);
      expect([first.fromcache, first.get('content-encoding'), body.equals(coded)]).to.deep.equal([false, 'lzma', true]);
      const [hit, cached] = await http.request(r.url);
      expect([hit.fromcache, hit.get('content-encoding'), cached.equals(coded)]).to.deep.equal([true, 'lzma', true]);
      expect(r.hits()).to.equal(1);
    });
  });

  describe('RFC 9110 §14 Range answered from a complete stored 200', () => {
    const BODY = '0123456789';
    let r: { url: string; path: string; hits: () => number };
    beforeEach(async () => {
      r = serve('range', 200, { 'cache-control': 'max-age=60', etag: '"r1"', 'content-type': 'text/plain' }, BODY);
      await http.request(r.url);
    });
    const ranged = async (range: string, more: Record<string, string> = {}) => {
      const [res, content] = await http.request(r.url, 'GET', null, { range, ...more });
      return { res, text: content.toString() };
    };

    it('answers a single range with a 206 and the right Content-Range, without a request', async () => {
      const cases: Array<[string, string, string]> = [
        ['bytes=2-5', '2345', 'bytes 2-5/10'],
        ['bytes=7-', '789', 'bytes 7-9/10'],
        ['bytes=-3', '789', 'bytes 7-9/10'],
        ['bytes=5-100', '56789', 'bytes 5-9/10'],
        ['bytes=-20', BODY, 'bytes 0-9/10'],
        ['Bytes = 0-0', '0', 'bytes 0-0/10'],
      ];
      for (const [range, text, contentRange] of cases) {
        const { res, text: got } = await ranged(range);
        expect([res.status, res.fromcache, got, res.get('content-range'), res.get('content-length')], range)
          .to.deep.equal([206, true, text, contentRange, String(text.length)]);
        expect(res.get('age'), range).to.equal('0');
        expect(res.get('etag')).to.equal('"r1"');
      }
      expect(r.hits()).to.equal(1);
    });

    it('answers 416 with the current length when no byte can be sent', async () => {
      for (const range of ['bytes=10-', 'bytes=10-20', 'bytes=-0']) {
        const { res, text } = await ranged(range);
        expect([res.status, res.fromcache, text, res.get('content-range')], range).to.deep.equal([416, true, '', 'bytes */10']);
      }
      expect(r.hits()).to.equal(1);
    });

    it('answers the whole 200 when the Range is invalid or If-Range does not match', async () => {
      for (const [range, more] of [['bytes=5-2', {}], ['lines=1-2', {}], ['bytes=0-1', { 'if-range': '"r0"' }]] as const) {
        const { res, text } = await ranged(range, more);
        expect([res.status, res.fromcache, text], range).to.deep.equal([200, true, BODY]);
      }
      const { res } = await ranged('bytes=0-1', { 'if-range': '"r1"' });
      expect(res.status).to.equal(206);
      expect(r.hits()).to.equal(1);
    });

    it('sends several ranges to the origin and keeps the stored entry whole', async () => {
      const { res } = await ranged('bytes=0-1,4-5');
      expect(res.fromcache).to.equal(false);
      expect(r.hits()).to.equal(2);
      const [whole, content] = await http.request(r.url);
      expect([whole.status, whole.fromcache, content.toString()]).to.deep.equal([200, true, BODY]);
    });

    it('revalidates a stale entry first, then answers the range from it', async () => {
      const p = path('range-stale');
      const url = server.route(p, (req, res) => (req.headers['if-none-match'] === '"s1"'
        ? reply(res, clock, 304, { 'cache-control': 'max-age=60', etag: '"s1"' })
        : reply(res, clock, 200, { 'cache-control': 'max-age=60', etag: '"s1"' }, BODY)));
      await http.request(url);
      clock.advance(120);
      const [res, content] = await http.request(url, 'GET', null, { range: 'bytes=1-3' });
      expect([res.status, res.fromcache, content.toString(), res.get('content-range')]).to.deep.equal([206, true, '123', 'bytes 1-3/10']);
      const hits = server.hits(p);
      expect(hits).to.have.length(2);
      expect(hits[1]!.headers['if-none-match']).to.equal('"s1"');
      // The entry was freshened, and is still whole.
      const [whole, all] = await http.request(url);
      expect([whole.status, whole.fromcache, all.toString()]).to.deep.equal([200, true, BODY]);
      expect(server.hits(p)).to.have.length(2);
    });

    it('sends a range of a body stored decoded to the origin: its bytes are counted in the coded form', async () => {
      const { gzipSync } = await import('node:zlib');
      const p = path('range-gzip');
      const url = server.route(p, (req, res) => (req.headers.range
        ? reply(res, clock, 206, { 'content-range': 'bytes 0-1/30' }, 'xy')
        : reply(res, clock, 200, { 'cache-control': 'max-age=60', 'content-encoding': 'gzip' }, gzipSync(BODY))));
      await http.request(url);
      const [res, content] = await http.request(url, 'GET', null, { range: 'bytes=0-1' });
      expect([res.status, res.fromcache, content.toString()]).to.deep.equal([206, false, 'xy']);
      expect(server.hits(p)).to.have.length(2);
    });
  });
});
