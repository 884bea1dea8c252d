import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { parseChallenges } from '../../lib/auth/challenge.js';
import { chooseDigest, digest, digestAuthorization, digestResponse, type DigestChallenge } from '../../lib/auth/digest.js';
import { ORIGIN_REALM } from '../../lib/auth/realm.js';
import type { Opened } from '../../lib/auth/session.js';
import { UnimplementedDigestAuthOptionError } from '../../lib/errors.js';
import { Response } from '../../lib/response.js';

// RFC 7616 §3.9.1: the worked example.
const RFC_NONCE = '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v';
const RFC_OPAQUE = 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS';
const RFC_CNONCE = 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ';
const rfcChallenge = (algorithm: string) =>
  `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=${algorithm}, nonce="${RFC_NONCE}", opaque="${RFC_OPAQUE}"`;
const rfcInput = { name: 'Mufasa', password: 'Circle of Life', method: 'GET', uri: '/dir/index.html', body: null, cnonce: RFC_CNONCE, nc: 1 };
const rfcAuthorization = (algorithm: string, response: string) =>
  `Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=${algorithm}, ` +
  `nonce="${RFC_NONCE}", nc=00000001, cnonce="${RFC_CNONCE}", qop=auth, response="${response}", opaque="${RFC_OPAQUE}"`;

const H = (alg: string, s: string | Buffer) => createHash(alg).update(s).digest('hex');
const credential = { name: 'Mufasa', password: 'Circle of Life', domain: '' };
const sessionOf = (opened: Opened) => {
  if (opened.kind !== 'session') throw new Error(`expected a session, got: ${opened.why}`);
  return opened.session;
};

function challenge(overrides: Partial<DigestChallenge> = {}): DigestChallenge {
  return {
    realm: 'r', nonce: 'n', opaque: null, qop: 'auth', userhash: false,
    algorithm: { name: 'MD5', hash: 'md5', session: false },
    ...overrides,
  };
}

describe('auth/digest (RFC 7616)', () => {
  describe('§3.9.1 worked example, byte for byte', () => {
    it('MD5: response 8ca523f5e9506fed4657c9700eebdbec', () => {
      const c = chooseDigest(parseChallenges(rfcChallenge('MD5')))!;
      expect(digestAuthorization(c, rfcInput)).to.equal(rfcAuthorization('MD5', '8ca523f5e9506fed4657c9700eebdbec'));
    });

    it('SHA-256: response 753927fa…856cb6c1', () => {
      const c = chooseDigest(parseChallenges(rfcChallenge('SHA-256')))!;
      expect(digestAuthorization(c, rfcInput)).to.equal(
        rfcAuthorization('SHA-256', '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1'),
      );
    });
  });

  describe('choosing among the challenges offered (§3.7: the strongest algorithm)', () => {
    it('prefers SHA-256 to MD5 whatever the order, and SHA-512-256 to both', () => {
      const two = parseChallenges(`${rfcChallenge('MD5')}, ${rfcChallenge('SHA-256')}`);
      expect(chooseDigest(two)!.algorithm.name).to.equal('SHA-256');
      const three = parseChallenges(`${rfcChallenge('MD5')}, ${rfcChallenge('SHA-512-256-sess')}, ${rfcChallenge('SHA-256')}`);
      expect(chooseDigest(three)!.algorithm.name).to.equal('SHA-512-256-sess');
    });

    it('assumes MD5 when no algorithm is named, and reads algorithm names case-insensitively', () => {
      expect(chooseDigest(parseChallenges('Digest realm="r", nonce="n", qop="auth"'))!.algorithm.name).to.equal('MD5');
      expect(chooseDigest(parseChallenges('Digest realm="r", nonce="n", algorithm=sha-256'))!.algorithm.name).to.equal('SHA-256');
    });

    it('uses qop=auth when offered, auth-int only when it is the only one, none when none is offered', () => {
      expect(chooseDigest(parseChallenges('Digest nonce="n", qop="auth-int,auth"'))!.qop).to.equal('auth');
      expect(chooseDigest(parseChallenges('Digest nonce="n", qop="auth-int"'))!.qop).to.equal('auth-int');
      expect(chooseDigest(parseChallenges('Digest nonce="n"'))!.qop).to.equal(null);
    });

    it('skips an unsupported algorithm when a supported one is offered too', () => {
      const c = chooseDigest(parseChallenges('Digest nonce="a", algorithm=SHA3-512, Digest nonce="b", algorithm=MD5'))!;
      expect(c.nonce).to.equal('b');
    });

    it('throws UnimplementedDigestAuthOptionError for an algorithm or qop it cannot do', () => {
      expect(() => chooseDigest(parseChallenges('Digest nonce="n", algorithm=SHA3-512'))).to.throw(UnimplementedDigestAuthOptionError);
      expect(() => chooseDigest(parseChallenges('Digest nonce="n", qop="auth-conf"'))).to.throw(UnimplementedDigestAuthOptionError);
    });

    it('cannot answer a challenge without a nonce', () => {
      expect(chooseDigest(parseChallenges('Digest realm="r", qop="auth"'))).to.equal(null);
      expect(digest.open(parseChallenges('Digest realm="r"'), credential, ORIGIN_REALM)).to.deep.equal({ kind: 'cannot', why: 'no-nonce' });
    });
  });

  describe('response computations, checked against an independent computation', () => {
    const input = { name: 'u', password: 'p', method: 'PUT', uri: '/a?b=c', body: Buffer.from('entity'), cnonce: 'cn', nc: 7 };

    it('qop=auth-int hashes the entity body into A2 (§3.4.3)', () => {
      const ha1 = H('md5', 'u:r:p');
      const ha2 = H('md5', `PUT:/a?b=c:${H('md5', 'entity')}`);
      expect(digestResponse(challenge({ qop: 'auth-int' }), input)).to.equal(H('md5', `${ha1}:n:00000007:cn:auth-int:${ha2}`));
    });

    it('-sess binds A1 to the nonce and cnonce (§3.4.2)', () => {
      const alg = { name: 'SHA-256-sess', hash: 'sha256', session: true } as const;
      const ha1 = H('sha256', `${H('sha256', 'u:r:p')}:n:cn`);
      const ha2 = H('sha256', 'PUT:/a?b=c');
      expect(digestResponse(challenge({ algorithm: alg }), input)).to.equal(H('sha256', `${ha1}:n:00000007:cn:auth:${ha2}`));
    });

    it('SHA-512-256 is SHA-512/256 (§3.3)', () => {
      const alg = { name: 'SHA-512-256', hash: 'sha512-256', session: false } as const;
      const h = (s: string) => H('sha512-256', s);
      expect(digestResponse(challenge({ algorithm: alg }), input)).to.equal(h(`${h('u:r:p')}:n:00000007:cn:auth:${h('PUT:/a?b=c')}`));
    });

    it('without qop, answers as RFC 2069 did (no nc, no cnonce)', () => {
      const c = challenge({ qop: null });
      expect(digestResponse(c, input)).to.equal(H('md5', `${H('md5', 'u:r:p')}:n:${H('md5', 'PUT:/a?b=c')}`));
      expect(digestAuthorization(c, input)).to.not.match(/nc=|cnonce=|qop=/);
    });

    it('hashes a non-ASCII password as UTF-8 (§4)', () => {
      const c = challenge();
      const ha1 = H('md5', Buffer.from('u:r:pässwörd', 'utf8'));
      expect(digestResponse(c, { ...input, password: 'pässwörd' })).to.equal(H('md5', `${ha1}:n:00000007:cn:auth:${H('md5', 'PUT:/a?b=c')}`));
    });
  });

  describe('the Authorization header', () => {
    const input = { name: 'u', password: 'p', method: 'GET', uri: '/', body: null, cnonce: 'cn', nc: 1 };

    it('escapes " and \\ in the user name (a quoted-string, RFC 9110 §5.6.4)', () => {
      const header = digestAuthorization(challenge(), { ...input, name: 'a"b\\c' });
      expect(header).to.contain('username="a\\"b\\\\c"');
      expect(parseChallenges(header)[0]!.params.get('username')).to.equal('a"b\\c');
    });

    it('sends userhash=true and H(user:realm) in place of the name (§3.4.4)', () => {
      const header = digestAuthorization(challenge({ userhash: true, realm: 'realm' }), input);
      expect(header).to.contain(`username="${H('md5', 'u:realm')}"`);
      expect(header).to.match(/, userhash=true$/);
    });

    it('sends a non-ASCII user name as username* (§3.4.4, RFC 8187)', () => {
      const header = digestAuthorization(challenge(), { ...input, name: 'Jäsøn Doe' });
      expect(header).to.contain("username*=UTF-8''J%C3%A4s%C3%B8n%20Doe");
    });

    it('echoes opaque and formats the nonce count as 8 hex digits', () => {
      const header = digestAuthorization(challenge({ opaque: 'op"q' }), { ...input, nc: 255 });
      expect(header).to.contain('nc=000000ff');
      expect(header).to.contain('opaque="op\\"q"');
    });
  });

  describe('sessions', () => {
    // The request-target of http://h.test/dir/x?y, as sent to the origin.
    const req = { method: 'GET', target: '/dir/x?y', headers: {}, body: null };
    const open = (value: string) => sessionOf(digest.open(parseChallenges(value), credential, ORIGIN_REALM));
    const ncOf = (header: string | undefined) => /nc=([0-9a-f]{8})/.exec(header ?? '')![1];

    it('counts nonces up with each authorization and signs the request-target', () => {
      const session = open('Digest realm="r", nonce="n", qop="auth"');
      const first = session.authorize(req, { cnonce: 'c1', now: 0 });
      const second = session.authorize(req, { cnonce: 'c2', now: 0 });
      expect(ncOf(first['authorization'])).to.equal('00000001');
      expect(ncOf(second['authorization'])).to.equal('00000002');
      expect(second['authorization']).to.contain('uri="/dir/x?y"');
    });

    it('stale=true renews on the new nonce, counting from 1 again (§3.3)', () => {
      const used = open('Digest realm="r", nonce="old", qop="auth"');
      used.authorize(req, { cnonce: 'c', now: 0 });
      const stale = new Response({ status: 401, headers: { 'www-authenticate': 'Digest realm="r", nonce="new", qop="auth", stale=TRUE' } });
      const after = used.afterResponse(stale);
      expect(after.kind).to.equal('renew');
      const header = (after as { session: typeof used }).session.authorize(req, { cnonce: 'c', now: 0 })['authorization'];
      expect(header).to.contain('nonce="new"');
      expect(ncOf(header)).to.equal('00000001');
    });

    it('a 401 without stale=true means the credentials were refused', () => {
      const s = open('Digest realm="r", nonce="n", qop="auth"');
      const denied = new Response({ status: 401, headers: { 'www-authenticate': 'Digest realm="r", nonce="n2", qop="auth"' } });
      expect(s.afterResponse(denied).kind).to.equal('rejected');
    });

    it('takes nextnonce from Authentication-Info (§3.5)', () => {
      const s = open('Digest realm="r", nonce="n", qop="auth"');
      const ok = new Response({ status: 200, headers: { 'authentication-info': 'nextnonce="n2", qop=auth' } });
      const after = s.afterResponse(ok);
      expect(after.kind).to.equal('keep');
      const header = (after as { session: typeof s }).session.authorize(req, { cnonce: 'c', now: 0 })['authorization'];
      expect(header).to.contain('nonce="n2"');
      expect(ncOf(header)).to.equal('00000001');
    });

    it('refuses credentials with CR, LF or NUL', () => {
      for (const bad of ['a\rb', 'a\nb', 'a\0b']) {
        expect(() => digest.open(parseChallenges('Digest nonce="n"'), { name: bad, password: 'p', domain: '' }, ORIGIN_REALM)).to.throw(/CR, LF or NUL/);
        expect(() => digest.open(parseChallenges('Digest nonce="n"'), { name: 'u', password: bad, domain: '' }, ORIGIN_REALM)).to.throw(/CR, LF or NUL/);
      }
    });
  });
});
