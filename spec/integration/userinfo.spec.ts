/**
 * User info in a request URI (`http://user:pw@host/page`, #18): it is sent as Basic credentials, as
 * curl does, and never copied into a response header (content-location), an error or a debug line.
 */
import { expect } from 'chai';
import { Http, HttpLib2Error, MemoryCache } from '../../lib/index.js';
import { startServer, type TestServer } from '../helpers/server.js';

const basic = (name: string, password: string) => `Basic ${Buffer.from(`${name}:${password}`, 'utf8').toString('base64')}`;

/** Every header value of a response and of the responses before it, with their names. */
function everyHeader(response: { previous: unknown } & Map<string, string>): string {
  const lines: string[] = [];
  for (let r: (Map<string, string> & { previous: unknown }) | null = response; r; r = r.previous as typeof r) {
    for (const [k, v] of r) lines.push(`${k}: ${v}`);
  }
  return lines.join('\n');
}

describe('user info in a request URI', () => {
  let server: TestServer;
  let other: TestServer;
  let http: Http;

  before(async () => {
    other = await startServer((req, res) => res.end(`other ${req.headers.authorization ?? 'none'}`));
    server = await startServer((req, res) => {
      if (req.url === '/hop') {
        res.writeHead(302, { location: '/page' });
        return res.end();
      }
      if (req.url === '/away') {
        res.writeHead(302, { location: other.url('/x') });
        return res.end();
      }
      if (req.headers.authorization !== basic('ann', 's3cret')) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' });
        return res.end('denied');
      }
      res.writeHead(200, { 'cache-control': 'max-age=60' });
      res.end('welcome');
    });
  });
  beforeEach(() => {
    http = new Http();
  });
  afterEach(() => http.close());

  const withUser = (s: TestServer, path: string, userinfo = 'ann:s3cret') => `http://${userinfo}@127.0.0.1:${s.port}${path}`;

  it('is sent as Basic credentials up front (as curl does) and not copied into content-location', async () => {
    const [response, content] = await http.request(withUser(server, '/page'));
    expect([response.status, content.toString()]).to.deep.equal([200, 'welcome']);
    expect(server.requests.at(-1)!.headers.authorization).to.equal(basic('ann', 's3cret'));
    expect(response.get('content-location')).to.equal(server.url('/page'));
    expect(everyHeader(response)).to.not.match(/ann|s3cret/);
  });

  it('appears in no response of a redirect chain, and keeps going on the same origin only', async () => {
    const [response] = await http.request(withUser(server, '/hop'));
    expect(response.status).to.equal(200);
    expect(response.previous!.get('content-location')).to.equal(server.url('/hop'));
    expect(everyHeader(response)).to.not.match(/ann|s3cret/);
    const [away, body] = await http.request(withUser(server, '/away'));
    expect([away.status, body.toString()]).to.deep.equal([200, 'other none']);
  });

  it('is percent-decoded (UTF-8) before it is sent', async () => {
    await http.request(withUser(server, '/page', 'a%40b%20c:p%3Aw%C3%A9'));
    expect(server.requests.at(-1)!.headers.authorization).to.equal(basic('a@b c', 'p:wé'));
  });

  it("gives way to an Authorization the caller set", async () => {
    await http.request(withUser(server, '/page'), 'GET', null, { authorization: 'Bearer t' });
    expect(server.requests.at(-1)!.headers.authorization).to.equal('Bearer t');
  });

  it('keys the cached answer by that identity: a request without it misses', async () => {
    const cached = new Http(new MemoryCache());
    try {
      await cached.request(withUser(server, '/page'));
      const [again] = await cached.request(withUser(server, '/page'));
      expect(again.fromcache).to.equal(true);
      const [anonymous] = await cached.request(server.url('/page'));
      expect([anonymous.status, anonymous.fromcache]).to.deep.equal([401, false]);
    } finally {
      await cached.close();
    }
  });

  it('is named in no error: message, stack and causes', async () => {
    const closed = await startServer((_q, res) => res.end());
    await closed.close();
    const e = await http.request(withUser(closed, '/page')).then(() => null, (error: unknown) => error);
    expect(e).to.be.instanceOf(HttpLib2Error);
    const texts: string[] = [];
    for (let c: unknown = e; c instanceof Error; c = c.cause) texts.push(c.message, c.stack ?? '');
    expect(texts.join('\n')).to.include(`127.0.0.1:${closed.port}`);
    expect(texts.join('\n')).to.not.match(/ann|s3cret/);
  });

  it('is named in no debug line, and not in a forced error response', async () => {
    const lines: string[] = [];
    const debug = new Http(null, { debug: (line) => lines.push(line) });
    debug.forceExceptionToStatusCode = true;
    try {
      await debug.request(withUser(server, '/hop'));
      const closed = await startServer((_q, res) => res.end());
      await closed.close();
      const [failed, body] = await debug.request(withUser(closed, '/x'));
      expect(failed.status).to.equal(400);
      expect(`${failed.reason}\n${body.toString()}\n${everyHeader(failed)}`).to.not.match(/ann|s3cret/);
    } finally {
      await debug.close();
    }
    expect(lines.length).to.be.greaterThan(2);
    expect(lines.join('\n')).to.not.match(/ann|s3cret/);
  });

  for (const [label, userinfo] of [['bad percent-encoding', 'ann:%zz'], ['a CR LF', 'ann:a%0D%0Ab'], ['a ":" in the user name', 'a%3Ab:pw']] as const) {
    it(`refuses ${label} before anything is sent, without quoting it`, async () => {
      const before = server.count();
      const e = await http.request(withUser(server, '/page', userinfo)).then(() => null, (error: unknown) => error);
      expect((e as HttpLib2Error).code).to.equal('ERR_INVALID_REQUEST');
      expect((e as Error).message).to.not.include(userinfo.split(':')[1]!);
      expect(server.count()).to.equal(before);
    });
  }
});
