/**
 * The error tree (lib/errors.ts: each class declares its code once; statusHint from one table) and the
 * one table from undici/Node failures to it (lib/transport/classify.ts), row by row: what a failure
 * looks like, what it becomes, how far the attempt got for the retry decision.
 */
import { expect } from 'chai';
import {
  AbortError, ConnectionError, FailedToDecompressContent, HttpLib2Error, HttpLib2ErrorWithResponse, ProxyError, RedirectLimit,
  RedirectMissingLocation, RelativeURIError, RequestTimeout, ServerNotFoundError, TlsError, UnimplementedDigestAuthOptionError,
  UnimplementedHmacDigestAuthOptionError, errorCode,
} from '../../lib/errors.js';
import { Response } from '../../lib/response.js';
import { CallbackFailure, ProxyHopFailure, classify, failureStage, type FailureStage } from '../../lib/transport/classify.js';
import { ProxyInfo } from '../../lib/transport/proxy.js';

const HOST = 'a.test:8080';
const HTTPS_PROXY = new ProxyInfo({ host: 'proxy.test', port: 3128, protocol: 'https' });

function failure(code: string | undefined, message = 'x', more: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), code === undefined ? {} : { code }, more);
}

describe('errors: each class declares its code once', () => {
  const classes = [
    [HttpLib2Error, 'ERR_HTTPLIB2'], [HttpLib2ErrorWithResponse, 'ERR_HTTPLIB2'],
    [RedirectMissingLocation, 'ERR_REDIRECT_MISSING_LOCATION'], [RedirectLimit, 'ERR_REDIRECT_LIMIT'],
    [FailedToDecompressContent, 'ERR_FAILED_TO_DECOMPRESS'], [UnimplementedDigestAuthOptionError, 'ERR_UNIMPLEMENTED_DIGEST_OPTION'],
    [UnimplementedHmacDigestAuthOptionError, 'ERR_UNIMPLEMENTED_HMAC_DIGEST_OPTION'], [RelativeURIError, 'ERR_RELATIVE_URI'],
    [ServerNotFoundError, 'ERR_SERVER_NOT_FOUND'], [RequestTimeout, 'ERR_REQUEST_TIMEOUT'], [ProxyError, 'ERR_PROXY'],
    [ConnectionError, 'ERR_CONNECTION'], [TlsError, 'ERR_TLS'], [AbortError, 'ERR_ABORTED'],
  ] as const;
  for (const [Class, code] of classes) {
    it(`${Class.name} is ${code}, with its name and the details given`, () => {
      const cause = new Error('why');
      const e = new Class('message', { cause });
      expect([Class.code, e.code, e.name, e.message, e.cause]).to.deep.equal([code, code, Class.name, 'message', cause]);
    });
  }

  it('takes another code where one is given (the base class carries several)', () => {
    expect(new HttpLib2Error('closed', { code: 'ERR_CLOSED' }).code).to.equal('ERR_CLOSED');
  });

  it('gives forceExceptionToStatusCode its status: 408 for a timeout, 500 for ERR_INTERNAL or with a response, else 400', () => {
    const response = new Response({ status: 302 });
    expect(new RequestTimeout('t').statusHint).to.equal(408);
    expect(new HttpLib2Error('bug', { code: 'ERR_INTERNAL' }).statusHint).to.equal(500);
    expect(new RedirectLimit('r', { response }).statusHint).to.equal(500);
    expect(new ConnectionError('c').statusHint).to.equal(400);
  });

  it('errorCode: ours carry their code; anything else is ERR_INTERNAL', () => {
    expect(errorCode(new TlsError('t'))).to.equal('ERR_TLS');
    expect(errorCode(new TypeError('t'))).to.equal('ERR_INTERNAL');
    expect(errorCode('thrown text')).to.equal('ERR_INTERNAL');
  });
});

describe('the failure table (transport/classify.ts)', () => {
  const rows: ReadonlyArray<readonly [string, unknown, ProxyInfo | null, Function, string, FailureStage]> = [
    ['a refused connection', failure('ECONNREFUSED', 'connect ECONNREFUSED'), null, ConnectionError, 'ERR_CONNECTION', 'not-sent'],
    ['a refused connection through a proxy', failure('ECONNREFUSED', 'connect ECONNREFUSED'), HTTPS_PROXY, ProxyError, 'ERR_PROXY', 'not-sent'],
    ['a connect timeout through a proxy', failure('UND_ERR_CONNECT_TIMEOUT'), HTTPS_PROXY, ProxyError, 'ERR_PROXY', 'not-sent'],
    ['a reset connection', failure('ECONNRESET'), null, ConnectionError, 'ERR_CONNECTION', 'connection-closed'],
    ['a keep-alive socket the peer closed', failure('UND_ERR_SOCKET', 'other side closed'), null, ConnectionError, 'ERR_CONNECTION', 'connection-closed'],
    ['garbage on the socket', failure('UND_ERR_SOCKET', 'bad response'), null, ConnectionError, 'ERR_CONNECTION', 'other'],
    ['a code carried on the cause', failure(undefined, 'fetch failed', { cause: { code: 'ECONNREFUSED' } }), null, ConnectionError, 'ERR_CONNECTION', 'not-sent'],
    ['a name that does not resolve', failure('ENOTFOUND'), null, ServerNotFoundError, 'ERR_SERVER_NOT_FOUND', 'other'],
    ["undici's headers timer", failure('UND_ERR_HEADERS_TIMEOUT'), null, RequestTimeout, 'ERR_REQUEST_TIMEOUT', 'other'],
    ["undici's body timer", failure('UND_ERR_BODY_TIMEOUT'), null, RequestTimeout, 'ERR_REQUEST_TIMEOUT', 'other'],
    ['an untrusted certificate', failure('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), null, TlsError, 'ERR_TLS', 'other'],
    ['a wrong-name certificate', failure('ERR_TLS_CERT_ALTNAME_INVALID'), null, TlsError, 'ERR_TLS', 'other'],
    ['a header section too large', failure('UND_ERR_HEADERS_OVERFLOW'), null, ConnectionError, 'ERR_CONNECTION', 'other'],
    ['a malformed answer', failure('HPE_INVALID_CONSTANT'), null, ConnectionError, 'ERR_CONNECTION', 'other'],
    ['a parse error without a code', failure(undefined, 'bad chunk', { name: 'HTTPParserError' }), null, ConnectionError, 'ERR_CONNECTION', 'other'],
    ['another system call failing', failure('EPROTO', 'wrong version number', { syscall: 'write' }), null, ConnectionError, 'ERR_CONNECTION', 'other'],
    ["undici's own retry giving up", failure('UND_ERR_REQ_RETRY'), null, ConnectionError, 'ERR_CONNECTION', 'other'],
    ['an argument undici refuses', failure('UND_ERR_INVALID_ARG', 'invalid header'), null, HttpLib2Error, 'ERR_INVALID_REQUEST', 'other'],
    ['a Content-Length that is not the body', failure('UND_ERR_REQ_CONTENT_LENGTH_MISMATCH'), null, HttpLib2Error, 'ERR_INVALID_REQUEST', 'other'],
    ["undici's abort", failure('UND_ERR_ABORTED'), null, AbortError, 'ERR_ABORTED', 'other'],
    ["a signal's abort", failure(undefined, 'aborted', { name: 'AbortError' }), null, AbortError, 'ERR_ABORTED', 'other'],
    ['a TypeError (a bug)', new TypeError("Cannot read properties of undefined (reading 'x')"), null, HttpLib2Error, 'ERR_INTERNAL', 'other'],
    ['an undici misuse', failure('UND_ERR_INVALID_RETURN_VALUE'), null, HttpLib2Error, 'ERR_INTERNAL', 'other'],
    ['a thrown string', 'oops', null, HttpLib2Error, 'ERR_INTERNAL', 'other'],
  ];
  for (const [what, error, proxy, Class, code, stage] of rows) {
    it(`${what} → ${Class.name} ${code}, stage ${stage}`, () => {
      const e = classify(error, { host: HOST, proxy }) as HttpLib2Error;
      expect(e).to.be.instanceOf(Class);
      expect(e.code).to.equal(code);
      expect(e.cause).to.equal(error);
      expect(failureStage(error)).to.equal(stage);
    });
  }

  it('names the host or the proxy in its messages', () => {
    expect((classify(failure('ECONNRESET', 'read ECONNRESET'), { host: HOST, proxy: null }) as Error).message).to.equal(`Connection to ${HOST} failed: read ECONNRESET`);
    expect((classify(failure('ECONNREFUSED', 'refused'), { host: HOST, proxy: HTTPS_PROXY }) as Error).message).to.equal('Could not reach the https proxy proxy.test:3128: refused');
    expect((classify(new TypeError('bug'), { host: HOST, proxy: null }) as Error).message).to.equal(`Internal error during the request to ${HOST}: bug`);
  });

  it('passes our own errors and the caller\'s callback failures through untouched, and never retries them', () => {
    const ours = new ProxyError('refused (403)');
    const callback = new CallbackFailure(new Error('stop'));
    expect(classify(ours, { host: HOST, proxy: null })).to.equal(ours);
    expect(classify(callback, { host: HOST, proxy: null })).to.equal(callback);
    expect(failureStage(new ConnectionError('c', { cause: failure('ECONNREFUSED') }))).to.equal('other');
    expect(failureStage(callback)).to.equal('other');
  });

  it("makes a TLS failure on an https proxy's own connection the proxy's, and classifies its other failures as the proxy's", () => {
    const tls = classify(new ProxyHopFailure(failure('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed'), HTTPS_PROXY), { host: HOST, proxy: null });
    expect(tls).to.be.instanceOf(ProxyError);
    expect((tls as Error).message).to.equal('TLS to the https proxy proxy.test:3128 failed: self-signed');
    const refused = classify(new ProxyHopFailure(failure('ECONNREFUSED'), HTTPS_PROXY), { host: HOST, proxy: null });
    expect(refused).to.be.instanceOf(ProxyError);
  });
});
