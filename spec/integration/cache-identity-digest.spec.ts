/**
 * DESIGN.md, Identity: the identity digest costs a request no key derivation unless it carries a
 * password the library holds (a registered credential, a caller's Basic), and then once per
 * credential; it is keyed per store, so entries are shared by every Http (and process) on the store
 * and the store key names no secret; its memos live with the Http and are emptied by
 * clearCredentials() and close() (the heap half of that is in identity-heap.spec.ts).
 */
import { expect } from 'chai';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Http } from '../../lib/index.js';
import { MapStore, aClock, reply, startRoutedServer, type RoutedServer, type TestClock } from '../helpers/cache-fixtures.js';

const require = createRequire(import.meta.url);
const crypto = require('node:crypto') as typeof import('node:crypto');
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('cache identity digests', () => {
  let server: RoutedServer;
  let clock: TestClock;
  let store: MapStore;
  const open: Http[] = [];
  const anHttp = (cache: unknown = store) => {
    const h = new Http(cache as MapStore, { clock });
    open.push(h);
    return h;
  };
  // Counts key derivations: node:crypto's scrypt, wrapped, with the ESM bindings synced to it.
  const original = crypto.scrypt;
  let derivations = 0;

  before(async () => {
    server = await startRoutedServer();
    server.route('/plain', (_req, res) => reply(res, clock, 200, {}, 'not cacheable'));
    server.route('/cached', (req, res) => reply(res, clock, 200, { 'cache-control': 'max-age=60' }, `for ${req.headers.authorization ?? 'anyone'}`));
    server.route('/quiet', (_req, res) => reply(res, clock, 200, { 'cache-control': 'max-age=60' }, 'the same for all'));
    server.route('/private', (req, res) => (req.headers.authorization === basic('alice', 'pw-a')
      ? reply(res, clock, 200, { 'cache-control': 'max-age=60' }, 'secret of alice')
      : reply(res, clock, 401, { 'www-authenticate': 'Basic realm="r"' }, 'who are you?')));
    (crypto as { scrypt: unknown }).scrypt = (...args: unknown[]) => {
      derivations++;
      return (original as (...a: unknown[]) => unknown)(...args);
    };
    syncBuiltinESMExports();
  });
  after(() => {
    (crypto as { scrypt: unknown }).scrypt = original;
    syncBuiltinESMExports();
  });
  beforeEach(() => {
    clock = aClock();
    store = new MapStore();
    derivations = 0;
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((h) => h.close()));
  });

  it('derives no key for a token or a signature that changes on every request', async () => {
    const http = anHttp();
    for (let i = 0; i < 20; i++) {
      const [res] = await http.request(server.url('/plain'), 'GET', null, { authorization: `Bearer token-${i}-${Math.random()}` });
      expect(res.status).to.equal(200);
    }
    expect(derivations).to.equal(0);
  });

  it('derives a key once per password the library holds: a registered credential, a caller Basic', async () => {
    const http = anHttp();
    http.addCredentials('alice', 'pw-a');
    for (let i = 0; i < 5; i++) expect((await http.request(server.url('/private')))[1].toString()).to.equal('secret of alice');
    expect(derivations).to.equal(1);
    const caller = anHttp();
    for (let i = 0; i < 5; i++) await caller.request(server.url('/plain'), 'GET', null, { authorization: basic('bob', 'pw-b') });
    expect(derivations).to.equal(2);
  });

  it('shares identified entries between Https on one store, and names no secret in the key', async () => {
    const token = 'Bearer 7f3a9c1e5b2d4086a1c3e5f7092b4d6f';
    const first = anHttp();
    expect((await first.request(server.url('/cached'), 'GET', null, { authorization: token }))[0].fromcache).to.equal(false);
    const second = anHttp();
    const [hit, body] = await second.request(server.url('/cached'), 'GET', null, { authorization: token });
    expect([hit.fromcache, body.toString()]).to.deep.equal([true, `for ${token}`]);
    const [other] = await second.request(server.url('/cached'), 'GET', null, { authorization: 'Bearer another' });
    expect(other.fromcache).to.equal(false);
    const keys = [...store.map.keys()].join('\n');
    expect(keys).not.to.include('7f3a9c1e5b2d4086a1c3e5f7092b4d6f');
    expect(keys).to.match(/ authorization:[0-9a-f]{32}$/m);
  });

  it('keys digests by the store: a digest seen in one cache directory says nothing about another', async () => {
    const dirs = [mkdtempSync(join(tmpdir(), 'h2ts-id-a-')), mkdtempSync(join(tmpdir(), 'h2ts-id-b-'))];
    try {
      const names: string[][] = [];
      for (const dir of dirs) {
        await anHttp(dir).request(server.url('/quiet'), 'GET', null, { authorization: 'Bearer same-token' });
        names.push(readdirSync(dir).filter((n) => n.includes(',quiet,')));
      }
      expect(names[0]).to.have.length(1);
      expect(names[1]).to.have.length(1);
      expect(names[0]![0]).not.to.equal(names[1]![0]);
      // A new Http on the first directory still hits: the key is kept in the store, not the process.
      const [again] = await anHttp(dirs[0]).request(server.url('/quiet'), 'GET', null, { authorization: 'Bearer same-token' });
      expect(again.fromcache).to.equal(true);
      for (const dir of dirs) for (const name of readdirSync(dir)) expect(readFileSync(join(dir, name)).includes('same-token')).to.equal(false);
    } finally {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    }
  });
});
