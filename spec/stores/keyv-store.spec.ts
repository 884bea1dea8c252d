import { expect } from 'chai';
import Keyv from 'keyv';
import { isKeyv, KeyvStore } from '../../lib/cache/keyv-store.js';
import { MemoryCache } from '../../lib/cache/memory-cache.js';
import { openCache } from '../../lib/cache/open.js';
import { HttpLib2Error } from '../../lib/errors.js';
import { bytesOf, storeContract } from './contract.js';

describe('keyv adapter', () => {
  describe('over an in-memory Keyv', () => {
    const store = openCache(new Keyv());
    storeContract(() => store);
  });

  describe('over a Keyv whose serialiser is plain JSON (Buffers would come back as objects)', () => {
    const keyv = new Keyv({ serialize: JSON.stringify, deserialize: (s: string) => JSON.parse(s) as never });
    const store = openCache(keyv);
    storeContract(() => store);
  });

  it('recognises a Keyv by its shape, and nothing else', () => {
    expect(isKeyv(new Keyv())).to.equal(true);
    expect(isKeyv(new MemoryCache())).to.equal(false);
    expect(isKeyv({ get() {}, set() {}, delete() {} })).to.equal(false);
    expect(isKeyv(null)).to.equal(false);
    expect(isKeyv('dir')).to.equal(false);
  });

  it('reads a value it did not write (another program sharing the keyv) as a miss', async () => {
    const keyv = new Keyv();
    const store = new KeyvStore(keyv);
    await keyv.set('text', 'hello');
    await keyv.set('object', { a: 1 });
    await keyv.set('buffer-like', { type: 'Buffer', data: [1, 2] });
    for (const key of ['text', 'object', 'buffer-like']) expect(await store.get(key)).to.equal(null);
  });

  describe('over a failing backend', () => {
    const broken = {
      get: () => Promise.reject(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' })),
      set: () => Promise.reject(Object.assign(new Error('ENOSPC: no space left'), { code: 'ENOSPC' })),
      delete: () => Promise.reject(new Error('EIO')),
    };

    it('rejects get with an HttpLib2Error (ERR_CACHE), so the cache counts the failure (through Http it is a miss)', async () => {
      const error = await new KeyvStore(broken).get('k').catch((e: unknown) => e);
      expect(error).to.be.instanceOf(HttpLib2Error).with.property('code', 'ERR_CACHE');
      expect((error as Error).cause).to.have.property('code', 'EIO');
    });

    it('rejects set and delete with an HttpLib2Error (ERR_CACHE) carrying the cause', async () => {
      const store = new KeyvStore(broken);
      const setError = await store.set('k', Buffer.from('v')).catch((e: unknown) => e);
      expect(setError).to.be.instanceOf(HttpLib2Error).with.property('code', 'ERR_CACHE');
      expect((setError as Error).cause).to.have.property('code', 'ENOSPC');
      const deleteError = await store.delete('k').catch((e: unknown) => e);
      expect(deleteError).to.be.instanceOf(HttpLib2Error).with.property('code', 'ERR_CACHE');
    });

    it('rejects set when keyv reports failure as false', async () => {
      const store = new KeyvStore({ ...broken, set: () => Promise.resolve(false) });
      const error = await store.set('k', Buffer.from('v')).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(HttpLib2Error).with.property('code', 'ERR_CACHE');
    });
  });

  it('gives back exactly the bytes of a value set through Http-style Buffers', async () => {
    const store = openCache(new Keyv());
    const value = Buffer.from([0xff, 0xfe, 0x00, 0x3a, 0x62, 0x61, 0x73, 0x65]); // includes ":base"
    await store.set('k', value);
    expect(bytesOf(await store.get('k'))).to.deep.equal(value);
  });
});
