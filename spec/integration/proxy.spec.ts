import { expect } from 'chai';
import { Http, HttpLib2Error, ProxyError, ProxyInfo, type HttpOptions } from '../../lib/index.js';
import { testCertificates, type TestCertificates } from '../helpers/certs.js';
import { startProxy, type TestProxy } from '../helpers/proxy-server.js';
import { startSocksProxy } from '../helpers/socks-server.js';
import * as net from 'node:net';
import { startServer, track, type Handler, type TestServer } from '../helpers/server.js';
import { rejection } from '../helpers/rejection.js';

const failure = (p: Promise<unknown>) => rejection<Error & { code?: string }>(p);

const echo: Handler = (req, res) => res.end(`origin saw ${req.method} ${req.url}`);
const PROXY_VARIABLES = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy', 'NO_PROXY', 'no_proxy', 'REQUEST_METHOD'];
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('proxies', () => {
  let certs: TestCertificates;
  let plain: TestServer;
  let secure: TestServer;
  const opened: Http[] = [];
  const client = (options: HttpOptions = {}) => {
    const h = new Http(null, { ca: certs.ca.cert, ...options });
    opened.push(h);
    return h;
  };
  const via = (proxy: TestProxy, init: Partial<ConstructorParameters<typeof ProxyInfo>[0]> = {}) =>
    client({ proxyInfo: new ProxyInfo({ host: proxy.host, port: proxy.port, ...init }) });

  /** Builds an Http while the environment holds `vars` (and none of the other proxy variables). */
  const clientUnderEnv = (vars: Record<string, string>, options: HttpOptions = {}) => {
    const saved = PROXY_VARIABLES.map((k) => [k, process.env[k]] as const);
    for (const k of PROXY_VARIABLES) delete process.env[k];
    Object.assign(process.env, vars);
    try {
      return client(options);
    } finally {
      for (const [k, v] of saved) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  };

  before(async () => {
    certs = await testCertificates();
    plain = await startServer(echo);
    secure = await startServer(echo, { key: certs.server.key, cert: certs.server.cert });
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((h) => h.close()));
  });

  describe('ProxyInfo', () => {
    it('forwards plain http in absolute form, without CONNECT', async () => {
      const proxy = await startProxy();
      const before = plain.count();
      const [r, c] = await via(proxy).request(plain.url('/plain?q=1'));
      expect([r.status, c.toString()]).to.deep.equal([200, 'origin saw GET /plain?q=1']);
      expect(proxy.requests.map((q) => [q.method, q.target])).to.deep.equal([['GET', plain.url('/plain?q=1')]]);
      expect(proxy.connects()).to.equal(0);
      expect(plain.count() - before).to.equal(1);
    });

    it('tunnels https through CONNECT and verifies the origin certificate inside the tunnel', async () => {
      const proxy = await startProxy();
      const http = via(proxy);
      const tunnelsBefore = secure.connections();
      const [r, c] = await http.request(secure.url('/secret'), 'POST', 'body');
      expect([r.status, c.toString()]).to.deep.equal([200, 'origin saw POST /secret']);
      await http.request(secure.url('/again'));
      // The proxy sees only CONNECTs, one per connection the origin accepted, never the requests inside.
      expect(proxy.requests.length).to.be.within(1, 2);
      for (const q of proxy.requests) expect([q.method, q.target]).to.deep.equal(['CONNECT', `127.0.0.1:${secure.port}`]);
      expect(secure.connections() - tunnelsBefore).to.equal(proxy.connects());
      expect(secure.requests.at(-1)!.url).to.equal('/again');
    });

    it('fails with TlsError when the origin behind the tunnel presents an untrusted certificate', async () => {
      const proxy = await startProxy();
      const bad = await startServer(echo, { key: certs.selfSigned.key, cert: certs.selfSigned.cert });
      const e = await failure(via(proxy).request(bad.url('/')));
      expect(e.name).to.equal('TlsError');
      expect(bad.count()).to.equal(0);
    });

    it('sends a function-chosen proxy only for the URLs it picks', async () => {
      const proxy = await startProxy();
      const info = new ProxyInfo({ host: proxy.host, port: proxy.port });
      const http = client({ proxyInfo: (url) => (url.pathname.startsWith('/via') ? info : null) });
      await http.request(plain.url('/via-proxy'));
      await http.request(plain.url('/direct'));
      expect(proxy.requests.map((q) => q.target)).to.deep.equal([plain.url('/via-proxy')]);
    });

    it('skips bypassHosts', async () => {
      const proxy = await startProxy();
      const http = client({ proxyInfo: new ProxyInfo({ host: proxy.host, port: proxy.port, bypassHosts: ['127.0.0.1'] }) });
      const [r] = await http.request(plain.url('/bypassed'));
      expect(r.status).to.equal(200);
      expect(proxy.requests).to.have.length(0);
    });
  });

  describe('an https proxy (TLS to the proxy itself)', () => {
    it('is verified with the ca option and carries plain and https requests', async () => {
      const proxy = await startProxy({ tls: { key: certs.server.key, cert: certs.server.cert } });
      const http = client({ proxyInfo: new ProxyInfo({ host: '127.0.0.1', port: proxy.port, protocol: 'https' }) });
      const [r1] = await http.request(plain.url('/over-tls'));
      const [r2, c2] = await http.request(secure.url('/tls-in-tls'));
      expect([r1.status, r2.status, c2.toString()]).to.deep.equal([200, 200, 'origin saw GET /tls-in-tls']);
      expect(proxy.requests.length).to.be.at.least(2);
    });

    it('whose certificate names another host is a ProxyError; nothing is sent', async () => {
      const proxy = await startProxy({ tls: { key: certs.wrongName.key, cert: certs.wrongName.cert } });
      const before = secure.count();
      const http = client({ proxyInfo: new ProxyInfo({ host: '127.0.0.1', port: proxy.port, protocol: 'https' }) });
      const e = await failure(http.request(secure.url('/')));
      expect(e).to.be.instanceOf(ProxyError);
      const plainBefore = plain.count();
      const forwarded = await failure(http.request(plain.url('/')));
      expect(forwarded).to.be.instanceOf(ProxyError);
      expect(forwarded.message).to.contain('TLS to the https proxy');
      expect(proxy.requests).to.have.length(0);
      expect(secure.count()).to.equal(before);
      expect(plain.count()).to.equal(plainBefore);
    });
  });

  describe('proxy credentials', () => {
    const auth = { user: 'pat', password: 's3cret:x' };

    it('are sent as Proxy-Authorization on the forwarded plain request, to the proxy', async () => {
      const proxy = await startProxy({ auth });
      const [r] = await via(proxy, auth).request(plain.url('/with-auth'));
      expect(r.status).to.equal(200);
      expect(proxy.requests[0]!.headers['proxy-authorization']).to.equal(basic(auth.user, auth.password));
      expect(plain.requests.at(-1)!.headers).not.to.have.property('proxy-authorization');
    });

    it('are sent on CONNECT only, never inside the tunnel to the origin', async () => {
      const proxy = await startProxy({ auth });
      const before = secure.count();
      const http = via(proxy, auth);
      await http.request(secure.url('/t1'));
      await http.request(secure.url('/t2'), 'PUT', 'x');
      expect(proxy.requests.length).to.be.at.least(1);
      for (const q of proxy.requests) {
        expect(q.method).to.equal('CONNECT');
        expect(q.headers['proxy-authorization']).to.equal(basic(auth.user, auth.password));
      }
      const seen = secure.requests.slice(before);
      expect(seen.map((q) => q.url)).to.deep.equal(['/t1', '/t2']);
      for (const q of seen) {
        expect(q.headers).not.to.have.property('proxy-authorization');
        expect(q.rawHeaders.join('\n')).not.to.contain(auth.password);
        expect(q.rawHeaders.join('\n')).not.to.contain(basic(auth.user, auth.password).slice(6));
      }
    });

    it('a 407 on a plain request is a ProxyError and nothing reaches the origin', async () => {
      const proxy = await startProxy({ auth });
      const before = plain.count();
      const e = await failure(via(proxy).request(plain.url('/no-auth')));
      expect(e).to.be.instanceOf(ProxyError);
      expect(e.code).to.equal('ERR_PROXY');
      expect(e.message).to.contain('407');
      expect(plain.count()).to.equal(before);
      // The proxy is still usable with the right credentials.
      const [r] = await via(proxy, auth).request(plain.url('/now-auth'));
      expect(r.status).to.equal(200);
    });

    it('a 407 on CONNECT is a ProxyError after one answer, with no clear-text fallback', async () => {
      const proxy = await startProxy({ auth });
      const before = secure.count();
      const plainBefore = plain.count();
      const e = await failure(via(proxy, { user: 'pat', password: 'wrong' }).request(secure.url('/no')));
      expect(e).to.be.instanceOf(ProxyError);
      expect(e.message).to.contain('407');
      // The up-front Basic, then the one answer to the proxy's challenge: never a loop.
      expect(proxy.requests.map((q) => q.method)).to.deep.equal(['CONNECT', 'CONNECT']);
      expect(secure.count()).to.equal(before);
      expect(plain.count()).to.equal(plainBefore);
    });

    it('refuses a caller-supplied Proxy-Authorization header when a proxy is used', async () => {
      const proxy = await startProxy();
      const e = await failure(via(proxy).request(plain.url('/'), 'GET', null, { 'Proxy-Authorization': 'Basic eDp5' }));
      expect(e).to.be.instanceOf(HttpLib2Error);
      expect(e.code).to.equal('ERR_INVALID_REQUEST');
      expect(e.message).to.contain('ProxyInfo user/password');
      expect(proxy.requests).to.have.length(0);
    });
  });

  describe('SOCKS5', () => {
    const socksOptions = (port: number, init: { user?: string; password?: string } = {}) => ({
      proxyInfo: new ProxyInfo({ host: '127.0.0.1', port, protocol: 'socks5', ...init }),
    });
    const socksClient = (port: number, init: { user?: string; password?: string } = {}) => client(socksOptions(port, init));

    it('carries plain http and https, credentials in the SOCKS handshake only', async () => {
      const socks = await startSocksProxy({ user: 'sam', password: 'pw' });
      const http = socksClient(socks.port, { user: 'sam', password: 'pw' });
      const [r1, c1] = await http.request(plain.url('/socks'));
      const [r2, c2] = await http.request(secure.url('/socks-tls'));
      expect([r1.status, c1.toString()]).to.deep.equal([200, 'origin saw GET /socks']);
      expect([r2.status, c2.toString()]).to.deep.equal([200, 'origin saw GET /socks-tls']);
      expect(socks.handshakes.map((h) => h.credentials)).to.include('sam:pw');
      expect(socks.handshakes.map((h) => h.target)).to.include.members([`127.0.0.1:${plain.port}`, `127.0.0.1:${secure.port}`]);
      for (const q of [plain.requests.at(-1)!, secure.requests.at(-1)!]) {
        expect(q.headers).not.to.have.property('proxy-authorization');
      }
    });

    it('still verifies the origin certificate through the SOCKS tunnel', async () => {
      const socks = await startSocksProxy();
      const bad = await startServer(echo, { key: certs.expired.key, cert: certs.expired.cert });
      const e = await failure(socksClient(socks.port).request(bad.url('/')));
      expect(e.name).to.equal('TlsError');
      expect(bad.count()).to.equal(0);
    });

    it('wrong SOCKS credentials are a ProxyError and nothing reaches the origin', async () => {
      const socks = await startSocksProxy({ user: 'sam', password: 'pw' });
      const before = plain.count();
      const e = await failure(socksClient(socks.port, { user: 'sam', password: 'nope' }).request(plain.url('/')));
      expect(e).to.be.instanceOf(ProxyError);
      expect(plain.count()).to.equal(before);
    });

    // The deadline is the one under test: a refusal must be reported when it happens, not when a
    // handshake timer (undici's agent waited 5 s) or the request's deadline runs out.
    for (const closeWithoutStatus of [false, true]) {
      it(`a proxy that refuses the credentials${closeWithoutStatus ? ' by closing without a status' : ''} fails at once with a ProxyError saying so`, async () => {
        const socks = await startSocksProxy({ user: 'sam', password: 'pw' }, { closeWithoutStatus });
        const http = client({ timeout: 3000, proxyInfo: new ProxyInfo({ host: '127.0.0.1', port: socks.port, protocol: 'socks5', user: 'sam', password: 'nope' }) });
        const e = await failure(http.request(plain.url('/')));
        expect(e).to.be.instanceOf(ProxyError);
        expect(e.message).to.match(new RegExp(`^The socks5 proxy 127\\.0\\.0\\.1:${socks.port} refused the credentials`));
        expect(socks.handshakes.map((h) => h.credentials)).to.deep.equal(['sam:nope']);
      });
    }

    it('a proxy that requires credentials the ProxyInfo lacks says so', async () => {
      const socks = await startSocksProxy({ user: 'sam', password: 'pw' });
      const e = await failure(client({ timeout: 3000, ...socksOptions(socks.port) }).request(plain.url('/')));
      expect(e).to.be.instanceOf(ProxyError);
      expect(e.message).to.contain('requires authentication');
    });

    it('a refused CONNECT is a ProxyError naming the target and the reason', async () => {
      const socks = await startSocksProxy();
      const closed = await startServer(echo);
      await closed.close();
      const e = await failure(socksClient(socks.port).request(closed.url('/')));
      expect(e).to.be.instanceOf(ProxyError);
      expect(e.message).to.contain(`refused CONNECT 127.0.0.1:${closed.port}: connection refused`);
    });

    it('sends sequential requests through one tunnel', async () => {
      const socks = await startSocksProxy();
      const http = socksClient(socks.port);
      for (let i = 0; i < 5; i++) expect((await http.request(plain.url(`/t${i}`)))[0].status).to.equal(200);
      expect(socks.handshakes).to.have.length(1);
    });
  });

  describe('a refusing or missing proxy', () => {
    it('a 403 to CONNECT is a ProxyError; the origin gets nothing', async () => {
      const proxy = await startProxy({ refuseWith: 403 });
      const before = secure.count();
      const e = await failure(via(proxy).request(secure.url('/')));
      expect(e).to.be.instanceOf(ProxyError);
      expect(e.message).to.contain('403');
      expect(secure.count()).to.equal(before);
    });

    it("a 403 to a forwarded plain request is returned as the answer (it cannot be told from the origin's)", async () => {
      const proxy = await startProxy({ refuseWith: 403 });
      const before = plain.count();
      const [r, c] = await via(proxy).request(plain.url('/'));
      expect(r.status).to.equal(403);
      expect(c.toString()).to.equal('refused by proxy (403)');
      expect(plain.count()).to.equal(before);
    });

    it('a proxy that never answers CONNECT: the request ends at its deadline and close() releases the tunnel attempt', async () => {
      let tunnelClosed!: Promise<void>;
      const stalled = net.createServer((socket) => {
        // Read (and ignore) the CONNECT, so the client's hang-up is seen as it happens.
        socket.resume();
        tunnelClosed = new Promise((resolve) => socket.on('close', () => resolve()));
      });
      track(stalled);
      await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
      const port = (stalled.address() as net.AddressInfo).port;
      const before = secure.count();
      const http = client({ timeout: 300, proxyInfo: new ProxyInfo({ host: '127.0.0.1', port, user: 'u', password: 'p' }) });
      const e = await failure(http.request(secure.url('/stalled')));
      expect(e.name).to.equal('RequestTimeout');
      expect(secure.count()).to.equal(before);
      // The unanswered CONNECT is given up by itself (bounded by the Http's timeout), not only by
      // close(): a program that never closes its Http must still be able to exit.
      await tunnelClosed;
      await http.close();
    });

    it('a SOCKS5 proxy that never answers: the request ends at its deadline, the handshake gives up by itself, close() drops one under way', async () => {
      const closedByClient: Array<Promise<void>> = [];
      const stalled = net.createServer((socket) => {
        socket.resume();
        closedByClient.push(new Promise((resolve) => socket.on('close', () => resolve())));
      });
      track(stalled);
      await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
      const port = (stalled.address() as net.AddressInfo).port;
      const timed = client({ timeout: 300, proxyInfo: new ProxyInfo({ host: '127.0.0.1', port, protocol: 'socks5' }) });
      const e = await failure(timed.request(plain.url('/stalled')));
      expect(e.name).to.equal('RequestTimeout');
      await closedByClient[0];
      // No timeout: only close() can end this one.
      const untimed = client({ proxyInfo: new ProxyInfo({ host: '127.0.0.1', port, protocol: 'socks5' }) });
      const pending = failure(untimed.request(plain.url('/stalled')));
      while (closedByClient.length < 2) await new Promise((resolve) => setImmediate(resolve));
      await untimed.close();
      expect((await pending).code).to.equal('ERR_CLOSED');
      await closedByClient[1];
    });

    it('a proxy that refuses connections is a ProxyError, never a direct request', async () => {
      const proxy = await startProxy();
      await proxy.close();
      const before = plain.count();
      const e = await failure(via(proxy).request(plain.url('/')));
      expect(e).to.be.instanceOf(ProxyError);
      expect(e.message).to.contain(`proxy 127.0.0.1:${proxy.port}`);
      expect(plain.count()).to.equal(before);
    });
  });

  describe('from the environment (the default)', () => {
    it('uses HTTP_PROXY for http', async () => {
      const proxy = await startProxy();
      const http = clientUnderEnv({ HTTP_PROXY: proxy.origin });
      const [r] = await http.request(plain.url('/env'));
      expect(r.status).to.equal(200);
      expect(proxy.requests.map((q) => q.target)).to.deep.equal([plain.url('/env')]);
    });

    it('uses lower-case https_proxy with its credentials for https, through CONNECT', async () => {
      const proxy = await startProxy({ auth: { user: 'u', password: 'p w' } });
      const http = clientUnderEnv({ https_proxy: `http://u:p%20w@127.0.0.1:${proxy.port}` });
      const [r] = await http.request(secure.url('/env-secure'));
      expect(r.status).to.equal(200);
      expect(proxy.connects()).to.equal(1);
      expect(secure.requests.at(-1)!.headers).not.to.have.property('proxy-authorization');
    });

    it('uses ALL_PROXY when nothing more specific is set', async () => {
      const proxy = await startProxy();
      await clientUnderEnv({ ALL_PROXY: proxy.origin }).request(plain.url('/all'));
      expect(proxy.forwards()).to.equal(1);
    });

    it('goes direct for NO_PROXY hosts', async () => {
      const proxy = await startProxy();
      const http = clientUnderEnv({ HTTP_PROXY: proxy.origin, HTTPS_PROXY: proxy.origin, NO_PROXY: 'example.com, 127.0.0.1' });
      await http.request(plain.url('/direct'));
      await http.request(secure.url('/direct'));
      expect(proxy.requests).to.have.length(0);
    });

    it('does not treat NO_PROXY=127.0.0.2 as covering 127.0.0.20', async () => {
      const proxy = await startProxy();
      const http = clientUnderEnv({ http_proxy: proxy.origin, no_proxy: '127.0.0.2' });
      // Nothing listens on 127.0.0.20: the proxy answers 502, which shows the request went to it.
      const [r] = await http.request(`http://127.0.0.20:${plain.port}/x`);
      expect(r.status).to.equal(502);
      expect(proxy.requests.map((q) => q.target)).to.deep.equal([`http://127.0.0.20:${plain.port}/x`]);
    });

    it('ignores upper-case HTTP_PROXY in a CGI environment (httpoxy)', async () => {
      const proxy = await startProxy();
      const http = clientUnderEnv({ HTTP_PROXY: proxy.origin, REQUEST_METHOD: 'GET' });
      const [r] = await http.request(plain.url('/cgi'));
      expect(r.status).to.equal(200);
      expect(proxy.requests).to.have.length(0);
    });

    it('reads the environment once, when the Http is made', async () => {
      const proxy = await startProxy();
      const before = clientUnderEnv({});
      const after = clientUnderEnv({ HTTP_PROXY: proxy.origin });
      await before.request(plain.url('/made-before'));
      await after.request(plain.url('/made-after'));
      expect(proxy.requests.map((q) => q.target)).to.deep.equal([plain.url('/made-after')]);
    });

    it('proxyInfo: null ignores the environment', async () => {
      const proxy = await startProxy();
      await clientUnderEnv({ HTTP_PROXY: proxy.origin }, { proxyInfo: null }).request(plain.url('/none'));
      expect(proxy.requests).to.have.length(0);
    });

    it('reports a malformed proxy variable when a request would use it', async () => {
      const http = clientUnderEnv({ HTTP_PROXY: 'socks4://127.0.0.1:1' });
      const e = await failure(http.request(plain.url('/')));
      expect(e).to.be.instanceOf(HttpLib2Error);
      expect(e.code).to.equal('ERR_PROXY');
      const [r] = await http.request(secure.url('/https-unaffected'));
      expect(r.status).to.equal(200);
    });
  });
});
