import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { parseChallenges } from '../../lib/auth/challenge.js';
import { ORIGIN_REALM } from '../../lib/auth/realm.js';
import { isoSeconds, wsse, wssePasswordDigest, wsseToken } from '../../lib/auth/wsse.js';

describe('auth/wsse (UsernameToken)', () => {
  const req = { method: 'POST', target: '/feed', headers: {}, body: null };

  it('PasswordDigest is Base64(SHA-1(nonce + created + password))', () => {
    const expected = createHash('sha1').update('abc2003-12-15T14:43:07Zsecret').digest('base64');
    expect(wssePasswordDigest('abc', '2003-12-15T14:43:07Z', 'secret')).to.equal(expected);
  });

  it('formats Created as UTC seconds', () => {
    expect(isoSeconds(Date.UTC(2003, 11, 15, 14, 43, 7, 999))).to.equal('2003-12-15T14:43:07Z');
  });

  it('sends Authorization: WSSE profile="UsernameToken" and the X-WSSE token', () => {
    const now = Date.UTC(2024, 0, 2, 3, 4, 5);
    const opened = wsse.open(parseChallenges('WSSE realm="atom", profile="UsernameToken"'), { name: 'joe', password: 'pw', domain: '' }, ORIGIN_REALM);
    if (opened.kind !== 'session') throw new Error('expected a session');
    const headers = opened.session.authorize(req, { cnonce: 'n0nce0123456789abc', now });
    expect(headers['authorization']).to.equal('WSSE profile="UsernameToken"');
    const digest = createHash('sha1').update('n0nce0123456789abc2024-01-02T03:04:05Zpw').digest('base64');
    expect(headers['x-wsse']).to.equal(
      `UsernameToken Username="joe", PasswordDigest="${digest}", Nonce="n0nce0123456789abc", Created="2024-01-02T03:04:05Z"`,
    );
  });

  it('escapes " and \\ in the user name', () => {
    expect(wsseToken('a"b\\', 'p', 'n', 'c')).to.contain('Username="a\\"b\\\\"');
  });

  it('answers only the UsernameToken profile', () => {
    expect(wsse.open(parseChallenges('WSSE profile="Other"'), { name: 'u', password: 'p', domain: '' }, ORIGIN_REALM)).to.deep.equal({ kind: 'cannot', why: 'profile' });
  });

  it('refuses credentials with CR, LF or NUL', () => {
    const challenges = parseChallenges('WSSE profile="UsernameToken"');
    expect(() => wsse.open(challenges, { name: 'u', password: 'p\r\nX-Evil: 1', domain: '' }, ORIGIN_REALM)).to.throw(/CR, LF or NUL/);
  });
});
