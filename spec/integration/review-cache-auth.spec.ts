/**
 * Cache and authentication together, against real loopback servers: what a 304 leaves in the entry,
 * what a coalesced waiter or a background revalidation does when its deadline passes, Digest nonce
 * counts under concurrency, and which identity a pre-emptive answer is stored under.
 */
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AbortError, Http } from '../../lib/index.js';
import { MapStore, aClock, reply, startRoutedServer, type RoutedServer, type TestClock } from '../helpers/cache-fixtures.js';
import { startServer } from '../helpers/server.js';

const ticks = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('cache and auth review', () => {
  let server: RoutedServer;
  let clock: TestClock;
  let store: MapStore;
  const open: Http[] = [];
  let n = 0;
  const path = (name: string) => `/${name}-${++n}`;
  const anHttp = (options: { timeout?: number } = {}) => {
    const h = new Http(store, { clock, ...options });
    open.push(h);
    return h;
  };

  before(async () => {
    server = await startRoutedServer();
  });
  beforeEach(() => {
    clock = aClock();
    store = new MapStore();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((h) => h.close()));
  });

  describe('RFC 9111 §4.3.4: a 304 freshens the stored response', () => {
    it('drops the stored Age when the 304 carries none (the origin just validated it, §5.1)', async () => {
      const http = anHttp();
      const p = path('age');
      const url = server.route(p, (req, res) => {
        if (req.headers['if-none-match'] === '"a"') return reply(res, clock, 304, { etag: '"a"' });
        // Served by an intermediary that held it for 100 s: stale at once, but it has a validator.
        return reply(res, clock, 200, { etag: '"a"', age: '100', 'cache-control': 'max-age=60' }, 'body');
      });
      await http.request(url);
      const [revalidated] = await http.request(url);
      expect([revalidated.status, revalidated.fromcache]).to.deep.equal([200, true]);
      clock.advance(10);
      const [res, content] = await http.request(url);
      expect([res.status, res.fromcache, content.toString()]).to.deep.equal([200, true, 'body']);
      expect(server.hits(p).length).to.equal(2);
    });

    it('dates the freshened entry at receipt when the 304 has no Date (RFC 9110 §6.6.1)', async () => {
      const http = anHttp();
      const p = path('date');
      const url = server.route(p, (req, res) => {
        if (req.headers['if-none-match'] === '"d"') return reply(res, clock, 304, { etag: '"d"', date: '' });
        return reply(res, clock, 200, { etag: '"d"', 'cache-control': 'max-age=60' }, 'body');
      });
      await http.request(url);
      clock.advance(61);
      const [revalidated] = await http.request(url);
      expect([revalidated.status, revalidated.fromcache]).to.deep.equal([200, true]);
      clock.advance(10);
      const [res] = await http.request(url);
      expect(res.fromcache).to.equal(true);
      expect(server.hits(p).length).to.equal(2);
    });
  });

  it('a reload (request no-cache) answered with no-store drops the older entry instead of serving it again', async () => {
    const http = anHttp();
    const p = path('reload');
    let version = 0;
    const url = server.route(p, (_req, res) => {
      version++;
      const cc = version === 1 ? 'max-age=600' : 'no-store';
      reply(res, clock, 200, { 'cache-control': cc }, `v${version}`);
    });
    expect((await http.request(url))[1].toString()).to.equal('v1');
    const [reloaded, reloadedBody] = await http.request(url, 'GET', null, { 'cache-control': 'no-cache' });
    expect([reloaded.fromcache, reloadedBody.toString()]).to.deep.equal([false, 'v2']);
    const [after, afterBody] = await http.request(url);
    expect([after.fromcache, afterBody.toString()]).to.deep.equal([false, 'v3']);
  });

  describe('coalescing and deadlines', () => {
    it("a coalesced waiter honours its own AbortSignal while the leader's request is still stalled", async () => {
      const http = anHttp();
      const p = path('stalled');
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const url = server.route(p, async (_req, res) => {
        await gate;
        reply(res, clock, 200, { 'cache-control': 'max-age=60' }, 'late');
      });
      const leader = http.request(url);
      while (server.hits(p).length === 0) await ticks(1);
      const controller = new AbortController();
      let outcome: unknown = 'pending';
      const waiter = http.request(url, { signal: controller.signal }).then(
        () => (outcome = 'resolved'),
        (error: unknown) => (outcome = error),
      );
      await ticks(5);
      controller.abort();
      for (let i = 0; i < 50 && outcome === 'pending'; i++) await ticks(1);
      try {
        expect(outcome).to.be.instanceOf(AbortError);
      } finally {
        release();
        await Promise.all([leader, waiter]);
      }
      expect(server.hits(p).length).to.equal(1);
    });

    it('a stale-while-revalidate background revalidation ends at the Http timeout instead of holding its flight forever', async () => {
      const http = anHttp({ timeout: 300 });
      const p = path('swr');
      let calls = 0;
      let stalledClosed!: () => void;
      const closed = new Promise<void>((resolve) => (stalledClosed = resolve));
      const url = server.route(p, (_req, res) => {
        calls++;
        if (calls === 2) {
          // The background revalidation: never answered; the client must give up on it.
          res.on('close', () => stalledClosed());
          return;
        }
        reply(res, clock, 200, { 'cache-control': 'max-age=1, stale-while-revalidate=30' }, `v${calls}`);
      });
      await http.request(url);
      clock.advance(5);
      const [stale, staleBody] = await http.request(url);
      expect([stale.fromcache, staleBody.toString()]).to.deep.equal([true, 'v1']);
      // A real deadline is under test: wait (bounded) for the client to drop the stalled request.
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = await Promise.race([
        closed.then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 3000))),
      ]);
      clearTimeout(timer);
      expect(gaveUp).to.equal(true);
      // Past the stale-while-revalidate window the next request asks the origin itself.
      clock.advance(60);
      const [fresh, body] = await http.request(url);
      expect([fresh.status, fresh.fromcache, body.toString()]).to.deep.equal([200, false, 'v3']);
    });
  });

  describe('Digest nonce counts (RFC 7616 §3.4)', () => {
    it('a slower pre-emptive request never rewinds the nonce count a faster one already used', async () => {
      const realm = 'r';
      const nonce = randomBytes(12).toString('hex');
      const seen = new Set<string>();
      let slowGate!: () => void;
      const slow = new Promise<void>((resolve) => (slowGate = resolve));
      const md5 = (s: string) => createHash('md5').update(s).digest('hex');
      const fieldsOf = (h: string) => Object.fromEntries([...h.matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)].map((m) => [m[1]!, m[2] ?? m[3]!]));
      const digestServer = await startServer(async (req: IncomingMessage, res: ServerResponse) => {
        const deny = () => {
          res.writeHead(401, { 'www-authenticate': `Digest realm="${realm}", nonce="${nonce}", qop="auth", algorithm=MD5` });
          res.end();
        };
        const auth = req.headers.authorization;
        if (!auth?.startsWith('Digest ')) return deny();
        const f = fieldsOf(auth.slice(7));
        const ha1 = md5(`joe:${realm}:secret`);
        const ha2 = md5(`${req.method}:${f['uri']}`);
        const ok = f['nonce'] === nonce && f['response'] === md5(`${ha1}:${nonce}:${f['nc']}:${f['cnonce']}:auth:${ha2}`);
        // A nonce count is accepted once (RFC 7616 §3.4: the server may refuse a replayed one).
        if (!ok || seen.has(f['nc']!)) return deny();
        seen.add(f['nc']!);
        if (req.url === '/d/slow') await slow;
        res.writeHead(200);
        res.end(`ok ${f['nc']}`);
      });
      const http = new Http();
      open.push(http);
      http.addCredentials('joe', 'secret');
      expect((await http.request(digestServer.url('/d/first')))[0].status).to.equal(200); // 401, then nc=1
      const slowRequest = http.request(digestServer.url('/d/slow')); // nc=2, answered last
      const [fast] = await http.request(digestServer.url('/d/fast')); // nc=3
      expect(fast.status).to.equal(200);
      slowGate();
      expect((await slowRequest)[0].status).to.equal(200);
      const [next, body] = await http.request(digestServer.url('/d/next'));
      expect([next.status, body.toString()]).to.deep.equal([200, 'ok 00000004']);
      expect(digestServer.count()).to.equal(5); // no refused replay, no new challenge
    });
  });

  describe('identity of pre-emptive answers', () => {
    const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const USERS: Record<string, string> = { [basic('alice', 'pw-a')]: 'alice', [basic('bob', 'pw-b')]: 'bob' };

    it('never stores an answer obtained as one user under another user (a later credential that also applies)', async () => {
      const p = path('who');
      for (const leaf of ['one', 'two']) {
        server.route(`${p}/${leaf}`, (req, res) => {
          const user = USERS[req.headers.authorization ?? ''];
          if (!user) return reply(res, clock, 401, { 'www-authenticate': 'Basic realm="x"' });
          return reply(res, clock, 200, { 'cache-control': 'max-age=60' }, `secret of ${user}`);
        });
      }
      const http = anHttp();
      http.addCredentials('alice', 'pw-a');
      expect((await http.request(server.url(`${p}/one`)))[1].toString()).to.equal('secret of alice');
      // Both apply now; alice, registered first and already accepted here, answers pre-emptively.
      http.addCredentials('bob', 'pw-b', '127.0.0.1');
      const [two, twoBody] = await http.request(server.url(`${p}/two`));
      expect([two.status, twoBody.toString()]).to.deep.equal([200, 'secret of alice']);
      const bobOnly = anHttp();
      bobOnly.addCredentials('bob', 'pw-b', '127.0.0.1');
      const [again, againBody] = await bobOnly.request(server.url(`${p}/two`));
      expect([again.fromcache, againBody.toString()]).to.deep.equal([false, 'secret of bob']);
    });

    it('keys an answer by every credential that could have obtained it (a wrong one tried first)', async () => {
      const p = path('pair');
      const url = server.route(p, (req, res) => {
        const user = USERS[req.headers.authorization ?? ''];
        if (!user) return reply(res, clock, 401, { 'www-authenticate': 'Basic realm="x"' });
        return reply(res, clock, 200, { 'cache-control': 'max-age=60' }, `secret of ${user}`);
      });
      const both = anHttp();
      both.addCredentials('alice', 'wrong');
      both.addCredentials('bob', 'pw-b');
      expect((await both.request(url))[1].toString()).to.equal('secret of bob');
      const [hit] = await both.request(url);
      expect(hit.fromcache).to.equal(true);
      // The same user name with the wrong password alone must not be served bob's answer.
      const wrongOnly = anHttp();
      wrongOnly.addCredentials('alice', 'wrong');
      const [refused, refusedBody] = await wrongOnly.request(url);
      expect([refused.status, refused.fromcache, refusedBody.toString()]).to.deep.equal([401, false, '']);
      const same = anHttp();
      same.addCredentials('alice', 'wrong');
      same.addCredentials('bob', 'pw-b');
      expect((await same.request(url))[0].fromcache).to.equal(true);
    });
  });
});
