/**
 * The cost of a FileCache hit must not grow with the cache (#15): an entry not remembered is read
 * with one open and one read (its header says how long it is, so no stat), and a working set of
 * thousands of entries read again and again is served from memory after one lstat each.
 * Counted by wrapping node:fs's synchronous calls, which the store's ESM imports see through
 * `syncBuiltinESMExports`.
 */
import fs, { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { FileCache } from '../../lib/cache/file-cache.js';
import { RecentValues } from '../../lib/cache/file-cache-memo.js';
import { HttpLib2Error } from '../../lib/errors.js';
import { bytesOf } from './contract.js';

const COUNTED = ['openSync', 'readSync', 'lstatSync', 'fstatSync', 'statSync', 'readFileSync'] as const;
type Counted = (typeof COUNTED)[number];

/** Runs `fn` with node:fs's synchronous calls counted. */
async function counting(fn: () => Promise<void>): Promise<Record<Counted, number>> {
  const counts = Object.fromEntries(COUNTED.map((name) => [name, 0])) as Record<Counted, number>;
  const originals = new Map<Counted, unknown>();
  const target = fs as unknown as Record<Counted, (...args: unknown[]) => unknown>;
  for (const name of COUNTED) {
    const original = target[name];
    originals.set(name, original);
    target[name] = (...args: unknown[]) => {
      counts[name]++;
      return original.apply(fs, args);
    };
  }
  syncBuiltinESMExports();
  try {
    await fn();
  } finally {
    for (const name of COUNTED) target[name] = originals.get(name) as (...args: unknown[]) => unknown;
    syncBuiltinESMExports();
  }
  return counts;
}

describe('FileCache reads (#15: a hit does not get slower as the cache grows)', function () {
  this.timeout(60_000);
  const root = mkdtempSync(join(tmpdir(), 'h2ts-file-cache-reads-'));
  after(() => rm(root, { recursive: true, force: true }));

  it('reads an entry it does not remember with one open and one read, and no stat', async () => {
    const cache = new FileCache(join(root, 'one'), { memoBytes: 0 });
    const key = 'http://example.com/entry';
    const value = Buffer.alloc(2048, 'v');
    await cache.set(key, value);
    let got: Buffer | null = null;
    const counts = await counting(async () => {
      got = await cache.get(key);
    });
    expect(bytesOf(got)?.equals(value)).to.equal(true);
    expect(counts).to.deep.equal({ openSync: 1, readSync: 1, lstatSync: 0, fstatSync: 0, statSync: 0, readFileSync: 0 });
  });

  it('remembers a value it reads with one fstat of the open file, then serves it after one lstat', async () => {
    const cache = new FileCache(join(root, 'remembered'));
    const key = 'http://example.com/entry';
    await cache.set(key, Buffer.from('remembered'));
    const first = await counting(async () => {
      await cache.get(key);
    });
    expect(first).to.deep.equal({ openSync: 1, readSync: 1, lstatSync: 0, fstatSync: 1, statSync: 0, readFileSync: 0 });
    const again = await counting(async () => {
      expect(bytesOf(await cache.get(key))?.toString()).to.equal('remembered');
    });
    expect(again).to.deep.equal({ openSync: 0, readSync: 0, lstatSync: 1, fstatSync: 0, statSync: 0, readFileSync: 0 });
  });

  it('serves a working set of 5,000 entries read again and again from memory, one lstat per hit', async () => {
    const cache = new FileCache(join(root, 'many'));
    const keys = Array.from({ length: 5000 }, (_, i) => `http://example.com/r/${i}`);
    const valueOf = (i: number) => Buffer.from(`value ${i} `.repeat(50));
    for (let i = 0; i < keys.length; i += 100) {
      await Promise.all(keys.slice(i, i + 100).map((key, j) => cache.set(key, valueOf(i + j))));
    }
    for (let pass = 0; pass < 2; pass++) for (const key of keys) await cache.get(key);
    let intact = 0;
    const counts = await counting(async () => {
      for (let i = 0; i < keys.length; i++) if (bytesOf(await cache.get(keys[i]!))?.equals(valueOf(i))) intact++;
    });
    expect(intact).to.equal(keys.length);
    expect(counts).to.deep.equal({ openSync: 0, readSync: 0, lstatSync: keys.length, fstatSync: 0, statSync: 0, readFileSync: 0 });
  });

  it('keeps within memoBytes what its values really cost: each value, and ~1.6 KiB for its slot and the parse kept with it', async () => {
    const memoBytes = 2_000_000;
    const cache = new FileCache(join(root, 'budget'), { memoBytes });
    const keys = Array.from({ length: 4000 }, (_, i) => `http://example.com/r/${i}`);
    const valueOf = (i: number) => Buffer.alloc(1000, String(i % 10));
    for (let i = 0; i < keys.length; i += 100) {
      await Promise.all(keys.slice(i, i + 100).map((key, j) => cache.set(key, valueOf(i + j))));
    }
    // Each key read twice in a row: the second read is served without an open when the value is kept.
    const pass = async () => {
      let fromMemory = 0;
      for (let i = 0; i < keys.length; i++) {
        await cache.get(keys[i]!);
        const counts = await counting(async () => {
          expect(bytesOf(await cache.get(keys[i]!))?.equals(valueOf(i))).to.equal(true);
        });
        if (counts.openSync === 0) fromMemory++;
      }
      return fromMemory;
    };
    await pass();
    const fromMemory = await pass();
    // Measured per value of a cached response: its bytes, ~0.6 KiB of slot and Buffer, ~1 KiB of parse.
    expect(fromMemory).to.be.above(300);
    expect(fromMemory * (1000 + 1600)).to.be.at.most(memoBytes);
  });

  it('keeps nothing in memory with memoBytes: 0 (every hit reads its file), and refuses a bad memoBytes', async () => {
    const cache = new FileCache(join(root, 'no-memo'), { memoBytes: 0 });
    const key = 'http://example.com/entry';
    await cache.set(key, Buffer.from('v'));
    const counts = await counting(async () => {
      for (let i = 0; i < 5; i++) expect(bytesOf(await cache.get(key))?.toString()).to.equal('v');
    });
    expect(counts).to.include({ openSync: 5, lstatSync: 0, fstatSync: 0 });
    for (const memoBytes of [-1, Number.NaN, Infinity, '1' as unknown as number]) {
      expect(() => new FileCache(join(root, 'bad'), { memoBytes }), String(memoBytes)).to.throw(HttpLib2Error, /memoBytes/).with.property('code', 'ERR_INVALID_REQUEST');
    }
  });
});

describe('FileCache memo admission (TinyLFU)', () => {
  const remembered = (path: string, length: number) => ({ path, ino: 1, size: length, mtimeMs: 0, ctimeMs: 0, value: Buffer.alloc(length) });

  it('keeps the often read keys while a stream of keys read once or twice passes through a full memo', () => {
    const memo = new RecentValues(10, 1024 * 1024);
    const read = (key: string) => {
      if (memo.get(key) === undefined && memo.wants(key, 100, key)) memo.remember(key, remembered(key, 100));
    };
    const hot = Array.from({ length: 8 }, (_, i) => `hot-${i}`);
    for (let i = 0; i < 2000; i++) {
      read(hot[i % hot.length]!);
      read(`once-${i}`);
      read(`once-${i}`);
    }
    expect(hot.filter((key) => memo.get(key) !== undefined)).to.deep.equal(hot);
  });

  it('takes values in while there is room, then only one read more often than the least recent; never one over a 64th of its budget', () => {
    const memo = new RecentValues(2, 64 * 1000);
    for (const key of ['a', 'b']) {
      memo.get(key);
      expect(memo.wants(key, 10, key), key).to.equal(true);
      memo.remember(key, remembered(key, 10));
    }
    memo.get('c');
    expect(memo.wants('c', 10, 'c'), 'read once, as often as a').to.equal(false);
    memo.get('c');
    expect(memo.wants('c', 10, 'c'), 'read twice, more than a').to.equal(true);
    expect(memo.wants('c', 1001, 'c')).to.equal(false);
  });
});
