import { expect } from 'chai';
import { parseChallenges } from '../../lib/auth/challenge.js';
import { converse, type Heard } from '../../lib/auth/converse.js';
import { digest } from '../../lib/auth/digest.js';
import { dialogue, type Ending, type Move, type Opening } from '../../lib/auth/dialogue.js';
import { ORIGIN_REALM, PROXY_REALM } from '../../lib/auth/realm.js';
import { upfrontSession } from '../../lib/auth/registry.js';
import type { AnswerHead, AuthSession } from '../../lib/auth/session.js';
import { UnimplementedDigestAuthOptionError } from '../../lib/errors.js';
import { Response } from '../../lib/response.js';
import type { Credential } from '../../lib/types.js';

const joe: Credential = { name: 'joe', password: 'secret', domain: '' };
const ann: Credential = { name: 'ann', password: 'other', domain: '' };
const basicOf = (c: Credential) => `Basic ${Buffer.from(`${c.name}:${c.password}`).toString('base64')}`;
const head = (status: number, headers: Record<string, string> = {}): AnswerHead => new Response({ status, headers });
const ok = head(200);
const basic401 = head(401, { 'www-authenticate': 'Basic realm="r"' });
const digest401 = (nonce: string, extra = '') => head(401, { 'www-authenticate': `Digest realm="r", nonce="${nonce}", qop="auth"${extra}` });
const param = (value: string | undefined, name: string) => new RegExp(`${name}="?([^",]*)"?`).exec(value ?? '')?.[1];

function opening(overrides: Partial<Opening> = {}): Opening {
  let n = 0;
  return {
    realm: ORIGIN_REALM,
    target: { method: 'GET', target: '/dir/x', headers: {}, body: null },
    upfront: null,
    candidates: [joe],
    entropy: () => ({ cnonce: `cnonce-${String(++n).padStart(12, '0')}`, now: 0 }),
    ...overrides,
  };
}

/** Runs a dialogue against scripted answers (the last repeats); at most 10 moves, so a loop fails the spec. */
function play(start: Opening, ...answers: AnswerHead[]): { moves: Move[]; ending: Ending } {
  const talk = dialogue(start);
  const moves: Move[] = [];
  let step = talk.next();
  while (!step.done) {
    if (moves.length === 10) throw new Error('the dialogue does not end');
    moves.push(step.value);
    step = talk.next(answers[Math.min(moves.length - 1, answers.length - 1)]!);
  }
  return { moves, ending: step.value };
}

/** An accepted Digest session on `nonce` for `joe`, as a protection space would hold it. */
function digestSession(nonce: string): AuthSession {
  const opened = digest.open(parseChallenges(`Digest realm="r", nonce="${nonce}", qop="auth"`), joe, ORIGIN_REALM);
  if (opened.kind !== 'session') throw new Error('expected a session');
  return opened.session;
}

// RFC 9110 §11.6 (origin, 401) and §11.7 (proxy, 407): one dialogue, the realm a parameter.
describe('auth/dialogue: one lifecycle for 401 and 407', () => {
  describe('with an origin', () => {
    it('sends nothing up front without a protection space, answers the 401 once, and keeps what was accepted', () => {
      const { moves, ending } = play(opening(), basic401, ok);
      expect(moves.map((m) => [m.round, m.fields['authorization']])).to.deep.equal([['upfront', undefined], ['answer', basicOf(joe)]]);
      expect(ending).to.deep.equal({ kind: 'accepted', session: moves[1]!.session, replaces: [], refused: [] });
    });

    it('a wrong password: each credential once, in registration order, then the last 401 stands (never a loop)', () => {
      const { moves, ending } = play(opening({ candidates: [joe, ann] }), basic401);
      expect(moves.map((m) => m.fields['authorization'])).to.deep.equal([undefined, basicOf(joe), basicOf(ann)]);
      expect(ending.kind === 'unanswered' && ending.why).to.deep.equal({ kind: 'rejected', after: 'answer' });
      expect(ending.refused.map((s) => s.credential)).to.deep.equal([joe, ann]);
    });

    it('answers with the strongest scheme offered; a Digest challenge without a nonce gets no Basic', () => {
      const both = play(opening(), head(401, { 'www-authenticate': 'Basic realm="r", Digest realm="r", nonce="n", qop="auth"' }), ok);
      expect(both.moves[1]!.fields['authorization']).to.match(/^Digest username="joe", realm="r", uri="\/dir\/x"/);
      const { moves, ending } = play(opening(), head(401, { 'www-authenticate': 'Digest realm="r", Basic realm="r"' }));
      expect(moves).to.have.length(1);
      expect(ending).to.deep.equal({ kind: 'unanswered', why: { kind: 'cannot', scheme: 'digest', why: 'no-nonce' }, refused: [] });
    });

    it('a refused up-front session is given up, and the fresh challenge answered by its credential again', () => {
      const space = digestSession('old');
      const { moves, ending } = play(opening({ upfront: space }), digest401('new'), ok);
      expect(moves.map((m) => [m.round, param(m.fields['authorization'], 'nonce'), param(m.fields['authorization'], 'nc')])).to.deep.equal([
        ['upfront', 'old', '00000001'],
        ['answer', 'new', '00000001'],
      ]);
      expect(ending).to.deep.equal({ kind: 'accepted', session: moves[1]!.session, replaces: [], refused: [space] });
    });

    it('Digest stale=true: renewed once on the new nonce from nc=00000001, the stale session replaced (RFC 7616 §3.3)', () => {
      const space = digestSession('old');
      space.authorize(opening().target, { cnonce: 'earlier-request-x', now: 0 });
      const { moves, ending } = play(opening({ upfront: space }), digest401('fresh', ', stale=true'), ok);
      expect(moves.map((m) => [m.round, param(m.fields['authorization'], 'nonce'), param(m.fields['authorization'], 'nc')])).to.deep.equal([
        ['upfront', 'old', '00000002'],
        ['renewal', 'fresh', '00000001'],
      ]);
      expect(ending).to.deep.equal({ kind: 'accepted', session: moves[1]!.session, replaces: [space], refused: [] });
    });

    it('stale=true again: no second renewal; the credential answers the challenge once, then the 401 stands', () => {
      const space = digestSession('n0');
      const { moves, ending } = play(opening({ upfront: space }), digest401('n1', ', stale=true'), digest401('n2', ', stale=true'), digest401('n3', ', stale=true'));
      expect(moves.map((m) => [m.round, param(m.fields['authorization'], 'nonce')])).to.deep.equal([['upfront', 'n0'], ['renewal', 'n1'], ['answer', 'n2']]);
      expect(ending.kind === 'unanswered' && ending.why).to.deep.equal({ kind: 'rejected', after: 'answer' });
      expect(ending.refused).to.deep.equal([space, moves[1]!.session, moves[2]!.session]);
    });

    it('takes a nextnonce (Authentication-Info, RFC 7616 §3.5): the next session counts from 1 on it', () => {
      const { moves, ending } = play(opening(), digest401('n1'), head(200, { 'authentication-info': 'nextnonce="n2"' }));
      if (ending.kind !== 'accepted' || !ending.session) throw new Error('expected an accepted session');
      expect(ending.replaces).to.deep.equal([moves[1]!.session]);
      const next = ending.session.authorize(opening().target, { cnonce: 'c'.repeat(16), now: 0 })['authorization'];
      expect([param(next, 'nonce'), param(next, 'nc')]).to.deep.equal(['n2', '00000001']);
    });

    it('an answer other than 401 to a request sent as it is ends the dialogue with nothing to remember', () => {
      expect(play(opening(), head(404)).ending).to.deep.equal({ kind: 'accepted', session: null, replaces: [], refused: [] });
    });

    it('hands back a Digest option it does not implement, and schemes it does not answer', () => {
      const sha1 = play(opening(), head(401, { 'www-authenticate': 'Digest realm="r", nonce="n", algorithm=SHA-1' })).ending;
      expect(sha1.kind === 'unanswered' && sha1.why.kind === 'unimplemented' && sha1.why.error).to.be.instanceOf(UnimplementedDigestAuthOptionError);
      const other = play(opening(), head(401, { 'www-authenticate': 'Negotiate, NTLM, Negotiate' })).ending;
      expect(other).to.deep.equal({ kind: 'unanswered', why: { kind: 'unsupported', offered: ['negotiate', 'ntlm'] }, refused: [] });
    });
  });

  describe('with a proxy', () => {
    const proxy = (overrides: Partial<Opening> = {}) =>
      opening({ realm: PROXY_REALM, target: { method: 'CONNECT', target: 'origin.test:443', headers: {}, body: null }, upfront: upfrontSession(PROXY_REALM, joe), ...overrides });
    const digest407 = head(407, { 'proxy-authenticate': 'Basic realm="p", Digest realm="p", nonce="pn", qop="auth"' });

    it('sends Basic up front, and answers a 407 with Digest in Proxy-Authorization (uri = the authority-form target)', () => {
      const { moves, ending } = play(proxy(), digest407, ok);
      expect(moves[0]!.fields).to.deep.equal({ 'proxy-authorization': basicOf(joe) });
      expect(Object.keys(moves[1]!.fields)).to.deep.equal(['proxy-authorization']);
      expect(param(moves[1]!.fields['proxy-authorization'], 'uri')).to.equal('origin.test:443');
      expect(ending).to.deep.equal({ kind: 'accepted', session: moves[1]!.session, replaces: [], refused: [moves[0]!.session] });
    });

    it('a 401 is the origin\'s business: it ends the proxy\'s dialogue as accepted', () => {
      const { moves, ending } = play(proxy(), basic401);
      expect(moves).to.have.length(1);
      expect(ending.kind === 'accepted' && ending.session).to.equal(moves[0]!.session);
    });

    it('without credentials, a 407 is unanswered at once', () => {
      const { moves, ending } = play(proxy({ upfront: null, candidates: [] }), digest407);
      expect(moves.map((m) => m.fields)).to.deep.equal([{}]);
      expect(ending).to.deep.equal({ kind: 'unanswered', why: { kind: 'no-credentials' }, refused: [] });
    });
  });

  describe('converse: the loop that carries a dialogue', () => {
    it('sends each move, discards every answer but the last, and returns the last with the ending', async () => {
      const sent: Move[] = [];
      const discarded: string[] = [];
      const answers = [basic401, ok];
      const { ending, last } = await converse(dialogue(opening()), {
        send: async (move): Promise<Heard<string>> => {
          sent.push(move);
          return { head: answers[sent.length - 1]!, value: `answer ${sent.length}` };
        },
        discard: (value) => void discarded.push(value),
      });
      expect([sent.length, discarded, last, ending.kind]).to.deep.equal([2, ['answer 1'], 'answer 2', 'accepted']);
    });

    it('rejects with the error of a send that fails', async () => {
      const failure = new Error('connection reset');
      const outcome = await converse(dialogue(opening()), { send: () => Promise.reject(failure), discard: () => undefined }).catch((e: unknown) => e);
      expect(outcome).to.equal(failure);
    });
  });
});
