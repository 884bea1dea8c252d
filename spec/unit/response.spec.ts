/**
 * lib/response.ts withHead: a layer answers with a response of its own instead of writing into the
 * one it received (#10).
 */
import { expect } from 'chai';
import { Response, withHead } from '../../lib/response.js';

describe('withHead (responses are values)', () => {
  const original = (): Response =>
    new Response({ status: 200, reason: 'OK', version: 11, headers: { 'content-type': 'text/plain', 'content-encoding': 'gzip' }, cacheStatus: ['stored: max-age=60'] });

  it('returns a new response with the change, and never changes the one it was given', () => {
    const given = original();
    const previous = new Response({ status: 301 });
    const changed = withHead(given, { set: { 'content-location': 'http://a.test/', '-content-encoding': 'gzip' }, remove: ['content-encoding'], previous });
    expect(changed).not.to.equal(given);
    expect([...changed]).to.deep.equal([['content-type', 'text/plain'], ['content-location', 'http://a.test/'], ['-content-encoding', 'gzip']]);
    expect(changed.previous).to.equal(previous);
    expect([...given]).to.deep.equal([['content-type', 'text/plain'], ['content-encoding', 'gzip']]);
    expect(given.previous).to.equal(null);
  });

  it('keeps what the change does not name: status, reason, version, fromcache, previous, cacheStatus', () => {
    const given = original();
    const copy = withHead(given, {});
    expect([copy.status, copy.reason, copy.version, copy.fromcache, copy.previous, copy.cacheStatus])
      .to.deep.equal([200, 'OK', 11, false, null, ['stored: max-age=60']]);
    expect(copy.cacheStatus).not.to.equal(given.cacheStatus);
  });

  it('changes the head fields it names', () => {
    const changed = withHead(original(), { status: 206, reason: 'Partial Content', fromcache: true, cacheStatus: ['fresh'] });
    expect([changed.status, changed.reason, changed.fromcache, changed.cacheStatus, changed.get('status')])
      .to.deep.equal([206, 'Partial Content', true, ['fresh'], '206']);
  });
});
