import { expect } from 'chai';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import {
  ConnectionError,
  FailedToDecompressContent,
  Http,
  HttpLib2Error,
  RedirectLimit,
  RelativeURIError,
  ServerNotFoundError,
} from '../../lib/index.js';
import { Agent, type Dispatcher } from 'undici';
import { MemoryCache, ProxyInfo } from '../../lib/index.js';
import { startServer, track, type TestServer } from '../helpers/server.js';
import { rejection as rejectionOf } from '../helpers/rejection.js';

const rejection = (p: Promise<unknown>) => rejectionOf<HttpLib2Error>(p);

interface KeepAliveServer {
  url(path?: string): string;
  /** Request heads received, on every connection. */
  count(): number;
  connections(): number;
  methods: string[];
}

/**
 * A keep-alive server that drops the connection, without answering, when the `dropAt`-th request
 * arrives (counted from 1 across connections): what a client sees when it reuses a socket the
 * server has just closed. Every other request gets `200 ok`.
 */
async function droppingServer(dropAt: number): Promise<KeepAliveServer> {
  const methods: string[] = [];
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    socket.on('error', () => undefined);
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      // One head per request; bodies in these specs are short and carry no CRLFCRLF.
      let end: number;
      while ((end = pending.indexOf('\r\n\r\n')) !== -1) {
        const head = pending.slice(0, end);
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (pending.length < end + 4 + length) break;
        pending = pending.slice(end + 4 + length);
        methods.push(head.slice(0, head.indexOf(' ')));
        if (methods.length === dropAt) {
          socket.destroy();
          return;
        }
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok');
      }
    });
  });
  track(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path = '/') => `http://127.0.0.1:${port}${path}`,
    count: () => methods.length,
    connections: () => connections,
    methods,
  };
}

describe('errors (DESIGN.md, Errors)', () => {
  let server: TestServer;
  let client: Http;

  before(async () => {
    server = await startServer((req, res, body) => {
      if (req.url === '/loop') {
        res.writeHead(302, { location: '/loop' });
        res.end('looping');
        return;
      }
      if (req.url === '/slow') {
        setTimeout(() => res.end('late'), 2000).unref();
        return;
      }
      if (req.url === '/broken-gzip') {
        res.writeHead(200, { 'content-encoding': 'gzip' });
        res.end('not gzip');
        return;
      }
      res.end(`${req.method} ${req.url} ${body.toString()}`);
    });
  });
  beforeEach(() => {
    client = new Http();
  });
  afterEach(() => client.close());

  describe('typed errors', () => {
    it('ServerNotFoundError when DNS cannot resolve the host', async function () {
      this.timeout(10_000);
      const e = await rejection(client.request('http://nonexistent.invalid/'));
      expect(e).to.be.instanceOf(ServerNotFoundError);
      expect(e.code).to.equal('ERR_SERVER_NOT_FOUND');
      expect(e.message).to.contain('nonexistent.invalid');
    });

    for (const uri of ['/relative/path', 'example.test/path', '']) {
      it(`RelativeURIError for ${JSON.stringify(uri)}`, async () => {
        const e = await rejection(client.request(uri));
        expect(e).to.be.instanceOf(RelativeURIError);
        expect(e.code).to.equal('ERR_RELATIVE_URI');
      });
    }

    it('ConnectionError when nothing listens, after retrying (the request never left)', async () => {
      const probe = net.createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      const port = (probe.address() as AddressInfo).port;
      await new Promise<void>((resolve) => probe.close(() => resolve()));
      const e = await rejection(client.request(`http://127.0.0.1:${port}/`, 'POST', 'x'));
      expect(e).to.be.instanceOf(ConnectionError);
      expect(e.code).to.equal('ERR_CONNECTION');
    });
  });

  describe('forceExceptionToStatusCode', () => {
    beforeEach(() => {
      client.forceExceptionToStatusCode = true;
    });

    it('turns an error carrying a response into that response with status 500 and the error as reason', async () => {
      const [response, content] = await client.request(server.url('/loop'), 'GET', null, {}, 2);
      expect(response.status).to.equal(500);
      expect(response.reason).to.equal('Redirected more times than redirection_limit allows.');
      expect(response.get('location')).to.equal('/loop');
      expect(content.toString()).to.equal('looping');
    });

    it('turns a decoding failure into 500 with the raw body', async () => {
      const [response, content] = await client.request(server.url('/broken-gzip'));
      expect(response.status).to.equal(500);
      expect(response.reason).to.contain('gzip');
      expect(content.toString()).to.equal('not gzip');
    });

    it('turns a timeout into 408 Request Timeout', async () => {
      const timed = new Http(null, { timeout: 200 });
      timed.forceExceptionToStatusCode = true;
      try {
        const [response, content] = await timed.request(server.url('/slow'));
        expect(response.status).to.equal(408);
        expect(response.reason).to.equal('Request Timeout');
        expect(content.toString()).to.equal('Request Timeout');
      } finally {
        await timed.close();
      }
    });

    it('turns any other error into 400 Bad Request with the message as the body', async () => {
      for (const uri of ['http://nonexistent.invalid/', '/relative']) {
        const [response, content] = await client.request(uri);
        expect(response.status, uri).to.equal(400);
        expect(response.reason).to.equal('Bad Request');
        expect(response.get('content-type')).to.equal('text/plain');
        expect(response.get('content-length')).to.equal(String(content.length));
        expect(content.toString()).to.match(uri.startsWith('/') ? /absolute/ : /nonexistent\.invalid/);
      }
    });

    it('answers 400 for a closed Http and for invalid input instead of throwing', async () => {
      const [bad] = await client.request(server.url('/'), 'GET', null, { 'X-A': 'a\r\nb' });
      expect(bad.status).to.equal(400);
      await client.close();
      const [closed, content] = await client.request(server.url('/'));
      expect(closed.status).to.equal(400);
      expect(content.toString()).to.contain('closed');
    });

    it('is off by default: the same failures throw', async () => {
      const plain = new Http();
      try {
        expect(await rejection(plain.request(server.url('/loop'), 'GET', null, {}, 1))).to.be.instanceOf(RedirectLimit);
        expect(await rejection(plain.request(server.url('/broken-gzip')))).to.be.instanceOf(FailedToDecompressContent);
      } finally {
        await plain.close();
      }
    });
  });

  describe('retries (a connection the server closed)', () => {
    it('retries a GET whose keep-alive socket the server dropped, once, on a new connection', async () => {
      const dropping = await droppingServer(2);
      const [, first] = await client.request(dropping.url('/one'));
      expect(first.toString()).to.equal('ok');
      const [response, second] = await client.request(dropping.url('/two'));
      expect(response.status).to.equal(200);
      expect(second.toString()).to.equal('ok');
      expect(dropping.methods).to.deep.equal(['GET', 'GET', 'GET']);
      expect(dropping.connections()).to.be.at.least(2);
    });

    it('never sends on a keep-alive socket the server closed while it was idle', async () => {
      const closedByServer: Array<Promise<void>> = [];
      const idleCloser = await startServer((req, res) => {
        closedByServer.push(new Promise((resolve) => req.socket.once('close', () => resolve())));
        res.end('ok', () => req.socket.end());
      });
      await client.request(idleCloser.url('/one'));
      await closedByServer[0];
      const [response] = await client.request(idleCloser.url('/two'));
      expect(response.status).to.equal(200);
      expect(idleCloser.count()).to.equal(2);
      expect(idleCloser.connections()).to.equal(2);
    });

    it('does not retry when retries is 1 (one attempt in all, httplib2 RETRIES)', async () => {
      const dropping = await droppingServer(2);
      client.retries = 1;
      await client.request(dropping.url('/one'));
      const e = await rejection(client.request(dropping.url('/two')));
      expect(e).to.be.instanceOf(ConnectionError);
      expect(dropping.count()).to.equal(2);
    });

    for (const method of ['POST', 'PATCH']) {
      it(`never replays a ${method} that may have reached the server`, async () => {
        const dropping = await droppingServer(2);
        await client.request(dropping.url('/one'));
        const e = await rejection(client.request(dropping.url('/two'), method, 'payload'));
        expect(e).to.be.instanceOf(ConnectionError);
        expect(dropping.methods).to.deep.equal(['GET', method]);
      });
    }

    it('retries a PUT (idempotent)', async () => {
      const dropping = await droppingServer(2);
      await client.request(dropping.url('/one'));
      const [response] = await client.request(dropping.url('/two'), 'PUT', 'payload');
      expect(response.status).to.equal(200);
      expect(dropping.methods).to.deep.equal(['GET', 'PUT', 'PUT']);
    });

    it('retries a QUERY (idempotent, RFC 10008 §2)', async () => {
      const dropping = await droppingServer(2);
      await client.request(dropping.url('/one'));
      const [response] = await client.request(dropping.url('/two'), 'QUERY', '{"q":1}', { 'content-type': 'application/json' });
      expect(response.status).to.equal(200);
      expect(dropping.methods).to.deep.equal(['GET', 'QUERY', 'QUERY']);
    });
  });

  describe('bad input is refused before a byte is sent', () => {
    async function refused(p: Promise<unknown>): Promise<void> {
      const before = server.count();
      const connections = server.connections();
      const e = await rejection(p);
      expect(e).to.be.instanceOf(HttpLib2Error);
      expect(e.code).to.equal('ERR_INVALID_REQUEST');
      expect(server.count() - before).to.equal(0);
      expect(server.connections() - connections).to.equal(0);
    }

    for (const value of ['a\r\nX-Injected: 1', 'a\nb', 'a\rb', 'a\0b']) {
      it(`a header value ${JSON.stringify(value)}`, async () => {
        await refused(client.request(server.url('/'), 'GET', null, { 'X-A': value }));
      });
    }

    for (const name of ['Bad Name', 'X-A\r\nX-Injected', 'X:Y', '']) {
      it(`a header name ${JSON.stringify(name)}`, async () => {
        await refused(client.request(server.url('/'), 'GET', null, { [name]: 'v' }));
      });
    }

    for (const method of ['GET /x HTTP/1.1\r\nX-Injected: 1\r\n\r\nGET', 'GE\nT', 'G T']) {
      it(`a method ${JSON.stringify(method)}`, async () => {
        await refused(client.request(server.url('/'), method));
      });
    }

    it('CR/LF in the host, in the URI or in a Host header', async () => {
      await refused(client.request(`http://127.0.0.1:${server.port}\r\nX-Injected: 1/`));
      await refused(client.request(`${server.url('/')}\r\nX-Injected: 1`));
      await refused(client.request(server.url('/'), 'GET', null, { Host: 'a.test\r\nX-Injected: 1' }));
    });

    for (const uri of ['/a\tb', '/a\0b', '/a\x1bb', '/a\x7fb']) {
      it(`a control character in the path ${JSON.stringify(uri)}`, async () => {
        await refused(client.request(server.url(uri)));
      });
    }

    it('a body that is neither a string nor bytes', async () => {
      await refused(client.request(server.url('/'), { method: 'POST', body: { a: 1 } as unknown as string }));
    });

    it('framing headers the transport owns', async () => {
      await refused(client.request(server.url('/'), 'POST', 'abc', { 'Transfer-Encoding': 'chunked' }));
      await refused(client.request(server.url('/'), 'POST', 'abcdef', { 'Content-Length': '3' }));
    });

    it('percent-encodes spaces in the path and query', async () => {
      const [, content] = await client.request(server.url('/a b?c d'));
      expect(content.toString()).to.equal('GET /a%20b?c%20d ');
    });

    it('a polluted Object.prototype never reaches the wire', async () => {
      const planted: Record<string, unknown> = {
        'x-polluted': 'yes', headers: { 'x-polluted-headers': 'yes' }, body: 'POLLUTED', method: 'DELETE',
        // (not `signal`: node:net itself reads that from every socket's options object)
        query: { polluted: '1' }, path: '/polluted', upgrade: 'websocket', throwOnError: true,
        redirections: 0, reset: true, expectContinue: true, blocking: true,
      };
      const proto = Object.prototype as Record<string, unknown>;
      const before = server.count();
      try {
        Object.assign(proto, planted);
        const [positional] = await client.request(server.url('/clean'));
        const [options] = await client.request(server.url('/clean'), {});
        expect(positional.status).to.equal(200);
        expect(options.status).to.equal(200);
      } finally {
        for (const key of Object.keys(planted)) delete proto[key];
      }
      const seen = server.requests.slice(before);
      expect(seen.map((r) => `${r.method} ${r.url} ${r.body.length}`)).to.deep.equal(['GET /clean 0', 'GET /clean 0']);
      for (const r of seen) {
        const names = r.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
        expect(names).to.not.include('x-polluted');
        expect(names).to.not.include('x-polluted-headers');
        expect(names).to.not.include('upgrade');
      }
    });

    it("a polluted Object.prototype adds nothing to a response's fields, an inherited iterator included", async () => {
      const proto = Object.prototype as Record<string | symbol, unknown>;
      const injected = function* (): Generator<[string, string]> {
        yield ['x-injected', 'evil'];
      };
      let fields: string[];
      try {
        Object.defineProperty(proto, Symbol.iterator, { configurable: true, writable: true, value: injected });
        proto['x-planted'] = 'evil';
        const [response] = await client.request(server.url('/clean'));
        fields = [...response.keys()];
      } finally {
        delete proto[Symbol.iterator];
        delete proto['x-planted'];
      }
      expect(fields).to.include('content-length');
      expect(fields).to.not.include('x-injected');
      expect(fields).to.not.include('x-planted');
    });
  });

  describe('a failure inside the library is ERR_INTERNAL, never a network error (#10)', () => {
    // A dispatcher of the caller's that fails, from the next request on, with `failure()`.
    function failingDispatcher(failure: () => unknown): { dispatcher: Dispatcher; breakNow(): void; close(): Promise<void> } {
      const agent = new Agent();
      let broken = false;
      const dispatcher = {
        request: (options: Dispatcher.RequestOptions) => (broken ? Promise.reject(failure()) : agent.request(options)),
      } as unknown as Dispatcher;
      return { dispatcher, breakNow: () => void (broken = true), close: () => agent.close() };
    }

    it('reports a TypeError below the transport as ERR_INTERNAL with the cause attached, not as a failed connection', async () => {
      const bug = new TypeError('Cannot read properties of undefined');
      const failing = failingDispatcher(() => bug);
      const http = new Http(null, { dispatcher: failing.dispatcher });
      try {
        failing.breakNow();
        const e = await rejection(http.request(server.url('/x')));
        expect(e).to.be.instanceOf(HttpLib2Error);
        expect(e).not.to.be.instanceOf(ConnectionError);
        expect([e.code, e.cause]).to.deep.equal(['ERR_INTERNAL', bug]);
        expect(e.message).to.contain('Internal error').and.contain('Cannot read properties of undefined');
      } finally {
        await http.close();
        await failing.close();
      }
    });

    it('never serves a stale answer for it (RFC 5861 §4 is for the origin failing), while a reset connection does', async () => {
      const stale = await startServer((_req, res) => {
        res.writeHead(200, { 'cache-control': 'max-age=0, stale-if-error=600', etag: '"v1"' });
        res.end('v1');
      });
      for (const [failure, served] of [[() => new TypeError('bug'), false], [() => Object.assign(new Error('reset'), { code: 'ECONNRESET' }), true]] as const) {
        const failing = failingDispatcher(failure);
        const http = new Http(new MemoryCache(), { dispatcher: failing.dispatcher });
        try {
          await http.request(stale.url('/doc'));
          failing.breakNow();
          const outcome = await http.request(stale.url('/doc')).then(([r, c]) => `${r.status} ${r.fromcache} ${c.toString()}`, (e: HttpLib2Error) => e.code);
          expect(outcome).to.equal(served ? '200 true v1' : 'ERR_INTERNAL');
        } finally {
          await http.close();
          await failing.close();
        }
      }
    });

    it('turns ERR_INTERNAL into 500 Internal Server Error under forceExceptionToStatusCode', async () => {
      const failing = failingDispatcher(() => new TypeError('bug'));
      const http = new Http(null, { dispatcher: failing.dispatcher });
      http.forceExceptionToStatusCode = true;
      try {
        failing.breakNow();
        const [response, content] = await http.request(server.url('/x'));
        expect([response.status, response.reason]).to.deep.equal([500, 'Internal Server Error']);
        expect(content.toString()).to.contain('Internal error').and.contain('bug');
      } finally {
        await http.close();
        await failing.close();
      }
    });

    it("hands back the caller's own error when its onProgress callback throws, whatever forceExceptionToStatusCode says", async () => {
      const mine = new RangeError('stop here');
      for (const force of [false, true]) {
        client.forceExceptionToStatusCode = force;
        const e = await rejection(client.request(server.url('/x'), { onProgress: () => { throw mine; } }));
        expect(e, `forceExceptionToStatusCode ${force}`).to.equal(mine);
      }
    });

    it("hands back the caller's own error when its proxyInfo function throws", async () => {
      const mine = new Error('no proxy for you');
      const http = new Http(null, { proxyInfo: (): ProxyInfo | null => { throw mine; } });
      try {
        expect(await rejection(http.request(server.url('/x')))).to.equal(mine);
      } finally {
        await http.close();
      }
    });
  });
});
