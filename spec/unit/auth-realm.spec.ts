import { expect } from 'chai';
import { basic } from '../../lib/auth/basic.js';
import { parseChallenges } from '../../lib/auth/challenge.js';
import { digest } from '../../lib/auth/digest.js';
import { ORIGIN_REALM, PROXY_REALM, type Realm } from '../../lib/auth/realm.js';
import { strongestOffered, upfrontSession } from '../../lib/auth/registry.js';
import type { AuthSession, Opened, SignedRequest } from '../../lib/auth/session.js';
import { Response } from '../../lib/response.js';

const credential = { name: 'Mufasa', password: 'Circle of Life', domain: '' };
const req: SignedRequest = { method: 'GET', target: 'http://origin.test/dir/', headers: {}, body: null };
const entropy = { cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ', now: 0 };
const answer = (status: number, headers: Record<string, string> = {}) => new Response({ status, headers });
const ncOf = (value: string | undefined) => /nc=([0-9a-f]{8})/.exec(value ?? '')?.[1];
const nonceOf = (value: string | undefined) => /nonce="([^"]*)"/.exec(value ?? '')?.[1];

function sessionOf(opened: Opened): AuthSession {
  if (opened.kind !== 'session') throw new Error(`expected a session, got: ${opened.why}`);
  return opened.session;
}

const openDigest = (realm: Realm, nonce = 'n1') => sessionOf(digest.open(parseChallenges(`Digest realm="r", nonce="${nonce}", qop="auth"`), credential, realm));

// RFC 9110 §11.6 and §11.7: one framework, the proxy's fields named Proxy-*, its status 407.
describe('auth realms: the origin (401) and the proxy (407) through the same schemes', () => {
  describe('a Digest session for a proxy', () => {
    it('sends Proxy-Authorization, never Authorization', () => {
      const fields = openDigest(PROXY_REALM).authorize(req, entropy);
      expect(Object.keys(fields)).to.deep.equal(['proxy-authorization']);
      expect(fields['proxy-authorization']).to.match(/^Digest username="Mufasa", realm="r", uri="http:\/\/origin.test\/dir\/"/);
    });

    it('renews on a 407 whose Proxy-Authenticate says stale=true (RFC 7616 §3.3), not on a 401', () => {
      const session = openDigest(PROXY_REALM);
      const stale = 'Digest realm="r", nonce="n2", qop="auth", stale=true';
      expect(session.afterResponse(answer(407, { 'proxy-authenticate': stale })).kind).to.equal('renew');
      expect(session.afterResponse(answer(407, { 'www-authenticate': stale })).kind).to.equal('rejected');
      // A 401 through the proxy is the origin's answer: the proxy accepted the credentials.
      expect(session.afterResponse(answer(401, { 'www-authenticate': stale })).kind).to.equal('keep');
    });

    it('takes a nextnonce from Proxy-Authentication-Info only (RFC 7616 §3.5)', () => {
      const session = openDigest(PROXY_REALM);
      const fromInfo = session.afterResponse(answer(200, { 'proxy-authentication-info': 'nextnonce="fresh"' }));
      expect(fromInfo.kind === 'keep' && nonceOf(fromInfo.session.authorize(req, entropy)['proxy-authorization'])).to.equal('fresh');
      const fromOrigin = session.afterResponse(answer(200, { 'authentication-info': 'nextnonce="origin-said"' }));
      expect(fromOrigin).to.deep.equal({ kind: 'keep', session });
    });
  });

  it('a Basic session is refused by its own realm\'s status only', () => {
    const proxy = sessionOf(basic.open([], credential, PROXY_REALM));
    const origin = sessionOf(basic.open([], credential, ORIGIN_REALM));
    expect([proxy.afterResponse(answer(407)).kind, proxy.afterResponse(answer(401)).kind]).to.deep.equal(['rejected', 'keep']);
    expect([origin.afterResponse(answer(401)).kind, origin.afterResponse(answer(407)).kind]).to.deep.equal(['rejected', 'keep']);
    expect(Object.keys(proxy.authorize(req, entropy))).to.deep.equal(['proxy-authorization']);
  });

  describe('one nonce counter per Digest session (RFC 7616 §3.4)', () => {
    it('every authorization takes the next count, interleaved or not, and a renewed nonce counts from 1 alone', () => {
      const session = openDigest(ORIGIN_REALM);
      const counts = [1, 2, 3].map(() => ncOf(session.authorize({ ...req, target: '/' }, entropy)['authorization']));
      expect(counts).to.deep.equal(['00000001', '00000002', '00000003']);
      const after = session.afterResponse(answer(401, { 'www-authenticate': 'Digest realm="r", nonce="n2", qop="auth", stale=true' }));
      if (after.kind !== 'renew') throw new Error('expected a renewal');
      expect(ncOf(after.session.authorize(req, entropy)['authorization'])).to.equal('00000001');
      expect(ncOf(session.authorize(req, entropy)['authorization'])).to.equal('00000004');
    });
  });

  describe('the registry', () => {
    const all = parseChallenges('Basic realm="b", WSSE profile="UsernameToken", HMACDigest realm="h", snonce="s", Digest realm="d", nonce="n"');

    it('offers the strongest scheme of the realm: HMACDigest to an origin, Digest to a proxy', () => {
      expect(strongestOffered(all, ORIGIN_REALM)?.scheme.name).to.equal('hmacdigest');
      expect(strongestOffered(all, PROXY_REALM)?.scheme.name).to.equal('digest');
      expect(strongestOffered(parseChallenges('WSSE profile="UsernameToken", Negotiate'), PROXY_REALM)).to.equal(null);
      expect(strongestOffered(parseChallenges('Negotiate, NTLM'), ORIGIN_REALM)).to.equal(null);
    });

    it('sends Basic up front to a proxy only, and never for a user-id containing ":" (RFC 7617 §2)', () => {
      const upfront = upfrontSession(PROXY_REALM, credential);
      expect(upfront?.authorize(req, entropy)).to.deep.equal({ 'proxy-authorization': `Basic ${Buffer.from('Mufasa:Circle of Life').toString('base64')}` });
      expect(upfrontSession(ORIGIN_REALM, credential)).to.equal(null);
      expect(upfrontSession(PROXY_REALM, { name: 'a:b', password: 'p', domain: '' })).to.equal(null);
      expect(upfrontSession(PROXY_REALM, null)).to.equal(null);
    });
  });
});
