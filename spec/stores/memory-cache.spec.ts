import { expect } from 'chai';
import { MemoryCache } from '../../lib/cache/memory-cache.js';
import { HttpLib2Error } from '../../lib/errors.js';
import { bytesOf, storeContract } from './contract.js';

describe('MemoryCache', () => {
  const cache = new MemoryCache();
  storeContract(() => cache);

  it('evicts the least recently used entry past maxEntries', async () => {
    const c = new MemoryCache({ maxEntries: 2 });
    await c.set('a', Buffer.from('A'));
    await c.set('b', Buffer.from('B'));
    await c.get('a'); // a is now the most recent
    await c.set('c', Buffer.from('C'));
    expect(bytesOf(await c.get('b'))).to.equal(null);
    expect(bytesOf(await c.get('a'))?.toString()).to.equal('A');
    expect(bytesOf(await c.get('c'))?.toString()).to.equal('C');
    expect(c.size).to.equal(2);
  });

  it('keeps an entry read since eviction last looked over entries stored after it, but never the one just stored', async () => {
    const c = new MemoryCache({ maxEntries: 3 });
    for (const k of ['a', 'b', 'c']) await c.set(k, Buffer.from(k.toUpperCase()));
    await c.get('a');
    await c.set('d', Buffer.from('D')); // b is the oldest entry not read: it goes
    await c.set('e', Buffer.from('E')); // then c
    expect(bytesOf(await c.get('b'))).to.equal(null);
    expect(bytesOf(await c.get('c'))).to.equal(null);
    expect(bytesOf(await c.get('a'))?.toString()).to.equal('A');
    // Every entry read (a just now): one of them goes, not the one being stored.
    await c.get('d');
    await c.get('e');
    await c.set('f', Buffer.from('F'));
    expect(c.size).to.equal(3);
    expect(bytesOf(await c.get('f'))?.toString()).to.equal('F');
  });

  it('holds nothing when maxEntries is below one, as its bound says', async () => {
    const c = new MemoryCache({ maxEntries: 0.5 });
    await c.set('a', Buffer.from('A'));
    expect(c.size).to.equal(0);
    expect(bytesOf(await c.get('a'))).to.equal(null);
  });

  it('evicts past maxBytes and never holds more', async () => {
    const c = new MemoryCache({ maxBytes: 1000 });
    for (let i = 0; i < 10; i++) await c.set(`k${i}`, Buffer.alloc(300, i));
    expect(c.bytes).to.be.at.most(1000);
    expect(c.size).to.equal(3);
    expect(bytesOf(await c.get('k9'))?.[0]).to.equal(9);
    expect(bytesOf(await c.get('k6'))).to.equal(null);
  });

  it('does not keep a value larger than maxBytes, and drops the older value under its key', async () => {
    const c = new MemoryCache({ maxBytes: 100 });
    await c.set('k', Buffer.from('small'));
    await c.set('k', Buffer.alloc(200));
    expect(bytesOf(await c.get('k'))).to.equal(null);
    expect(c.bytes).to.equal(0);
  });

  it('hands out copies, so a caller changing a value it got does not change the cache', async () => {
    const c = new MemoryCache();
    await c.set('k', Buffer.from('abc'));
    bytesOf(await c.get('k'))!.fill(0);
    expect(bytesOf(await c.get('k'))?.toString()).to.equal('abc');
  });

  it('refuses bounds that are not positive numbers, naming the option', () => {
    expect(() => new MemoryCache({ maxEntries: 0 })).to.throw(HttpLib2Error, /maxEntries/);
    expect(() => new MemoryCache({ maxBytes: Number.NaN })).to.throw(HttpLib2Error, /maxBytes/);
  });
});
