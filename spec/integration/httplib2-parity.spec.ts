/**
 * Behaviour httplib2's own test suite checks, against a real loopback server: the default
 * optimistic-concurrency methods, `response.get('status')`, and how method tokens are sent.
 */
import { expect } from 'chai';
import { Http, MemoryCache } from '../../lib/index.js';
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

    it('a POST or DELETE carries no If-Match', async () => {
      const url = server.url('/doc-post?etag=%22v1%22');
      for (const method of ['POST', 'DELETE']) {
        await http.request(url);
        await http.request(url, method, 'x');
        expect(server.requests.at(-1)!.headers['if-match'], method).to.equal(undefined);
      }
    });
  });
});
