/**
 * The one contract every cache store meets (httplib2's get/set/delete, sync or async). Each store's
 * spec file calls `storeContract` with a function returning its store; keys are unique per test, so
 * one store instance can serve the whole suite.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { CacheStore } from '../../lib/cache/store.js';

let counter = 0;
/** A key no other test uses, with `suffix` appended. */
export function freshKey(suffix = ''): string {
  counter += 1;
  return `http://contract.test/${process.pid}/${Date.now()}/${counter}${suffix}`;
}

/** The bytes a store returned, as a Buffer (stores may answer a Uint8Array or a Buffer). */
export function bytesOf(value: unknown): Buffer | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new Error(`store returned ${typeof value}, not bytes`);
}

const EVERY_BYTE = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

/** Keys that break naive stores: path tricks, device names, NUL, non-ASCII, a huge key, near twins. */
export const ODD_KEYS: readonly string[] = [
  '',
  '.',
  '..',
  '../../../etc/passwd',
  '/etc/passwd',
  'C:\\Windows\\system32\\config',
  '\\\\server\\share\\file',
  'CON',
  'nul',
  'com1.txt',
  'LPT9',
  'a\0b',
  '\0',
  'ключ ✓ 🚀 日本',
  ' leading and trailing ',
  'line\nbreak\r\ttab',
  'http://example.com/a/b',
  'http://example.com/a%2Fb',
  'http://example.com/A/b',
  'http://example.com/a/b?x=1&y=2',
  'http://example.com/a/b?y=2&x=1',
  `http://example.com/${'x'.repeat(5000)}`,
  `http://example.com/${'x'.repeat(4999)}y`,
];

/** Registers the store contract as mocha tests; `store()` returns the store under test. */
export function storeContract(store: () => CacheStore): void {
  describe('the store contract', () => {
    it('answers null (or undefined) for a key never stored', async () => {
      expect(bytesOf(await store().get(freshKey()))).to.equal(null);
    });

    it('gives back every byte value unchanged', async () => {
      const key = freshKey();
      await store().set(key, EVERY_BYTE);
      expect(bytesOf(await store().get(key))).to.deep.equal(EVERY_BYTE);
    });

    it('keeps a 0-byte value as an empty value, not a miss', async () => {
      const key = freshKey();
      await store().set(key, Buffer.alloc(0));
      const got = bytesOf(await store().get(key));
      expect(got).to.not.equal(null);
      expect(got!.length).to.equal(0);
    });

    it('gives back a 5 MB binary value byte for byte', async () => {
      const key = freshKey();
      const value = randomBytes(5 * 1024 * 1024);
      await store().set(key, value);
      const got = bytesOf(await store().get(key));
      expect(got?.length).to.equal(value.length);
      expect(got!.equals(value)).to.equal(true);
    });

    it('stores only the bytes of a Uint8Array view, not its whole backing buffer', async () => {
      const key = freshKey();
      const backing = Buffer.from('0123456789');
      const view = new Uint8Array(backing.buffer, backing.byteOffset + 3, 4);
      await store().set(key, Buffer.from(view.buffer, view.byteOffset, view.byteLength));
      expect(bytesOf(await store().get(key))?.toString()).to.equal('3456');
    });

    it('is not changed by later writes into the buffer that was stored', async () => {
      const key = freshKey();
      const value = Buffer.from('original');
      await store().set(key, value);
      value.fill(0);
      expect(bytesOf(await store().get(key))?.toString()).to.equal('original');
    });

    it('overwrites a value, a shorter one included', async () => {
      const key = freshKey();
      await store().set(key, randomBytes(64 * 1024));
      await store().set(key, Buffer.from('new'));
      expect(bytesOf(await store().get(key))?.toString()).to.equal('new');
    });

    it('forgets a deleted key, and deleting a missing key is not an error', async () => {
      const key = freshKey();
      await store().set(key, Buffer.from('doomed'));
      await store().delete(key);
      expect(bytesOf(await store().get(key))).to.equal(null);
      await store().delete(key);
      await store().delete(freshKey());
    });

    it('keeps distinct keys apart', async () => {
      const a = freshKey('/a');
      const b = freshKey('/b');
      await store().set(a, Buffer.from('A'));
      await store().set(b, Buffer.from('B'));
      await store().delete(a);
      expect(bytesOf(await store().get(a))).to.equal(null);
      expect(bytesOf(await store().get(b))?.toString()).to.equal('B');
    });

    it('round-trips keys with path tricks, device names, NUL, non-ASCII and 5000 characters, each apart', async () => {
      const s = store();
      const tag = randomBytes(4).toString('hex');
      await Promise.all(ODD_KEYS.map((key, i) => s.set(key, Buffer.from(`${tag}:${i}`))));
      for (const [i, key] of ODD_KEYS.entries()) {
        expect(bytesOf(await s.get(key))?.toString(), JSON.stringify(key.slice(0, 40))).to.equal(`${tag}:${i}`);
      }
      await Promise.all(ODD_KEYS.map((key) => s.delete(key)));
      for (const key of ODD_KEYS) expect(bytesOf(await s.get(key))).to.equal(null);
    });

    it('leaves one complete value after concurrent sets of the same key', async () => {
      const key = freshKey();
      const values = Array.from({ length: 8 }, (_, i) => Buffer.alloc(256 * 1024 + i, i + 1));
      await Promise.all(values.map((v) => store().set(key, v)));
      const got = bytesOf(await store().get(key));
      expect(values.some((v) => v.equals(got!)), 'one of the values written').to.equal(true);
    });

    it('answers concurrent gets and sets of many keys consistently', async () => {
      const keys = Array.from({ length: 40 }, (_, i) => freshKey(`/${i}`));
      await Promise.all(keys.map((k, i) => store().set(k, Buffer.from(`v${i}`))));
      const got = await Promise.all(keys.map((k) => store().get(k)));
      expect(got.map((g) => bytesOf(g)?.toString())).to.deep.equal(keys.map((_, i) => `v${i}`));
    });
  });
}
