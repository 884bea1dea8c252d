/**
 * Debug output (httplib2's debuglevel): the request head as sent after the cache and auth layers,
 * the response head as received, credentials redacted, and one closing line per request() with the
 * cache's decisions. Captured through the `debug` option's function form, and once from a child
 * process run with DEBUG=httplib2-ts.
 */
import { expect } from 'chai';
import { Http, HttpLib2Error, MemoryCache } from '../../lib/index.js';
import { isDebugEnabled } from '../../lib/debug.js';
import { aClock, reply, startRoutedServer, type RoutedServer, type TestClock } from '../helpers/cache-fixtures.js';
import { runCli } from '../helpers/cli.js';
import { startServer } from '../helpers/server.js';

describe('debug output', () => {
  let server: RoutedServer;
  let clock: TestClock;
  let lines: string[];
  let http: Http;
  let n = 0;
  const path = (name: string) => `/${name}-${++n}`;

  before(async () => {
    server = await startRoutedServer();
  });
  beforeEach(() => {
    clock = aClock();
    lines = [];
    http = new Http(new MemoryCache(), { clock, proxyInfo: null, debug: (line) => lines.push(line) });
  });
  afterEach(() => http.close());

  const sent = () => lines.filter((l) => l.startsWith('httplib2-ts > '));
  const received = () => lines.filter((l) => l.startsWith('httplib2-ts < '));
  const summaries = () => lines.filter((l) => l.startsWith('httplib2-ts * '));

  it('says once per Http that its cache cannot keep answers, while each summary shows its own request', async () => {
    // /proc/self is a directory no file can be created in, even by root.
    const broken = new Http('/proc/self', { clock, proxyInfo: null, debug: (line) => lines.push(line) });
    try {
      for (const name of ['kept-a', 'kept-b', 'kept-c']) {
        const url = server.route(path(name), (_req, res) => reply(res, clock, 200, { 'cache-control': 'max-age=60' }, name));
        const [response] = await broken.request(url);
        expect(response.status).to.equal(200);
      }
    } finally {
      await broken.close();
    }
    const trouble = lines.filter((l) => l.startsWith('httplib2-ts ! the cache cannot keep answers: '));
    expect(trouble).to.have.length(1);
    expect(trouble[0]).to.match(/not kept: max-age=60 \(store error on set \(ERR_CACHE: /);
    expect(summaries().filter((l) => l.includes('not kept: '))).to.have.length(3);
  });

  it('shows the request head with the Authorization the auth layer added, redacted, and the response head', async () => {
    const p = path('basic');
    const url = server.route(p, (req, res) => {
      if (req.headers.authorization !== `Basic ${Buffer.from('joe:s3cret').toString('base64')}`) {
        return reply(res, clock, 401, { 'www-authenticate': 'Basic realm="r"' }, 'who?');
      }
      return reply(res, clock, 200, { 'cache-control': 'max-age=60', etag: '"v1"', 'set-cookie': 'sid=abc123' }, 'hello');
    });
    http.addCredentials('joe', 's3cret');
    const [response, content] = await http.request(url);
    expect(response.status).to.equal(200);
    expect(content.toString()).to.equal('hello');

    expect(sent().filter((l) => l.startsWith(`httplib2-ts > GET ${url}`))).to.have.length(2);
    expect(sent()).to.include('httplib2-ts > authorization: Basic [redacted]');
    expect(sent().some((l) => l.startsWith('httplib2-ts > accept-encoding: gzip'))).to.equal(true);
    expect(received()).to.include.members([
      'httplib2-ts < HTTP/1.1 401 Unauthorized',
      'httplib2-ts < www-authenticate: Basic realm="r"',
      'httplib2-ts < HTTP/1.1 200 OK',
      'httplib2-ts < etag: "v1"',
      'httplib2-ts < set-cookie: [redacted]',
      'httplib2-ts < [body: 5 bytes received]',
    ]);
    expect(summaries()).to.deep.equal([
      `httplib2-ts * GET ${url} → 200 OK; cache: miss: nothing stored | stored: max-age=60`,
    ]);
    const all = lines.join('\n');
    expect(all).not.to.include('s3cret');
    expect(all).not.to.include(Buffer.from('joe:s3cret').toString('base64'));
    expect(all).not.to.include('abc123');
  });

  it('redacts Cookie, X-WSSE and Proxy-Authorization the caller sets, keeping only the scheme', async () => {
    const url = server.route(path('headers'), (_req, res) => reply(res, clock, 200, {}, 'ok'));
    await http.request(url, 'POST', 'a=1', {
      cookie: 'session=topsecret',
      'x-wsse': 'UsernameToken Username="joe", PasswordDigest="digestsecret"',
      'proxy-authorization': 'Basic cHJveHk6cHc=',
      'x-visible': 'shown',
    });
    expect(sent()).to.include.members([
      `httplib2-ts > POST ${url}`,
      'httplib2-ts > cookie: [redacted]',
      'httplib2-ts > x-wsse: UsernameToken [redacted]',
      'httplib2-ts > proxy-authorization: Basic [redacted]',
      'httplib2-ts > x-visible: shown',
      'httplib2-ts > [body: 3 bytes]',
    ]);
    expect(lines.join('\n')).not.to.match(/topsecret|digestsecret|cHJveHk6cHc=/);
  });

  it('says why an answer came from the cache, and shows the validators of a revalidation', async () => {
    const p = path('feed');
    const url = server.route(p, (req, res) => {
      if (req.headers['if-none-match'] === '"v1"') return reply(res, clock, 304, { 'cache-control': 'max-age=60', etag: '"v1"' });
      return reply(res, clock, 200, { 'cache-control': 'max-age=60', etag: '"v1"' }, 'feed body');
    });
    await http.request(url);
    lines.length = 0;

    clock.advance(10);
    const [hit] = await http.request(url);
    expect(hit.fromcache).to.equal(true);
    // Nothing went to the server: the only line is the cache's account.
    expect(lines).to.deep.equal([`httplib2-ts * GET ${url} → 200 OK (from the cache); cache: fresh: max-age=60, age 10s`]);
    lines.length = 0;

    clock.advance(60);
    const [revalidated, content] = await http.request(url);
    expect(revalidated.fromcache).to.equal(true);
    expect(content.toString()).to.equal('feed body');
    expect(sent()).to.include('httplib2-ts > if-none-match: "v1"');
    expect(received()).to.include('httplib2-ts < HTTP/1.1 304 Not Modified');
    expect(summaries()).to.have.length(1);
    expect(summaries()[0]).to.match(/→ 200 OK \(from the cache\); cache: revalidate: .* \| revalidated: 304 via If-None-Match$/);
    expect(server.hits(p)).to.have.length(2);
  });

  it('follows a redirect hop by hop and says so on the closing line', async () => {
    const target = server.route(path('target'), (_req, res) => reply(res, clock, 200, {}, 'here'));
    const start = server.route(path('start'), (_req, res) => reply(res, clock, 302, { location: target }));
    await http.request(start);
    expect(sent().filter((l) => / http:/.test(l))).to.deep.equal([`httplib2-ts > GET ${start}`, `httplib2-ts > GET ${target}`]);
    expect(received()).to.include.members(['httplib2-ts < HTTP/1.1 302 Found', `httplib2-ts < location: ${target}`]);
    expect(summaries()).to.have.length(1);
    expect(summaries()[0]).to.match(new RegExp(`^httplib2-ts \\* GET ${start} → 200 OK \\(after 1 redirect\\); cache: `));
  });

  it('reports a failed request with its error code', async () => {
    const gone = await startServer(() => undefined);
    const url = gone.url('/x');
    await gone.close();
    let error: unknown;
    try {
      await http.request(url);
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(HttpLib2Error);
    expect(lines.filter((l) => l.startsWith('httplib2-ts ! '))[0]).to.match(/^httplib2-ts ! GET http:\S+ failed: ERR_CONNECTION /);
    expect(summaries()[0]).to.match(/→ failed: ERR_CONNECTION .*; cache: miss: nothing stored$/);
  });

  it('redacts the password of a URI that cannot be parsed, in the URI and in the error text', async () => {
    const e = await http.request('http://ann:s3cret@exa mple/').catch((error: unknown) => error);
    expect((e as HttpLib2Error).code).to.equal('ERR_INVALID_REQUEST');
    expect(summaries()).to.have.length(1);
    expect(summaries()[0]).to.contain('http://ann:redacted@exa mple/');
    expect(lines.join('\n')).to.not.contain('s3cret');
  });

  it('says "no cache" for an Http without one, and a throwing sink never fails the request', async () => {
    const url = server.route(path('plain'), (_req, res) => reply(res, clock, 200, {}, 'ok'));
    const seen: string[] = [];
    const plain = new Http(null, { proxyInfo: null, debug: (line) => { seen.push(line); throw new Error('sink broke'); } });
    try {
      const [response] = await plain.request(url);
      expect(response.status).to.equal(200);
      expect(seen.at(-1)).to.equal(`httplib2-ts * GET ${url} → 200 OK; no cache`);
    } finally {
      await plain.close();
    }
  });

  it('refuses a debug option that is neither a boolean nor a function, naming it', () => {
    expect(() => new Http(null, { debug: 'yes' as never })).to.throw(HttpLib2Error, /Invalid option debug/);
  });

  it('hands a wireObserver each hop as sent and received (a 304 stays a 304), nothing for a fresh hit, and survives one that throws', async () => {
    const p = path('observed');
    const url = server.route(p, (req, res) => {
      if (req.headers['if-none-match'] === '"o1"') return reply(res, clock, 304, { etag: '"o1"' });
      return reply(res, clock, 200, { 'cache-control': 'max-age=60', etag: '"o1"', 'set-cookie': 'sid=1' }, 'observed body');
    });
    const events: string[] = [];
    const observed = new Http(new MemoryCache(), {
      clock,
      proxyInfo: null,
      debug: false,
      wireObserver: {
        sent: (head) => {
          events.push(`> ${head.method} ${head.url} ${head.headers.map(([n, v]) => `${n}=${v}`).join(' ')}`);
          throw new Error('observer broke');
        },
        received: (head) => events.push(`< ${head.status} ${head.reason} ${head.headers.map(([n, v]) => `${n}=${v}`).join(' ')} [${head.bodyLength}]`),
      },
    });
    try {
      observed.addCredentials('joe', 's3cret');
      await observed.request(url, { headers: { authorization: 'Bearer t0ken' } });
      clock.advance(10);
      await observed.request(url, { headers: { authorization: 'Bearer t0ken' } });
      expect(events).to.have.length(2);
      clock.advance(60);
      const [again] = await observed.request(url, { headers: { authorization: 'Bearer t0ken' } });
      expect(again.status).to.equal(200);
      expect(events).to.have.length(4);
      expect(events[0]).to.match(new RegExp(`^> GET ${url} .*authorization=Bearer \\[redacted\\]`));
      expect(events[1]).to.match(/^< 200 OK .*set-cookie=sid=1.* \[13\]$/);
      expect(events[2]).to.include('if-none-match="o1"');
      expect(events[3]).to.match(/^< 304 Not Modified .*etag="o1".* \[0\]$/);
      expect(events.join('\n')).not.to.include('t0ken');
    } finally {
      await observed.close();
    }
    expect(() => new Http(null, { wireObserver: { sent: 'yes' } as never })).to.throw(HttpLib2Error, /Invalid option wireObserver/);
  });

  it('reads DEBUG as the debug package does: lists, wildcards, exclusions', () => {
    const cases: Array<[string | undefined, boolean]> = [
      [undefined, false], ['', false], ['httplib2-ts', true], ['httplib2-ts*', true], ['httplib2*', true],
      ['*', true], ['express,httplib2-ts', true], ['express httplib2-ts', true], ['express:*', false],
      ['httplib2', false], ['httplib2-ts:cache', false], ['*,-httplib2-ts', false], ['-httplib2-ts,*', false],
      ['http*ts', true], ['*-ts', true], ['h*x', false],
    ];
    for (const [pattern, want] of cases) expect(isDebugEnabled(pattern), String(pattern)).to.equal(want);
  });

  it('prints to stderr in a process started with DEBUG=httplib2-ts, and nothing when DEBUG names others', async () => {
    const url = server.route(path('cli'), (_req, res) => reply(res, clock, 200, { 'content-type': 'text/plain' }, 'body'));
    const on = await runCli([url], { env: { DEBUG: 'httplib2-ts' } });
    expect(on.code).to.equal(0);
    expect(on.stdout.toString()).to.equal('body');
    const stderr = on.stderr.split('\n');
    expect(stderr).to.include.members([
      `httplib2-ts > GET ${url}`,
      'httplib2-ts < HTTP/1.1 200 OK',
      'httplib2-ts < content-type: text/plain',
      `httplib2-ts * GET ${url} → 200 OK; no cache`,
    ]);
    const off = await runCli([url], { env: { DEBUG: 'express:*,-httplib2-ts' } });
    expect(off.code).to.equal(0);
    expect(off.stderr).not.to.include('httplib2-ts >');
  });
});
