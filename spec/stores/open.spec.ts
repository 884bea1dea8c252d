import { mkdtempSync } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import Keyv from 'keyv';
import { Http } from '../../lib/http.js';
import { FileCache } from '../../lib/cache/file-cache.js';
import { KeyvStore } from '../../lib/cache/keyv-store.js';
import { MemoryCache } from '../../lib/cache/memory-cache.js';
import { openCache } from '../../lib/cache/open.js';
import type { CacheStore } from '../../lib/cache/store.js';
import { HttpLib2Error } from '../../lib/errors.js';

describe('the cache argument of new Http(cache)', () => {
  const root = mkdtempSync(join(tmpdir(), 'h2ts-open-'));
  after(() => rm(root, { recursive: true, force: true }));

  it('opens a directory name as a FileCache on that directory', () => {
    const store = openCache(join(root, 'by-name'));
    expect(store).to.be.instanceOf(FileCache);
    expect((store as FileCache).directory).to.equal(join(root, 'by-name'));
  });

  it('new Http(dir) creates the cache directory with mode 0700, as httplib2 does', async () => {
    const dir = join(root, 'http-cache');
    const http = new Http(dir);
    try {
      const s = await stat(dir);
      expect(s.isDirectory()).to.equal(true);
      expect(s.mode & 0o777).to.equal(0o700);
    } finally {
      await http.close();
    }
  });

  it('wraps a keyv Keyv so binary values survive its serialiser', async () => {
    const keyv = new Keyv();
    const store = openCache(keyv);
    expect(store).to.be.instanceOf(KeyvStore);
    await store.set('k', Buffer.from([0, 255, 1]));
    expect(Buffer.from((await store.get('k')) as Buffer)).to.deep.equal(Buffer.from([0, 255, 1]));
  });

  it('passes any other store through as it is', () => {
    const memory = new MemoryCache();
    expect(openCache(memory)).to.equal(memory);
    const plain = { get: () => null, set: () => undefined, delete: () => undefined };
    expect(openCache(plain)).to.equal(plain);
  });

  it('refuses an object that is not a store, naming the missing method', () => {
    expect(() => openCache({ get: () => null, set: () => undefined } as unknown as CacheStore))
      .to.throw(HttpLib2Error, /delete/);
    expect(() => new Http({} as unknown as CacheStore)).to.throw(HttpLib2Error, /get/);
  });

  it('accepts a Keyv in new Http(keyv) without a cast', async () => {
    const http = new Http(new Keyv());
    await http.close();
  });
});
