import { expect } from 'chai';
import { Http, ProxyError, ProxyInfo, type HttpOptions } from '../../lib/index.js';
import { testCertificates, type TestCertificates } from '../helpers/certs.js';
import { startProxy, type TestProxy } from '../helpers/proxy-server.js';
import { startServer, type Handler, type TestServer } from '../helpers/server.js';
import { rejection } from '../helpers/rejection.js';

const failure = (p: Promise<unknown>) => rejection<Error & { code?: string }>(p);

const echo: Handler = (req, res) => res.end(`origin saw ${req.method} ${req.url}`);
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const creds = { user: 'pat', password: 'pr0xy pass' };

// RFC 9110 §11.7.1-§11.7.2 (407, Proxy-Authenticate, Proxy-Authorization), RFC 7616 (Digest).
describe('proxy authentication (407 answered with the ProxyInfo credentials)', () => {
  let certs: TestCertificates;
  let plain: TestServer;
  let secure: TestServer;
  let secure2: TestServer;
  const opened: Http[] = [];
  const client = (options: HttpOptions = {}) => {
    const h = new Http(null, { ca: certs.ca.cert, ...options });
    opened.push(h);
    return h;
  };
  const via = (proxy: TestProxy, init: { user?: string; password?: string } = creds) =>
    client({ proxyInfo: new ProxyInfo({ host: proxy.host, port: proxy.port, ...init }) });

  /** The origin never saw Proxy-Authorization, nor the proxy credentials in any form. */
  const expectOriginUntouched = (server: TestServer, from: number) => {
    for (const q of server.requests.slice(from)) {
      expect(q.headers).not.to.have.property('proxy-authorization');
      const raw = q.rawHeaders.join('\n');
      expect(raw).not.to.contain(creds.password);
      expect(raw).not.to.match(/Digest|Basic/);
    }
  };

  before(async () => {
    certs = await testCertificates();
    plain = await startServer(echo);
    secure = await startServer(echo, { key: certs.server.key, cert: certs.server.cert });
    secure2 = await startServer(echo, { key: certs.server.key, cert: certs.server.cert });
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((h) => h.close()));
  });

  describe('Basic (RFC 7617)', () => {
    it('answers a 407 to a forwarded plain request once, to the proxy only', async () => {
      const proxy = await startProxy({ auth: { user: creds.user, password: creds.password }, challengeFirst: true });
      const before = plain.count();
      const [r, c] = await via(proxy).request(plain.url('/basic'));
      expect([r.status, c.toString()]).to.deep.equal([200, 'origin saw GET /basic']);
      // Sent up front (httplib2 does), refused by this proxy's first-request rule, then answered.
      expect(proxy.requests.map((q) => q.headers['proxy-authorization'])).to.deep.equal([
        basic(creds.user, creds.password),
        basic(creds.user, creds.password),
      ]);
      expect(plain.count() - before).to.equal(1);
      expectOriginUntouched(plain, before);
    });

    it('answers a 407 to CONNECT once, and nothing is written inside the tunnel', async () => {
      const proxy = await startProxy({ auth: { user: creds.user, password: creds.password }, challengeFirst: true });
      const before = secure.count();
      const [r] = await via(proxy).request(secure.url('/basic-tunnel'));
      expect(r.status).to.equal(200);
      expect(proxy.requests.map((q) => q.method)).to.deep.equal(['CONNECT', 'CONNECT']);
      expect(secure.count() - before).to.equal(1);
      expectOriginUntouched(secure, before);
    });
  });

  describe('Digest (RFC 7616)', () => {
    const digest = { user: creds.user, password: creds.password };

    it('answers the challenge to a forwarded request with uri = the absolute URI, then sends later ones up front', async () => {
      const proxy = await startProxy({ digest });
      const before = plain.count();
      const http = via(proxy);
      const [r1, c1] = await http.request(plain.url('/d1?x=1'));
      const [r2] = await http.request(plain.url('/d2'), 'POST', 'payload');
      const [r3] = await http.request(plain.url('/d3'));
      expect([r1.status, c1.toString(), r2.status, r3.status]).to.deep.equal([200, 'origin saw GET /d1?x=1', 200, 200]);
      // One 407 in all: the up-front Basic is refused once, then Digest is remembered for this proxy.
      expect(proxy.requests.map((q) => q.headers['proxy-authorization']?.split(' ')[0])).to.deep.equal(['Basic', 'Digest', 'Digest', 'Digest']);
      expect(proxy.digests.map((d) => [d.ok, d.method, d.uri, d.nc])).to.deep.equal([
        [true, 'GET', plain.url('/d1?x=1'), 1],
        [true, 'POST', plain.url('/d2'), 2],
        [true, 'GET', plain.url('/d3'), 3],
      ]);
      expect(new Set(proxy.digests.map((d) => d.nonce)).size).to.equal(1);
      expect(plain.count() - before).to.equal(3);
      expectOriginUntouched(plain, before);
    });

    it('answers the challenge to CONNECT with method CONNECT and uri = host:port; later tunnels count the nonce up', async () => {
      const proxy = await startProxy({ digest });
      const before = [secure.count(), secure2.count()];
      const http = via(proxy);
      const [r1] = await http.request(secure.url('/t1'));
      const [r2] = await http.request(secure2.url('/t2'));
      const [r3] = await http.request(plain.url('/t3'));
      expect([r1.status, r2.status, r3.status]).to.deep.equal([200, 200, 200]);
      expect(proxy.requests.map((q) => q.method)).to.deep.equal(['CONNECT', 'CONNECT', 'CONNECT', 'GET']);
      // One Digest session per proxy, shared by tunnels and forwarded requests.
      expect(proxy.digests.map((d) => [d.ok, d.method, d.uri, d.nc])).to.deep.equal([
        [true, 'CONNECT', `127.0.0.1:${secure.port}`, 1],
        [true, 'CONNECT', `127.0.0.1:${secure2.port}`, 2],
        [true, 'GET', plain.url('/t3'), 3],
      ]);
      expect([secure.count() - before[0]!, secure2.count() - before[1]!]).to.deep.equal([1, 1]);
      expectOriginUntouched(secure, before[0]!);
      expectOriginUntouched(secure2, before[1]!);
    });

    it('follows stale=true to a new nonce (SHA-256) without failing, counting from 1 again', async () => {
      const proxy = await startProxy({ digest: { ...digest, algorithm: 'SHA-256', nonceUses: 1 } });
      const http = via(proxy);
      const [r1] = await http.request(plain.url('/s1'));
      const [r2] = await http.request(plain.url('/s2'));
      expect([r1.status, r2.status]).to.deep.equal([200, 200]);
      const [first, refusedAsStale, renewed] = proxy.digests;
      expect([first!.nc, refusedAsStale!.nc, renewed!.nc]).to.deep.equal([1, 2, 1]);
      expect(refusedAsStale!.nonce).to.equal(first!.nonce);
      expect(renewed!.nonce).not.to.equal(first!.nonce);
      expect(proxy.digests.every((d) => d.ok)).to.equal(true);
    });

    it('a proxy that keeps answering stale=true gets one renewal, then a ProxyError (never a loop)', async () => {
      const proxy = await startProxy({ digest: { ...digest, nonceUses: 0 } });
      const before = plain.count();
      const e = await failure(via(proxy).request(plain.url('/forever-stale')));
      expect(e).to.be.instanceOf(ProxyError);
      expect(proxy.requests).to.have.length(3);
      expect(plain.count()).to.equal(before);
    });

    it('works the same through an https proxy (TLS to the proxy itself)', async () => {
      const proxy = await startProxy({ digest, tls: { key: certs.server.key, cert: certs.server.cert } });
      const http = client({ proxyInfo: new ProxyInfo({ host: '127.0.0.1', port: proxy.port, protocol: 'https', ...creds }) });
      const [r1] = await http.request(secure.url('/over-tls'));
      const [r2] = await http.request(plain.url('/over-tls'));
      expect([r1.status, r2.status]).to.deep.equal([200, 200]);
      expect(proxy.digests.map((d) => [d.ok, d.method, d.nc])).to.deep.equal([[true, 'CONNECT', 1], [true, 'GET', 2]]);
    });

    for (const scheme of ['http', 'https'] as const) {
      it(`a wrong password is a ProxyError after one answer (${scheme}); the origin gets nothing`, async () => {
        const proxy = await startProxy({ digest });
        const origin = scheme === 'http' ? plain : secure;
        const before = origin.count();
        const e = await failure(via(proxy, { user: creds.user, password: 'wrong' }).request(origin.url('/wrong')));
        expect(e).to.be.instanceOf(ProxyError);
        expect(e.code).to.equal('ERR_PROXY');
        expect(e.message).to.contain('407');
        expect(proxy.requests).to.have.length(2);
        expect(proxy.digests.map((d) => [d.ok, d.nc])).to.deep.equal([[false, 1]]);
        expect(origin.count()).to.equal(before);
      });
    }

    it('without credentials a Digest 407 is a ProxyError at once', async () => {
      const proxy = await startProxy({ digest });
      const e = await failure(via(proxy, {}).request(secure.url('/anonymous')));
      expect(e).to.be.instanceOf(ProxyError);
      expect(e.message).to.contain('407');
      expect(proxy.requests).to.have.length(1);
      expect(proxy.requests[0]!.headers).not.to.have.property('proxy-authorization');
    });
  });

  it('a scheme other than Basic and Digest is a ProxyError naming it; the origin gets nothing', async () => {
    const proxy = await startProxy({ auth: { user: creds.user, password: 'other' }, challenge: 'Negotiate' });
    const before = plain.count();
    const e = await failure(via(proxy).request(plain.url('/negotiate')));
    expect(e).to.be.instanceOf(ProxyError);
    expect(e.message).to.contain('negotiate');
    expect(proxy.requests).to.have.length(1);
    expect(plain.count()).to.equal(before);
  });

  it('a caller-supplied Proxy-Authorization is still refused when a proxy is used', async () => {
    const proxy = await startProxy({ digest: { user: creds.user, password: creds.password } });
    const e = await failure(via(proxy).request(plain.url('/'), 'GET', null, { 'Proxy-Authorization': 'Digest x' }));
    expect(e.code).to.equal('ERR_INVALID_REQUEST');
    expect(proxy.requests).to.have.length(0);
  });
});
