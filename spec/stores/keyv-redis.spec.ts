/**
 * keyv + Redis: the store contract against a real redis-server this spec starts on a free loopback
 * port (installed by the pretest provisioning; a missing binary fails here, it is never skipped).
 */
import KeyvRedis from '@keyv/redis';
import { expect } from 'chai';
import Keyv from 'keyv';
import { openCache } from '../../lib/cache/open.js';
import type { CacheStore } from '../../lib/cache/store.js';
import { bytesOf, storeContract } from './contract.js';
import { RedisServer } from './fixtures/redis-server.js';

describe('keyv + Redis (@keyv/redis, a real redis-server)', function () {
  this.timeout(30_000);
  let redis: RedisServer | undefined;
  let keyv: Keyv | undefined;
  let store: CacheStore;

  before(async () => {
    redis = await RedisServer.start();
    keyv = new Keyv(new KeyvRedis(redis.url));
    store = openCache(keyv);
  });
  after(async () => {
    await keyv?.disconnect();
    await redis?.close();
  });

  storeContract(() => store);

  it('shares entries between two clients of one server (a fleet sharing one cache)', async () => {
    const other = new Keyv(new KeyvRedis(redis!.url));
    try {
      const value = Buffer.from([0, 0xff, 0x80, 0x3a]);
      await store.set('http://shared.test/', value);
      expect(bytesOf(await openCache(other).get('http://shared.test/'))).to.deep.equal(value);
    } finally {
      await other.disconnect();
    }
  });
});
