import { expect } from 'chai';
import { converse } from '../../lib/auth/converse.js';
import { CredentialStore } from '../../lib/auth/credentials.js';
import { dialogue } from '../../lib/auth/dialogue.js';
import { withAuth } from '../../lib/auth/driver.js';
import { PROXY_REALM } from '../../lib/auth/realm.js';
import { upfrontSession } from '../../lib/auth/registry.js';
import { UnimplementedDigestAuthOptionError } from '../../lib/errors.js';
import { withHeaders } from '../../lib/headers.js';
import type { Exchange, HopRequest } from '../../lib/types.js';
import { aContext, anExchange, aRequest, fakeNext } from '../helpers/fake-next.js';

const URL_A = 'http://origin.test/dir/a';
const basicJoe = `Basic ${Buffer.from('joe:secret').toString('base64')}`;
const param = (value: string | undefined, name: string) => new RegExp(`${name}="?([^",]*)"?`).exec(value ?? '')?.[1];
const digestChallenge = (nonce: string, extra = '') => ({ 'www-authenticate': `Digest realm="r", nonce="${nonce}", qop="auth"${extra}` });
const authorizations = (requests: readonly HopRequest[]) => requests.map((r) => r.headers['authorization']);

function credentials(...pairs: Array<[string, string]>): CredentialStore {
  const store = new CredentialStore();
  for (const [name, password] of pairs) store.add(name, password);
  return store;
}

let cnonces = 0;
const auth = (next: Parameters<typeof withAuth>[0], store: CredentialStore) =>
  withAuth(next, { credentials: store, cnonce: () => `cnonce-${String(++cnonces).padStart(12, '0')}` });

// The auth layer driven through the Send seam, without sockets: every call the fake next layer counts
// is a request the server would have received.
describe('auth/driver: withAuth over a fake next layer', () => {
  it('answers a 401 once and returns the answer to the answer', async () => {
    const fake = fakeNext(anExchange(401, { 'www-authenticate': 'Basic realm="r"' }), anExchange(200, {}, 'hello joe'));
    const { response } = await auth(fake.send, credentials(['joe', 'secret']))(aRequest(URL_A), aContext({ url: URL_A }));
    expect([response.status, fake.count()]).to.deep.equal([200, 2]);
    expect(authorizations(fake.requests)).to.deep.equal([undefined, basicJoe]);
  });

  it('a wrong password gets its 401 back after 2 calls, never a loop', async () => {
    const fake = fakeNext((_req, n) => anExchange(401, digestChallenge(`n${n}`)));
    const { response } = await auth(fake.send, credentials(['joe', 'wrong']))(aRequest(URL_A), aContext({ url: URL_A }));
    expect([response.status, fake.count()]).to.deep.equal([401, 2]);
    expect(param(response.get('www-authenticate'), 'nonce')).to.equal('n1');
  });

  it('tries every credential that applies, in registration order, each once', async () => {
    const fake = fakeNext(anExchange(401, { 'www-authenticate': 'Basic realm="r"' }));
    const { response } = await auth(fake.send, credentials(['ann', 'a'], ['joe', 'secret']))(aRequest(URL_A), aContext({ url: URL_A }));
    expect([response.status, fake.count()]).to.deep.equal([401, 3]);
    expect(authorizations(fake.requests).slice(1)).to.deep.equal([`Basic ${Buffer.from('ann:a').toString('base64')}`, basicJoe]);
  });

  it('renews a Digest stale=true once, on the new nonce from nc=00000001 (RFC 7616 §3.3), and keeps counting there', async () => {
    const fake = fakeNext(anExchange(401, digestChallenge('old')), anExchange(401, digestChallenge('fresh', ', stale=true')), anExchange(200));
    const send = auth(fake.send, credentials(['joe', 'secret']));
    const { response } = await send(aRequest(URL_A), aContext({ url: URL_A }));
    expect([response.status, fake.count()]).to.deep.equal([200, 3]);
    const sent = authorizations(fake.requests).map((a) => [param(a, 'nonce'), param(a, 'nc')]);
    expect(sent).to.deep.equal([[undefined, undefined], ['old', '00000001'], ['fresh', '00000001']]);
    await send(aRequest('http://origin.test/dir/b'), aContext({ url: URL_A }));
    expect([param(fake.requests[3]!.headers['authorization'], 'nonce'), param(fake.requests[3]!.headers['authorization'], 'nc')]).to.deep.equal(['fresh', '00000002']);
  });

  it('sends the accepted answer pre-emptively to the next request in the same directory, not elsewhere', async () => {
    const challenged = (req: HopRequest): Exchange => (req.headers['authorization'] ? anExchange(200) : anExchange(401, digestChallenge('n')));
    const fake = fakeNext(challenged);
    const send = auth(fake.send, credentials(['joe', 'secret']));
    await send(aRequest(URL_A), aContext({ url: URL_A }));
    expect(fake.count()).to.equal(2);
    const { response } = await send(aRequest('http://origin.test/dir/sub/b'), aContext({ url: URL_A }));
    expect([response.status, fake.count()]).to.deep.equal([200, 3]);
    expect(param(fake.requests[2]!.headers['authorization'], 'nc')).to.equal('00000002');
    await send(aRequest('http://origin.test/other/c'), aContext({ url: URL_A }));
    expect(fake.count()).to.equal(5);
    expect(fake.requests[3]!.headers['authorization']).to.equal(undefined);
  });

  it('sends nothing for the caller\'s own Authorization, after an https → http hop, or to an origin not asked for', async () => {
    const fake = fakeNext(anExchange(401, { 'www-authenticate': 'Basic realm="r"' }));
    const send = auth(fake.send, credentials(['joe', 'secret']));
    await send(aRequest(URL_A, 'GET', { authorization: 'Bearer mine' }), aContext({ url: URL_A }));
    await send({ ...aRequest(URL_A), downgraded: true }, aContext({ url: URL_A }));
    await send(aRequest(URL_A), aContext({ url: 'http://elsewhere.test/' }));
    expect(authorizations(fake.requests)).to.deep.equal(['Bearer mine', undefined, undefined]);
  });

  it('a Digest option it does not implement is an UnimplementedDigestAuthOptionError carrying the 401', async () => {
    const fake = fakeNext(anExchange(401, { 'www-authenticate': 'Digest realm="r", nonce="n", algorithm=SHA-1' }, 'denied'));
    const error = await auth(fake.send, credentials(['joe', 'secret']))(aRequest(URL_A), aContext({ url: URL_A })).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(UnimplementedDigestAuthOptionError);
    const { response, content } = error as UnimplementedDigestAuthOptionError;
    expect([response?.status, content?.toString(), fake.count()]).to.deep.equal([401, 'denied', 1]);
  });

  it('a proxy 407 goes through the same dialogue: Basic up front, Digest in answer, in Proxy-Authorization', async () => {
    const joe = { name: 'joe', password: 'secret', domain: '' };
    const fake = fakeNext(anExchange(407, { 'proxy-authenticate': 'Digest realm="p", nonce="pn", qop="auth"' }), anExchange(200));
    const req = aRequest(URL_A);
    const talk = dialogue({
      realm: PROXY_REALM,
      target: { method: 'GET', target: URL_A, headers: req.headers, body: null },
      upfront: upfrontSession(PROXY_REALM, joe),
      candidates: [joe],
      entropy: () => ({ cnonce: 'proxy-cnonce-0001', now: 0 }),
    });
    const { ending, last } = await converse(talk, {
      send: async (move) => {
        const exchange = await fake.send({ ...req, headers: withHeaders(req.headers, move.fields) }, aContext());
        return { head: exchange.response, value: exchange };
      },
      discard: () => undefined,
    });
    expect([last.response.status, fake.count(), ending.kind]).to.deep.equal([200, 2, 'accepted']);
    const sent = fake.requests.map((r) => r.headers['proxy-authorization']);
    expect(sent[0]).to.equal(basicJoe);
    expect([param(sent[1], 'uri'), param(sent[1], 'nc')]).to.deep.equal([URL_A, '00000001']);
    expect(fake.requests.every((r) => r.headers['authorization'] === undefined)).to.equal(true);
  });
});
