import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { safename } from '../../lib/cache/safename.js';
import { ODD_KEYS } from '../stores/contract.js';

const HASH = /,?[0-9a-f]{64}$/;

describe('safename (cache file names)', () => {
  it('is a readable prefix then the SHA-256 of the whole key', () => {
    const key = 'http://example.com/feed.xml?x=1';
    const hash = createHash('sha256').update(key).digest('hex');
    expect(safename(key)).to.equal(`example.com,feed.xml,x,1,${hash}`);
  });

  it('is deterministic and tells apart keys that differ only in case, encoding or at the end of 5000 characters', () => {
    expect(safename('http://a.test/x')).to.equal(safename('http://a.test/x'));
    const twins = [
      ['http://a.test/A', 'http://a.test/a'],
      ['http://a.test/a/b', 'http://a.test/a%2Fb'],
      ['http://a.test/a/b', 'http://a.test/a,b'],
      [`http://a.test/${'x'.repeat(5000)}`, `http://a.test/${'x'.repeat(4999)}y`],
    ];
    for (const [a, b] of twins) expect(safename(a!)).to.not.equal(safename(b!));
  });

  it('maps every hostile key to one bounded path segment that is not hidden, relative or a device', () => {
    for (const key of ODD_KEYS) {
      const name = safename(key);
      const label = JSON.stringify(key.slice(0, 30));
      expect(name, label).to.match(/^[A-Za-z0-9_,.-]+$/);
      expect(name, label).to.match(HASH);
      expect(name.length, label).to.be.at.most(155);
      expect(name, label).to.not.match(/^[.,-]/);
      expect(name, label).to.not.match(/^(con|prn|aux|nul|com\d|lpt\d)([.,]|$)/i);
    }
  });

  it('prefixes Windows device names so no file is named CON, nul or com1.txt', () => {
    expect(safename('CON')).to.match(/^_CON,/);
    expect(safename('nul')).to.match(/^_nul,/);
    expect(safename('com1.txt')).to.match(/^_com1\.txt,/);
    expect(safename('console')).to.match(/^console,/);
  });

  it("leaves a store key's identity (after the first space: a user name, digests) out of the readable prefix", () => {
    const key = 'http://example.com/private user:ann:0123456789abcdef cookie:fedcba9876543210';
    const hash = createHash('sha256').update(key).digest('hex');
    expect(safename(key)).to.equal(`example.com,private,${hash}`);
    expect(safename(key)).to.not.equal(safename('http://example.com/private'));
  });

  it('drops the scheme and leading dots from the readable prefix', () => {
    expect(safename('https://h.test/')).to.match(/^h\.test,[0-9a-f]{64}$/);
    expect(safename('../../etc/passwd')).to.match(/^etc,passwd,[0-9a-f]{64}$/);
    expect(safename('')).to.match(/^[0-9a-f]{64}$/);
  });
});
