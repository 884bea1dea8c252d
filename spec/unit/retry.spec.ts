import { expect } from 'chai';
import { ConnectionError } from '../../lib/errors.js';
import { failureStage } from '../../lib/transport/classify.js';
import { shouldRetry } from '../../lib/transport/retry.js';

function undiciError(code: string, message = 'x'): Error {
  return Object.assign(new Error(message), { code });
}

const STALE = undiciError('UND_ERR_SOCKET', 'other side closed');
const RESET = undiciError('ECONNRESET');
const REFUSED = undiciError('ECONNREFUSED');

describe('retries (httplib2 RETRIES; RFC 9110 §9.2.2)', () => {
  it('counts attempts, not retries: 2 means one retry, 1 and 0 mean none', () => {
    expect(shouldRetry('GET', STALE, 0, 2)).to.equal(true);
    expect(shouldRetry('GET', STALE, 1, 2)).to.equal(false);
    expect(shouldRetry('GET', STALE, 0, 1)).to.equal(false);
    expect(shouldRetry('GET', STALE, 0, 0)).to.equal(false);
    expect(shouldRetry('GET', STALE, 3, 5)).to.equal(true);
    expect(shouldRetry('GET', STALE, 4, 5)).to.equal(false);
  });

  it('retries idempotent methods whose connection closed before the answer', () => {
    for (const method of ['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'get']) {
      expect(shouldRetry(method, STALE, 0, 2), method).to.equal(true);
      expect(shouldRetry(method, RESET, 0, 2), method).to.equal(true);
    }
  });

  it('never replays a POST, PATCH or unknown method that may have reached the server', () => {
    for (const method of ['POST', 'PATCH', 'PROPFIND']) {
      expect(shouldRetry(method, STALE, 0, 2), method).to.equal(false);
      expect(shouldRetry(method, RESET, 0, 2), method).to.equal(false);
    }
  });

  it('retries any method when the request never left (connection refused, connect timeout)', () => {
    expect(shouldRetry('POST', REFUSED, 0, 2)).to.equal(true);
    expect(shouldRetry('PATCH', undiciError('UND_ERR_CONNECT_TIMEOUT'), 0, 2)).to.equal(true);
  });

  it('never retries a malformed answer, a DNS failure or one of our own errors', () => {
    for (const e of [
      undiciError('UND_ERR_SOCKET', 'bad response'),
      undiciError('UND_ERR_HEADERS_OVERFLOW'),
      undiciError('HPE_INVALID_CONSTANT'),
      undiciError('ENOTFOUND'),
      new ConnectionError('too many 1xx'),
      new Error('no code'),
      null,
    ]) {
      expect(shouldRetry('GET', e, 0, 5), String((e as Error | null)?.message)).to.equal(false);
    }
  });

  it('failureStage reads a code carried on the cause too', () => {
    expect(failureStage(Object.assign(new Error('wrapped'), { cause: { code: 'ECONNREFUSED' } }))).to.equal('not-sent');
    expect(failureStage(STALE)).to.equal('connection-closed');
    expect(failureStage(undiciError('UND_ERR_SOCKET', 'bad response'))).to.equal('other');
  });
});
