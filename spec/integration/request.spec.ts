import { expect } from 'chai';
import { Http, Response, RelativeURIError, HttpLib2Error } from '../../lib/index.js';
import { startServer, type TestServer } from '../helpers/server.js';

describe('Http.request', () => {
  let server: TestServer;
  let http: Http;

  before(async () => {
    server = await startServer((req, res, body) => {
      if (req.url === '/missing') {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('nope');
        return;
      }
      if (req.url === '/boom') {
        res.writeHead(500, 'Kaput');
        res.end('broken');
        return;
      }
      res.setHeader('x-method', req.method ?? '');
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.setHeader('__proto__', 'plain');
      res.end(req.method === 'HEAD' ? undefined : Buffer.concat([Buffer.from(`${req.method} ${req.url} `), body]));
    });
  });
  beforeEach(() => {
    http = new Http();
  });
  afterEach(() => http.close());

  it('resolves to a [Response, Buffer] tuple with status, reason, version and lower-cased headers', async () => {
    const [response, content] = await http.request(server.url('/hello'));
    expect(response).to.be.instanceOf(Response);
    expect(response).to.be.instanceOf(Map);
    expect(response.status).to.equal(200);
    expect(response.reason).to.equal('OK');
    expect(response.version).to.equal(11);
    expect(response.fromcache).to.equal(false);
    expect(response.previous).to.equal(null);
    expect(response.get('x-method')).to.equal('GET');
    expect(response.get('set-cookie')).to.equal('a=1, b=2');
    expect(Buffer.isBuffer(content)).to.equal(true);
    expect(content.toString()).to.equal('GET /hello ');
  });

  it('keeps a response header named __proto__ as plain data', async () => {
    const [response] = await http.request(server.url('/proto'));
    expect(response.get('__proto__')).to.equal('plain');
    expect(Object.getPrototypeOf(response)).to.equal(Response.prototype);
  });

  it('sets content-location to the URI that was requested', async () => {
    const [response] = await http.request(server.url('/where?x=1'));
    expect(response.get('content-location')).to.equal(server.url('/where?x=1'));
  });

  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PROPFIND']) {
    it(`sends ${method} with its body`, async () => {
      const before = server.count();
      const [response, content] = await http.request(server.url('/m'), method, 'payload', { 'content-type': 'text/plain' });
      expect(response.status).to.equal(200);
      expect(content.toString()).to.equal(`${method} /m payload`);
      const seen = server.requests[before]!;
      expect(seen.method).to.equal(method);
      expect(seen.headers['content-type']).to.equal('text/plain');
      expect(seen.headers['content-length']).to.equal('7');
    });
  }

  it('sends binary bodies byte for byte', async () => {
    const bytes = Uint8Array.from([0, 255, 1, 254, 13, 10]);
    await http.request(server.url('/bin'), 'POST', bytes);
    expect([...server.requests.at(-1)!.body]).to.deep.equal([...bytes]);
  });

  it('accepts the options-object form', async () => {
    const [response, content] = await http.request(server.url('/opt'), { method: 'PUT', body: 'x', headers: { 'X-A': 'b' } });
    expect(response.status).to.equal(200);
    expect(content.toString()).to.equal('PUT /opt x');
    expect(server.requests.at(-1)!.headers['x-a']).to.equal('b');
  });

  it('answers HEAD with an empty body', async () => {
    const [response, content] = await http.request(server.url('/h'), 'HEAD');
    expect(response.status).to.equal(200);
    expect(content.length).to.equal(0);
  });

  it('returns 404 and 500 instead of throwing', async () => {
    const [r404, c404] = await http.request(server.url('/missing'));
    expect(r404.status).to.equal(404);
    expect(r404.reason).to.equal('Not Found');
    expect(c404.toString()).to.equal('nope');
    const [r500, c500] = await http.request(server.url('/boom'));
    expect(r500.status).to.equal(500);
    expect(r500.reason).to.equal('Kaput');
    expect(c500.toString()).to.equal('broken');
  });

  it('reuses one keep-alive connection for sequential requests to the same origin', async () => {
    const before = server.connections();
    for (let i = 0; i < 10; i++) await http.request(server.url(`/k${i}`));
    // Raw undici opens a second socket here (it frees the first one a macrotask after the body ends).
    expect(server.connections() - before).to.equal(1);
  });

  it('talks to many origins at once', async () => {
    const others = await Promise.all([1, 2, 3].map(() => startServer((_q, res) => res.end('other'))));
    const results = await Promise.all(others.map((s) => http.request(s.url('/'))));
    expect(results.map(([, c]) => c.toString())).to.deep.equal(['other', 'other', 'other']);
    expect(others.map((s) => s.count())).to.deep.equal([1, 1, 1]);
  });

  it('refuses a relative URI with RelativeURIError', async () => {
    let error: unknown;
    try {
      await http.request('/relative/path');
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(RelativeURIError);
  });

  it('refuses requests after close()', async () => {
    const h = new Http();
    await h.request(server.url('/'));
    await h.close();
    let error: unknown;
    try {
      await h.request(server.url('/'));
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(HttpLib2Error);
    expect((error as HttpLib2Error).code).to.equal('ERR_CLOSED');
  });
});
