import { expect } from 'chai';
import { LruMap } from '../../lib/transport/lru.js';

describe('LruMap', () => {
  it('keeps the most recently used entries and hands the oldest to onEvict', () => {
    const evicted: string[] = [];
    const lru = new LruMap<string, string>(2, (value, key) => evicted.push(`${key}=${value}`));
    lru.getOrCreate('a', () => 'A');
    lru.getOrCreate('b', () => 'B');
    expect(lru.getOrCreate('a', () => 'new A')).to.equal('A'); // a hit, now the most recent
    lru.getOrCreate('c', () => 'C');
    expect(evicted).to.deep.equal(['b=B']);
    expect(lru.values()).to.deep.equal(['A', 'C']);
    lru.getOrCreate('d', () => 'D');
    expect(evicted).to.deep.equal(['b=B', 'a=A']);
  });

  it('forgets everything on clear, evicting nothing', () => {
    const evicted: string[] = [];
    const lru = new LruMap<string, number>(1, (_v, key) => evicted.push(key));
    lru.getOrCreate('x', () => 1);
    lru.clear();
    lru.getOrCreate('y', () => 2);
    expect(evicted).to.deep.equal([]);
    expect(lru.values()).to.deep.equal([2]);
  });
});
