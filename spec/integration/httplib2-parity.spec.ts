/**
 * Behaviour httplib2's own test suite checks, against a real loopback server: the default
 * optimistic-concurrency methods, `response.get('status')`, and how method tokens are sent.
 */
import { expect } from 'chai';
import { Http, HttpLib2Error, MemoryCache } from '../../lib/index.js';
import { startRawServer } from '../helpers/server.js';
import { startServer, type TestServer } from '../helpers/server.js';

describe('httplib2 parity', () => {
  let server: TestServer;
  let http: Http;

  before(async () => {
    // GET /doc answers with the ETag named by ?etag=; every other method answers 204.
    server = await startServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.method === 'GET') {
        res.writeHead(200, { etag: url.searchParams.get('etag') ?? '"v1"', 'cache-control': 'max-age=60' });
        return res.end('doc');
      }
      res.writeHead(204);
      res.end();
    });
  });
  beforeEach(() => {
    http = new Http(new MemoryCache());
  });
  afterEach(() => http.close());

  describe("response.get('status') (httplib2's response['status'])", () => {
    it('is the status code as a string, for answers from the server and from the cache', async () => {
      const url = server.url('/status?etag=%22s%22');
      const [first] = await http.request(url);
      const [hit] = await http.request(url);
      const [created] = await http.request(url, 'POST', 'x');
      expect([first.get('status'), first.get('STATUS'), hit.fromcache, hit.get('status'), created.get('status')])
        .to.deep.equal(['200', '200', true, '200', '204']);
      expect(first.has('status')).to.equal(true);
    });

    it('is not a header: iteration, size and toHeaders() list only what the server sent', async () => {
      const [response] = await http.request(server.url('/status-iter'));
      expect([...response.keys()]).to.not.include('status');
      expect(Object.keys(response.toHeaders())).to.not.include('status');
      expect(response.size).to.equal([...response.keys()].length);
    });

    it("stands for the status even when the server sent a Status header (httplib2 writes over it)", async () => {
      const raw = await startRawServer((socket) => {
        socket.end('HTTP/1.1 404 Not Found\r\nStatus: 200 OK\r\nContent-Length: 0\r\n\r\n');
      });
      const [response] = await http.request(raw.url('/'));
      expect([response.status, response.get('status')]).to.deep.equal([404, '404']);
      expect(Object.keys(response.toHeaders())).to.not.include('status');
    });

    it("set('status') changes the status; anything but a three-digit code is refused", async () => {
      const [response] = await http.request(server.url('/status-set'));
      response.set('status', '404');
      expect([response.status, response.get('status')]).to.deep.equal([404, '404']);
      expect(() => response.set('status', 'OK')).to.throw(HttpLib2Error, /three-digit/);
      expect(response.delete('status')).to.equal(false);
      expect(response.get('status')).to.equal('404');
    });
  });

  describe('optimisticConcurrencyMethods (httplib2 0.32: PUT and PATCH)', () => {
    it('defaults to PUT and PATCH', () => {
      expect(http.optimisticConcurrencyMethods).to.deep.equal(['PUT', 'PATCH']);
    });

    for (const method of ['PUT', 'PATCH']) {
      it(`a ${method} after a GET carries If-Match with the stored strong ETag`, async () => {
        const url = server.url(`/doc-${method}?etag=%22v1%22`);
        await http.request(url);
        await http.request(url, method, '{"title":"new"}');
        const sent = server.requests.at(-1)!;
        expect([sent.method, sent.headers['if-match']]).to.deep.equal([method, '"v1"']);
      });
    }

    it('a PATCH after a GET with a weak ETag carries no If-Match (RFC 9110 §13.1.1 compares strongly)', async () => {
      const url = server.url('/doc-weak?etag=W%2F%22v1%22');
      await http.request(url);
      await http.request(url, 'PATCH', 'x');
      expect(server.requests.at(-1)!.headers['if-match']).to.equal(undefined);
    });

    it('sees the list changed in place between requests (push, then pop)', async () => {
      const methods = ['PUT'];
      http.optimisticConcurrencyMethods = methods;
      const url = server.url('/doc-in-place?etag=%22v1%22');
      await http.request(url);
      await http.request(url, 'POST', 'x');
      expect(server.requests.at(-1)!.headers['if-match']).to.equal(undefined);
      methods.push('POST');
      await http.request(url);
      await http.request(url, 'POST', 'x');
      expect(server.requests.at(-1)!.headers['if-match']).to.equal('"v1"');
      methods.pop();
      await http.request(url);
      await http.request(url, 'POST', 'x');
      expect(server.requests.at(-1)!.headers['if-match']).to.equal(undefined);
    });

    it('a POST or DELETE carries no If-Match', async () => {
      const url = server.url('/doc-post?etag=%22v1%22');
      for (const method of ['POST', 'DELETE']) {
        await http.request(url);
        await http.request(url, method, 'x');
        expect(server.requests.at(-1)!.headers['if-match'], method).to.equal(undefined);
      }
    });
  });

  describe('method tokens (RFC 9110 §9.1: case-sensitive)', () => {
    const cases: Array<[string, string]> = [
      ['get', 'GET'], ['Post', 'POST'], ['patch', 'PATCH'], ['delete', 'DELETE'], ['options', 'OPTIONS'],
      ['m-search', 'm-search'], ['PropFind', 'PropFind'], ['PROPFIND', 'PROPFIND'], ['mkCol', 'mkCol'],
    ];
    for (const [given, sent] of cases) {
      it(`sends ${JSON.stringify(given)} as ${JSON.stringify(sent)}`, async () => {
        // A raw server: Node's own parser refuses extension methods that are not upper-case.
        const raw = await startRawServer((socket) => socket.end('HTTP/1.1 204 No Content\r\n\r\n'));
        const [response] = await http.request(raw.url('/m'), given);
        expect(response.status).to.equal(204);
        expect(raw.requests.map((r) => r.method)).to.deep.equal([sent]);
      });
    }

    it('refuses a method that only upper-cases into a token (poſt) before anything is sent', async () => {
      const raw = await startRawServer((socket) => socket.end('HTTP/1.1 204 No Content\r\n\r\n'));
      const e = await http.request(raw.url('/m'), 'po\u017ft').then(() => null, (error: unknown) => error);
      expect((e as HttpLib2Error).code).to.equal('ERR_INVALID_REQUEST');
      expect(raw.connections()).to.equal(0);
    });

    it('matches optimisticConcurrencyMethods by the same rule (patch → PATCH)', async () => {
      http.optimisticConcurrencyMethods = ['patch'];
      const url = server.url('/doc-lower?etag=%22v1%22');
      await http.request(url);
      await http.request(url, 'Patch', 'x');
      expect(server.requests.at(-1)!.headers['if-match']).to.equal('"v1"');
    });
  });
});
