/**
 * Cross-process single flight (#12) as one process sees it: two Http instances on one store are two
 * "processes" (each has its own in-process coalescing), so the lease is what makes them share one
 * origin request. Also: a store that stalls or fails at the lease only costs the flight, a follower
 * waits at most half its timeout, and no lease is taken where the answer must not be shared.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import KeyvRedis from '@keyv/redis';
import { expect } from 'chai';
import Keyv from 'keyv';
import { FileCache } from '../../lib/cache/file-cache.js';
import { MemoryCache } from '../../lib/cache/memory-cache.js';
import { Http, type CacheStore, type HttpOptions } from '../../lib/index.js';
import { MapStore } from '../helpers/cache-fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { RedisServer } from './fixtures/redis-server.js';

const FLIGHT = 'single flight: ';

/** An origin that answers each GET after 100 ms, fresh for a minute; `hold` leaves the first unanswered. */
async function slowOrigin(options: { hold?: boolean } = {}): Promise<TestServer & { held: Promise<void> }> {
  let holding = options.hold === true;
  let arrived = (): void => undefined;
  const held = new Promise<void>((resolve) => (arrived = resolve));
  const answer = (res: ServerResponse): void => {
    res.writeHead(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' });
    res.end('the answer');
  };
  const server = await startServer((_req, res) => {
    if (holding) {
      holding = false;
      arrived();
      return;
    }
    setTimeout(() => answer(res), 100);
  });
  return Object.assign(server, { held });
}

const https: Http[] = [];
function anHttp(store: CacheStore | string, options: HttpOptions = {}): Http {
  const http = new Http(store, options);
  https.push(http);
  return http;
}

async function getAll(http: Http, url: string, n: number, headers: Record<string, string> = {}) {
  return Promise.all(Array.from({ length: n }, () => http.request(url, { headers })));
}

describe('single flight between Http instances on one store (#12)', function () {
  this.timeout(20_000);
  const root = mkdtempSync(join(tmpdir(), 'h2ts-flight-local-'));
  after(async () => {
    await Promise.all(https.splice(0).map((h) => h.close()));
    rmSync(root, { recursive: true, force: true });
  });

  for (const [name, store] of [['MemoryCache', () => new MemoryCache()], ['FileCache', () => new FileCache(mkdtempSync(join(root, 'fc-')))]] as const) {
    it(`two Http on one ${name}, each with 10 concurrent GETs of a missing URL: one request at the origin`, async () => {
      const origin = await slowOrigin();
      const shared = store();
      const [first, second] = await Promise.all([getAll(anHttp(shared), origin.url('/a'), 10), getAll(anHttp(shared), origin.url('/a'), 10)]);
      expect(origin.count()).to.equal(1);
      for (const [response, content] of [...first, ...second]) expect([response.status, content.toString()]).to.deep.equal([200, 'the answer']);
      const followers = [first, second].filter((answers) => answers.every(([r]) => r.fromcache));
      expect(followers).to.have.length(1);
      expect(followers[0]![0]![0].cacheStatus.join('\n')).to.match(/single flight: (waited \d+ ms for another process's request to the origin: its answer is used|another process's request stored a newer answer meanwhile)/);
      // For programs, a follower's answer is the store's, fresh: a hit (#12).
      expect(followers[0]!.map(([r]) => r.cache.outcome)).to.deep.equal(Array(10).fill('hit'));
    });
  }

  it('two Http on one Redis through a plain Keyv + @keyv/redis: one request at the origin, and no lease left on the server', async () => {
    const origin = await slowOrigin();
    const redis = await RedisServer.start();
    const keyvs = [new Keyv(new KeyvRedis(redis.url)), new Keyv(new KeyvRedis(redis.url))];
    try {
      const answers = await Promise.all(keyvs.map((keyv) => getAll(anHttp(keyv as never), origin.url('/r'), 5)));
      expect(origin.count()).to.equal(1);
      for (const [response, content] of answers.flat()) expect([response.status, content.toString()]).to.deep.equal([200, 'the answer']);
      const keys = await (keyvs[0]!.store as KeyvRedis<string>).client.keys('*');
      expect(keys.filter((k) => k.includes('lease'))).to.deep.equal([]);
    } finally {
      await Promise.all(keyvs.map((keyv) => keyv.disconnect()));
      await redis.close();
    }
  });

  it('leaves no lease file behind, and none is listed as an entry of a FileCache', async () => {
    const origin = await slowOrigin();
    const dir = mkdtempSync(join(root, 'fc-'));
    const cache = new FileCache(dir);
    let taken = 0;
    const acquire = cache.acquire.bind(cache);
    cache.acquire = (key, ttlMs) => acquire(key, ttlMs).then((token) => ((taken += token === null ? 0 : 1), token));
    await anHttp(cache).request(origin.url('/b'));
    expect(taken).to.equal(1);
    expect(readdirSync(dir).filter((name) => name.includes('lease'))).to.deep.equal([]);
    const listed = [];
    for await (const record of cache.records()) listed.push(record.ref.location);
    expect(listed).to.have.length(1);
  });

  it('a store that stalls at acquire costs one store budget: the origin answers, and the debug output says why', async () => {
    const origin = await slowOrigin();
    let asked = 0;
    const stalling = Object.assign(new MapStore(), {
      acquire: () => ((asked += 1), new Promise<string | null>(() => undefined)),
      release: () => Promise.resolve(),
    });
    const debug: string[] = [];
    // Without the budget the request would wait for the lease until its deadline (a RequestTimeout).
    const [response, content] = await anHttp(stalling, { storeTimeout: 100, timeout: 3000, debug: (line) => debug.push(line) }).request(origin.url('/c'));
    expect([response.status, content.toString(), origin.count(), asked]).to.deep.equal([200, 'the answer', 1, 1]);
    expect(debug.join('\n')).to.include('single flight: lease not taken (store acquire took longer than 100 ms): asking the origin');
    expect(response.cacheStatus).to.deep.equal(['miss: nothing stored', 'stored: max-age=60']);
  });

  it('gives back a lease that a late acquire takes after the budget ran out', async () => {
    const origin = await slowOrigin();
    const released: string[] = [];
    const late = Object.assign(new MapStore(), {
      // Takes the lease 300 ms in, long after the 100 ms budget: no request holds that token.
      acquire: () => new Promise<string | null>((resolve) => setTimeout(() => resolve('late-token'), 300)),
      release: (_key: string, token: string) => (released.push(token), Promise.resolve()),
    });
    const [response] = await anHttp(late, { storeTimeout: 100, timeout: 3000 }).request(origin.url('/late'));
    expect([response.status, origin.count()]).to.deep.equal([200, 1]);
    for (let waited = 0; released.length === 0 && waited < 2000; waited += 25) await new Promise((r) => setTimeout(r, 25));
    expect(released).to.deep.equal(['late-token']);
  });

  it('a store that fails at acquire costs nothing but the flight', async () => {
    const origin = await slowOrigin();
    const failing = Object.assign(new MapStore(), {
      acquire: () => Promise.reject(new Error('lease table locked')),
      release: () => Promise.resolve(),
    });
    const debug: string[] = [];
    const [response] = await anHttp(failing, { debug: (line) => debug.push(line) }).request(origin.url('/d'));
    expect(response.status).to.equal(200);
    expect(debug.join('\n')).to.include('single flight: lease not taken (Error: lease table locked): asking the origin');
  });

  it('a follower waits at most half its timeout for a leader whose origin does not answer, then asks itself', async () => {
    const origin = await slowOrigin({ hold: true });
    const dir = mkdtempSync(join(root, 'fc-'));
    const leader = new AbortController();
    const led = anHttp(new FileCache(dir), { leaseTtl: 60_000 }).request(origin.url('/e'), { signal: leader.signal }).catch((e: unknown) => e);
    await origin.held;
    const [response, content] = await anHttp(new FileCache(dir), { leaseTtl: 60_000, timeout: 1000 }).request(origin.url('/e'));
    leader.abort();
    await led;
    expect([response.status, content.toString()]).to.deep.equal([200, 'the answer']);
    expect(response.cacheStatus.join('\n')).to.match(/single flight: waited \d+ ms for another process's request: asking the origin/);
  });

  it('takes no lease for a request no-cache, a Range request, nor on a store without a lease (get/set/delete only)', async () => {
    const origin = await slowOrigin();
    const shared = new MemoryCache();
    const noCache = await Promise.all([anHttp(shared), anHttp(shared)].map((h) => h.request(origin.url('/f'), { headers: { 'cache-control': 'no-cache' } })));
    expect(origin.count()).to.equal(2);
    for (const [response] of noCache) expect(response.cacheStatus).to.include('single flight: none for a request no-cache');
    const ranged = await Promise.all([anHttp(shared), anHttp(shared)].map((h) => h.request(origin.url('/g'), { headers: { range: 'bytes=0-3' } })));
    expect(origin.count()).to.equal(4);
    for (const [response] of ranged) expect(response.cacheStatus).to.include('single flight: none for a Range request');
    const plain = new MapStore();
    const unleased = await Promise.all([anHttp(plain), anHttp(plain)].map((h) => h.request(origin.url('/h'))));
    expect(origin.count()).to.equal(6);
    for (const [response] of unleased) expect(response.cacheStatus.filter((l) => l.startsWith(FLIGHT))).to.deep.equal([]);
  });
});
