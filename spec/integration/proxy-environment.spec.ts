/**
 * The proxy variables as a user sets them, end to end through a loopback proxy: NO_PROXY entries
 * read as curl reads them (address ranges, IPv6 in any text form) send the request straight to the
 * origin, and the proxy sees nothing; a proxy URL that cannot be parsed fails without printing its
 * password.
 */
import { expect } from 'chai';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { Http, HttpLib2Error, type HttpOptions } from '../../lib/index.js';
import { testCertificates, type TestCertificates } from '../helpers/certs.js';
import { startProxy } from '../helpers/proxy-server.js';
import { rejection } from '../helpers/rejection.js';
import { startServer, track, type Handler, type TestServer } from '../helpers/server.js';

const echo: Handler = (req, res) => res.end(`origin saw ${req.method} ${req.url}`);
const PROXY_VARIABLES = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy', 'NO_PROXY', 'no_proxy', 'REQUEST_METHOD'];

/** An http server on the IPv6 loopback, counting the requests it answered. */
async function startIpv6Server(): Promise<{ url: (path: string) => string; count: () => number }> {
  let count = 0;
  const server = http.createServer((req, res) => {
    count++;
    res.end(`origin saw ${req.method} ${req.url}`);
  });
  track(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '::1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return { url: (path) => `http://[::1]:${port}${path}`, count: () => count };
}

describe('proxy variables from the environment, end to end', () => {
  let certs: TestCertificates;
  let plain: TestServer;
  let secure: TestServer;
  const opened: Http[] = [];

  /** Builds an Http while the environment holds `vars` (and none of the other proxy variables). */
  const clientUnderEnv = (vars: Record<string, string>, options: HttpOptions = {}) => {
    const saved = PROXY_VARIABLES.map((k) => [k, process.env[k]] as const);
    for (const k of PROXY_VARIABLES) delete process.env[k];
    Object.assign(process.env, vars);
    try {
      const h = new Http(null, { ca: certs.ca.cert, ...options });
      opened.push(h);
      return h;
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

  describe('NO_PROXY', () => {
    it('a CIDR range that covers the origin (127.0.0.0/8) sends http and https direct; the proxy counts none', async () => {
      const proxy = await startProxy();
      const client = clientUnderEnv({ HTTP_PROXY: proxy.origin, HTTPS_PROXY: proxy.origin, NO_PROXY: '10.0.0.0/8, 127.0.0.0/8' });
      const before = [plain.count(), secure.count()];
      const [r1] = await client.request(plain.url('/cidr'));
      const [r2] = await client.request(secure.url('/cidr'));
      expect([r1.status, r2.status]).to.deep.equal([200, 200]);
      expect([plain.count() - before[0]!, secure.count() - before[1]!]).to.deep.equal([1, 1]);
      expect(proxy.requests).to.have.length(0);
    });

    it('a CIDR range that does not cover the origin (10.0.0.0/8) leaves it to the proxy', async () => {
      const proxy = await startProxy();
      const client = clientUnderEnv({ HTTP_PROXY: proxy.origin, NO_PROXY: '10.0.0.0/8' });
      const [r] = await client.request(plain.url('/outside'));
      expect(r.status).to.equal(200);
      expect(proxy.requests.map((q) => q.target)).to.deep.equal([plain.url('/outside')]);
    });

    it('an IPv6 address written in full (0:0:0:0:0:0:0:1) covers [::1]; the origin counts the request, the proxy none', async () => {
      const origin = await startIpv6Server();
      const proxy = await startProxy();
      const client = clientUnderEnv({ http_proxy: proxy.origin, no_proxy: '0:0:0:0:0:0:0:1' });
      const [r, content] = await client.request(origin.url('/v6'));
      expect(r.status).to.equal(200);
      expect(content.toString()).to.equal('origin saw GET /v6');
      expect(origin.count()).to.equal(1);
      expect(proxy.requests).to.have.length(0);
    });

    it('an IPv6 range (fd00::/8) does not cover [::1]: the request goes to the proxy', async () => {
      const origin = await startIpv6Server();
      const proxy = await startProxy();
      const client = clientUnderEnv({ http_proxy: proxy.origin, no_proxy: 'fd00::/8' });
      await client.request(origin.url('/v6-proxied'));
      // What the proxy answers does not matter here: that it was asked, and the origin was not, does.
      expect(proxy.requests.map((q) => q.target)).to.deep.equal([origin.url('/v6-proxied')]);
      expect(origin.count()).to.equal(0);
    });
  });

  describe('a proxy URL that cannot be parsed', () => {
    it('HTTP_PROXY=http://user:secret@[bad host/ fails with the password masked in message, stack, causes and debug output', async () => {
      const lines: string[] = [];
      const client = clientUnderEnv({ HTTP_PROXY: 'http://user:secret@[bad host/' }, { debug: (line) => lines.push(line) });
      const e = await rejection<HttpLib2Error>(client.request(plain.url('/never')));
      expect(e).to.be.instanceOf(HttpLib2Error);
      expect(e.code).to.equal('ERR_PROXY');
      expect(e.message).to.include('http://user:****@[bad host/');
      const shown: string[] = [];
      for (let c: unknown = e; c; c = (c as { cause?: unknown }).cause) {
        const err = c as Error;
        shown.push(err.message, String(err.stack), inspect(err, { depth: 10 }));
      }
      expect(shown.join('\n')).not.to.include('secret');
      expect(lines.join('\n')).not.to.include('secret');
      expect(plain.requests.map((r) => r.url)).not.to.include('/never');
    });
  });
});
