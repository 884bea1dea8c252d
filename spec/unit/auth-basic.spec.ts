import { expect } from 'chai';
import { basic, basicAuthorization } from '../../lib/auth/basic.js';
import { Response } from '../../lib/response.js';

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
      expect(() => basic.open([], { name: bad, password: 'p', domain: '' })).to.throw(/CR, LF or NUL/);
      expect(() => basic.open([], { name: 'u', password: bad, domain: '' })).to.throw(/CR, LF or NUL/);
    }
  });

  it('sends the same header every time and is rejected by a 401', () => {
    const s = basic.open([], { name: 'u', password: 'p', domain: '' })!;
    const a = s.authorize({ method: 'GET', url: new URL('http://h/'), headers: {}, body: null }, { cnonce: 'c', now: 0 });
    expect(a.headers['authorization']).to.equal(`Basic ${Buffer.from('u:p').toString('base64')}`);
    expect(s.afterResponse(new Response({ status: 401 })).kind).to.equal('rejected');
    expect(s.afterResponse(new Response({ status: 200 })).kind).to.equal('keep');
  });
});
