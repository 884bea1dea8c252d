/**
 * The store budget (#19): every store call is bounded at the store boundary, so a store that hangs
 * or crawls never holds a request. Custom stores here; the real Redis and SQLite outages are in
 * store-outages.spec.ts.
 */
import { expect } from 'chai';
import { Http, HttpLib2Error, MemoryCache, RequestTimeout } from '../../lib/index.js';
import { GuardedStore } from '../../lib/cache/guarded-store.js';
import type { CacheStore } from '../../lib/cache/store.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { storeContract } from './contract.js';

/** A promise that settles only when the spec says so. */
function held<T>(): { promise: Promise<T>; release: (value: T) => void; settled: () => boolean } {
  let release!: (value: T) => void;
  let settled = false;
  const promise = new Promise<T>((resolve) => (release = resolve)).finally(() => (settled = true));
  return { promise, release, settled: () => settled };
}

/** A MemoryCache whose calls can be made to hang until released. */
class StallingStore implements CacheStore {
  readonly memory = new MemoryCache();
  readonly held: Array<{ release: (value: null) => void }> = [];
  stall: { get?: boolean; set?: boolean; delete?: boolean } = {};
  lastSet: ReturnType<typeof held<null>> | null = null;

  get(key: string): Promise<Buffer | null> {
    return this.stall.get ? this.#hold().then(() => null) : this.memory.get(key);
  }
  set(key: string, value: Buffer): Promise<void> {
    if (!this.stall.set) return this.memory.set(key, value);
    const h = this.#hold();
    return h.then(() => this.memory.set(key, value));
  }
  delete(key: string): Promise<void> {
    return this.stall.delete ? this.#hold().then(() => undefined) : this.memory.delete(key);
  }
  releaseAll(): void {
    for (const h of this.held.splice(0)) h.release(null);
  }
  #hold(): Promise<null> {
    const h = held<null>();
    this.held.push(h);
    this.lastSet = h;
    return h.promise;
  }
}

describe('the store budget (storeTimeout)', () => {
  let server: TestServer;
  let store: StallingStore;
  const clients: Http[] = [];
  function client(options: ConstructorParameters<typeof Http>[1] = {}): Http {
    const http = new Http(store, options);
    clients.push(http);
    return http;
  }

  before(async () => {
    server = await startServer((req, res) => {
      res.setHeader('cache-control', 'max-age=3600');
      res.end(`answer to ${req.method} ${req.url}`);
    });
  });
  beforeEach(() => {
    store = new StallingStore();
  });
  afterEach(async () => {
    store.releaseAll();
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  it('answers from the network when the store get never resolves (default budget, no timeout)', async () => {
    store.stall.get = true;
    const before = server.count();
    const [response, body] = await client().request(server.url('/get-hangs'));
    expect([response.status, response.fromcache, body.toString()]).to.deep.equal([200, false, 'answer to GET /get-hangs']);
    expect(server.count() - before).to.equal(1);
    expect(response.cacheStatus[0]).to.equal('store get took longer than 250 ms: treated as a miss');
  });

  it('answers from the network within the request timeout when the store get never resolves', async () => {
    store.stall.get = true;
    const [response] = await client({ timeout: 3000, storeTimeout: 50 }).request(server.url('/get-hangs-timeout'));
    expect([response.status, response.fromcache]).to.deep.equal([200, false]);
    expect(response.cacheStatus[0]).to.equal('store get took longer than 50 ms: treated as a miss');
  });

  it('ends the request at its timeout when the store budget is longer than the timeout', async () => {
    store.stall.get = true;
    const error = await client({ timeout: 100, storeTimeout: 60_000 }).request(server.url('/deadline')).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(RequestTimeout);
  });

  it('returns the 200 without waiting for a slow set, which goes on in the background', async () => {
    store.stall.set = true;
    const http = client({ storeTimeout: 50 });
    const url = server.url('/slow-set');
    const [response, body] = await http.request(url);
    expect([response.status, body.toString()]).to.deep.equal([200, 'answer to GET /slow-set']);
    expect(store.lastSet?.settled(), 'the set is still running').to.equal(false);
    expect(response.cacheStatus).to.deep.equal([
      'miss: nothing stored',
      'not kept yet: max-age=3600 (store set took longer than 50 ms; it goes on in the background)',
    ]);
    // Once the store finishes the write, the entry is there.
    store.stall.set = false;
    store.releaseAll();
    await store.lastSet?.promise;
    await new Promise((resolve) => setImmediate(resolve));
    const [again] = await http.request(url);
    expect(again.fromcache).to.equal(true);
  });

  it('returns the answer to a POST without waiting for a slow invalidation', async () => {
    store.stall.delete = true;
    const [response] = await client({ storeTimeout: 50 }).request(server.url('/slow-delete'), 'POST', 'x');
    expect(response.status).to.equal(200);
    expect(response.cacheStatus).to.include('store delete took longer than 50 ms; it goes on in the background');
  });

  it('keeps the answer of a write still running at the request deadline', async () => {
    store.stall.set = true;
    const [response] = await client({ timeout: 300, storeTimeout: 60_000 }).request(server.url('/set-past-deadline'));
    expect(response.status).to.equal(200);
    expect(response.cacheStatus[1]).to.equal(
      'not kept yet: max-age=3600 (the request ended before the store set did; it goes on in the background)',
    );
  });

  it('leaves no unhandled rejection when a store rejects after the budget', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    let fail!: (e: Error) => void;
    const late: CacheStore = {
      get: () => new Promise((_resolve, reject) => (fail = reject)),
      set: () => undefined,
      delete: () => undefined,
    };
    const http = new Http(late, { storeTimeout: 20 });
    clients.push(http);
    try {
      const [response] = await http.request(server.url('/late-reject'));
      expect(response.status).to.equal(200);
      fail(new Error('EIO, too late'));
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).to.deep.equal([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('refuses a storeTimeout that is not a positive number of milliseconds, naming it', () => {
    for (const bad of [0, -1, Number.NaN, '100', 2 ** 31]) {
      expect(() => new Http(null, { storeTimeout: bad as number }), String(bad))
        .to.throw(HttpLib2Error, /storeTimeout/).with.property('code', 'ERR_INVALID_REQUEST');
    }
  });

  describe('a store that keeps failing (the circuit breaker)', () => {
    it('is skipped after three failures in a row, says so in cacheStatus and the debug output, and is used again once it answers', async () => {
      const calls = { get: 0, set: 0 };
      let broken = true;
      const memory = new MemoryCache();
      const flaky: CacheStore = {
        get: (key) => (calls.get++, broken ? Promise.reject(new Error('EIO')) : memory.get(key)),
        set: (key, value) => (calls.set++, broken ? Promise.reject(new Error('ENOSPC')) : memory.set(key, value)),
        delete: (key) => memory.delete(key),
      };
      const lines: string[] = [];
      const http = new Http(flaky, { debug: (line) => lines.push(line) });
      clients.push(http);
      const url = server.url('/flaky');
      let last: string[] = [];
      for (let i = 0; i < 6; i++) {
        const [response] = await http.request(url);
        expect([response.status, response.fromcache]).to.deep.equal([200, false]);
        last = response.cacheStatus;
      }
      // Three calls of each side reached the store; the next three were never made.
      expect(calls).to.deep.equal({ get: 3, set: 3 });
      expect(last[0]).to.match(/^store reads skipped \(3 failures in a row, 3 calls skipped; next try in \d\.\d s\): treated as a miss$/);
      expect(last[2]).to.match(/^not kept: max-age=3600 \(store writes skipped \(3 failures in a row, 3 calls skipped; next try in \d\.\d s\)\)$/);
      expect(lines).to.include('httplib2-ts ! store reads skipped for 1 s after 3 failures in a row (last: EIO)');
      expect(lines).to.include('httplib2-ts ! store writes skipped for 1 s after 3 failures in a row (last: ENOSPC)');

      // The store recovers: after the back-off (a real one: one second) a probe finds it, and it
      // serves hits again.
      broken = false;
      const deadline = Date.now() + 10_000;
      let hit = false;
      while (!hit && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        hit = (await http.request(url))[0].fromcache;
      }
      expect(hit, 'a hit once the store answers again').to.equal(true);
      expect(lines.filter((l) => / answer again /.test(l))).to.have.length(2);
      expect(lines.find((l) => l.includes('store reads answer again'))).to.match(/^httplib2-ts ! store reads answer again \(\d+ calls were skipped\)$/);
    });

    it('counts calls over the budget as failures: a store that hangs costs three budgets, then nothing', async () => {
      store.stall.get = true;
      const http = client({ storeTimeout: 30 });
      const statuses: string[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await http.request(server.url(`/hangs-${i}`)))[0].cacheStatus[0]!);
      expect(store.held).to.have.length(3);
      expect(statuses.slice(0, 3)).to.deep.equal(Array(3).fill('store get took longer than 30 ms: treated as a miss'));
      expect(statuses[3]).to.match(/^store reads skipped \(3 failures in a row, 1 calls skipped; next try in /);
    });
  });

  it('expires each hanging call among many in flight, wave after wave, and answers all the others', async () => {
    const hangs = (i: number) => i % 7 === 3;
    const slow: CacheStore = {
      get: (key) => (hangs(Number(key)) ? new Promise(() => undefined) : new Promise((resolve) => setTimeout(() => resolve(Buffer.from(key)), Number(key) % 5))),
      set: () => undefined,
      delete: () => undefined,
    };
    const guarded = new GuardedStore(slow, { timeout: 40 });
    for (let wave = 0; wave < 2; wave++) {
      const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => guarded.get(String(i))));
      results.forEach((result, i) => {
        if (hangs(i)) expect(result, `call ${i}`).to.deep.include({ status: 'rejected' }).and.have.nested.property('reason.reason', 'late');
        else expect(result, `call ${i}`).to.deep.equal({ status: 'fulfilled', value: Buffer.from(String(i)) });
      });
      // Reads fail three times in a row in each wave: let the breaker close again with an answer.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await guarded.get('1');
    }
  });

  describe('a guarded MemoryCache', () => {
    const guarded = new GuardedStore(new MemoryCache(), { timeout: 5000 });
    storeContract(() => guarded);
  });
});
