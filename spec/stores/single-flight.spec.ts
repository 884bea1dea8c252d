/**
 * Cross-process single flight (#12): 8 processes, each sending 20 concurrent GETs of one stale URL,
 * on one FileCache directory, one SQLite file and one real redis-server, cause exactly one request
 * at the origin, and every process gets the new body. A leader SIGKILLed while it holds the lease,
 * its origin request hanging, holds the others only until the lease runs out.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { FileCache } from '../../lib/cache/file-cache.js';
import { openSqliteCache } from '../../lib/cache/keyv-store.js';
import { openRedisCache } from '../../lib/cache/redis-cache.js';
import { Http } from '../../lib/index.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { RedisServer } from './fixtures/redis-server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WORKER = fileURLToPath(new URL('./fixtures/flight-worker.ts', import.meta.url));
const PROCESSES = 8;
const CONCURRENT = 20;

type Kind = 'file' | 'sqlite' | 'redis';
interface Answer {
  status: number;
  fromcache: boolean;
  body: string;
  cacheStatus: string[];
}

/** A worker process (fixtures/flight-worker.ts): one round of GETs per call. */
class Worker {
  readonly child: ChildProcess;
  readonly #lines: AsyncIterator<string>;
  readonly exit: Promise<number | null>;

  constructor() {
    this.child = spawn(process.execPath, ['--import', 'tsx', WORKER], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    this.#lines = createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]();
    this.exit = new Promise((resolve, reject) => {
      this.child.once('error', reject);
      this.child.once('exit', (code) => resolve(code));
    });
  }

  async ready(): Promise<void> {
    const line = await this.#lines.next();
    if (line.done || line.value !== 'ready') throw new Error(`worker ${this.child.pid} did not start (${await this.exit})`);
  }

  /** Sends a round and resolves with its answers. */
  round(kind: Kind, where: string, url: string, options: { count?: number; leaseTtl?: number } = {}): Promise<Answer[]> {
    this.child.stdin!.write(`${JSON.stringify({ kind, where, url, count: options.count ?? CONCURRENT, leaseTtl: options.leaseTtl })}\n`);
    return this.#lines.next().then(async (line) => {
      if (line.done) throw new Error(`worker ${this.child.pid} exited during a round (${await this.exit})`);
      return JSON.parse(line.value) as Answer[];
    });
  }

  async stop(): Promise<void> {
    this.child.stdin!.end();
    await this.exit;
  }
}

/**
 * The origin of one feed: the first GET gets "v1", max-age=1 and a Date 10 s ago (stale at once); a
 * revalidation (If-None-Match) gets "v2", fresh for a minute, after 100 ms (the origin takes its
 * time, so every process is asking while it does). `hold` keeps the first revalidation unanswered.
 */
async function startFeed(options: { hold?: boolean } = {}): Promise<TestServer & { held: Promise<void> }> {
  let holding = options.hold === true;
  let arrived = (): void => undefined;
  const held = new Promise<void>((resolve) => (arrived = resolve));
  const send = (res: ServerResponse, body: string, headers: Record<string, string>): void => {
    res.writeHead(200, { 'content-type': 'text/plain', ...headers });
    res.end(body);
  };
  const server = await startServer((req, res) => {
    if (req.headers['if-none-match'] === undefined) {
      send(res, 'v1', { etag: '"v1"', 'cache-control': 'max-age=1', date: new Date(Date.now() - 10_000).toUTCString() });
    } else if (holding) {
      holding = false;
      arrived();
    } else {
      setTimeout(() => send(res, 'v2', { etag: '"v2"', 'cache-control': 'max-age=60', date: new Date().toUTCString() }), 100);
    }
  });
  return Object.assign(server, { held });
}

const workers: Worker[] = [];
const spawned = new Set<Worker>();

function startWorker(): Worker {
  const worker = new Worker();
  spawned.add(worker);
  void worker.exit.then(() => spawned.delete(worker));
  return worker;
}

/**
 * Every process's round of GETs of `url` on one store, at once (each opens the store first, with a
 * round of no GET); the answers by process.
 */
async function stampede(kind: Kind, where: string, url: string): Promise<Answer[][]> {
  await Promise.all(workers.map((w) => w.round(kind, where, url, { count: 0 })));
  return Promise.all(workers.map((w) => w.round(kind, where, url)));
}

function expectOneFlight(origin: TestServer, before: number, byProcess: Answer[][]): void {
  expect(origin.count() - before, JSON.stringify(byProcess.map((answers) => answers[0]!.cacheStatus))).to.equal(1);
  expect(origin.requests.at(-1)!.headers['if-none-match']).to.equal('"v1"');
  for (const answers of byProcess) {
    expect(answers).to.have.length(CONCURRENT);
    for (const a of answers) expect([a.status, a.body]).to.deep.equal([200, 'v2']);
  }
  // One process asked the origin; every other one answered from the entry it stored, having waited
  // for it (or, coming late, found it fresh).
  const shown = JSON.stringify(byProcess.map((answers) => answers[0]!.cacheStatus));
  expect(byProcess.filter((answers) => answers.every((a) => a.fromcache)), shown).to.have.length(PROCESSES - 1);
  const waited = byProcess.filter((answers) => answers.some((a) => a.cacheStatus.some((l) => /^single flight: (waited|another process's request stored)/.test(l))));
  expect(waited.length, shown).to.be.at.least(1);
}

describe('cross-process single flight (#12)', function () {
  this.timeout(60_000);
  const root = mkdtempSync(join(tmpdir(), 'h2ts-flight-'));

  before(async () => {
    for (let i = 0; i < PROCESSES; i++) workers.push(startWorker());
    await Promise.all(workers.map((w) => w.ready()));
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    for (const worker of spawned) worker.child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  it(`${PROCESSES} processes × ${CONCURRENT} concurrent GETs of one stale URL on one FileCache: one request at the origin, the new body everywhere`, async () => {
    const origin = await startFeed();
    const dir = join(root, 'file-cache');
    const primer = new Http(new FileCache(dir));
    await primer.request(origin.url('/feed'));
    await primer.close();
    expectOneFlight(origin, origin.count(), await stampede('file', dir, origin.url('/feed')));
  });

  it(`${PROCESSES} processes × ${CONCURRENT} concurrent GETs of one stale URL on one SQLite file: one request at the origin, the new body everywhere`, async () => {
    const origin = await startFeed();
    const file = join(root, 'cache.sqlite');
    const keyv = await openSqliteCache(file);
    const primer = new Http(keyv as never);
    await primer.request(origin.url('/feed'));
    await primer.close();
    await keyv.disconnect();
    expectOneFlight(origin, origin.count(), await stampede('sqlite', file, origin.url('/feed')));
  });

  it(`${PROCESSES} processes × ${CONCURRENT} concurrent GETs of one stale URL on one real Redis: one request at the origin, the new body everywhere`, async () => {
    const origin = await startFeed();
    const redis = await RedisServer.start();
    try {
      const keyv = await openRedisCache(redis.url);
      const primer = new Http(keyv as never);
      await primer.request(origin.url('/feed'));
      await primer.close();
      await keyv.disconnect();
      expectOneFlight(origin, origin.count(), await stampede('redis', redis.url, origin.url('/feed')));
    } finally {
      await redis.close();
    }
  });

  it('a leader SIGKILLed while it holds the lease, its origin request hanging, holds the others only until the lease runs out', async () => {
    const origin = await startFeed({ hold: true });
    const dir = join(root, 'dead-leader');
    const primer = new Http(new FileCache(dir));
    await primer.request(origin.url('/feed'));
    await primer.close();
    const leader = startWorker();
    await leader.ready();
    void leader.round('file', dir, origin.url('/feed'), { count: 1, leaseTtl: 1500 }).catch(() => undefined);
    await origin.held;
    // The leader's lease is on the directory and its request at the origin: three processes ask.
    const followers = workers.slice(0, 3).map((w) => w.round('file', dir, origin.url('/feed'), { count: 5, leaseTtl: 1500 }));
    leader.child.kill('SIGKILL');
    await leader.exit;
    const byProcess = await Promise.all(followers);
    for (const answers of byProcess) for (const a of answers) expect([a.status, a.body]).to.deep.equal([200, 'v2']);
    const lines = byProcess.flat().flatMap((a) => a.cacheStatus);
    expect(lines.some((l) => /^single flight: after \d+ ms the other process's lease ended without a newer answer/.test(l)), JSON.stringify(lines)).to.equal(true);
  });
});
