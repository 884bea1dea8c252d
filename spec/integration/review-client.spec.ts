import { expect } from 'chai';
import type * as net from 'node:net';
import { AbortError, Http, HttpLib2Error, ProxyInfo, RequestTimeout } from '../../lib/index.js';
import { testCertificates } from '../helpers/certs.js';
import { startProxy } from '../helpers/proxy-server.js';
import { startRawServer, startServer } from '../helpers/server.js';
import { rejection } from '../helpers/rejection.js';

/** Collects the process-level failures (uncaught errors, unhandled rejections) raised while `body` runs. */
async function processFailures(body: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const record = (e: unknown) => seen.push(e);
  process.prependListener('uncaughtException', record);
  process.prependListener('unhandledRejection', record);
  try {
    await body();
    // Stream errors are emitted on a later turn (setImmediate, then nextTick): let them surface.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.removeListener('uncaughtException', record);
    process.removeListener('unhandledRejection', record);
  }
  return seen;
}

describe('client review: failures stay inside the request', () => {
  it('refuses a body over maxBodySize that arrived whole without an uncaught error, and the next request works', async () => {
    const server = await startServer((req, res) => {
      const body = Buffer.alloc(req.url === '/big' ? 2000 : 10, 'x');
      res.writeHead(200, { 'content-length': String(body.length) });
      res.end(body);
    });
    const client = new Http(null, { maxBodySize: 1000 });
    try {
      const failures = await processFailures(async () => {
        const e = await rejection<HttpLib2Error>(client.request(server.url('/big')));
        expect(e.code).to.equal('ERR_BODY_TOO_LARGE');
        const [response, content] = await client.request(server.url('/small'));
        expect(response.status).to.equal(200);
        expect(content.length).to.equal(10);
      });
      expect(failures.map(String)).to.deep.equal([]);
    } finally {
      await client.close();
    }
  });

  describe('a server that accepts the connection and never completes the TLS handshake', () => {
    const stalled: net.Socket[] = [];
    const stalledServer = () => startRawServer((s) => void stalled.push(s));
    afterEach(() => {
      for (const s of stalled.splice(0)) s.destroy();
    });

    it('fails at the timeout, not at the connect backstop', async () => {
      const server = await stalledServer();
      const client = new Http(null, { timeout: 300 });
      try {
        const started = performance.now();
        const e = await rejection(client.request(`https://127.0.0.1:${server.port}/`));
        expect(e).to.be.instanceOf(RequestTimeout);
        expect(performance.now() - started).to.be.within(250, 1500);
      } finally {
        await client.close();
      }
    });

    it('fails when the caller aborts, not at the connect backstop', async () => {
      const server = await stalledServer();
      const client = new Http();
      try {
        const started = performance.now();
        const e = await rejection(client.request(`https://127.0.0.1:${server.port}/`, { signal: AbortSignal.timeout(300) }));
        expect(e).to.be.instanceOf(AbortError);
        expect(performance.now() - started).to.be.within(250, 1500);
      } finally {
        await client.close();
      }
    });
  });

  it('through a proxy, a client certificate TLS cannot load is a TlsError, not an unhandled rejection and a hang', async () => {
    const certs = await testCertificates();
    const origin = await startServer((_req, res) => res.end('ok'), { key: certs.server.key, cert: certs.server.cert });
    const proxy = await startProxy();
    const client = new Http(null, { ca: certs.ca.cert, proxyInfo: new ProxyInfo({ host: proxy.host, port: proxy.port }) });
    client.addCertificate('not a PEM key', certs.client.cert, '127.0.0.1');
    try {
      const failures = await processFailures(async () => {
        const e = await rejection<HttpLib2Error>(client.request(origin.url('/')));
        expect(e).to.be.instanceOf(HttpLib2Error);
        expect(e.code).to.equal('ERR_TLS');
      });
      expect(failures.map(String)).to.deep.equal([]);
      expect(origin.count()).to.equal(0);
    } finally {
      await client.close();
    }
  });

  it('refuses a timeout longer than a timer can wait, naming it, instead of timing out at once', () => {
    // Node runs a longer setTimeout after 1 ms: every request would fail with RequestTimeout.
    expect(() => new Http(null, { timeout: 2 ** 31 })).to.throw(HttpLib2Error, /Invalid option timeout/);
    expect(() => new Http(null, { timeout: 2 ** 31 - 1 })).to.not.throw();
  });

  it('refuses a redirections count that is not a non-negative integer before sending anything', async () => {
    // NaN never reaches zero: a server redirecting to ever new URLs would be followed forever.
    const server = await startServer((req, res) => {
      res.writeHead(302, { location: `${req.url}x` });
      res.end();
    });
    const client = new Http();
    try {
      for (const redirections of [NaN, Infinity, 1.5, -1]) {
        const e = await rejection<HttpLib2Error>(client.request(server.url('/'), { redirections }));
        expect(e.code, String(redirections)).to.equal('ERR_INVALID_REQUEST');
        expect(e.message).to.contain('redirections');
        const positional = await rejection<HttpLib2Error>(client.request(server.url('/'), 'GET', null, {}, redirections));
        expect(positional.code, String(redirections)).to.equal('ERR_INVALID_REQUEST');
      }
      expect(server.count()).to.equal(0);
      const limited = await rejection<HttpLib2Error>(client.request(server.url('/'), { redirections: 0 }));
      expect(limited.code).to.equal('ERR_REDIRECT_LIMIT');
    } finally {
      await client.close();
    }
  });
});
