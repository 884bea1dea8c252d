import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  acceptedProxySession,
  answerProxyChallenge,
  initialProxySession,
  preemptiveAuthorization,
  type ProxyAuthorization,
  type ProxyChallengeAnswer,
  type ProxySession,
  type ProxyTarget,
} from '../../lib/transport/proxy-auth.js';

const creds = { user: 'Mufasa', password: 'Circle of Life' };
const CNONCE = 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ';
const NONCE = '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v';
const OPAQUE = 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS';
const digestChallenge = (extra = '', algorithm = 'MD5', nonce = NONCE) =>
  `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=${algorithm}, nonce="${nonce}", opaque="${OPAQUE}"${extra}`;
const get: ProxyTarget = { method: 'GET', uri: '/dir/index.html', body: null };
const connect: ProxyTarget = { method: 'CONNECT', uri: 'origin.test:443', body: null };
const basicValue = `Basic ${Buffer.from('Mufasa:Circle of Life').toString('base64')}`;

const sentUpFront = (session: ProxySession = { scheme: 'basic' }, target = get): ProxyAuthorization =>
  preemptiveAuthorization(session, creds, target, CNONCE);

function answered(decision: ProxyChallengeAnswer): ProxyAuthorization {
  if (decision.kind !== 'answer') throw new Error(`expected an answer, got: ${decision.reason}`);
  return decision.authorization;
}

function refusal(decision: ProxyChallengeAnswer): string {
  if (decision.kind !== 'refuse') throw new Error('expected a refusal');
  return decision.reason;
}

const param = (value: string | null, name: string) => new RegExp(`${name}="?([^",]*)"?`).exec(value ?? '')?.[1];

describe('proxy-auth (RFC 9110 §11.7, RFC 7616 for a proxy)', () => {
  describe('what is sent up front', () => {
    it('Basic from the ProxyInfo credentials, as httplib2 sends it', () => {
      expect(initialProxySession(creds)).to.deep.equal({ scheme: 'basic' });
      expect(sentUpFront().value).to.equal(basicValue);
    });

    it('nothing without credentials, or with a user-id containing ":" (RFC 7617 §2)', () => {
      expect(initialProxySession(null)).to.deep.equal({ scheme: 'none' });
      expect(initialProxySession({ user: 'a:b', password: 'p' })).to.deep.equal({ scheme: 'none' });
      expect(preemptiveAuthorization({ scheme: 'none' }, creds, get, CNONCE).value).to.equal(null);
      expect(preemptiveAuthorization({ scheme: 'basic' }, null, get, CNONCE).value).to.equal(null);
    });

    it('a remembered Digest session with the next nonce count (RFC 7616 §3.4: nc goes up)', () => {
      const first = answered(answerProxyChallenge(digestChallenge(), sentUpFront(), creds, get, CNONCE));
      const second = preemptiveAuthorization(first.session, creds, get, CNONCE);
      const third = preemptiveAuthorization(second.session, creds, get, CNONCE);
      expect([first, second, third].map((a) => param(a.value, 'nc'))).to.deep.equal(['00000001', '00000002', '00000003']);
      expect(third.round).to.equal('preemptive');
    });
  });

  describe('answering a 407', () => {
    it('Digest, byte for byte as the RFC 7616 §3.9.1 example (MD5 and SHA-256)', () => {
      const md5 = answered(answerProxyChallenge(digestChallenge(), sentUpFront(), creds, get, CNONCE));
      expect(param(md5.value, 'response')).to.equal('8ca523f5e9506fed4657c9700eebdbec');
      const sha = answered(answerProxyChallenge(digestChallenge('', 'SHA-256'), sentUpFront(), creds, get, CNONCE));
      expect(param(sha.value, 'response')).to.equal('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
      expect(md5.round).to.equal('answer');
    });

    it('on CONNECT: method CONNECT and uri = the authority-form target (RFC 7616 §3.4.6, RFC 9110 §9.3.6)', () => {
      const a = answered(answerProxyChallenge(digestChallenge(), sentUpFront(undefined, connect), creds, connect, CNONCE));
      const H = (s: string) => createHash('md5').update(s).digest('hex');
      const expected = H(`${H('Mufasa:http-auth@example.org:Circle of Life')}:${NONCE}:00000001:${CNONCE}:auth:${H('CONNECT:origin.test:443')}`);
      expect(param(a.value, 'uri')).to.equal('origin.test:443');
      expect(param(a.value, 'response')).to.equal(expected);
    });

    it('prefers Digest when Basic is offered too, whatever the order', () => {
      const a = answered(answerProxyChallenge(`Basic realm="p", ${digestChallenge()}`, sentUpFront(), creds, get, CNONCE));
      expect(a.value).to.match(/^Digest /);
      expect(a.session.scheme).to.equal('digest');
    });

    it('Basic once more when the up-front Basic was refused, then no more', () => {
      const a = answered(answerProxyChallenge('Basic realm="p"', sentUpFront(), creds, get, CNONCE));
      expect([a.value, a.round]).to.deep.equal([basicValue, 'answer']);
      expect(refusal(answerProxyChallenge('Basic realm="p"', a, creds, get, CNONCE))).to.equal('refused the credentials (407)');
    });

    it('a refused up-front Digest session: the fresh challenge is answered from nc 1', () => {
      const first = answered(answerProxyChallenge(digestChallenge(), sentUpFront(), creds, get, CNONCE));
      const upFront = preemptiveAuthorization(first.session, creds, get, CNONCE);
      const again = answered(answerProxyChallenge(digestChallenge('', 'MD5', 'other-nonce'), upFront, creds, get, CNONCE));
      expect([param(again.value, 'nonce'), param(again.value, 'nc'), again.round]).to.deep.equal(['other-nonce', '00000001', 'answer']);
    });

    it('stale=true after an answer renews once on the new nonce (RFC 7616 §3.3), then refuses', () => {
      const a = answered(answerProxyChallenge(digestChallenge(), sentUpFront(), creds, get, CNONCE));
      const renewal = answered(answerProxyChallenge(digestChallenge(', stale=true', 'MD5', 'n2'), a, creds, get, CNONCE));
      expect([param(renewal.value, 'nonce'), param(renewal.value, 'nc'), renewal.round]).to.deep.equal(['n2', '00000001', 'renewal']);
      expect(refusal(answerProxyChallenge(digestChallenge(', stale=true', 'MD5', 'n3'), renewal, creds, get, CNONCE))).to.contain('407');
    });

    it('a second Digest challenge without stale=true means wrong credentials', () => {
      const a = answered(answerProxyChallenge(digestChallenge(), sentUpFront(), creds, get, CNONCE));
      expect(refusal(answerProxyChallenge(digestChallenge('', 'MD5', 'n2'), a, creds, get, CNONCE))).to.equal('refused the credentials (407)');
    });

    const refusals: Array<[string, string | undefined, ProxyAuthorization, typeof creds | null, RegExp]> = [
      ['no credentials', digestChallenge(), sentUpFront({ scheme: 'none' }), null, /requires authentication \(407\).*no user\/password/],
      ['only Negotiate and NTLM offered', 'Negotiate, NTLM', sentUpFront(), creds, /\(negotiate, ntlm\) \(407\)/],
      ['no Proxy-Authenticate at all', undefined, sentUpFront(), creds, /without a challenge \(407\)/],
      ['a Digest algorithm not implemented', digestChallenge('', 'SHA-1'), sentUpFront(), creds, /does not implement \(407\).*SHA-1/],
      ['a Digest challenge without a nonce', 'Digest realm="p"', sentUpFront(), creds, /without a nonce \(407\)/],
    ];
    for (const [what, header, sent, credentials, reason] of refusals) {
      it(`refuses: ${what}`, () => {
        expect(refusal(answerProxyChallenge(header, sent, credentials, get, CNONCE))).to.match(reason);
      });
    }

    it('refuses a Basic challenge for a user-id containing ":"', () => {
      const user = { user: 'a:b', password: 'p' };
      const sent = preemptiveAuthorization(initialProxySession(user), user, get, CNONCE);
      expect(refusal(answerProxyChallenge('Basic realm="p"', sent, user, get, CNONCE))).to.contain('":"');
    });

    it('hashes the body for qop auth-int when that is the only qop offered', () => {
      const post: ProxyTarget = { method: 'POST', uri: 'http://o.test/x', body: Buffer.from('payload') };
      const c = `Digest realm="r", qop="auth-int", nonce="n"`;
      const a = answered(answerProxyChallenge(c, sentUpFront(undefined, post), creds, post, CNONCE));
      const H = (s: string | Buffer) => createHash('md5').update(s).digest('hex');
      const ha2 = H(`POST:http://o.test/x:${H(Buffer.from('payload'))}`);
      expect(param(a.value, 'response')).to.equal(H(`${H('Mufasa:r:Circle of Life')}:n:00000001:${CNONCE}:auth-int:${ha2}`));
    });
  });

  describe('after the proxy accepted', () => {
    it('takes up a nextnonce from Proxy-Authentication-Info, counting from 1 again (RFC 7616 §3.5)', () => {
      const a = answered(answerProxyChallenge(digestChallenge(), sentUpFront(), creds, get, CNONCE));
      const next = acceptedProxySession(a, 'nextnonce="fresh", qop=auth');
      const upFront = preemptiveAuthorization(next, creds, get, CNONCE);
      expect([param(upFront.value, 'nonce'), param(upFront.value, 'nc')]).to.deep.equal(['fresh', '00000001']);
    });

    it('otherwise keeps the very session it sent (so later counts are not rewound)', () => {
      const a = answered(answerProxyChallenge(digestChallenge(), sentUpFront(), creds, get, CNONCE));
      expect(acceptedProxySession(a, undefined)).to.equal(a.session);
      const b = sentUpFront();
      expect(acceptedProxySession(b, 'nextnonce="x"')).to.equal(b.session);
    });
  });

  it('is pure: no I/O imports, no clock, no randomness, no environment', () => {
    const text = readFileSync(new URL('../../lib/transport/proxy-auth.ts', import.meta.url), 'utf8');
    const imports = [...text.matchAll(/from\s+['"]([^'"]+)['"]/g)].map((m) => m[1]!);
    expect(imports.filter((i) => /undici|node:(net|tls|fs|http|https|dns)/.test(i))).to.deep.equal([]);
    const code = text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    expect(code).not.to.match(/Date\.now\(\)|new Date\(\)|Math\.random\(|process\.env|setTimeout\(|randomBytes/);
  });
});
