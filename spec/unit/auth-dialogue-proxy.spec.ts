import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dialogue, type Ending, type Move } from '../../lib/auth/dialogue.js';
import { PROXY_REALM } from '../../lib/auth/realm.js';
import { upfrontSession } from '../../lib/auth/registry.js';
import type { AnswerHead, AuthSession, SignedRequest } from '../../lib/auth/session.js';
import { Response } from '../../lib/response.js';
import { proxyRefusal } from '../../lib/transport/proxy-hop.js';
import type { Credential } from '../../lib/types.js';

const creds: Credential = { name: 'Mufasa', password: 'Circle of Life', domain: '' };
const CNONCE = 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ';
const NONCE = '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v';
const OPAQUE = 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS';
const digestChallenge = (extra = '', algorithm = 'MD5', nonce = NONCE) =>
  `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=${algorithm}, nonce="${nonce}", opaque="${OPAQUE}"${extra}`;
const get: SignedRequest = { method: 'GET', target: '/dir/index.html', headers: {}, body: null };
const connect: SignedRequest = { method: 'CONNECT', target: 'origin.test:443', headers: {}, body: null };
const basicValue = `Basic ${Buffer.from('Mufasa:Circle of Life').toString('base64')}`;
const basicUpFront = () => upfrontSession(PROXY_REALM, creds);

/** One request's dialogue with a proxy: the moves it made so far, and how it ended once it has. */
interface Talk {
  readonly moves: Move[];
  ending: Ending | null;
  /** Answers the last move with `answer`. */
  reply(answer: AnswerHead): Talk;
}

function start(upfront: AuthSession | null, { target = get, credential = creds as Credential | null } = {}): Talk {
  const steps = dialogue({
    realm: PROXY_REALM,
    target,
    upfront,
    candidates: credential ? [credential] : [],
    entropy: () => ({ cnonce: CNONCE, now: 0 }),
  });
  const talk: Talk = { moves: [], ending: null, reply: (answer) => take(steps.next(answer)) };
  const take = (step: IteratorResult<Move, Ending>): Talk => {
    if (step.done) talk.ending = step.value;
    else talk.moves.push(step.value);
    return talk;
  };
  return take(steps.next());
}

const challenged = (header: string | undefined): AnswerHead => new Response({ status: 407, headers: header === undefined ? {} : { 'proxy-authenticate': header } });
const lastMove = (t: Talk) => t.moves[t.moves.length - 1]!;
const value = (t: Talk) => lastMove(t).fields['proxy-authorization'] ?? null;

function answered(t: Talk): Talk {
  if (t.ending) throw new Error(`expected an answer, got: ${t.ending.kind === 'unanswered' ? proxyRefusal(t.ending.why) : t.ending.kind}`);
  return t;
}

function refusal(t: Talk): string {
  if (t.ending?.kind !== 'unanswered') throw new Error('expected a refusal');
  return proxyRefusal(t.ending.why);
}

const param = (value: string | null, name: string) => new RegExp(`${name}="?([^",]*)"?`).exec(value ?? '')?.[1];

describe('auth/dialogue with a proxy (RFC 9110 §11.7, RFC 7616 for a proxy)', () => {
  describe('what is sent up front', () => {
    it('Basic from the ProxyInfo credentials, as httplib2 sends it', () => {
      expect(basicUpFront()?.scheme).to.equal('basic');
      expect(value(start(basicUpFront()))).to.equal(basicValue);
    });

    it('nothing without credentials, or with a user-id containing ":" (RFC 7617 §2)', () => {
      expect(upfrontSession(PROXY_REALM, null)).to.equal(null);
      expect(upfrontSession(PROXY_REALM, { name: 'a:b', password: 'p', domain: '' })).to.equal(null);
      expect(value(start(null))).to.equal(null);
      expect(value(start(upfrontSession(PROXY_REALM, null), { credential: null }))).to.equal(null);
    });

    it('a remembered Digest session with the next nonce count (RFC 7616 §3.4: nc goes up)', () => {
      const first = answered(start(basicUpFront()).reply(challenged(digestChallenge())));
      const second = start(lastMove(first).session);
      const third = start(lastMove(first).session);
      expect([first, second, third].map((t) => param(value(t), 'nc'))).to.deep.equal(['00000001', '00000002', '00000003']);
      expect(lastMove(third).round).to.equal('upfront');
    });
  });

  describe('answering a 407', () => {
    it('Digest, byte for byte as the RFC 7616 §3.9.1 example (MD5 and SHA-256)', () => {
      const md5 = answered(start(basicUpFront()).reply(challenged(digestChallenge())));
      expect(param(value(md5), 'response')).to.equal('8ca523f5e9506fed4657c9700eebdbec');
      const sha = answered(start(basicUpFront()).reply(challenged(digestChallenge('', 'SHA-256'))));
      expect(param(value(sha), 'response')).to.equal('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
      expect(lastMove(md5).round).to.equal('answer');
    });

    it('on CONNECT: method CONNECT and uri = the authority-form target (RFC 7616 §3.4.6, RFC 9110 §9.3.6)', () => {
      const a = answered(start(basicUpFront(), { target: connect }).reply(challenged(digestChallenge())));
      const H = (s: string) => createHash('md5').update(s).digest('hex');
      const expected = H(`${H('Mufasa:http-auth@example.org:Circle of Life')}:${NONCE}:00000001:${CNONCE}:auth:${H('CONNECT:origin.test:443')}`);
      expect(param(value(a), 'uri')).to.equal('origin.test:443');
      expect(param(value(a), 'response')).to.equal(expected);
    });

    it('prefers Digest when Basic is offered too, whatever the order', () => {
      const a = answered(start(basicUpFront()).reply(challenged(`Basic realm="p", ${digestChallenge()}`)));
      expect(value(a)).to.match(/^Digest /);
      expect(lastMove(a).session?.scheme).to.equal('digest');
    });

    it('Basic once more when the up-front Basic was refused, then no more', () => {
      const a = answered(start(basicUpFront()).reply(challenged('Basic realm="p"')));
      expect([value(a), lastMove(a).round]).to.deep.equal([basicValue, 'answer']);
      expect(refusal(a.reply(challenged('Basic realm="p"')))).to.equal('refused the credentials (407)');
    });

    it('a refused up-front Digest session: the fresh challenge is answered from nc 1', () => {
      const first = answered(start(basicUpFront()).reply(challenged(digestChallenge())));
      const upFront = start(lastMove(first).session);
      const again = answered(upFront.reply(challenged(digestChallenge('', 'MD5', 'other-nonce'))));
      expect([param(value(again), 'nonce'), param(value(again), 'nc'), lastMove(again).round]).to.deep.equal(['other-nonce', '00000001', 'answer']);
    });

    it('stale=true after an answer renews once on the new nonce (RFC 7616 §3.3), then refuses', () => {
      const a = answered(start(basicUpFront()).reply(challenged(digestChallenge())));
      const renewal = answered(a.reply(challenged(digestChallenge(', stale=true', 'MD5', 'n2'))));
      expect([param(value(renewal), 'nonce'), param(value(renewal), 'nc'), lastMove(renewal).round]).to.deep.equal(['n2', '00000001', 'renewal']);
      expect(refusal(renewal.reply(challenged(digestChallenge(', stale=true', 'MD5', 'n3'))))).to.contain('407');
    });

    it('a second Digest challenge without stale=true means wrong credentials', () => {
      const a = answered(start(basicUpFront()).reply(challenged(digestChallenge())));
      expect(refusal(a.reply(challenged(digestChallenge('', 'MD5', 'n2'))))).to.equal('refused the credentials (407)');
    });

    const refusals: Array<[string, string | undefined, () => Talk, RegExp]> = [
      ['no credentials', digestChallenge(), () => start(null, { credential: null }), /requires authentication \(407\).*no user\/password/],
      ['only Negotiate and NTLM offered', 'Negotiate, NTLM', () => start(basicUpFront()), /\(negotiate, ntlm\) \(407\)/],
      ['no Proxy-Authenticate at all', undefined, () => start(basicUpFront()), /without a challenge \(407\)/],
      ['a Digest algorithm not implemented', digestChallenge('', 'SHA-1'), () => start(basicUpFront()), /does not implement \(407\).*SHA-1/],
      ['a Digest challenge without a nonce', 'Digest realm="p"', () => start(basicUpFront()), /without a nonce \(407\)/],
    ];
    for (const [what, header, sent, reason] of refusals) {
      it(`refuses: ${what}`, () => {
        expect(refusal(sent().reply(challenged(header)))).to.match(reason);
      });
    }

    it('refuses a Basic challenge for a user-id containing ":"', () => {
      const user = { name: 'a:b', password: 'p', domain: '' };
      const sent = start(upfrontSession(PROXY_REALM, user), { credential: user });
      expect(refusal(sent.reply(challenged('Basic realm="p"')))).to.contain('":"');
    });

    it('hashes the body for qop auth-int when that is the only qop offered', () => {
      const post: SignedRequest = { method: 'POST', target: 'http://o.test/x', headers: {}, body: Buffer.from('payload') };
      const c = `Digest realm="r", qop="auth-int", nonce="n"`;
      const a = answered(start(basicUpFront(), { target: post }).reply(challenged(c)));
      const H = (s: string | Buffer) => createHash('md5').update(s).digest('hex');
      const ha2 = H(`POST:http://o.test/x:${H(Buffer.from('payload'))}`);
      expect(param(value(a), 'response')).to.equal(H(`${H('Mufasa:r:Circle of Life')}:n:00000001:${CNONCE}:auth-int:${ha2}`));
    });
  });

  describe('after the proxy accepted', () => {
    const accepted = (t: Talk): AuthSession | null => {
      if (t.ending?.kind !== 'accepted') throw new Error('expected the proxy to accept');
      return t.ending.session;
    };

    it('takes up a nextnonce from Proxy-Authentication-Info, counting from 1 again (RFC 7616 §3.5)', () => {
      const a = answered(start(basicUpFront()).reply(challenged(digestChallenge())));
      const next = accepted(a.reply(new Response({ status: 200, headers: { 'proxy-authentication-info': 'nextnonce="fresh", qop=auth' } })));
      const upFront = start(next);
      expect([param(value(upFront), 'nonce'), param(value(upFront), 'nc')]).to.deep.equal(['fresh', '00000001']);
    });

    it('otherwise keeps the very session it sent (so later counts are not rewound)', () => {
      const a = answered(start(basicUpFront()).reply(challenged(digestChallenge())));
      const sent = lastMove(a).session;
      expect(accepted(a.reply(new Response({ status: 200 })))).to.equal(sent);
      const b = start(basicUpFront());
      expect(accepted(b.reply(new Response({ status: 200, headers: { 'proxy-authentication-info': 'nextnonce="x"' } })))).to.equal(lastMove(b).session);
    });
  });

  it('is pure: no I/O imports, no clock, no randomness, no environment', () => {
    for (const file of ['dialogue.ts', 'realm.ts', 'registry.ts']) {
      const text = readFileSync(new URL(`../../lib/auth/${file}`, import.meta.url), 'utf8');
      const imports = [...text.matchAll(/from\s+['"]([^'"]+)['"]/g)].map((m) => m[1]!);
      expect(imports.filter((i) => /undici|node:(net|tls|fs|http|https|dns)/.test(i))).to.deep.equal([]);
      const code = text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      expect(code).not.to.match(/Date\.now\(\)|new Date\(\)|Math\.random\(|process\.env|setTimeout\(|randomBytes/);
    }
  });
});
