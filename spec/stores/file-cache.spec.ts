import { mkdtempSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, readdir, readFile, rm, stat, symlink, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { FileCache } from '../../lib/cache/file-cache.js';
import { assertPrivateDirectory } from '../../lib/cache/private-directory.js';
import { safename } from '../../lib/cache/safename.js';
import { HttpLib2Error } from '../../lib/errors.js';
import { bytesOf, freshKey, ODD_KEYS, storeContract } from './contract.js';

const roots: string[] = [];
function tempRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'h2ts-file-cache-'));
  roots.push(root);
  return root;
}

describe('FileCache', () => {
  after(async () => {
    await Promise.all(roots.splice(0).map((r) => rm(r, { recursive: true, force: true })));
  });

  const shared = { cache: null as FileCache | null };
  before(() => {
    shared.cache = new FileCache(join(tempRoot(), 'contract'));
  });
  storeContract(() => shared.cache!);

  describe('files on disk', () => {
    it('creates a missing directory (and its parents) with mode 0700', async () => {
      const dir = join(tempRoot(), 'a', 'b', 'cache');
      new FileCache(dir);
      const s = await stat(dir);
      expect(s.isDirectory()).to.equal(true);
      expect(s.mode & 0o777).to.equal(0o700);
    });

    it('writes each entry as one file of mode 0600 named by safename, leaving no temp file', async () => {
      const dir = join(tempRoot(), 'cache');
      const cache = new FileCache(dir);
      const key = 'http://example.com/feed.xml';
      await cache.set(key, Buffer.from('body'));
      expect(await readdir(dir)).to.deep.equal([safename(key)]);
      expect((await stat(join(dir, safename(key)))).mode & 0o777).to.equal(0o600);
    });

    it('removes temp files a killed writer left more than an hour ago, before its first write', async () => {
      const dir = join(tempRoot(), 'cache');
      await mkdir(dir);
      const old = join(dir, '.tmp-1-dead');
      const recent = join(dir, '.tmp-2-writing');
      await writeFile(old, 'partial');
      await writeFile(recent, 'partial');
      const twoHoursAgo = new Date(Date.now() - 2 * 3600 * 1000);
      await utimes(old, twoHoursAgo, twoHoursAgo);
      const cache = new FileCache(dir);
      await cache.set('k', Buffer.from('v'));
      expect((await readdir(dir)).sort()).to.deep.equal(['.tmp-2-writing', safename('k')].sort());
    });

    it('recreates the directory when it was removed after construction', async () => {
      const dir = join(tempRoot(), 'cache');
      const cache = new FileCache(dir);
      await rm(dir, { recursive: true });
      await cache.set('k', Buffer.from('v'));
      expect(bytesOf(await cache.get('k'))?.toString()).to.equal('v');
    });

    it('keeps hostile keys inside the directory, one bounded plain file each', async () => {
      const root = tempRoot();
      const dir = join(root, 'cache');
      const cache = new FileCache(dir);
      await Promise.all(ODD_KEYS.map((k, i) => cache.set(k, Buffer.from(String(i)))));
      expect(await readdir(root)).to.deep.equal(['cache']);
      const names = await readdir(dir);
      expect(names).to.have.length(ODD_KEYS.length);
      for (const name of names) {
        expect(Buffer.byteLength(name)).to.be.at.most(255);
        expect(name).to.match(/^([A-Za-z0-9_][A-Za-z0-9._,-]*,)?[0-9a-f]{64}$/);
        expect((await lstat(join(dir, name))).isFile()).to.equal(true);
      }
    });

    it('refuses a custom safe() that returns a path instead of a name: get misses, set rejects', async () => {
      const root = tempRoot();
      const cache = new FileCache(join(root, 'cache'), () => '../escaped');
      expect(await cache.get('k')).to.equal(null);
      let error: unknown;
      await cache.set('k', Buffer.from('v')).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(HttpLib2Error).with.property('code', 'ERR_CACHE');
      expect(await readdir(root)).to.deep.equal(['cache']);
    });

    it('throws an HttpLib2Error when the directory cannot be created', () => {
      const root = tempRoot();
      const file = join(root, 'file');
      return writeFile(file, 'x').then(() => {
        expect(() => new FileCache(join(file, 'cache'))).to.throw(HttpLib2Error).with.property('code', 'ERR_CACHE');
      });
    });

    // #14: Node's recursive mkdir spun at 100% CPU for ever on these (mkdir answers ENOENT although
    // the parent exists).
    for (const path of ['/proc/self/x', '/proc/self/x/y/z']) {
      it(`refuses ${path}, where mkdir answers ENOENT under an existing parent, with an error naming it`, () => {
        expect(() => new FileCache(path)).to.throw(HttpLib2Error, path).with.property('code', 'ERR_CACHE');
      });
    }

    describe('a directory others can write is refused before anything is read from it (#18)', () => {
      async function refusal(dir: string): Promise<HttpLib2Error> {
        let error: unknown;
        try {
          new FileCache(dir);
        } catch (e) {
          error = e;
        }
        expect(error).to.be.instanceOf(HttpLib2Error).with.property('code', 'ERR_CACHE_UNSAFE');
        return error as HttpLib2Error;
      }

      for (const [mode, who] of [[0o777, 'anyone'], [0o1777, 'anyone'], [0o770, 'its group'], [0o720, 'its group'], [0o702, 'anyone']] as const) {
        it(`refuses mode ${mode.toString(8)} (${who} can write it), naming the directory and chmod 700`, async () => {
          const dir = join(tempRoot(), 'shared');
          await mkdir(dir);
          await chmod(dir, mode);
          const error = await refusal(dir);
          expect(error.message).to.include(`Refusing the cache directory ${dir}: ${who} can write it`);
          expect(error.message).to.include(`\`chmod 700 ${dir}\``);
          expect(error.message).to.include('allowSharedDirectory');
        });
      }

      it("refuses a directory owned by another user (nobody), even when this process is root", async () => {
        const dir = join(tempRoot(), 'nobodys');
        await mkdir(dir, { mode: 0o700 });
        await chown(dir, 65534, 65534);
        const error = await refusal(dir);
        expect(error.message).to.include(`Refusing the cache directory ${dir}: it belongs to uid 65534, not to this process (uid ${process.geteuid!()})`);
        expect(error.message).to.include(`chmod 700 ${dir}`);
      });

      it("accepts a directory of the process's own user or of root (as OpenSSH does), for any user", async () => {
        const dir = join(tempRoot(), 'owned');
        await mkdir(dir, { mode: 0o755 });
        expect(new FileCache(dir).directory).to.equal(dir);
        // The rule for a process running as nobody (65534): root's directory and its own pass,
        // a third user's does not.
        expect(() => assertPrivateDirectory(dir, 'cache directory', 65534), 'root-owned').to.not.throw();
        await chown(dir, 65534, 65534);
        expect(() => assertPrivateDirectory(dir, 'cache directory', 65534), 'its own').to.not.throw();
        await chown(dir, 1234, 1234);
        expect(() => assertPrivateDirectory(dir, 'cache directory', 65534), "another user's")
          .to.throw(HttpLib2Error, 'it belongs to uid 1234, not to this process (uid 65534)').with.property('code', 'ERR_CACHE_UNSAFE');
      });

      it('accepts a shared directory on purpose with allowSharedDirectory, and still works', async () => {
        const dir = join(tempRoot(), 'shared-on-purpose');
        await mkdir(dir);
        await chmod(dir, 0o777);
        const cache = new FileCache(dir, { allowSharedDirectory: true });
        await cache.set('k', Buffer.from('v'));
        expect(bytesOf(await cache.get('k'))?.toString()).to.equal('v');
      });

      it('keeps httplib2\'s FileCache(dir, safe) form', async () => {
        const dir = join(tempRoot(), 'safe-form');
        const cache = new FileCache(dir, () => 'one-name');
        await cache.set('a', Buffer.from('A'));
        expect(await readdir(dir)).to.deep.equal(['one-name']);
      });

      it('refuses a file where the directory should be, as ERR_CACHE', async () => {
        const path = join(tempRoot(), 'a-file');
        await writeFile(path, 'x');
        expect(() => new FileCache(path)).to.throw(HttpLib2Error, 'not a directory').with.property('code', 'ERR_CACHE');
      });
    });

    it('rejects set with an HttpLib2Error (ERR_CACHE) when the directory is not writable', async function () {
      if (process.getuid?.() === 0) {
        // root ignores permission bits; the refusal is simulated by a file where the directory was.
        const dir = join(tempRoot(), 'cache');
        const cache = new FileCache(dir);
        await rm(dir, { recursive: true });
        await writeFile(dir, 'not a directory');
        const error = await cache.set('k', Buffer.from('v')).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(HttpLib2Error).with.property('code', 'ERR_CACHE');
        expect(await cache.get('k')).to.equal(null);
        return;
      }
      const dir = join(tempRoot(), 'cache');
      const cache = new FileCache(dir);
      await chmod(dir, 0o500);
      try {
        const error = await cache.set('k', Buffer.from('v')).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(HttpLib2Error).with.property('code', 'ERR_CACHE');
      } finally {
        await chmod(dir, 0o700);
      }
    });
  });

  describe('damaged and foreign entries', () => {
    let dir: string;
    let cache: FileCache;
    const key = 'http://example.com/entry';
    const value = Buffer.from('a complete, verified value');
    let path: string;
    beforeEach(async () => {
      dir = join(tempRoot(), 'cache');
      cache = new FileCache(dir);
      path = join(dir, safename(key));
      await cache.set(key, value);
    });

    async function expectMissThenRepair(): Promise<void> {
      expect(await cache.get(key)).to.equal(null);
      await cache.set(key, Buffer.from('fresh'));
      expect(bytesOf(await cache.get(key))?.toString()).to.equal('fresh');
    }

    it('reads an emptied file as a miss and replaces it on the next set', async () => {
      await truncate(path, 0);
      await expectMissThenRepair();
    });

    it('reads a truncated file as a miss', async () => {
      const size = (await stat(path)).size;
      await truncate(path, size - 3);
      await expectMissThenRepair();
    });

    it('reads a file with bytes appended as a miss', async () => {
      await writeFile(path, Buffer.concat([await readFile(path), Buffer.from('!')]));
      await expectMissThenRepair();
    });

    for (const [where, offsetFromEnd] of [
      ['the value', 1],
      ['the stored key', value.length + 2],
    ] as const) {
      it(`reads a file with one bit flipped in ${where} as a miss`, async () => {
        const bytes = await readFile(path);
        bytes[bytes.length - offsetFromEnd]! ^= 0x10;
        await writeFile(path, bytes);
        await expectMissThenRepair();
      });
    }

    it('notices a file damaged in place after it was read (the remembered value is not served)', async () => {
      expect(bytesOf(await cache.get(key))?.toString()).to.equal(value.toString());
      const bytes = await readFile(path);
      bytes[bytes.length - 1]! ^= 0x10;
      await writeFile(path, bytes);
      await expectMissThenRepair();
    });

    it('sees a value another instance (or process) wrote after this one read the entry', async () => {
      expect(bytesOf(await cache.get(key))?.toString()).to.equal(value.toString());
      await new FileCache(dir).set(key, Buffer.from('written elsewhere'));
      expect(bytesOf(await cache.get(key))?.toString()).to.equal('written elsewhere');
      await new FileCache(dir).delete(key);
      expect(await cache.get(key)).to.equal(null);
    });

    it('reads a file with any single header byte changed as a miss', async () => {
      const original = await readFile(path);
      for (let i = 0; i < 20; i++) {
        if (i >= 5 && i < 8) continue; // reserved bytes
        const bytes = Buffer.from(original);
        bytes[i]! ^= 0x01;
        await writeFile(path, bytes);
        expect(await cache.get(key), `header byte ${i}`).to.equal(null);
      }
    });

    it('reads a file holding another key as a miss (a foreign file or a name collision)', async () => {
      const other = 'http://example.com/other';
      await cache.set(other, Buffer.from('other body'));
      await writeFile(path, await readFile(join(dir, safename(other))));
      await expectMissThenRepair();
    });

    it('keeps keys apart when a custom safe() maps them all to one file', async () => {
      const c = new FileCache(join(tempRoot(), 'cache'), () => 'one-file');
      await c.set('a', Buffer.from('A'));
      expect(await c.get('b')).to.equal(null);
      await c.set('b', Buffer.from('B'));
      expect(await c.get('a')).to.equal(null);
      expect(bytesOf(await c.get('b'))?.toString()).to.equal('B');
    });

    it('reads a file that is not ours at all as a miss', async () => {
      await writeFile(path, 'HTTP/1.1 200 OK\r\n\r\nhello');
      await expectMissThenRepair();
    });

    it('reads a directory planted at the entry path as a miss, and set replaces it', async () => {
      await rm(path);
      await mkdir(join(path, 'inside'), { recursive: true });
      await writeFile(join(path, 'inside', 'file'), 'x');
      await expectMissThenRepair();
      expect((await lstat(path)).isFile()).to.equal(true);
    });

    it('deletes a directory planted at the entry path', async () => {
      await rm(path);
      await mkdir(path);
      await cache.delete(key);
      expect(await readdir(dir)).to.deep.equal([]);
    });

    it('never reads or writes through a symlink planted at the entry path', async () => {
      const outside = join(tempRoot(), 'precious.txt');
      await writeFile(outside, 'precious');
      // A planted link to a valid entry of this very key must still not be followed.
      const copy = join(tempRoot(), 'entry-copy');
      await writeFile(copy, await readFile(path));
      await rm(path);
      await symlink(copy, path);
      expect(await cache.get(key)).to.equal(null);
      await rm(path);
      await symlink(outside, path);
      await cache.set(key, Buffer.from('fresh'));
      expect(await readFile(outside, 'utf8')).to.equal('precious');
      expect((await lstat(path)).isSymbolicLink()).to.equal(false);
      expect(bytesOf(await cache.get(key))?.toString()).to.equal('fresh');
    });

    it('does not block on a FIFO planted at the entry path', async () => {
      const { execFileSync } = await import('node:child_process');
      await rm(path);
      execFileSync('mkfifo', [path]);
      expect(await cache.get(key)).to.equal(null);
      await cache.set(key, Buffer.from('fresh'));
      expect(bytesOf(await cache.get(key))?.toString()).to.equal('fresh');
    });
  });

  it('reads large entries (past the synchronous read size) whole', async () => {
    const cache = new FileCache(join(tempRoot(), 'cache'));
    const key = freshKey();
    const value = Buffer.alloc(3 * 1024 * 1024 + 7, 0xab);
    await cache.set(key, value);
    expect(bytesOf(await cache.get(key))!.equals(value)).to.equal(true);
  });
});
