/**
 * A bounded FileCache (#12): `new FileCache(dir, { maxBytes, maxEntries })` removes the least
 * recently used entries so the directory never holds more, keeps its count across crashes and other
 * processes, and never removes the identity key. Processes writing at once: file-cache-processes.
 */
import { mkdtempSync } from 'node:fs';
import { lstat, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { FileCache } from '../../lib/cache/file-cache.js';
import { safename } from '../../lib/cache/safename.js';
import { HttpLib2Error } from '../../lib/errors.js';
import { IDENTITY_KEY_NAME } from '../../lib/identity.js';
import { bytesOf, storeContract } from './contract.js';

const roots: string[] = [];
function tempDir(): string {
  const root = mkdtempSync(join(tmpdir(), 'h2ts-file-cache-bounds-'));
  roots.push(root);
  return join(root, 'cache');
}

/** The entry files of a directory (temp and control files aside) and their total size. */
export async function entryFiles(dir: string): Promise<{ names: string[]; bytes: number }> {
  const names = (await readdir(dir)).filter((n) => !n.startsWith('.tmp-') && !n.startsWith('.h2ts-')).sort();
  let bytes = 0;
  for (const name of names) bytes += (await lstat(join(dir, name)).catch(() => ({ size: 0 }))).size;
  return { names, bytes };
}

const key = (name: string) => `http://example.com/${name}`;

async function age(dir: string, name: string, secondsAgo: number): Promise<void> {
  const when = new Date(Date.now() - secondsAgo * 1000);
  await utimes(join(dir, safename(key(name))), when, when);
}

describe('FileCache with bounds (#12)', () => {
  after(() => Promise.all(roots.splice(0).map((r) => rm(r, { recursive: true, force: true }))));

  const shared = { cache: null as FileCache | null };
  before(() => {
    shared.cache = new FileCache(tempDir(), { maxBytes: 64 * 1024 * 1024, maxEntries: 10_000 });
  });
  storeContract(() => shared.cache!);

  it('removes the least recently used entry past maxEntries: a read marks an entry used', async () => {
    const dir = tempDir();
    const cache = new FileCache(dir, { maxEntries: 3 });
    for (const name of ['a', 'b', 'c']) await cache.set(key(name), Buffer.from(name));
    await age(dir, 'a', 300);
    await age(dir, 'b', 200);
    await age(dir, 'c', 100);
    expect(bytesOf(await cache.get(key('a')))?.toString()).to.equal('a'); // a is now the most recent
    await cache.set(key('d'), Buffer.from('d'));
    expect(await cache.get(key('b'))).to.equal(null);
    for (const name of ['a', 'c', 'd']) expect(bytesOf(await cache.get(key(name)))?.toString(), name).to.equal(name);
    expect((await entryFiles(dir)).names).to.have.length(3);
  });

  it('marks a remembered entry used too (a hit served from memory)', async () => {
    const dir = tempDir();
    const cache = new FileCache(dir, { maxEntries: 3 });
    for (const name of ['a', 'b', 'c']) await cache.set(key(name), Buffer.from(name));
    for (let i = 0; i < 3; i++) await cache.get(key('a')); // remembered from its second read
    await age(dir, 'a', 300);
    await age(dir, 'b', 200);
    await age(dir, 'c', 100);
    await cache.get(key('a')); // the memo's lstat sees an old mtime (and a changed file: read again)
    await cache.get(key('a'));
    await cache.set(key('d'), Buffer.from('d'));
    expect(await cache.get(key('b'))).to.equal(null);
    expect(bytesOf(await cache.get(key('a')))?.toString()).to.equal('a');
  });

  it('never holds more than maxBytes of entries, after every write', async () => {
    const dir = tempDir();
    const cache = new FileCache(dir, { maxBytes: 20_000 });
    for (let i = 0; i < 60; i++) {
      await cache.set(key(`n${i}`), Buffer.alloc(1000 + (i % 7) * 100, i));
      expect((await entryFiles(dir)).bytes, `after write ${i}`).to.be.at.most(20_000);
    }
    // The newest entries are there, the oldest are gone.
    expect(bytesOf(await cache.get(key('n59')))?.[0]).to.equal(59);
    expect(await cache.get(key('n0'))).to.equal(null);
  });

  it('does not keep a value larger than maxBytes, and removes the older value under its key', async () => {
    const dir = tempDir();
    const cache = new FileCache(dir, { maxBytes: 1000 });
    await cache.set(key('k'), Buffer.from('small'));
    await cache.set(key('k'), Buffer.alloc(2000));
    expect(await cache.get(key('k'))).to.equal(null);
    expect((await entryFiles(dir)).names).to.deep.equal([]);
  });

  it('never removes the identity key the processes on the directory share', async () => {
    const dir = tempDir();
    const cache = new FileCache(dir, { maxEntries: 2 });
    await cache.set(IDENTITY_KEY_NAME, Buffer.from('HL2K\x01 thirty-two bytes of key .....'));
    await utimes(join(dir, safename(IDENTITY_KEY_NAME)), new Date(0), new Date(0));
    for (let i = 0; i < 5; i++) await cache.set(key(`n${i}`), Buffer.from(String(i)));
    expect(await cache.get(IDENTITY_KEY_NAME)).to.not.equal(null);
  });

  it('counts what other processes and unbounded instances did: a directory already over its bound is brought under it', async () => {
    const dir = tempDir();
    const unbounded = new FileCache(dir);
    for (let i = 0; i < 30; i++) await unbounded.set(key(`old${i}`), Buffer.alloc(1000));
    const bounded = new FileCache(dir, { maxBytes: 10_000 });
    await bounded.set(key('new'), Buffer.alloc(1000));
    expect((await entryFiles(dir)).bytes).to.be.at.most(10_000);
    expect(await bounded.get(key('new'))).to.not.equal(null);
  });

  it('recounts after a crash: a stale lock is broken, and a damaged count is not trusted', async () => {
    const dir = tempDir();
    const cache = new FileCache(dir, { maxBytes: 10_000 });
    for (let i = 0; i < 8; i++) await cache.set(key(`n${i}`), Buffer.alloc(1000));
    // A process killed while holding the lock, after writing a count that says the directory is empty.
    await writeFile(join(dir, '.h2ts-lock'), '');
    const minuteAgo = new Date(Date.now() - 60_000);
    await utimes(join(dir, '.h2ts-lock'), minuteAgo, minuteAgo);
    const usage = await readFile(join(dir, '.h2ts-usage'));
    usage.writeDoubleBE(0, 8);
    await writeFile(join(dir, '.h2ts-usage'), usage); // its CRC no longer matches
    for (let i = 8; i < 12; i++) await cache.set(key(`n${i}`), Buffer.alloc(1000));
    expect((await entryFiles(dir)).bytes).to.be.at.most(10_000);
    expect(await readdir(dir)).to.not.include('.h2ts-lock');
  });

  it('waits for a lock another process holds, and takes it when released', async () => {
    const dir = tempDir();
    const cache = new FileCache(dir, { maxEntries: 10 });
    await cache.set(key('first'), Buffer.from('1'));
    await writeFile(join(dir, '.h2ts-lock'), '');
    let done = false;
    const writing = cache.set(key('second'), Buffer.from('2')).then(() => (done = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(done, 'the write waits for the lock').to.equal(false);
    await rm(join(dir, '.h2ts-lock'));
    await writing;
    expect(bytesOf(await cache.get(key('second')))?.toString()).to.equal('2');
  });

  it('refuses bounds that are not positive numbers, naming the option', () => {
    expect(() => new FileCache(tempDir(), { maxBytes: 0 })).to.throw(HttpLib2Error, /maxBytes/).with.property('code', 'ERR_INVALID_REQUEST');
    expect(() => new FileCache(tempDir(), { maxEntries: Number.NaN })).to.throw(HttpLib2Error, /maxEntries/);
    expect(() => new FileCache(tempDir(), { maxEntries: '10' as unknown as number })).to.throw(HttpLib2Error, /maxEntries/);
  });
});
