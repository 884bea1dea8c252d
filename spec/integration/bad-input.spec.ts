/**
 * Bad input, tried as a new user would: every case is an `ERR_INVALID_REQUEST` naming the option (or
 * argument) and the value received, raised before anything is sent (the server counts no request).
 */
import { expect } from 'chai';
import { Http, HttpLib2Error } from '../../lib/index.js';
import { startServer, type TestServer } from '../helpers/server.js';

function refusal(make: () => unknown): HttpLib2Error {
  try {
    make();
  } catch (e) {
    return e as HttpLib2Error;
  }
  throw new Error('expected the call to throw');
}

function expectRefused(e: unknown, ...named: string[]): void {
  expect(e).to.be.instanceOf(HttpLib2Error);
  expect((e as HttpLib2Error).code).to.equal('ERR_INVALID_REQUEST');
  for (const part of named) expect((e as Error).message).to.contain(part);
}

describe('bad input is refused before anything is sent (#10)', () => {
  let server: TestServer;

  before(async () => {
    server = await startServer((_req, res) => res.end('ok'));
  });

  describe('new Http(cache, options)', () => {
    it("refuses '' as a cache: it named the current directory", () => {
      expectRefused(refusal(() => new Http('')), 'cache', '""');
    });

    it('refuses options that are not an object', () => {
      for (const options of ['five', 5, true, [], null]) {
        expectRefused(refusal(() => new Http(null, options as never)), 'options');
      }
      expectRefused(refusal(() => new Http(null, 'five' as never)), '"five"');
    });

    it('refuses an unknown option key, naming it and its value, with the key meant', () => {
      const e = refusal(() => new Http(null, { timeot: 5 } as never));
      expectRefused(e, 'timeot', 'received 5', 'did you mean timeout?');
      expectRefused(refusal(() => new Http(null, { cacheDir: 'cache-dir' } as never)), 'cacheDir', '"cache-dir"', 'known: timeout');
    });

    it('refuses a proxyInfo that is not a ProxyInfo, a function or null', () => {
      expectRefused(refusal(() => new Http(null, { proxyInfo: { host: '127.0.0.1', port: 3128 } as never })), 'proxyInfo');
    });

    it('refuses a wrongly typed option: clock, ca, dispatcher, disableSslCertificateValidation', () => {
      expectRefused(refusal(() => new Http(null, { clock: Date.now } as never)), 'clock', 'a function');
      expectRefused(refusal(() => new Http(null, { ca: 42 } as never)), 'ca', '42');
      expectRefused(refusal(() => new Http(null, { dispatcher: {} } as never)), 'dispatcher');
      expectRefused(refusal(() => new Http(null, { disableSslCertificateValidation: 'yes' } as never)), 'disableSslCertificateValidation', '"yes"');
    });

    it("reads the caller's own keys only: an option planted on Object.prototype is not one", async () => {
      const proto = Object.prototype as Record<string, unknown>;
      let http: Http;
      try {
        proto['timeout'] = 1;
        http = new Http();
      } finally {
        delete proto['timeout'];
      }
      try {
        const [response] = await http.request(server.url('/slow-enough'));
        expect(response.status).to.equal(200);
      } finally {
        await http.close();
      }
    });

    it('takes undefined options and undefined option values as not given', async () => {
      const http = new Http(undefined, { timeout: undefined, proxyInfo: undefined });
      try {
        expect((await http.request(server.url('/')))[0].status).to.equal(200);
      } finally {
        await http.close();
      }
    });
  });
});
