import { expect } from 'chai';
import { basic, basicAuthorization } from '../../lib/auth/basic.js';
import { ORIGIN_REALM } from '../../lib/auth/realm.js';
import type { Opened } from '../../lib/auth/session.js';
import { Response } from '../../lib/response.js';

const sessionOf = (opened: Opened) => {
  if (opened.kind !== 'session') throw new Error(`expected a session, got: ${opened.why}`);
  return opened.session;
};

describe('auth/basic (RFC 7617)', () => {
  it('encodes the §2 example: Aladdin / open sesame', () => {
    expect(basicAuthorization('Aladdin', 'open sesame')).to.equal('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==');
  });

  it('encodes non-ASCII credentials as UTF-8 (§2.1 example: test / 123£)', () => {
    expect(basicAuthorization('test', '123£')).to.equal('Basic dGVzdDoxMjPCow==');
  });

  it('refuses a user name containing ":" (§2: it cannot be told from the password)', () => {
    expect(() => basicAuthorization('a:b', 'p')).to.throw(/may not contain ":"/);
  });

  it('refuses credentials with CR, LF or NUL for the scheme too', () => {
    for (const bad of ['x\r', 'x\n', 'x\0']) {
      expect(() => basic.open([], { name: bad, password: 'p', domain: '' }, ORIGIN_REALM)).to.throw(/CR, LF or NUL/);
      expect(() => basic.open([], { name: 'u', password: bad, domain: '' }, ORIGIN_REALM)).to.throw(/CR, LF or NUL/);
    }
  });

  it('sends the same header every time and is rejected by a 401', () => {
    const s = sessionOf(basic.open([], { name: 'u', password: 'p', domain: '' }, ORIGIN_REALM));
    const a = s.authorize({ method: 'GET', target: '/', headers: {}, body: null }, { cnonce: 'c', now: 0 });
    expect(a['authorization']).to.equal(`Basic ${Buffer.from('u:p').toString('base64')}`);
    expect(s.afterResponse(new Response({ status: 401 })).kind).to.equal('rejected');
    expect(s.afterResponse(new Response({ status: 200 })).kind).to.equal('keep');
  });
});
