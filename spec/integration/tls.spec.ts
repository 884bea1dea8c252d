import { expect } from 'chai';
import * as https from 'node:https';
import * as tls from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { Http, HttpLib2Error, ProxyError, ProxyInfo, TlsError } from '../../lib/index.js';
import { testCertificates, type KeyPair, type TestCertificates } from '../helpers/certs.js';
import { startProxy } from '../helpers/proxy-server.js';
import { startServer, type Handler, type TestServer } from '../helpers/server.js';

type Failure = Error & { code?: string; cause?: { code?: string } };

async function failure(p: Promise<unknown>): Promise<Failure> {
  try {
    await p;
  } catch (error) {
    return error as Failure;
  }
  throw new Error('expected the request to fail');
}

const hello: Handler = (req, res) => res.end(`hello ${req.url}`);

/** An https server presenting `pair`, optionally with more certificates in its chain. */
function serve(pair: KeyPair, handler = hello, extra: https.ServerOptions = {}): Promise<TestServer> {
  return startServer(handler, { key: pair.key, cert: pair.cert, ...extra });
}

const onLocalhost = (s: TestServer, path = '/') => `https://localhost:${s.port}${path}`;

describe('TLS', () => {
  let certs: TestCertificates;
  let good: TestServer;
  const opened: Http[] = [];
  const client = (options: ConstructorParameters<typeof Http>[1] = {}) => {
    const h = new Http(null, { ...options, proxyInfo: null });
    opened.push(h);
    return h;
  };

  before(async () => {
    certs = await testCertificates();
    good = await serve(certs.server);
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((h) => h.close()));
  });

  describe('the ca option', () => {
    it('trusts a server whose certificate the given CA signed, by IP and by name', async () => {
      const http = client({ ca: certs.ca.cert });
      const [r1, c1] = await http.request(good.url('/ip'));
      const [r2, c2] = await http.request(onLocalhost(good, '/name'));
      expect([r1.status, c1.toString()]).to.deep.equal([200, 'hello /ip']);
      expect([r2.status, c2.toString()]).to.deep.equal([200, 'hello /name']);
    });

    it('accepts a list of CAs', async () => {
      const [r] = await client({ ca: [certs.otherCa.cert, certs.ca.cert] }).request(good.url('/'));
      expect(r.status).to.equal(200);
    });

    it('without it, refuses the spec CA with TlsError before any request is sent', async () => {
      const before = good.count();
      const e = await failure(client().request(good.url('/')));
      expect(e).to.be.instanceOf(TlsError);
      expect(e.code).to.equal('ERR_TLS');
      expect(good.count()).to.equal(before);
    });
  });

  describe('refused certificates', () => {
    const cases: Array<[string, (c: TestCertificates) => https.ServerOptions & { key: string; cert: string }, string]> = [
      ['an untrusted issuer', (c) => ({ key: c.untrusted.key, cert: c.untrusted.cert }), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
      ['a self-signed certificate', (c) => ({ key: c.selfSigned.key, cert: c.selfSigned.cert }), 'DEPTH_ZERO_SELF_SIGNED_CERT'],
      [
        'a chain ending in an untrusted self-signed root',
        (c) => ({ key: c.untrusted.key, cert: `${c.untrusted.cert}${c.otherCa.cert}` }),
        'SELF_SIGNED_CERT_IN_CHAIN',
      ],
      ['a certificate for another name', (c) => ({ key: c.wrongName.key, cert: c.wrongName.cert }), 'ERR_TLS_CERT_ALTNAME_INVALID'],
      ['an expired certificate', (c) => ({ key: c.expired.key, cert: c.expired.cert }), 'CERT_HAS_EXPIRED'],
    ];
    for (const [what, options, code] of cases) {
      it(`refuses ${what} with TlsError (${code}), even after a good request to the same host`, async () => {
        const bad = await startServer(hello, options(certs));
        const http = client({ ca: certs.ca.cert });
        // Same host name (so the same TLS session cache entry), another port: a full handshake.
        const [ok] = await http.request(onLocalhost(good));
        expect(ok.status).to.equal(200);
        const e = await failure(http.request(onLocalhost(bad, '/secret')));
        expect(e).to.be.instanceOf(TlsError);
        expect(e.cause?.code).to.equal(code);
        expect(e.message).to.contain(`localhost:${bad.port}`);
        // Again by IP, and a second time: nothing was remembered from the failure or the good answer.
        expect(await failure(http.request(bad.url('/secret')))).to.be.instanceOf(TlsError);
        expect(bad.count()).to.equal(0);
        // The good server is still fine on the same Http.
        const [again] = await http.request(good.url('/'));
        expect(again.status).to.equal(200);
      });
    }

    it('maps a server that does not speak TLS (https to a plain port) to TlsError', async () => {
      const plainServer = await startServer(hello);
      const e = await failure(client({ ca: certs.ca.cert }).request(`https://127.0.0.1:${plainServer.port}/`));
      expect(e).to.be.instanceOf(TlsError);
      expect(e.cause?.code).to.match(/^ERR_SSL_/);
    });

    it('is not retried: one handshake, one TlsError', async () => {
      const bad = await serve(certs.expired);
      const http = client({ ca: certs.ca.cert });
      http.retries = 5;
      expect(await failure(http.request(bad.url('/')))).to.be.instanceOf(TlsError);
      expect(bad.connections()).to.equal(1);
    });

    it('turns into a 400 with forceExceptionToStatusCode', async () => {
      const bad = await serve(certs.selfSigned);
      const http = client();
      http.forceExceptionToStatusCode = true;
      const [r, c] = await http.request(bad.url('/'));
      expect(r.status).to.equal(400);
      expect(c.toString()).to.match(/TLS connection to .* failed/);
    });
  });

  describe('disableSslCertificateValidation', () => {
    it('accepts a self-signed certificate on that Http only', async () => {
      const bad = await serve(certs.selfSigned);
      const lax = client({ disableSslCertificateValidation: true });
      const [r, c] = await lax.request(bad.url('/lax'));
      expect([r.status, c.toString()]).to.deep.equal([200, 'hello /lax']);
      // Another Http made afterwards, and one made before, still refuse it.
      expect(await failure(client().request(bad.url('/strict')))).to.be.instanceOf(TlsError);
      expect(await failure(client({ ca: certs.ca.cert }).request(bad.url('/strict')))).to.be.instanceOf(TlsError);
      expect(bad.requests.map((q) => q.url)).to.deep.equal(['/lax']);
    });

    it('never weakens node:https, node:tls, global fetch or the process settings', async () => {
      const bad = await serve(certs.expired);
      const lax = client({ disableSslCertificateValidation: true });
      const [r] = await lax.request(bad.url('/'));
      expect(r.status).to.equal(200);

      expect(process.env.NODE_TLS_REJECT_UNAUTHORIZED).to.equal(undefined);
      const viaHttps = await new Promise<Error>((resolve) => {
        const q = https.get(bad.url('/https'), { agent: false, ca: certs.ca.cert }, () => resolve(new Error('connected')));
        q.on('error', resolve);
      });
      expect((viaHttps as { code?: string }).code).to.equal('CERT_HAS_EXPIRED');
      const viaTls = await new Promise<Error>((resolve) => {
        const s: TLSSocket = tls.connect({ host: '127.0.0.1', port: bad.port, ca: certs.ca.cert, servername: 'localhost' }, () => {
          s.destroy();
          resolve(new Error('connected'));
        });
        s.on('error', resolve);
      });
      expect((viaTls as { code?: string }).code).to.equal('CERT_HAS_EXPIRED');
      const viaFetch = await failure(fetch(bad.url('/fetch')));
      expect(viaFetch.cause?.code).to.match(/^(CERT_HAS_EXPIRED|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE)$/);
      expect(bad.requests.map((q) => q.url)).to.deep.equal(['/']);
    });
  });

  describe('addCertificate (client certificates)', () => {
    // Asks for a client certificate without requiring one, and says which one it got.
    const whoAmI: Handler = (req, res) => {
      const socket = req.socket as TLSSocket;
      const peer = socket.getPeerCertificate();
      res.end(peer && peer.subject ? `${peer.subject.CN} authorized=${socket.authorized}` : 'anonymous');
    };
    let mtls: KeyPair & { ca: string };
    before(() => {
      mtls = { ...certs.server, ca: certs.ca.cert };
    });
    const mtlsServer = (handler = whoAmI, strict = false) =>
      serve(certs.server, handler, { ca: certs.ca.cert, requestCert: true, rejectUnauthorized: strict });

    it('presents the certificate to its domain (host name)', async () => {
      const server = await mtlsServer();
      const http = client({ ca: mtls.ca });
      http.addCertificate(certs.client.key, certs.client.cert, 'localhost');
      const [, c] = await http.request(onLocalhost(server));
      expect(c.toString()).to.equal('client authorized=true');
    });

    it('presents it to host:port only on that port', async () => {
      const [a, b] = await Promise.all([mtlsServer(), mtlsServer()]);
      const http = client({ ca: mtls.ca });
      http.addCertificate(certs.client.key, certs.client.cert, `127.0.0.1:${a.port}`);
      expect((await http.request(a.url('/')))[1].toString()).to.equal('client authorized=true');
      expect((await http.request(b.url('/')))[1].toString()).to.equal('anonymous');
    });

    it('never presents it to another host', async () => {
      const server = await mtlsServer();
      const http = client({ ca: mtls.ca });
      http.addCertificate(certs.client.key, certs.client.cert, 'localhost');
      const [, c] = await http.request(server.url('/'));
      expect(c.toString()).to.equal('anonymous');
    });

    it('passes a server that requires a client certificate, which refuses an Http without one', async () => {
      const server = await mtlsServer(whoAmI, true);
      const withCert = client({ ca: mtls.ca });
      withCert.addCertificate(certs.client.key, certs.client.cert, 'localhost');
      expect((await withCert.request(onLocalhost(server)))[1].toString()).to.equal('client authorized=true');
      const without = await failure(client({ ca: mtls.ca }).request(onLocalhost(server, '/no-cert')));
      expect(without.name).to.match(/^(TlsError|ConnectionError)$/);
      expect(server.requests.map((q) => q.url)).to.deep.equal(['/']);
    });

    it('applies to origins already visited when added after a first request', async () => {
      const server = await mtlsServer();
      const http = client({ ca: mtls.ca });
      expect((await http.request(onLocalhost(server)))[1].toString()).to.equal('anonymous');
      http.addCertificate(certs.client.key, certs.client.cert, 'localhost');
      expect((await http.request(onLocalhost(server)))[1].toString()).to.equal('client authorized=true');
    });

    it('is not presented after a redirect to another host', async () => {
      const target = await mtlsServer();
      const start = await mtlsServer((req, res) => {
        if (req.url === '/go') {
          res.writeHead(302, { location: target.url('/landed') }).end();
          return;
        }
        whoAmI(req, res, Buffer.alloc(0));
      });
      const http = client({ ca: mtls.ca });
      http.addCertificate(certs.client.key, certs.client.cert, 'localhost');
      const [r, c] = await http.request(onLocalhost(start, '/go'));
      expect(r.status).to.equal(200);
      expect(r.get('content-location')).to.equal(target.url('/landed'));
      expect(c.toString()).to.equal('anonymous');
      expect(target.count()).to.equal(1);
    });

    it('with an empty domain, answers the hosts the caller asked for, not a redirect target', async () => {
      const target = await mtlsServer();
      const start = await mtlsServer((_req, res) => res.writeHead(302, { location: target.url('/landed') }).end());
      const http = client({ ca: mtls.ca });
      http.addCertificate(certs.client.key, certs.client.cert, '');
      const [, c] = await http.request(onLocalhost(start, '/go'));
      expect(c.toString()).to.equal('anonymous');
      expect((await http.request(target.url('/direct')))[1].toString()).to.equal('client authorized=true');
    });
  });

  describe('tlsMinimumVersion / tlsMaximumVersion (httplib2 tls_minimum_version / tls_maximum_version)', () => {
    // Each server answers with the TLS version its side of the handshake settled on.
    const protocol: Handler = (req, res) => res.end((req.socket as TLSSocket).getProtocol() ?? 'none');
    const limited = (bounds: https.ServerOptions) => serve(certs.server, protocol, bounds);

    it('tlsMinimumVersion TLSv1.3 refuses a server that speaks only TLS 1.2, before any request', async () => {
      const onlyTls12 = await limited({ maxVersion: 'TLSv1.2' });
      const [, content] = await client({ ca: certs.ca.cert }).request(onlyTls12.url('/'));
      expect(content.toString()).to.equal('TLSv1.2');
      const e = await failure(client({ ca: certs.ca.cert, tlsMinimumVersion: 'TLSv1.3' }).request(onlyTls12.url('/')));
      expect(e).to.be.instanceOf(TlsError);
      expect(onlyTls12.count()).to.equal(1);
    });

    it('tlsMaximumVersion TLSv1.2 is what a server that offers both gets, and refuses a TLS 1.3-only server', async () => {
      const both = await limited({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' });
      const [, byDefault] = await client({ ca: certs.ca.cert }).request(both.url('/'));
      const [, capped] = await client({ ca: certs.ca.cert, tlsMaximumVersion: 'TLSv1.2' }).request(both.url('/'));
      expect([byDefault.toString(), capped.toString()]).to.deep.equal(['TLSv1.3', 'TLSv1.2']);
      const onlyTls13 = await limited({ minVersion: 'TLSv1.3' });
      const e = await failure(client({ ca: certs.ca.cert, tlsMaximumVersion: 'TLSv1.2' }).request(onlyTls13.url('/')));
      expect(e).to.be.instanceOf(TlsError);
      expect(onlyTls13.count()).to.equal(0);
    });

    it('apply to an https proxy too: one limited to TLS 1.2 is a ProxyError under tlsMinimumVersion TLSv1.3', async () => {
      const proxy = await startProxy({ tls: { key: certs.server.key, cert: certs.server.cert, maxVersion: 'TLSv1.2' } });
      const target = await limited({});
      const via = (bounds: ConstructorParameters<typeof Http>[1]) => {
        const h = new Http(null, { ca: certs.ca.cert, ...bounds, proxyInfo: new ProxyInfo({ host: '127.0.0.1', port: proxy.port, protocol: 'https' }) });
        opened.push(h);
        return h;
      };
      const [ok] = await via({}).request(target.url('/through'));
      expect(ok.status).to.equal(200);
      const seen = proxy.requests.length;
      const e = await failure(via({ tlsMinimumVersion: 'TLSv1.3' }).request(target.url('/refused')));
      expect(e).to.be.instanceOf(ProxyError);
      expect(e.message).to.contain('TLS to the https proxy');
      expect(proxy.requests.length).to.equal(seen);
    });

    for (const [option, value] of [
      ['tlsMinimumVersion', 'TLSv1.1'],
      ['tlsMinimumVersion', 'TLSv1'],
      ['tlsMaximumVersion', 'tls1.3'],
      ['tlsMaximumVersion', 1.3],
    ] as const) {
      it(`refuses ${option}: ${JSON.stringify(value)} when the Http is made, naming the option and the value`, () => {
        let error: unknown;
        try {
          new Http(null, { [option]: value } as never);
        } catch (e) {
          error = e;
        }
        expect(error).to.be.instanceOf(HttpLib2Error);
        expect((error as HttpLib2Error).code).to.equal('ERR_INVALID_REQUEST');
        expect((error as Error).message).to.contain(option).and.to.contain(String(value));
      });
    }

    it('refuses a minimum above the maximum', () => {
      expect(() => new Http(null, { tlsMinimumVersion: 'TLSv1.3', tlsMaximumVersion: 'TLSv1.2' }))
        .to.throw(HttpLib2Error, /tlsMaximumVersion.*tlsMinimumVersion \(TLSv1\.3\).*received TLSv1\.2/);
    });
  });
});
