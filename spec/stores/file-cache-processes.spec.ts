/**
 * FileCache shared by processes: writers SIGKILLed mid-write, and four processes hammering one
 * directory. Bounded: three rounds of kills, under a second of hammering.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { lstat } from 'node:fs/promises';
import { FileCache } from '../../lib/cache/file-cache.js';
import { inspectCache } from '../../lib/cache/inspect.js';
import { safename } from '../../lib/cache/safename.js';
import { startServer } from '../helpers/server.js';
import { isIntact, selfCheckingValue } from './fixtures/self-checking.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WORKER = fileURLToPath(new URL('./fixtures/file-cache-worker.ts', import.meta.url));

const children = new Set<ChildProcess>();

function startWorker(args: string[]): { child: ChildProcess; output: Promise<string>; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exit = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      children.delete(child);
      resolve(code);
    });
  });
  return { child, output: exit.then(() => output), exit };
}

function waitForLine(child: ChildProcess, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      if (seen.includes(`${line}\n`)) {
        child.stdout!.off('data', onData);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before printing ${line}`)));
  });
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('FileCache shared by processes', function () {
  this.timeout(30_000);
  const root = mkdtempSync(join(tmpdir(), 'h2ts-file-cache-proc-'));
  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await rm(root, { recursive: true, force: true });
  });

  it('keeps a complete value (old or new, never a partial one) when writers are SIGKILLed mid-write', async () => {
    const dir = join(root, 'crash');
    const key = 'http://example.com/big';
    const reader = new FileCache(dir);
    for (let round = 0; round < 3; round++) {
      // Two writers on the same key, each killed at its own random moment after a complete write.
      const workers = [startWorker(['writer', dir, key]), startWorker(['writer', dir, key])];
      await Promise.all(workers.map((w) => waitForLine(w.child, 'ready')));
      await Promise.all(
        workers.map(async (w) => {
          await delay(Math.random() * 60);
          w.child.kill('SIGKILL');
          await w.exit;
        }),
      );
      const value = await reader.get(key);
      expect(value, `round ${round}: a complete value was there before the kill`).to.not.equal(null);
      expect(isIntact(value!), `round ${round}: value intact`).to.equal(true);
      expect(value!.length).to.be.oneOf([1024 * 1024 + 32, 1536 * 1024 + 17 + 32]);
    }
    // Only the entry and the temp files of killed writers are left; nothing else was created.
    const stray = (await readdir(dir)).filter((n) => n !== safename(key) && !n.startsWith('.tmp-'));
    expect(stray).to.deep.equal([]);
  });

  it('never shows a damaged or missing value to four processes reading and writing the same keys', async () => {
    const dir = join(root, 'hammer');
    const keys = ['http://example.com/a', 'http://example.com/b', 'http://example.com/c'];
    const cache = new FileCache(dir);
    // Every key holds a value before the workers start, so a miss can only mean a torn write.
    for (const key of keys) await cache.set(key, selfCheckingValue(1000));
    const workers = Array.from({ length: 4 }, () => startWorker(['hammer', dir, '800', JSON.stringify(keys)]));
    const results = await Promise.all(
      workers.map(async (w) => {
        const code = await w.exit;
        expect(code, 'worker exit code').to.equal(0);
        return JSON.parse((await w.output).trim()) as Record<string, number>;
      }),
    );
    for (const r of results) {
      expect(r, JSON.stringify(r)).to.include({ damaged: 0, misses: 0 });
      expect(r['hits'], 'reads that found a value').to.be.greaterThan(0);
      expect(r['writes'], 'writes').to.be.greaterThan(0);
    }
    for (const key of keys) expect(isIntact((await cache.get(key))!)).to.equal(true);
  });

  it('keeps a 1 MiB FileCache under 1 MiB plus one entry while four processes feed it 10 MiB, never serving a damaged body (#12)', async function () {
    this.timeout(90_000);
    const dir = join(root, 'bounded');
    const MAX = 1024 * 1024;
    const BODY = 10 * 1024;
    const PER_WORKER = 256; // 4 × 256 × 10 KiB = 10 MiB
    const origin = await startServer((_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=3600' });
      res.end(selfCheckingValue(BODY - 32));
    });
    new FileCache(dir); // made before the workers, so none of them races to create it
    let largestEntry = 0;
    let most = 0;
    let mostWithTemp = 0;
    let sampling = true;
    const sample = async () => {
      while (sampling) {
        let entries = 0;
        let all = 0;
        for (const name of await readdir(dir)) {
          const size = (await lstat(join(dir, name)).catch(() => null))?.size ?? 0;
          if (name.startsWith('.h2ts-')) continue;
          all += size;
          if (name.startsWith('.tmp-')) continue;
          entries += size;
          largestEntry = Math.max(largestEntry, size);
        }
        most = Math.max(most, entries);
        mostWithTemp = Math.max(mostWithTemp, all);
        await delay(2);
      }
    };
    const sampler = sample();
    const workers = Array.from({ length: 4 }, (_, w) => startWorker(['feed', dir, String(MAX), origin.url(`/w${w}`), String(PER_WORKER)]));
    const results = await Promise.all(
      workers.map(async (w) => {
        expect(await w.exit, 'worker exit code').to.equal(0);
        return JSON.parse((await w.output).trim()) as Record<string, number>;
      }),
    );
    sampling = false;
    await sampler;
    for (const r of results) {
      expect(r, JSON.stringify(r)).to.include({ requests: PER_WORKER * 2, damaged: 0 });
      expect(r['hits'], 'some earlier answers were still there').to.be.greaterThan(0);
    }
    expect(origin.count(), 'every distinct answer was fetched').to.be.at.least(4 * PER_WORKER);
    expect(largestEntry).to.be.within(BODY, BODY + 1024);
    expect(most, `entries at their largest: ${most} bytes`).to.be.at.most(MAX + largestEntry);
    // Each writer has at most one temp file of its own on top.
    expect(mostWithTemp, `with temp files: ${mostWithTemp} bytes`).to.be.at.most(MAX + 5 * largestEntry);
    const names = (await readdir(dir)).filter((n) => !n.startsWith('.'));
    let bytes = 0;
    for (const name of names) bytes += (await lstat(join(dir, name))).size;
    expect(bytes, 'after the writes').to.be.at.most(MAX);
    expect((await inspectCache(dir).verify()).damaged).to.deep.equal([]);
  });
});
