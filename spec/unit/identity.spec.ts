/**
 * lib/identity.ts: the store's identity key (made once, shared, garbage replaced, a failing store
 * tolerated) and the identity strings (which inputs are anonymous, which get which digest).
 */
import { expect } from 'chai';
import { IDENTITY_KEY_NAME, IdentityDigests, loadIdentityKey, type Speaker } from '../../lib/identity.js';

class Store {
  readonly map = new Map<string, unknown>();
  sets = 0;
  get(key: string): unknown {
    return this.map.get(key);
  }
  set(key: string, value: Buffer): void {
    this.sets++;
    this.map.set(key, Buffer.from(value));
  }
}

const anonymous: Speaker = { kind: 'anonymous', cookie: undefined, wsse: undefined };
const caller = (authorization: string, tokens: { cookie?: string; wsse?: string } = {}): Speaker =>
  ({ kind: 'caller', authorization, cookie: tokens.cookie, wsse: tokens.wsse });

describe('identity digests', () => {
  describe('the store key', () => {
    it('is made once and then read by everyone on the store', async () => {
      const store = new Store();
      const [a, b] = (await Promise.all([loadIdentityKey(store), loadIdentityKey(store)])).map((k) => k.key);
      const c = (await loadIdentityKey(store)).key;
      expect(a!.length).to.equal(32);
      expect(c.equals(a!) || c.equals(b!)).to.equal(true);
      expect((await loadIdentityKey(store)).key.equals(c)).to.equal(true);
    });
    it('replaces what is not a key, and lives without a store that cannot keep one', async () => {
      const store = new Store();
      store.map.set(IDENTITY_KEY_NAME, 'garbage');
      const { key, lasting } = await loadIdentityKey(store);
      expect(key.length).to.equal(32);
      expect(lasting).to.equal(true);
      expect(store.sets).to.equal(1);
      const failing = { get: () => { throw new Error('down'); }, set: () => Promise.reject(new Error('down')) };
      const own = await loadIdentityKey(failing);
      expect(own.key.length).to.equal(32);
      expect(own.lasting).to.equal(false);
    });
    it('never writes a key over one a store did not answer for (a late read must not replace the shared key)', async () => {
      const store = new Store();
      const shared = (await loadIdentityKey(store)).key;
      const late = { get: () => Promise.reject(new Error('store get took longer than 250 ms')), set: (k: string, v: Buffer) => store.set(k, v) };
      const own = await loadIdentityKey(late);
      expect(own.lasting).to.equal(false);
      expect(store.sets).to.equal(1);
      expect((await loadIdentityKey(store)).key.equals(shared)).to.equal(true);
    });
    it('is asked of the store once per Http, through per-request views of it, and again after a failure', async () => {
      const store = new Store();
      let gets = 0;
      let down = true;
      const base = { get: (k: string) => { gets++; return down ? Promise.reject(new Error('down')) : store.get(k); }, set: (k: string, v: Buffer) => store.set(k, v) };
      const view = () => ({ get: (k: string) => base.get(k), set: (k: string, v: Buffer) => base.set(k, v), shared: base });
      const digests = new IdentityDigests();
      const bearer = caller('Bearer t');
      await digests.identify(bearer, view());
      await new Promise((resolve) => setImmediate(resolve));
      expect(gets).to.equal(1);
      down = false;
      const first = await digests.identify(bearer, view());
      const second = await digests.identify(bearer, view());
      expect(first).to.equal(second);
      expect(gets).to.equal(3); // the failed read, then one read and the read-back after writing the key
    });
  });

  describe('identities', () => {
    it('is null for a request with nothing identifying, without touching the store', () => {
      const store = new Store();
      expect(new IdentityDigests().identify(anonymous, store)).to.equal(null);
      expect(store.map.size).to.equal(0);
    });
    it('names each part by a digest, never by its value; the same input gives the same identity', async () => {
      const store = new Store();
      const digests = new IdentityDigests();
      const input = caller('Bearer t0k3n', { cookie: 'sid=s3ss10n', wsse: 'UsernameToken x' });
      const identity = await digests.identify(input, store);
      expect(identity).to.match(/^authorization:[0-9a-f]{32} x-wsse:[0-9a-f]{32} cookie:[0-9a-f]{32}$/);
      expect(identity).not.to.match(/t0k3n|s3ss10n|UsernameToken/);
      expect(await new IdentityDigests().identify(input, store)).to.equal(identity);
      expect(await digests.identify({ ...input, cookie: 'sid=s3ss10m' }, store)).not.to.equal(identity);
      const joe = { name: 'joe smith', password: 'pw', domain: '' };
      const user = await digests.identify({ ...anonymous, kind: 'registered', candidates: [joe], key: joe }, store);
      expect(user).to.match(/^user:joe%20smith:[0-9a-f]{32}$/);
    });
    it('gives another store other digests', async () => {
      const input = caller('Bearer t0k3n');
      const digests = new IdentityDigests();
      expect(await digests.identify(input, new Store())).not.to.equal(await digests.identify(input, new Store()));
    });
  });
});
