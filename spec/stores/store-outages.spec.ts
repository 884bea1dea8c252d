/**
 * A store in trouble never costs an answer (#19), against a real redis-server: killed, stopped
 * (SIGSTOP) or never reachable, each request is answered from the network, never past its
 * `timeout`, and with no `timeout` nothing hangs either. The deadline is real here, so the specs
 * time each request against it.
 */
import KeyvRedis from '@keyv/redis';
import { expect } from 'chai';
import Keyv from 'keyv';
import { Http, type HttpOptions } from '../../lib/index.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { freePort, RedisServer } from './fixtures/redis-server.js';

const TIMEOUT = 3000;

describe('store outages: a real redis-server in trouble', function () {
  this.timeout(30_000);
  let server: TestServer;
  let n = 0;
  const cleanups: Array<() => Promise<unknown>> = [];

  before(async () => {
    server = await startServer((req, res) => {
      res.setHeader('cache-control', 'max-age=3600');
      res.end(`fresh ${req.url}`);
    });
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function redis(): Promise<RedisServer> {
    const r = await RedisServer.start();
    cleanups.push(() => r.close());
    return r;
  }
  function keyvOn(url: string): Keyv {
    // The form README shows.
    const keyv = new Keyv(new KeyvRedis(url));
    // Forced: a graceful close waits for the commands a dead Redis never answers.
    cleanups.push(() => (keyv.store as KeyvRedis<string>).disconnect(true).catch(() => undefined));
    return keyv;
  }
  function http(store: Keyv, options: HttpOptions = { timeout: TIMEOUT }): Http {
    const h = new Http(store, options);
    cleanups.push(() => h.close());
    return h;
  }

  /** Requests `count` new URLs one after another; each must be a 200 from the network in time. */
  async function answeredFromTheNetwork(client: Http, count: number, limit = TIMEOUT): Promise<string[][]> {
    const statuses: string[][] = [];
    for (let i = 0; i < count; i++) {
      const path = `/r${++n}`;
      const started = performance.now();
      const [response, body] = await client.request(server.url(path));
      const took = performance.now() - started;
      expect([response.status, response.fromcache, body.toString()]).to.deep.equal([200, false, `fresh ${path}`]);
      expect(took, `request ${i + 1} took ${Math.round(took)} ms`).to.be.below(limit);
      statuses.push(response.cacheStatus);
    }
    return statuses;
  }

  it('Redis killed: each request is answered from the network before its timeout', async () => {
    const r = await redis();
    const client = http(keyvOn(r.url));
    const [first] = await client.request(server.url('/before-the-kill'));
    expect(first.cacheStatus).to.deep.equal(['miss: nothing stored', 'stored: max-age=3600']);
    await r.kill();
    await answeredFromTheNetwork(client, 4);
  });

  it('Redis stopped (SIGSTOP): each request is answered from the network before its timeout', async () => {
    const r = await redis();
    const client = http(keyvOn(r.url));
    const url = server.url('/before-the-stop');
    await client.request(url);
    expect((await client.request(url))[0].fromcache, 'a hit while Redis runs').to.equal(true);
    r.stop();
    await answeredFromTheNetwork(client, 4);
    r.resume();
  });

  /** Requests `url` until it is a hit; resolves to how long that took, in ms. */
  async function untilHit(client: Http, url: string, limit = 10_000): Promise<number> {
    const started = Date.now();
    while (Date.now() - started < limit) {
      if ((await client.request(url))[0].fromcache) return Date.now() - started;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`no hit within ${limit} ms`);
  }

  it('Redis stopped: after three late calls it costs requests nothing, and hits come back within seconds of SIGCONT', async () => {
    const r = await redis();
    const client = http(keyvOn(r.url));
    const url = server.url('/stop-and-resume');
    await client.request(url);
    r.stop();
    const statuses = await answeredFromTheNetwork(client, 6);
    // Skipped: not even a store budget is spent on these.
    for (const status of statuses.slice(3)) expect(status[0]).to.match(/^store reads skipped \(/);
    r.resume();
    expect(await untilHit(client, url)).to.be.below(8000);
  });

  it('Redis killed and started again: hits come back within seconds', async () => {
    const r = await redis();
    const client = http(keyvOn(r.url));
    const url = server.url('/kill-and-restart');
    await client.request(url);
    await r.kill();
    await answeredFromTheNetwork(client, 4);
    await r.restart();
    expect(await untilHit(client, url)).to.be.below(8000);
  });

  it('Redis never reachable (nothing on its port): the first request and every later one settle', async () => {
    const port = await freePort();
    await answeredFromTheNetwork(http(keyvOn(`redis://127.0.0.1:${port}`)), 4);
  });

  it('with no timeout set, a dead Redis holds no request either', async () => {
    const port = await freePort();
    await answeredFromTheNetwork(http(keyvOn(`redis://127.0.0.1:${port}`), {}), 3);
  });
});
