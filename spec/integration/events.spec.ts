/**
 * Request events on node:diagnostics_channel (#12): one start and one end (or error) per request()
 * call, with the cache's outcome, against a real loopback server that counts what it received; and
 * nothing published while nobody subscribes.
 */
import { expect } from 'chai';
import diagnostics from 'node:diagnostics_channel';
import { gzipSync } from 'node:zlib';
import { ConnectionError, Http, type RequestEndMessage, type RequestErrorMessage, type RequestStartMessage } from '../../lib/index.js';
import { MapStore, aClock, reply, startRoutedServer, threeInOneFlight, type RoutedServer, type TestClock } from '../helpers/cache-fixtures.js';
import { startServer } from '../helpers/server.js';

const START = 'httplib2-ts:request:start';
const END = 'httplib2-ts:request:end';
const ERROR = 'httplib2-ts:request:error';

type Seen =
  | { readonly on: 'start'; readonly message: RequestStartMessage }
  | { readonly on: 'end'; readonly message: RequestEndMessage }
  | { readonly on: 'error'; readonly message: RequestErrorMessage };

describe('request events on node:diagnostics_channel (#12)', () => {
  let server: RoutedServer;
  let clock: TestClock;
  let store: MapStore;
  let http: Http;
  let seen: Seen[];
  let n = 0;
  const path = (name: string) => `/${name}-${++n}`;
  const onStart = (message: unknown) => void seen.push({ on: 'start', message: message as RequestStartMessage });
  const onEnd = (message: unknown) => void seen.push({ on: 'end', message: message as RequestEndMessage });
  const onError = (message: unknown) => void seen.push({ on: 'error', message: message as RequestErrorMessage });
  const subscribe = () => {
    diagnostics.subscribe(START, onStart);
    diagnostics.subscribe(END, onEnd);
    diagnostics.subscribe(ERROR, onError);
  };
  const unsubscribe = () => {
    diagnostics.unsubscribe(START, onStart);
    diagnostics.unsubscribe(END, onEnd);
    diagnostics.unsubscribe(ERROR, onError);
  };

  before(async () => {
    server = await startRoutedServer();
  });
  beforeEach(() => {
    seen = [];
    clock = aClock();
    store = new MapStore();
    http = new Http(store, { clock });
    subscribe();
  });
  afterEach(async () => {
    unsubscribe();
    await http.close();
  });

  /** A resource answering 200 `body` with `headers`, or 304 to If-None-Match "v1" once `notModified` is set. */
  function resource(name: string, headers: Record<string, string>, body: string | Buffer = 'version 1') {
    const p = path(name);
    const state = { notModified: false };
    const url = server.route(p, (req, res) => {
      if (state.notModified && req.headers['if-none-match'] === '"v1"') return reply(res, clock, 304, { etag: '"v1"', ...headers });
      return reply(res, clock, 200, headers, body);
    });
    return { url, state, hits: () => server.hits(p).length };
  }

  /** The one end message of each request() so far, after checking each call had exactly one start before its end. */
  function ends(): RequestEndMessage[] {
    const starts = seen.filter((s) => s.on === 'start').map((s) => s.message.id);
    const finished = seen.filter((s) => s.on !== 'start').map((s) => s.message.id);
    expect(finished).to.deep.equal(starts);
    for (const id of starts) expect(seen.findIndex((s) => s.on === 'start' && s.message.id === id)).to.be.lessThan(seen.findIndex((s) => s.on !== 'start' && s.message.id === id));
    return seen.filter((s): s is Extract<Seen, { on: 'end' }> => s.on === 'end').map((s) => s.message);
  }

  it('publishes one start and one end per request, with the outcome for miss, hit, revalidated and bypass', async () => {
    const r = resource('life', { 'cache-control': 'max-age=60', etag: '"v1"' });
    await http.request(r.url);
    await http.request(r.url);
    clock.advance(90);
    r.state.notModified = true;
    await http.request(r.url);
    await http.request(r.url, 'POST', 'x');
    expect(r.hits()).to.equal(3);
    const got = ends().map((m) => [m.method, m.uri, m.status, m.fromcache, m.cache.outcome, m.wireBytes, m.servedBytes, m.hops]);
    expect(got).to.deep.equal([
      ['GET', r.url, 200, false, 'miss', 9, 9, 1],
      ['GET', r.url, 200, true, 'hit', 0, 9, 1],
      ['GET', r.url, 200, true, 'revalidated', 0, 9, 1],
      ['POST', r.url, 200, false, 'bypass', 9, 9, 1],
    ]);
    const starts = seen.filter((s) => s.on === 'start').map((s) => [s.message.method, s.message.uri]);
    expect(starts).to.deep.equal([['GET', r.url], ['GET', r.url], ['GET', r.url], ['POST', r.url]]);
    for (const m of ends()) expect(m.duration).to.be.a('number').and.at.least(0);
  });

  it('publishes stale for a stale-while-revalidate answer, once, though a revalidation goes on behind it', async () => {
    const r = resource('swr', { 'cache-control': 'max-age=60, stale-while-revalidate=600', etag: '"v1"' });
    await http.request(r.url);
    clock.advance(90);
    const [res] = await http.request(r.url);
    // The revalidation behind the answer is done once its answer is stored.
    while (store.sets < 2) await new Promise((resolve) => setImmediate(resolve));
    expect(r.hits()).to.equal(2);
    expect(ends().map((m) => [m.cache.outcome, m.cache.detail])).to.deep.equal([['miss', 'uri-miss'], ['stale', 'stale-while-revalidate']]);
    expect(ends()[1]!.response).to.equal(res);
  });

  it('publishes uncached on an Http without a cache', async () => {
    const r = resource('uncached', { 'cache-control': 'max-age=60' });
    const plain = new Http(null);
    try {
      await plain.request(r.url);
      await plain.request(r.url);
    } finally {
      await plain.close();
    }
    expect(ends().map((m) => [m.cache.outcome, m.fromcache, m.wireBytes])).to.deep.equal([['uncached', false, 9], ['uncached', false, 9]]);
    expect(r.hits()).to.equal(2);
  });

  it('counts bytes on the wire (as sent, gzip) apart from bytes served (decoded), over every hop', async () => {
    const text = 'a'.repeat(10_000);
    const zipped = gzipSync(text);
    const target = resource('zipped', { 'content-encoding': 'gzip', 'cache-control': 'max-age=60' }, zipped);
    const p = path('moved');
    const from = server.route(p, (_req, res) => reply(res, clock, 302, { location: target.url }, 'go'));
    await http.request(from);
    const [end] = ends();
    expect([end!.uri, end!.status, end!.hops, end!.wireBytes, end!.servedBytes]).to.deep.equal([from, 200, 2, zipped.length + 2, 10_000]);
    // The end carries the final response's timings (#13): its exchange's phases and the whole call.
    expect(end!.timings).to.equal(end!.response.timings);
    expect(end!.timings.firstByte).to.be.a('number');
    expect(end!.timings.total).to.be.at.least(end!.timings.firstByte!);
  });

  it('gives the joiners of one flight their own start and end, the origin asked once', async () => {
    const p = path('collapsed');
    await threeInOneFlight(server, clock, http, p);
    expect(ends().map((m) => [m.cache.outcome, m.cache.collapsed, m.wireBytes])).to.deep.equal([['miss', false, 3], ['miss', true, 0], ['miss', true, 0]]);
    expect(server.hits(p).length).to.equal(1);
  });

  it('publishes an error, never an end, for a connection refused', async () => {
    const gone = await startServer((_req, res) => res.end());
    const url = gone.url('/nobody');
    await gone.close();
    const error = await http.request(url).then(() => null, (e: unknown) => e);
    expect(error).to.be.instanceOf(ConnectionError);
    expect(seen.map((s) => s.on)).to.deep.equal(['start', 'error']);
    const failure = seen[1]!.message as RequestErrorMessage;
    expect([failure.id, failure.method, failure.uri, failure.error]).to.deep.equal([seen[0]!.message.id, 'GET', url, error]);
  });

  it('publishes the error, not an end, when forceExceptionToStatusCode turns it into a response', async () => {
    const gone = await startServer((_req, res) => res.end());
    const url = gone.url('/forced');
    await gone.close();
    http.forceExceptionToStatusCode = true;
    const [res] = await http.request(url);
    expect(res.status).to.equal(400);
    expect(seen.map((s) => s.on)).to.deep.equal(['start', 'error']);
    expect((seen[1]!.message as RequestErrorMessage).error).to.be.instanceOf(ConnectionError);
  });

  it('never carries user info: not in the start, not for a request refused before anything is sent', async () => {
    const r = resource('userinfo', { 'cache-control': 'max-age=60' });
    const withSecret = r.url.replace('http://', 'http://alice:s3cret@');
    await http.request(withSecret);
    const refused = await http.request(withSecret, 'GET', null, { 'x-bad': 'a\r\nb' }).then(() => null, (e: unknown) => e);
    expect((refused as { code?: string } | null)?.code).to.equal('ERR_INVALID_REQUEST');
    await http.request('http://bob:hunter2@exa mple/').catch(() => undefined);
    expect(seen.map((s) => s.on)).to.deep.equal(['start', 'end', 'start', 'error', 'start', 'error']);
    expect(seen.map((s) => s.message.uri)).to.deep.equal([r.url, r.url, r.url, r.url, 'http://exa mple/', 'http://exa mple/']);
    expect(JSON.stringify(seen.map((s) => [s.message.uri, s.on === 'end' ? s.message.cache : null]))).not.to.match(/s3cret|alice|hunter2|bob/);
  });

  it('publishes nothing, and asks nothing of the channels, while nobody subscribes', async () => {
    unsubscribe();
    const published: string[] = [];
    const channels = [START, END, ERROR].map((name) => diagnostics.channel(name));
    const originals = channels.map((c) => c.publish);
    channels.forEach((c, i) => {
      c.publish = (message: unknown) => {
        published.push(c.name as string);
        originals[i]!.call(c, message);
      };
    });
    try {
      const r = resource('quiet', { 'cache-control': 'max-age=60' });
      await http.request(r.url);
      await http.request(r.url);
      await http.request('http://127.0.0.1:1/').catch(() => undefined);
      expect(r.hits()).to.equal(1);
    } finally {
      channels.forEach((c, i) => (c.publish = originals[i]!));
    }
    expect([published, seen]).to.deep.equal([[], []]);
  });
});
