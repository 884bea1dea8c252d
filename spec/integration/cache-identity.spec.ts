/**
 * DESIGN.md, Identity: an answer obtained with one identity is never served to another, to an
 * anonymous request, or to a new Http on the same store with other or no credentials.
 */
import { expect } from 'chai';
import { Http } from '../../lib/index.js';
import { MapStore, aClock, reply, startRoutedServer, type RoutedServer, type TestClock } from '../helpers/cache-fixtures.js';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const USERS: Record<string, string> = { [basic('alice', 'pw-a')]: 'alice', [basic('bob', 'pw-b')]: 'bob' };

describe('cache identity', () => {
  let server: RoutedServer;
  let clock: TestClock;
  let store: MapStore;
  const open: Http[] = [];
  const anHttp = () => {
    const h = new Http(store, { clock });
    open.push(h);
    return h;
  };

  before(async () => {
    server = await startRoutedServer();
    server.route('/private', (req, res) => {
      const user = USERS[req.headers.authorization ?? ''];
      if (!user) return reply(res, clock, 401, { 'www-authenticate': 'Basic realm="private"' }, 'who are you?');
      return reply(res, clock, 200, { 'cache-control': 'max-age=60' }, `secret of ${user}`);
    });
    // A refusal the server lets caches keep for an hour (RFC 9111 allows storing a 401 with max-age).
    server.route('/private-401', (req, res) => {
      const user = USERS[req.headers.authorization ?? ''];
      if (!user) return reply(res, clock, 401, { 'www-authenticate': 'Basic realm="private"', 'cache-control': 'max-age=3600' }, 'who are you?');
      return reply(res, clock, 200, { 'cache-control': 'max-age=60' }, `secret of ${user}`);
    });
    server.route('/varied', (req, res) => reply(res, clock, 200, { 'cache-control': 'max-age=60', vary: 'Authorization, Cookie' },
      // The body names the caller without repeating the secrets, so a leak can only come from the cache.
      `for ${req.headers.authorization === 'Bearer alice-token' ? 'alice' : 'someone'} in session ${req.headers.cookie === 'session=s3cr3t-a' ? 'A' : 'B'}`));
    server.route('/bearer', (req, res) => reply(res, clock, 200, { 'cache-control': 'max-age=60' }, `for ${req.headers.authorization ?? 'anyone'}`));
  });
  beforeEach(() => {
    clock = aClock();
    store = new MapStore();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((h) => h.close()));
  });

  it('keeps no password, nor a fast hash of one, in a store key or an entry', async () => {
    const http = anHttp();
    http.addCredentials('alice', 'pw-a');
    const [res] = await http.request(server.url('/private'));
    expect(res.status).to.equal(200);
    const { createHash } = await import('node:crypto');
    const sha = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);
    const forbidden = ['pw-a', Buffer.from('alice:pw-a').toString('base64'), sha(JSON.stringify(['alice', 'pw-a'])),
      sha(basic('alice', 'pw-a')), sha('alice:pw-a'), sha('pw-a')];
    const stored = [...store.map.entries()].map(([k, v]) => `${k}\n${Buffer.from(v).toString('latin1')}`);
    expect(stored.length).to.be.above(0);
    for (const text of stored) for (const f of forbidden) expect(text).not.to.include(f);
  });

  it('stores Vary-selected Authorization and Cookie values only as presence or digest, and still tells them apart', async () => {
    const http = anHttp();
    const url = server.url('/varied');
    const get = async (headers: Record<string, string>) => {
      const [res, content] = await http.request(url, 'GET', null, headers);
      return [res.fromcache, content.toString()];
    };
    const alice = { authorization: 'Bearer alice-token', cookie: 'session=s3cr3t-a' };
    expect(await get(alice)).to.deep.equal([false, 'for alice in session A']);
    expect(await get(alice)).to.deep.equal([true, 'for alice in session A']);
    expect(await get({ ...alice, cookie: 'session=other' })).to.deep.equal([false, 'for alice in session B']);
    const stored = [...store.map.values()].map((v) => Buffer.from(v).toString('latin1')).join('\n');
    for (const secret of ['alice-token', 's3cr3t-a', 'session=other']) expect(stored).not.to.include(secret);
  });

  it("keys a caller's Authorization header by a hash: other tokens and anonymous requests miss", async () => {
    const http = anHttp();
    const url = server.url('/bearer');
    const before = server.hits('/bearer').length;
    const get = async (auth?: string) => {
      const [res, content] = await http.request(url, 'GET', null, auth ? { authorization: auth } : {});
      return [res.fromcache, content.toString()];
    };
    expect(await get('Bearer alice-token')).to.deep.equal([false, 'for Bearer alice-token']);
    expect(await get('Bearer bob-token')).to.deep.equal([false, 'for Bearer bob-token']);
    expect(await get()).to.deep.equal([false, 'for anyone']);
    expect(await get('Bearer alice-token')).to.deep.equal([true, 'for Bearer alice-token']);
    expect(await get()).to.deep.equal([true, 'for anyone']);
    expect(server.hits('/bearer').length - before).to.equal(3);
    expect([...store.map.keys()].some((k) => k.includes('alice'))).to.equal(false);
  });

  it('a new Http on the same store with other or no credentials misses what registered credentials obtained', async () => {
    const url = server.url('/private');
    const alice = anHttp();
    alice.addCredentials('alice', 'pw-a');
    const [a1, c1] = await alice.request(url);
    expect([a1.status, c1.toString()]).to.deep.equal([200, 'secret of alice']);

    const anonymous = anHttp();
    const [anon, anonBody] = await anonymous.request(url);
    expect([anon.status, anon.fromcache, anonBody.toString()]).to.deep.equal([401, false, 'who are you?']);

    const bob = anHttp();
    bob.addCredentials('bob', 'pw-b');
    const [b, bBody] = await bob.request(url);
    expect([b.status, b.fromcache, bBody.toString()]).to.deep.equal([200, false, 'secret of bob']);

    const alice2 = anHttp();
    alice2.addCredentials('alice', 'pw-a');
    const hits = server.hits('/private').length;
    const [a2, c2] = await alice2.request(url);
    expect([a2.status, a2.fromcache, c2.toString()]).to.deep.equal([200, true, 'secret of alice']);
    expect(server.hits('/private').length).to.equal(hits);
  });

  it('the same user name with another password is another identity: it misses, and a corrected password is not served the old 401', async () => {
    const url = server.url('/private');
    const alice = anHttp();
    alice.addCredentials('alice', 'pw-a');
    expect((await alice.request(url))[1].toString()).to.equal('secret of alice');
    const guesser = anHttp();
    guesser.addCredentials('alice', 'not-her-password');
    const [guessed, guessedBody] = await guesser.request(url);
    expect([guessed.status, guessed.fromcache, guessedBody.toString()]).to.deep.equal([401, false, 'who are you?']);

    const refusedUrl = server.url('/private-401');
    const typo = anHttp();
    typo.addCredentials('alice', 'pw-typo');
    expect((await typo.request(refusedUrl))[0].status).to.equal(401);
    typo.clearCredentials();
    typo.addCredentials('alice', 'pw-a');
    const [fixed, fixedBody] = await typo.request(refusedUrl);
    expect([fixed.status, fixed.fromcache, fixedBody.toString()]).to.deep.equal([200, false, 'secret of alice']);
  });

  it('clearCredentials() on the same Http stops serving the identified entry', async () => {
    const url = server.url('/private');
    const http = anHttp();
    http.addCredentials('alice', 'pw-a');
    await http.request(url);
    http.clearCredentials();
    const [res] = await http.request(url);
    expect([res.status, res.fromcache]).to.deep.equal([401, false]);
  });
});
