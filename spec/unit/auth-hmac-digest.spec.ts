import { expect } from 'chai';
import { createHash, createHmac } from 'node:crypto';
import { parseChallenges } from '../../lib/auth/challenge.js';
import { hmacDigest, hmacDigestAuthorization, readHmacDigestChallenge } from '../../lib/auth/hmac-digest.js';
import { ORIGIN_REALM } from '../../lib/auth/realm.js';
import { UnimplementedHmacDigestAuthOptionError } from '../../lib/errors.js';
import { Response } from '../../lib/response.js';

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const credential = { name: 'joe', password: 'secret', domain: '' };

describe('auth/hmac-digest (httplib2 HMACDigest)', () => {
  const req = {
    method: 'GET',
    target: '/x?y=1', // the request-target of http://h.test/x?y=1
    headers: { 'user-agent': 'ua', accept: 'text/plain', connection: 'keep-alive' },
    body: null,
  };
  const entropy = { cnonce: 'cnonce0123456789', now: Date.UTC(2020, 0, 1) };

  it('signs method, URI, both nonces and the end-to-end headers with the derived key', () => {
    const c = readHmacDigestChallenge(parseChallenges('HMACDigest realm="r", snonce="sn", salt="NaCl"')[0]!);
    const header = hmacDigestAuthorization(c, credential, req, entropy);
    const key = sha1(`joe:${sha1('secretNaCl')}:r`);
    const expected = createHmac('sha1', key).update('GET:/x?y=1:cnonce0123456789:sn:text/plainua').digest('hex');
    expect(header).to.equal(
      `HMACDigest username="joe", realm="r", snonce="sn", cnonce="cnonce0123456789", uri="/x?y=1", ` +
        `created="2020-01-01T00:00:00Z", response="${expected}", headers="accept user-agent "`,
    );
  });

  it('uses MD5 for HMAC-MD5 and pw-algorithm=MD5', () => {
    const c = readHmacDigestChallenge(parseChallenges('HMACDigest realm="r", snonce="sn", algorithm="HMAC-MD5", pw-algorithm="MD5"')[0]!);
    const key = md5(`joe:${md5('secret')}:r`);
    const expected = createHmac('md5', key).update('GET:/x?y=1:cnonce0123456789:sn:text/plainua').digest('hex');
    expect(hmacDigestAuthorization(c, credential, req, entropy)).to.contain(`response="${expected}"`);
  });

  for (const [what, value] of [
    ['no snonce', 'HMACDigest realm="r"'],
    ['an unknown algorithm', 'HMACDigest realm="r", snonce="s", algorithm="HMAC-SHA-256"'],
    ['an unknown pw-algorithm', 'HMACDigest realm="r", snonce="s", pw-algorithm="SHA-256"'],
  ]) {
    it(`throws UnimplementedHmacDigestAuthOptionError for ${what}`, () => {
      expect(() => hmacDigest.open(parseChallenges(value!), credential, ORIGIN_REALM)).to.throw(UnimplementedHmacDigestAuthOptionError);
    });
  }

  it('renews on reason="stale" or "integrity" and is rejected otherwise', () => {
    const opened = hmacDigest.open(parseChallenges('HMACDigest realm="r", snonce="s1"'), credential, ORIGIN_REALM);
    if (opened.kind !== 'session') throw new Error('expected a session');
    const s = opened.session;
    const stale = new Response({ status: 401, headers: { 'www-authenticate': 'HMACDigest realm="r", snonce="s2", reason="stale"' } });
    const after = s.afterResponse(stale);
    expect(after.kind).to.equal('renew');
    const header = (after as { session: typeof s }).session.authorize(req, entropy)['authorization'];
    expect(header).to.contain('snonce="s2"');
    const denied = new Response({ status: 401, headers: { 'www-authenticate': 'HMACDigest realm="r", snonce="s3"' } });
    expect(s.afterResponse(denied).kind).to.equal('rejected');
  });
});
