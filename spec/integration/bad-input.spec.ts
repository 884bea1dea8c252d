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

  describe('http.request(uri, ...)', () => {
    let http: Http;
    beforeEach(() => {
      http = new Http();
    });
    afterEach(() => http.close());

    // Refused with ERR_INVALID_REQUEST naming `named`, and nothing reached the server: no request, no connection.
    async function refusedBeforeSending(call: () => Promise<unknown>, ...named: string[]): Promise<void> {
      const [requests, connections] = [server.count(), server.connections()];
      let error: unknown;
      try {
        await call();
      } catch (e) {
        error = e;
      }
      expectRefused(error, ...named);
      expect([server.count() - requests, server.connections() - connections]).to.deep.equal([0, 0]);
    }

    it('refuses an onProgress that is not a function, before the POST is sent', async () => {
      await refusedBeforeSending(() => http.request(server.url('/'), { method: 'POST', body: 'payload', onProgress: 5 as never }), 'onProgress', 'received 5');
    });

    it('refuses a signal that is not an AbortSignal', async () => {
      await refusedBeforeSending(() => http.request(server.url('/'), { signal: 'no' as never }), 'signal', '"no"');
    });

    it('refuses an unknown request option, naming it and the one meant', async () => {
      await refusedBeforeSending(() => http.request(server.url('/'), { methd: 'POST' } as never), 'methd', '"POST"', 'did you mean method?');
    });

    it('refuses a method that is not a string (5 was sent as the method "5")', async () => {
      await refusedBeforeSending(() => http.request(server.url('/'), { method: 5 as never }), 'method', 'received 5');
    });

    it('refuses headers that are neither a record, a Headers, a Map nor [name, value] pairs, without quoting them', async () => {
      await refusedBeforeSending(() => http.request(server.url('/'), { headers: 'Authorization: Bearer s3cr3t' as never }), 'headers', 'a string');
      await refusedBeforeSending(() => http.request(server.url('/'), { headers: ['authorization', 'Bearer s3cr3t'] as never }), 'headers');
      await refusedBeforeSending(() => http.request(server.url('/'), 'GET', null, [['x-a', 'b', 'c']] as never), 'headers');
      const e = await http.request(server.url('/'), { headers: ['authorization', 'Bearer s3cr3t'] as never }).catch((x: Error) => x);
      expect((e as Error).message).not.to.contain('s3cr3t');
    });

    it('sends headers given as [name, value] pairs (as fetch takes them) and as a Headers', async () => {
      const before = server.count();
      await http.request(server.url('/pairs'), { headers: [['X-Pair', 'one'], ['x-pair', 'two'], ['X-Other', 'o']] });
      await http.request(server.url('/headers'), 'GET', null, new Headers({ 'X-From-Headers': 'h' }));
      const [pairs, headers] = server.requests.slice(before);
      expect([pairs!.headers['x-pair'], pairs!.headers['x-other'], pairs!.headers['0']]).to.deep.equal(['one, two', 'o', undefined]);
      expect(headers!.headers['x-from-headers']).to.equal('h');
    });

    it('refuses an attribute set to a value of the wrong kind, at the next request, naming it', async () => {
      const cases: Array<[keyof Http, unknown, string]> = [
        ['optimisticConcurrencyMethods', 'PUT', '"PUT"'],
        ['optimisticConcurrencyMethods', ['PUT', 'not a token'], 'optimisticConcurrencyMethods'],
        ['followRedirects', 'no', '"no"'],
        ['followAllRedirects', 1, 'received 1'],
        ['forwardAuthorizationHeaders', null, 'received null'],
        ['ignoreEtag', 'false', '"false"'],
        ['retries', -1, 'received -1'],
        ['redirectCodes', 302, 'received 302'],
      ];
      for (const [attribute, value, shown] of cases) {
        const fresh = new Http();
        try {
          (fresh as unknown as Record<string, unknown>)[attribute] = value;
          await refusedBeforeSending(() => fresh.request(server.url('/'), 'PUT', 'x'), attribute, shown);
        } finally {
          await fresh.close();
        }
      }
    });

    it('refuses a wrongly typed forceExceptionToStatusCode itself, and answers other bad input with 400 when it is true', async () => {
      (http as unknown as Record<string, unknown>).forceExceptionToStatusCode = 'yes';
      await refusedBeforeSending(() => http.request(server.url('/')), 'forceExceptionToStatusCode', '"yes"');
      http.forceExceptionToStatusCode = true;
      const before = server.count();
      const [response, content] = await http.request(server.url('/'), { onProgress: 'no' as never });
      expect([response.status, server.count() - before]).to.deep.equal([400, 0]);
      expect(content.toString()).to.contain('onProgress');
    });
  });
});
