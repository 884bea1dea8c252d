/**
 * The simulated day of spec/integration/polite-day.spec.ts on keyv + SQLite (openSqliteCache), polled
 * by two processes that take turns on one cache file, both restarted twice (#11): what one learnt
 * (validators, a Retry-After, a 410, a permanent redirect) the other honours.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { DAY_START, POLLED, RESTARTS, checkTheDay, pollTimes, startFeedFarm, type Seen } from '../helpers/feed-day.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WORKER = fileURLToPath(new URL('./fixtures/poller-worker.ts', import.meta.url));

/** A poller process: one poll per call, answered with what its callers saw. */
class Poller {
  readonly #child: ChildProcess;
  readonly #lines: AsyncIterator<string>;
  readonly #exit: Promise<number | null>;

  constructor(file: string) {
    this.#child = spawn(process.execPath, ['--import', 'tsx', WORKER, file], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    this.#lines = createInterface({ input: this.#child.stdout! })[Symbol.asyncIterator]();
    this.#exit = new Promise((resolve, reject) => {
      this.#child.once('error', reject);
      this.#child.once('exit', (code) => resolve(code));
    });
  }

  get pid(): number {
    return this.#child.pid!;
  }

  async poll(now: number, urls: readonly string[]): Promise<Array<{ status: number; fromcache: boolean }>> {
    this.#child.stdin!.write(`${JSON.stringify({ now, urls })}\n`);
    const line = await this.#lines.next();
    if (line.done) throw new Error(`poller ${this.pid} exited during a poll (${await this.#exit})`);
    return JSON.parse(line.value) as Array<{ status: number; fromcache: boolean }>;
  }

  async stop(): Promise<number | null> {
    this.#child.stdin!.end();
    return this.#exit;
  }

  kill(): void {
    this.#child.kill('SIGKILL');
  }
}

describe('a day of polite polling on keyv + SQLite, two processes (#11)', function () {
  this.timeout(180_000);
  const dir = mkdtempSync(join(tmpdir(), 'h2ts-polite-day-sqlite-'));
  const running = new Set<Poller>();
  after(() => {
    for (const poller of running) poller.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('taking turns on one cache file, both restarted twice: the same polite day', async () => {
    let t = 0;
    const farm = await startFeedFarm(() => t);
    const file = join(dir, 'cache.sqlite');
    const start = (): Poller[] => {
      const pair = [new Poller(file), new Poller(file)];
      for (const p of pair) running.add(p);
      return pair;
    };
    const stop = async (pair: Poller[]): Promise<void> => {
      for (const p of pair) {
        expect(await p.stop(), `poller ${p.pid} exit code`).to.equal(0);
        running.delete(p);
      }
    };
    let pair = start();
    const pids = new Set(pair.map((p) => p.pid));
    const seen: Seen[] = [];
    const urls = POLLED.map((path) => farm.url(path));
    for (const [poll, time] of pollTimes().entries()) {
      if (RESTARTS.includes(poll)) {
        await stop(pair);
        pair = start();
        for (const p of pair) pids.add(p.pid);
      }
      t = time;
      const results = await pair[poll % 2]!.poll(DAY_START + time * 1000, urls);
      results.forEach((r, i) => seen.push({ path: POLLED[i]!, ...r }));
    }
    await stop(pair);
    expect(pids.size, 'six processes in all').to.equal(6);
    checkTheDay(farm.log, seen);
  });
});
