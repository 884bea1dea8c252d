/**
 * QUERY (RFC 10008) against a real server that counts requests: its answers are stored and reused
 * when the method, the URI and the request content (a digest of the body, with its Content-Type) are
 * the same (§2.7), with Vary, validators, 304 freshening and identity as for GET; it is safe, so it
 * never invalidates, and idempotent, so it is retried; a 303 turns it into a GET (§2.5).
 */
import { expect } from 'chai';
import { Http } from '../../lib/index.js';
import { MapStore, cacheSuite, reply, type RoutedServer, type TestClock } from '../helpers/cache-fixtures.js';
import type { Recorded } from '../helpers/server.js';

const JSON_TYPE = { 'content-type': 'application/json' };

describe('QUERY in the cache (RFC 10008 §2.7)', () => {
  let server: RoutedServer;
  let clock: TestClock;
  let store: MapStore;
  let http: Http;
  const { path } = cacheSuite((f) => ({ server, clock, store, http } = f));

  // A search resource: the answer names the query it ran; ETag "r1" for every query, 304 to it.
  function search(name: string, headers: Record<string, string> = { 'cache-control': 'max-age=60' }) {
    const p = path(name);
    const url = server.route(p, (req, res, body) => {
      if (req.method !== 'QUERY') return reply(res, clock, 405, { allow: 'QUERY' });
      if (req.headers['if-none-match'] === '"r1"') return reply(res, clock, 304, { etag: '"r1"', ...headers });
      return reply(res, clock, 200, { etag: '"r1"', 'content-type': 'text/plain', ...headers }, `results for ${body.toString()} as ${req.headers['content-type']}`);
    });
    return { p, url, hits: (): Recorded[] => server.hits(p) };
  }

  it('answers a second identical QUERY from the cache without a request', async () => {
    const s = search('same');
    const [first, firstBody] = await http.request(s.url, 'QUERY', '{"q":"cats"}', JSON_TYPE);
    const [second, secondBody] = await http.request(s.url, 'QUERY', '{"q":"cats"}', JSON_TYPE);
    expect([first.status, first.fromcache, firstBody.toString()]).to.deep.equal([200, false, 'results for {"q":"cats"} as application/json']);
    expect([second.status, second.fromcache, secondBody.toString()]).to.deep.equal([200, true, 'results for {"q":"cats"} as application/json']);
    expect(s.hits().map((h) => [h.method, h.body.toString()])).to.deep.equal([['QUERY', '{"q":"cats"}']]);
    expect(second.cacheStatus[0]).to.match(/^fresh: /);
    // The machine-readable outcome says the same as for GET (#12).
    expect([first.cache.outcome, second.cache.outcome]).to.deep.equal(['miss', 'hit']);
  });

  it('sends a QUERY with another body, or the same body as another media type, to the server: each is its own entry', async () => {
    const s = search('other');
    await http.request(s.url, 'QUERY', '{"q":"cats"}', JSON_TYPE);
    const [dogs, dogsBody] = await http.request(s.url, 'QUERY', '{"q":"dogs"}', JSON_TYPE);
    const [asText, textBody] = await http.request(s.url, 'QUERY', '{"q":"cats"}', { 'content-type': 'text/plain' });
    expect([dogs.fromcache, dogsBody.toString()]).to.deep.equal([false, 'results for {"q":"dogs"} as application/json']);
    expect([asText.fromcache, textBody.toString()]).to.deep.equal([false, 'results for {"q":"cats"} as text/plain']);
    expect(s.hits().map((h) => h.body.toString())).to.deep.equal(['{"q":"cats"}', '{"q":"dogs"}', '{"q":"cats"}']);
    // Each query keeps its own answer: asked again, all three come from the cache.
    for (const [body, type] of [['{"q":"cats"}', 'application/json'], ['{"q":"dogs"}', 'application/json'], ['{"q":"cats"}', 'text/plain']] as const) {
      const [res, content] = await http.request(s.url, 'QUERY', body, { 'content-type': type });
      expect([res.fromcache, content.toString()]).to.deep.equal([true, `results for ${body} as ${type}`]);
    }
    expect(s.hits().length).to.equal(3);
  });

  it('revalidates a stale QUERY entry with If-None-Match (and its body); a 304 freshens it', async () => {
    const s = search('stale');
    await http.request(s.url, 'QUERY', '{"q":"cats"}', JSON_TYPE);
    clock.advance(61);
    const [res, content] = await http.request(s.url, 'QUERY', '{"q":"cats"}', JSON_TYPE);
    expect([res.status, res.fromcache, content.toString()]).to.deep.equal([200, true, 'results for {"q":"cats"} as application/json']);
    const revalidation = s.hits()[1]!;
    expect([revalidation.method, revalidation.headers['if-none-match'], revalidation.body.toString()]).to.deep.equal(['QUERY', '"r1"', '{"q":"cats"}']);
    expect(res.cacheStatus).to.deep.equal(['revalidate: stale: max-age=60, age 61s, with If-None-Match', 'revalidated: 304 via If-None-Match']);
    // Freshened by the 304: fresh for another 60 s.
    clock.advance(59);
    const [again] = await http.request(s.url, 'QUERY', '{"q":"cats"}', JSON_TYPE);
    expect(again.fromcache).to.equal(true);
    expect(s.hits().length).to.equal(2);
  });

  it('keeps the body out of the store key in clear: a SHA-256 of the content and its metadata stands for it', async () => {
    const p = path('key');
    const url = server.route(p, (req, res) => reply(res, clock, 200, { 'cache-control': 'max-age=60' }, `${req.method} answer`));
    await http.request(url, 'QUERY', 'secret-query-text', { 'content-type': 'text/plain' });
    await http.request(url, 'GET');
    const keys = [...store.map.keys()];
    const queryKey = keys.find((k) => k.startsWith('QUERY '));
    expect(queryKey).to.match(/^QUERY http:\/\/127\.0\.0\.1:\d+\/key-\d+ sha256=[0-9a-f]{64}$/);
    for (const [k, v] of store.map) expect(`${k}\n${v.toString('latin1')}`).not.to.include('secret-query-text');
    // The request content never joins the entry itself either; a GET key is the URI alone, as before.
    expect(keys).to.include(url);
    expect(keys.length).to.equal(2);
  });

  it('selects by Vary as for GET: another Accept goes to the server, the same one is answered from the cache', async () => {
    const s = search('vary', { 'cache-control': 'max-age=60', vary: 'Accept' });
    await http.request(s.url, 'QUERY', '{"q":"cats"}', { ...JSON_TYPE, accept: 'text/plain' });
    const [other] = await http.request(s.url, 'QUERY', '{"q":"cats"}', { ...JSON_TYPE, accept: 'text/csv' });
    expect(other.fromcache).to.equal(false);
    const [same] = await http.request(s.url, 'QUERY', '{"q":"cats"}', { ...JSON_TYPE, accept: 'text/csv' });
    expect(same.fromcache).to.equal(true);
    expect(s.hits().length).to.equal(2);
  });

  it('remembers a 429 Retry-After per query: the same QUERY waits, another body goes out', async () => {
    const p = path('limited');
    const url = server.route(p, (_req, res, body) => body.toString() === 'busy'
      ? reply(res, clock, 429, { 'retry-after': '60' }, 'slow down')
      : reply(res, clock, 200, { 'cache-control': 'max-age=60' }, 'fine'));
    await http.request(url, 'QUERY', 'busy');
    const [held, heldBody] = await http.request(url, 'QUERY', 'busy');
    expect([held.status, held.fromcache, heldBody.toString(), held.retryAfter?.getTime()]).to.deep.equal([429, true, 'slow down', clock.now() + 60_000]);
    const [other] = await http.request(url, 'QUERY', 'calm');
    expect([other.status, other.fromcache]).to.deep.equal([200, false]);
    clock.advance(61);
    await http.request(url, 'QUERY', 'busy');
    expect(server.hits(p).map((h) => h.body.toString())).to.deep.equal(['busy', 'calm', 'busy']);
  });

  it('keeps an answer obtained with credentials for that identity only, as for GET', async () => {
    const p = path('identity');
    const url = server.route(p, (req, res, body) => reply(res, clock, 200, { 'cache-control': 'max-age=60' }, `${body.toString()} for ${req.headers.authorization ?? 'anyone'}`));
    const [alice, aliceBody] = await http.request(url, 'QUERY', 'q', { authorization: 'Bearer alice' });
    const [anon, anonBody] = await http.request(url, 'QUERY', 'q');
    const [aliceAgain, aliceAgainBody] = await http.request(url, 'QUERY', 'q', { authorization: 'Bearer alice' });
    expect([alice.fromcache, aliceBody.toString()]).to.deep.equal([false, 'q for Bearer alice']);
    expect([anon.fromcache, anonBody.toString()]).to.deep.equal([false, 'q for anyone']);
    expect([aliceAgain.fromcache, aliceAgainBody.toString()]).to.deep.equal([true, 'q for Bearer alice']);
    expect(server.hits(p).length).to.equal(2);
  });

  it('never invalidates: the stored GET of its URI, of its Location and of its Content-Location keep answering', async () => {
    const target = path('target');
    const results = path('results');
    const saved = path('saved');
    const getOnly = (body: string) => (req: { method?: string }, res: Parameters<typeof reply>[0]) => reply(res, clock, 200, { 'cache-control': 'max-age=600' }, `${req.method} ${body}`);
    server.route(results, getOnly('results'));
    server.route(saved, getOnly('saved query'));
    const url = server.route(target, (req, res) => req.method === 'QUERY'
      ? reply(res, clock, 200, { location: saved, 'content-location': results }, 'query answer')
      : reply(res, clock, 200, { 'cache-control': 'max-age=600' }, 'the collection'));
    for (const u of [url, server.url(results), server.url(saved)]) await http.request(u);
    const [res, content] = await http.request(url, 'QUERY', 'q');
    // RFC 10008 §2.3, §2.4: both fields go to the caller as the server sent them; neither is followed.
    expect([res.status, content.toString(), res.get('location'), res.get('content-location')]).to.deep.equal([200, 'query answer', saved, results]);
    for (const u of [url, server.url(results), server.url(saved)]) expect((await http.request(u))[0].fromcache, u).to.equal(true);
    expect(server.hits(target).map((h) => h.method)).to.deep.equal(['GET', 'QUERY']);
  });

  it('drops only its own entry when a new answer to it may not be stored: the GET of its URI keeps answering', async () => {
    const p = path('turns-private');
    let queries = 0;
    const url = server.route(p, (req, res, body) => {
      if (req.method === 'GET') return reply(res, clock, 200, { 'cache-control': 'max-age=600' }, 'the page');
      queries += 1;
      return reply(res, clock, 200, { 'cache-control': queries === 1 ? 'max-age=60' : 'no-store' }, `results ${queries} for ${body.toString()}`);
    });
    await http.request(url);
    await http.request(url, 'QUERY', 'q', JSON_TYPE);
    // A reload of the query answered no-store: the stored query answer goes, the GET stays.
    const [reloaded] = await http.request(url, 'QUERY', 'q', { ...JSON_TYPE, 'cache-control': 'no-cache' });
    expect(reloaded.cacheStatus.join('\n')).to.include('stored entry dropped');
    const [page, pageBody] = await http.request(url);
    expect([page.fromcache, pageBody.toString()]).to.deep.equal([true, 'the page']);
    const [again, againBody] = await http.request(url, 'QUERY', 'q', JSON_TYPE);
    expect([again.fromcache, againBody.toString()]).to.deep.equal([false, 'results 3 for q']);
    expect(server.hits(p).map((h) => h.method)).to.deep.equal(['GET', 'QUERY', 'QUERY', 'QUERY']);
  });

  it('stores nothing under its Content-Location: a GET of it goes to the server', async () => {
    const target = path('target');
    const results = path('results');
    server.route(results, (_req, res) => reply(res, clock, 200, { 'cache-control': 'max-age=600' }, 'results by GET'));
    const url = server.route(target, (_req, res) => reply(res, clock, 200, { 'cache-control': 'max-age=600', 'content-location': results }, 'query answer'));
    await http.request(url, 'QUERY', 'q');
    const [res, content] = await http.request(server.url(results));
    expect([res.fromcache, content.toString()]).to.deep.equal([false, 'results by GET']);
  });

  it('invents no Content-Location for a QUERY answer (it would claim a GET of the URI gives the results)', async () => {
    const s = search('no-location');
    const [res] = await http.request(s.url, 'QUERY', 'q');
    const [hit] = await http.request(s.url, 'QUERY', 'q');
    expect([res.has('content-location'), hit.fromcache, hit.has('content-location')]).to.deep.equal([false, true, false]);
    const [get] = await http.request(server.url(s.p));
    expect(get.get('content-location')).to.equal(s.url);
  });

  it('follows a 303 with a GET of the Location, without the body or its headers (RFC 10008 §2.5)', async () => {
    const from = path('see-other');
    const to = path('results');
    server.route(to, (req, res) => reply(res, clock, 200, { 'cache-control': 'max-age=60' }, `${req.method} results`));
    const url = server.route(from, (_req, res) => reply(res, clock, 303, { location: to }));
    const [res, content] = await http.request(url, 'QUERY', '{"q":"cats"}', JSON_TYPE);
    expect([res.status, content.toString()]).to.deep.equal([200, 'GET results']);
    const hop = server.hits(to)[0]!;
    expect([hop.method, hop.body.length, hop.headers['content-type']]).to.deep.equal(['GET', 0, undefined]);
    // The GET answer is stored as any GET's.
    expect((await http.request(server.url(to)))[0].fromcache).to.equal(true);
  });

  for (const status of [307, 308, 301, 302]) {
    it(`follows a ${status} by sending the QUERY again, body and all, to the Location`, async () => {
      const from = path(`moved-${status}`);
      const to = path('there');
      server.route(to, (req, res, body) => reply(res, clock, 200, {}, `${req.method} ${body.toString()} as ${req.headers['content-type']}`));
      const url = server.route(from, (_req, res) => reply(res, clock, status, { location: to }));
      const [res, content] = await http.request(url, 'QUERY', '{"q":"cats"}', JSON_TYPE);
      expect([res.status, content.toString(), res.previous?.status]).to.deep.equal([200, 'QUERY {"q":"cats"} as application/json', status]);
    });
  }

  it('sends a QUERY without a body as one with empty content, and answers it from the cache the second time', async () => {
    const s = search('empty');
    await http.request(s.url, 'QUERY');
    const [res, content] = await http.request(s.url, 'query');
    expect([res.fromcache, content.toString()]).to.deep.equal([true, 'results for  as undefined']);
    expect(s.hits().map((h) => h.method)).to.deep.equal(['QUERY']);
  });
});
