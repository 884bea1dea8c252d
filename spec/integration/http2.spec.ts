import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { Http, MemoryCache, ProxyInfo, RequestTimeout } from '../../lib/index.js';
import { runCli } from '../helpers/cli.js';
import { testCertificates, type TestCertificates } from '../helpers/certs.js';
import { startH2Server } from '../helpers/h2-server.js';
import { startProxy } from '../helpers/proxy-server.js';
import { startSocksProxy } from '../helpers/socks-server.js';
import { rejection } from '../helpers/rejection.js';
import { startServer } from '../helpers/server.js';

// HTTP/2 over TLS (RFC 9113 §3.2): offered through ALPN when `http2` is on, spoken when the origin
// picks it, with every layer above the transport unchanged.
describe('HTTP/2 (http2 option)', () => {
  let certs: TestCertificates;
  let http: Http;

  before(async () => {
    certs = await testCertificates();
  });
  afterEach(async () => {
    await http?.close();
  });

  const h2Http = (options: object = {}, cache: MemoryCache | null = null) =>
    (http = new Http(cache, { ca: certs.ca.cert, http2: true, ...options }));

  it('sends 100 concurrent GETs over one connection, each answered right', async () => {
    const server = await startH2Server((req, res) => res.end(`answer to ${req.url}`), certs.server);
    h2Http();
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => http.request(server.url(`/item/${i}`))));
    answers.forEach(([response, content], i) => {
      expect(response.status).to.equal(200);
      expect(response.version).to.equal(20);
      expect(content.toString()).to.equal(`answer to /item/${i}`);
    });
    expect(server.count()).to.equal(100);
    expect(server.requests.every((r) => r.httpVersion === '2.0')).to.equal(true);
    expect(server.connections()).to.equal(1);
    expect(server.sessions()).to.equal(1);
    // Later requests, one after another, stay on it.
    for (let i = 0; i < 3; i++) expect((await http.request(server.url('/again')))[0].version).to.equal(20);
    expect(server.sessions()).to.equal(1);
  });

  it('speaks HTTP/1.1 to an https origin that does not offer h2, on the same Http', async () => {
    const h2 = await startH2Server((_req, res) => res.end('two'), certs.server);
    const h1 = await startServer((_req, res) => res.end('one'), certs.server);
    h2Http();
    const [[r2, c2], [r1, c1]] = await Promise.all([http.request(h2.url('/')), http.request(h1.url('/'))]);
    expect([r2.version, c2.toString()]).to.deep.equal([20, 'two']);
    expect([r1.version, c1.toString()]).to.deep.equal([11, 'one']);
    // A burst to the HTTP/1.1 origin still opens the connections it needs, one request on each at a time.
    const burst = await Promise.all(Array.from({ length: 8 }, () => http.request(h1.url('/'))));
    expect(burst.map(([r]) => r.version)).to.deep.equal(Array(8).fill(11));
    expect(h1.connections()).to.be.greaterThan(1);
  });

  it('keeps sequential HTTP/1.1 requests on one idle connection with the option on', async () => {
    const h1 = await startServer((_req, res) => res.end('one'), certs.server);
    h2Http();
    for (let i = 0; i < 5; i++) expect((await http.request(h1.url(`/${i}`)))[1].toString()).to.equal('one');
    expect(h1.connections()).to.equal(1);
  });

  it('stays on HTTP/1.1 when the option is off (the default), with an origin that offers both', async () => {
    const server = await startH2Server((_req, res) => res.end('ok'), { ...certs.server, allowHTTP1: true });
    http = new Http(null, { ca: certs.ca.cert });
    const [response] = await http.request(server.url('/'));
    expect(response.version).to.equal(11);
    expect(server.requests[0]!.httpVersion).to.equal('1.1');
  });

  it('caches an HTTP/2 answer (with Vary) and answers the next request from the cache', async () => {
    const server = await startH2Server((req, res) => {
      res.setHeader('cache-control', 'max-age=300');
      res.setHeader('vary', 'accept-language');
      res.end(`in ${String(req.headers['accept-language'])}`);
    }, certs.server);
    h2Http({}, new MemoryCache());
    const [first, c1] = await http.request(server.url('/doc'), 'GET', null, { 'accept-language': 'en' });
    const [second, c2] = await http.request(server.url('/doc'), 'GET', null, { 'accept-language': 'en' });
    const [other, c3] = await http.request(server.url('/doc'), 'GET', null, { 'accept-language': 'fr' });
    expect([first.version, first.fromcache, c1.toString()]).to.deep.equal([20, false, 'in en']);
    expect([second.fromcache, second.version, c2.toString()]).to.deep.equal([true, 20, 'in en']);
    expect([other.fromcache, c3.toString()]).to.deep.equal([false, 'in fr']);
    expect(server.count()).to.equal(2);
  });

  it('answers a Digest challenge over HTTP/2 (a 401 round trip on one connection)', async () => {
    const digest = digestCheck('joe', 'secret', 'h2 realm');
    const server = await startH2Server((req, res) => {
      if (digest.verify(req.method, req.url, req.headers.authorization)) return res.end(`hello ${req.url}`);
      res.writeHead(401, { 'www-authenticate': digest.challenge() });
      return res.end('denied');
    }, certs.server);
    h2Http();
    http.addCredentials('joe', 'secret');
    const [response, content] = await http.request(server.url('/private'));
    expect([response.status, response.version, content.toString()]).to.deep.equal([200, 20, 'hello /private']);
    expect(server.requests.map((r) => Boolean(r.headers.authorization))).to.deep.equal([false, true]);
    expect(server.sessions()).to.equal(1);
  });

  it('answers a WSSE challenge over HTTP/2: X-WSSE whose PasswordDigest the server recomputes', async () => {
    const server = await startH2Server((req, res) => {
      const token = String(req.headers['x-wsse'] ?? '');
      const field = (name: string) => new RegExp(`${name}="([^"]*)"`, 'i').exec(token)?.[1] ?? '';
      const digest = createHash('sha1').update(`${field('Nonce')}${field('Created')}secret`).digest('base64');
      if (req.headers.authorization === 'WSSE profile="UsernameToken"' && field('Username') === 'joe' && field('PasswordDigest') === digest) {
        return res.end('hello joe');
      }
      res.writeHead(401, { 'www-authenticate': 'WSSE realm="atom", profile="UsernameToken"' });
      return res.end();
    }, certs.server);
    h2Http();
    http.addCredentials('joe', 'secret');
    const [response, content] = await http.request(server.url('/feed'));
    expect([response.status, response.version, content.toString()]).to.deep.equal([200, 20, 'hello joe']);
    expect(server.requests.map((r) => r.headers['x-wsse'] !== undefined)).to.deep.equal([false, true]);
    expect(server.sessions()).to.equal(1);
  });

  it('answers Basic, follows a redirect, decodes gzip and sends If-Match over HTTP/2', async () => {
    const auth = `Basic ${Buffer.from('ann:pw').toString('base64')}`;
    const server = await startH2Server((req, res) => {
      if (req.headers.authorization !== auth) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' });
        return res.end();
      }
      if (req.url === '/old') return res.writeHead(301, { location: '/new' }).end();
      if (req.method === 'PUT') return res.end(`put with ${String(req.headers['if-match'])}`);
      res.writeHead(200, { 'content-encoding': 'gzip', etag: '"v1"', 'cache-control': 'max-age=0' });
      return res.end(gzipSync('the new page'));
    }, certs.server);
    h2Http({}, new MemoryCache());
    http.addCredentials('ann', 'pw');
    const [response, content] = await http.request(server.url('/old'));
    expect([response.status, response.version, content.toString()]).to.deep.equal([200, 20, 'the new page']);
    expect(response.previous?.status).to.equal(301);
    const [put, putContent] = await http.request(server.url('/new'), 'PUT', 'x');
    expect([put.status, putContent.toString()]).to.deep.equal([200, 'put with "v1"']);
    expect(server.connections()).to.equal(1);
  });

  it('speaks HTTP/2 inside a CONNECT tunnel through an http proxy', async () => {
    const server = await startH2Server((req, res) => res.end(`tunnelled ${req.url}`), certs.server);
    const proxy = await startProxy();
    h2Http({ proxyInfo: new ProxyInfo({ host: proxy.host, port: proxy.port }) });
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => http.request(server.url(`/t${i}`))));
    expect(answers.map(([r, c]) => [r.version, c.toString()])).to.deep.equal(Array.from({ length: 10 }, (_, i) => [20, `tunnelled /t${i}`]));
    expect(proxy.connects()).to.equal(1);
    expect(server.sessions()).to.equal(1);
  });

  it('speaks HTTP/2 through a SOCKS5 tunnel', async () => {
    const server = await startH2Server((req, res) => res.end(`socks ${req.url}`), certs.server);
    const socks = await startSocksProxy();
    h2Http({ proxyInfo: new ProxyInfo({ host: '127.0.0.1', port: socks.port, protocol: 'socks5' }) });
    const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => http.request(server.url(`/s${i}`))));
    expect(answers.map(([r, c]) => [r.version, c.toString()])).to.deep.equal(Array.from({ length: 5 }, (_, i) => [20, `socks /s${i}`]));
    expect(server.sessions()).to.equal(1);
  });

  it('presents a client certificate to an HTTP/2 origin that asks for one', async () => {
    const server = await startH2Server((req, res) => {
      const peer = (req.socket as unknown as { getPeerCertificate(): { subject?: { CN?: string } } }).getPeerCertificate();
      res.end(`client ${peer.subject?.CN ?? 'none'}`);
    }, { ...certs.server, ca: certs.ca.cert, requestCert: true, rejectUnauthorized: true });
    h2Http();
    http.addCertificate(certs.client.key, certs.client.cert, '127.0.0.1');
    const [response, content] = await http.request(server.url('/'));
    expect(response.version).to.equal(20);
    expect(content.toString()).to.match(/^client \S/);
  });

  it('ends a stalled HTTP/2 request at the timeout, and close() ends the session', async () => {
    const server = await startH2Server((req, res) => {
      if (req.url !== '/stall') res.end('quick');
    }, certs.server);
    h2Http({ timeout: 300 });
    expect((await http.request(server.url('/quick')))[1].toString()).to.equal('quick');
    const error = await rejection(http.request(server.url('/stall')));
    expect(error).to.be.instanceOf(RequestTimeout);
    // The connection is still good for others.
    expect((await http.request(server.url('/quick')))[1].toString()).to.equal('quick');
    expect(server.sessions()).to.equal(1);
    await http.close();
    const closed = await rejection<Error & { code?: string }>(http.request(server.url('/quick')));
    expect(closed.code).to.equal('ERR_CLOSED');
  });

  it('shows HTTP/2 in the CLI status lines (--http2, -i and -v) as curl does', async function () {
    this.timeout(120_000);
    const server = await startH2Server((_req, res) => res.end('body'), certs.server);
    const r = await runCli(['--http2', '-k', '-i', '-v', server.url('/')]);
    expect(r.code).to.equal(0);
    expect(r.stdout.toString()).to.match(/^HTTP\/2 200\n/);
    expect(r.stdout.toString().endsWith('\n\nbody')).to.equal(true);
    expect(r.stderr).to.match(/^< HTTP\/2 200$/m);
    // The request line names the protocol the request went out on, as curl's `> GET / HTTP/2`.
    expect(r.stderr).to.match(/^> GET \/ HTTP\/2$/m);
    expect(r.stderr).not.to.match(/^> GET \/ HTTP\/1\.1$/m);
    // The closing line's timings: a new TLS connection to 127.0.0.1 (no name to look up).
    expect(r.stderr).to.match(/; timings \(ms\): queued [\d.]+, connect [\d.]+, tls [\d.]+, sent [\d.]+, first byte [\d.]+, body [\d.]+, total [\d.]+$/m);
  });

  it('writes `HTTP/2 200` (no reason phrase, RFC 9113 §8.3.2) in the debug output and tells the observer the request went out on HTTP/2', async () => {
    const h2 = await startH2Server((_req, res) => res.end('two'), certs.server);
    const h1 = await startServer((_req, res) => res.end('one'), certs.server);
    const lines: string[] = [];
    const sent: number[] = [];
    h2Http({ debug: (line: string) => lines.push(line), wireObserver: { sent: (head: { version: number }) => sent.push(head.version) } });
    await http.request(h2.url('/'));
    await http.request(h1.url('/'));
    expect(lines.filter((l) => l.startsWith('httplib2-ts < HTTP/'))).to.deep.equal(['httplib2-ts < HTTP/2 200', 'httplib2-ts < HTTP/1.1 200 OK']);
    expect(sent).to.deep.equal([20, 11]);
  });

  it('keeps `> GET / HTTP/1.1` in the CLI -v output for an origin that speaks HTTP/1.1 with --http2', async function () {
    this.timeout(120_000);
    const server = await startServer((_req, res) => res.end('body'), certs.server);
    const r = await runCli(['--http2', '-k', '-v', server.url('/')]);
    expect(r.code).to.equal(0);
    expect(r.stderr).to.match(/^> GET \/ HTTP\/1\.1$/m);
    expect(r.stderr).to.match(/^< HTTP\/1\.1 200 OK$/m);
  });
});

/** A Digest (RFC 7616, MD5, qop=auth) checker written apart from lib/: a wrong answer fails the spec. */
function digestCheck(user: string, password: string, realm: string) {
  const nonce = randomBytes(12).toString('hex');
  const md5 = (s: string) => createHash('md5').update(s).digest('hex');
  const field = (header: string, name: string) => new RegExp(`${name}="?([^",]*)"?`).exec(header)?.[1] ?? '';
  return {
    challenge: () => `Digest realm="${realm}", nonce="${nonce}", qop="auth", algorithm=MD5`,
    verify(method: string, url: string, header: string | undefined): boolean {
      if (!header?.startsWith('Digest ')) return false;
      const f = (n: string) => field(header, n);
      if (f('uri') !== url || f('username') !== user || f('nonce') !== nonce) return false;
      const ha1 = md5(`${user}:${realm}:${password}`);
      const ha2 = md5(`${method}:${url}`);
      return f('response') === md5(`${ha1}:${nonce}:${f('nc')}:${f('cnonce')}:auth:${ha2}`);
    },
  };
}
