/**
 * keyv + SQLite: the store contract, WAL mode, and one database file shared by several processes.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import KeyvSqlite from '@keyv/sqlite';
import { expect } from 'chai';
import Keyv from 'keyv';
import { openSqliteCache } from '../../lib/cache/keyv-store.js';
import { openCache } from '../../lib/cache/open.js';
import { HttpLib2Error } from '../../lib/errors.js';
import type { CacheStore } from '../../lib/cache/store.js';
import { bytesOf, storeContract } from './contract.js';
import { isIntact } from './fixtures/self-checking.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WORKER = fileURLToPath(new URL('./fixtures/sqlite-worker.ts', import.meta.url));
const LOCKER = fileURLToPath(new URL('./fixtures/sqlite-locker.ts', import.meta.url));
const run = promisify(execFile);

function worker(...args: string[]): Promise<{ stdout: string }> {
  return run(process.execPath, ['--import', 'tsx', WORKER, ...args], { cwd: ROOT });
}

describe('keyv + SQLite (@keyv/sqlite)', function () {
  this.timeout(30_000);
  const root = mkdtempSync(join(tmpdir(), 'h2ts-sqlite-'));
  const file = join(root, 'cache.sqlite');
  let keyv: Keyv;
  let store: CacheStore;

  before(async () => {
    keyv = await openSqliteCache(file);
    store = openCache(keyv);
  });
  after(async () => {
    await keyv?.disconnect();
    await rm(root, { recursive: true, force: true });
  });

  storeContract(() => store);

  it("opens the database in WAL mode with SQLite's own busy wait off (it would block the event loop)", async () => {
    const sqlite = keyv.store as KeyvSqlite;
    const [mode] = (await sqlite.query('PRAGMA journal_mode')) as Array<{ journal_mode: string }>;
    expect(mode?.journal_mode).to.equal('wal');
    const [timeout] = (await sqlite.query('PRAGMA busy_timeout')) as Array<Record<string, number>>;
    expect(Object.values(timeout ?? {})[0]).to.equal(0);
  });

  it('gives up a write another process keeps locked after busyTimeout, while reads go on, and writes again once it is released', async () => {
    const locked = join(root, 'locked.sqlite');
    const own = await openSqliteCache(locked, { busyTimeout: 100 });
    const s = openCache(own);
    const child = spawn(process.execPath, ['--import', 'tsx', LOCKER, locked], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await s.set('http://example.com/before', Buffer.from('kept'));
      await new Promise((resolve) => child.stdout!.once('data', resolve));
      const error = await Promise.resolve(s.set('http://example.com/during', Buffer.from('x'))).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(HttpLib2Error).with.property('code', 'ERR_CACHE');
      expect(String((error as Error).message)).to.match(/SQLITE_BUSY/);
      expect(bytesOf(await s.get('http://example.com/before'))?.toString()).to.equal('kept');
      child.stdin!.end();
      await exited;
      await s.set('http://example.com/after', Buffer.from('kept too'));
      expect(bytesOf(await s.get('http://example.com/after'))?.toString()).to.equal('kept too');
    } finally {
      child.stdin!.end();
      await exited;
      await own.disconnect();
    }
  });

  it('refuses a file in a directory others can write (#18), unless allowSharedDirectory', async () => {
    const shared = join(root, 'shared');
    await mkdir(shared);
    await chmod(shared, 0o777);
    const error = await openSqliteCache(join(shared, 'cache.sqlite')).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(HttpLib2Error).with.property('code', 'ERR_CACHE_UNSAFE');
    expect((error as Error).message).to.include(`Refusing the SQLite cache directory ${shared}`).and.include(`chmod 700 ${shared}`);
    const own = await openSqliteCache(join(shared, 'cache.sqlite'), { allowSharedDirectory: true });
    await own.disconnect();
  });

  it('round-trips binary values through a hand-made Keyv with the default serialiser too', async () => {
    const own = new Keyv(new KeyvSqlite({ uri: `sqlite://${join(root, 'own.sqlite')}`, busyTimeout: 5000 }));
    try {
      const s = openCache(own);
      const value = Buffer.from([0, 1, 2, 0xff, 0x3a]);
      await s.set('http://example.com/bin', value);
      expect(bytesOf(await s.get('http://example.com/bin'))).to.deep.equal(value);
    } finally {
      await own.disconnect();
    }
  });

  it('is shared by processes: two writing at once, each seeing the other and this one', async () => {
    const n = 40;
    const outputs = await Promise.all([worker('write', file, 'http://a.test/', String(n)), worker('write', file, 'http://b.test/', String(n))]);
    expect(outputs.map((o) => o.stdout)).to.deep.equal(['done\n', 'done\n']);
    // This process's connection, open all along, sees every value both children committed.
    for (const prefix of ['http://a.test/', 'http://b.test/']) {
      for (let i = 0; i < n; i++) {
        const value = bytesOf(await store.get(`${prefix}${i}`));
        expect(value && isIntact(value), `${prefix}${i}`).to.equal(true);
        expect(value!.length).to.equal(2000 + i + 32);
      }
    }
    // And a new process sees what this one wrote.
    const mine = Buffer.from('written by the parent \x00\xff', 'latin1');
    await store.set('http://parent.test/', mine);
    const { stdout } = await worker('read', file, 'http://parent.test/');
    expect(stdout.trim()).to.equal(mine.toString('hex'));
  });
});
