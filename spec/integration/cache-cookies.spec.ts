/**
 * DESIGN.md, Identity: one Http with a FileCache, used by a server to fetch for several users. An
 * answer obtained with one Cookie is never a hit for another Cookie or for none (the same Cookie still
 * hits); Set-Cookie is handed to the caller of the answer that carried it and never stored, so no hit
 * carries it; neither the cache keys nor the files hold a Cookie value in clear.
 */
import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Http } from '../../lib/index.js';
import { aClock, reply, startRoutedServer, type RoutedServer, type TestClock } from '../helpers/cache-fixtures.js';

const SESSIONS: Record<string, string> = { 'session=alice-5f1c9e': 'alice', 'session=bob-83d2aa': 'bob' };

describe('cache identity: cookies', () => {
  let server: RoutedServer;
  let clock: TestClock;
  let dir: string;
  let http: Http;
  let n = 0;

  before(async () => {
    server = await startRoutedServer();
  });
  beforeEach(() => {
    clock = aClock();
    dir = mkdtempSync(join(tmpdir(), 'h2ts-cookies-'));
    http = new Http(dir, { clock });
  });
  afterEach(async () => {
    await http.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // A page that depends on the session, which the server lets caches keep (max-age, no Vary).
  function profile(): { url: string; hits: () => number } {
    const p = `/profile-${++n}`;
    const url = server.route(p, (req, res) => {
      const user = SESSIONS[req.headers.cookie ?? ''];
      const headers: Record<string, string> = { 'cache-control': 'max-age=60' };
      if (user) headers['set-cookie'] = `csrf=${user}-token-77; Path=/; HttpOnly`;
      reply(res, clock, 200, headers, user ? `profile of ${user}` : 'please log in');
    });
    return { url, hits: () => server.hits(p).length };
  }
  const get = async (url: string, cookie?: string) => {
    const [res, content] = await http.request(url, 'GET', null, cookie ? { cookie } : {});
    return { fromcache: res.fromcache, body: content.toString(), setCookie: res.get('set-cookie') ?? null };
  };

  it("never serves one user's answer to another Cookie or to a request without one; the same Cookie hits", async () => {
    const page = profile();
    expect(await get(page.url, 'session=alice-5f1c9e')).to.deep.equal({ fromcache: false, body: 'profile of alice', setCookie: 'csrf=alice-token-77; Path=/; HttpOnly' });
    expect(await get(page.url, 'session=bob-83d2aa')).to.deep.equal({ fromcache: false, body: 'profile of bob', setCookie: 'csrf=bob-token-77; Path=/; HttpOnly' });
    expect(await get(page.url)).to.deep.equal({ fromcache: false, body: 'please log in', setCookie: null });
    expect(await get(page.url, 'session=alice-5f1c9e')).to.deep.equal({ fromcache: true, body: 'profile of alice', setCookie: null });
    expect(await get(page.url, 'session=bob-83d2aa')).to.deep.equal({ fromcache: true, body: 'profile of bob', setCookie: null });
    expect(await get(page.url)).to.deep.equal({ fromcache: true, body: 'please log in', setCookie: null });
    expect(page.hits()).to.equal(3);
  });

  it('keeps no Cookie value nor Set-Cookie in the cache keys or files', async () => {
    const page = profile();
    await get(page.url, 'session=alice-5f1c9e');
    await get(page.url, 'session=bob-83d2aa');
    const names = readdirSync(dir);
    expect(names.length).to.be.above(1);
    for (const name of names) {
      const bytes = readFileSync(join(dir, name)).toString('latin1');
      for (const secret of ['alice-5f1c9e', 'bob-83d2aa', 'csrf=', 'token-77', 'set-cookie']) {
        expect(name, `file name ${name}`).not.to.include(secret);
        expect(bytes.toLowerCase(), `contents of ${name}`).not.to.include(secret);
      }
    }
  });

  it('hands the Set-Cookie of a 304 to its caller, never to a later hit', async () => {
    const p = `/revalidated-${++n}`;
    const url = server.route(p, (req, res) => (req.headers['if-none-match'] === '"p1"'
      ? reply(res, clock, 304, { 'cache-control': 'max-age=60', etag: '"p1"', 'set-cookie': 'seen=2' })
      : reply(res, clock, 200, { 'cache-control': 'max-age=60', etag: '"p1"', 'set-cookie': 'seen=1' }, 'page')));
    expect((await get(url, 'session=alice-5f1c9e')).setCookie).to.equal('seen=1');
    clock.advance(120);
    expect(await get(url, 'session=alice-5f1c9e')).to.deep.equal({ fromcache: true, body: 'page', setCookie: 'seen=2' });
    expect(await get(url, 'session=alice-5f1c9e')).to.deep.equal({ fromcache: true, body: 'page', setCookie: null });
    expect(server.hits(p).length).to.equal(2);
  });
});
