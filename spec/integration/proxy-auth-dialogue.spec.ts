import { expect } from 'chai';
import { Http, ProxyError, ProxyInfo } from '../../lib/index.js';
import { rejection } from '../helpers/rejection.js';
import { startServer, type TestServer } from '../helpers/server.js';

// The proxy hop runs the same auth dialogue as the origin side (RFC 9110 §11.7, RFC 7616): what it
// remembers between requests is checked here against a stand-in proxy that answers itself (a plain
// server receives the absolute-form requests an http proxy would).
describe('proxy authentication: what the hop remembers between requests', () => {
  const opened: Http[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((h) => h.close()));
  });
  const through = (proxy: TestServer) => {
    const http = new Http(null, { proxyInfo: new ProxyInfo({ host: '127.0.0.1', port: proxy.port, user: 'pat', password: 'pw' }) });
    opened.push(http);
    return http;
  };
  const field = (value: string | undefined, name: string) => new RegExp(`${name}="?([^",]*)"?`).exec(value ?? '')?.[1];
  const sent = (proxy: TestServer) => proxy.requests.map((q) => q.headers['proxy-authorization']);

  it('takes up a nextnonce from Proxy-Authentication-Info: the next request counts from 1 on it (RFC 7616 §3.5)', async () => {
    const proxy = await startServer((req, res) => {
      const auth = req.headers['proxy-authorization'] ?? '';
      if (!auth.startsWith('Digest ')) {
        res.writeHead(407, { 'proxy-authenticate': 'Digest realm="p", nonce="first", qop="auth"' }).end();
      } else {
        res.writeHead(200, field(auth, 'nonce') === 'first' ? { 'proxy-authentication-info': 'nextnonce="second"' } : {}).end('ok');
      }
    });
    const http = through(proxy);
    await http.request('http://origin.test/a');
    await http.request('http://origin.test/b');
    await http.request('http://origin.test/c');
    const digests = sent(proxy).slice(1).map((a) => [field(a, 'nonce'), field(a, 'nc'), field(a, 'uri')]);
    expect(digests).to.deep.equal([
      ['first', '00000001', 'http://origin.test/a'],
      ['second', '00000001', 'http://origin.test/b'],
      ['second', '00000002', 'http://origin.test/c'],
    ]);
  });

  it('reads only the fields the proxy sent: a polluted Object.prototype adds no challenge to a bare 407', async () => {
    const proxy = await startServer((_req, res) => res.writeHead(407, { 'content-length': '0' }).end());
    const http = through(proxy);
    const polluted = Object.prototype as Record<string, unknown>;
    polluted['proxy-authenticate'] = 'Digest realm="evil", nonce="n1", qop="auth"';
    try {
      const e = await rejection<Error>(http.request('http://origin.test/bare'));
      expect(e).to.be.instanceOf(ProxyError);
      expect(e.message).to.contain('asks for authentication without a challenge (407)');
    } finally {
      delete polluted['proxy-authenticate'];
    }
    // The first try's Basic only: no Digest answer to a challenge nobody sent.
    expect(sent(proxy).map((a) => a?.split(' ')[0])).to.deep.equal(['Basic']);
  });

  it('after a wrong password, the next request sends Digest up front again, never Basic', async () => {
    let nonces = 0;
    const proxy = await startServer((_req, res) => {
      res.writeHead(407, { 'proxy-authenticate': `Digest realm="p", nonce="n${++nonces}", qop="auth"` }).end();
    });
    const http = through(proxy);
    for (const path of ['/one', '/two']) {
      const e = await rejection<Error>(http.request(`http://origin.test${path}`));
      expect(e).to.be.instanceOf(ProxyError);
      expect(e.message).to.contain('refused the credentials (407)');
    }
    expect(sent(proxy).map((a) => [a?.split(' ')[0], field(a, 'nonce'), field(a, 'nc')])).to.deep.equal([
      ['Basic', undefined, undefined],
      ['Digest', 'n1', '00000001'],
      ['Digest', 'n1', '00000002'],
      ['Digest', 'n3', '00000001'],
    ]);
  });

  it('concurrent requests through a Digest proxy never repeat a nonce count (RFC 7616 §3.4)', async () => {
    const proxy = await startServer((req, res) => {
      const auth = req.headers['proxy-authorization'] ?? '';
      if (!auth.startsWith('Digest ')) res.writeHead(407, { 'proxy-authenticate': 'Digest realm="p", nonce="one", qop="auth"' }).end();
      else res.end('ok');
    });
    const http = through(proxy);
    await http.request('http://origin.test/first');
    const answers = await Promise.all([1, 2, 3, 4].map((i) => http.request(`http://origin.test/p${i}`)));
    expect(answers.map(([r]) => r.status)).to.deep.equal([200, 200, 200, 200]);
    const counts = sent(proxy).slice(2).map((a) => field(a, 'nc'));
    expect([...counts].sort()).to.deep.equal(['00000002', '00000003', '00000004', '00000005']);
  });
});
