/**
 * `new Http(dir)` end to end: the directory is a FileCache, entries outlive the Http, and a damaged or
 * replaced file is refetched without an exception.
 */
import { mkdtempSync } from 'node:fs';
import { chmod, mkdir, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { FileCache, Http, HttpLib2Error } from '../../lib/index.js';
import { startServer, type TestServer } from '../helpers/server.js';

const BODY = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80]);

describe('new Http(dir) with a FileCache', () => {
  const root = mkdtempSync(join(tmpdir(), 'h2ts-http-file-cache-'));
  let server: TestServer;
  const clients: Http[] = [];
  function client(dir: string): Http {
    const http = new Http(dir);
    clients.push(http);
    return http;
  }
  before(async () => {
    server = await startServer((_req, res) => {
      res.setHeader('cache-control', 'max-age=3600');
      res.end(BODY);
    });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await rm(root, { recursive: true, force: true });
  });

  async function entryFile(dir: string): Promise<string> {
    const names = await readdir(dir);
    expect(names, 'one entry file').to.have.length(1);
    return join(dir, names[0]!);
  }

  it('answers the second GET from a 0600 file in the directory, and a new Http on it does too', async () => {
    const dir = join(root, 'reuse');
    const url = server.url('/reuse');
    const before = server.count();
    const [first, body] = await client(dir).request(url);
    expect(first.fromcache).to.equal(false);
    expect(body).to.deep.equal(BODY);
    expect((await stat(await entryFile(dir))).mode & 0o777).to.equal(0o600);
    const [again, cached] = await client(dir).request(url);
    expect(again.fromcache).to.equal(true);
    expect(cached).to.deep.equal(BODY);
    expect(server.count() - before).to.equal(1);
  });

  it('gives each cache hit its own body: changing one never changes the next', async () => {
    const dir = join(root, 'own-body');
    const url = server.url('/own-body');
    const http = client(dir);
    await http.request(url);
    const [hit, first] = await http.request(url);
    expect(hit.fromcache).to.equal(true);
    first.fill(0x21);
    const [, second] = await http.request(url);
    expect(second).to.deep.equal(BODY);
  });

  it('refuses at construction a world-writable directory where someone planted an entry, and never serves it (#18)', async () => {
    const dir = join(root, 'planted');
    const url = server.url('/planted');
    // The entry is planted by someone who can write the directory: they compute its checksum too.
    await mkdir(dir);
    await chmod(dir, 0o777);
    const planter = new Http(new FileCache(dir, { allowSharedDirectory: true }));
    clients.push(planter);
    await planter.request(url);
    expect(() => new Http(dir)).to.throw(HttpLib2Error, `chmod 700 ${dir}`).with.property('code', 'ERR_CACHE_UNSAFE');
    await chmod(dir, 0o700);
    const before = server.count();
    const [response] = await client(dir).request(url);
    expect(response.fromcache, 'the directory is private now: its entries are ours').to.equal(true);
    expect(server.count()).to.equal(before);
  });

  it('says in cacheStatus that an answer the directory refused was not kept, never that it was stored', async () => {
    const dir = join(root, 'refusing');
    const http = client(dir);
    // Root ignores permission bits: a file where the directory was refuses every write alike.
    await rm(dir, { recursive: true });
    await writeFile(dir, 'not a directory');
    const [response, body] = await http.request(server.url('/refusing'));
    expect([response.status, body]).to.deep.equal([200, BODY]);
    expect(response.cacheStatus).to.have.length(2);
    expect(response.cacheStatus[0]).to.equal('miss: nothing stored');
    expect(response.cacheStatus[1]).to.match(/^not kept: max-age=3600 \(store error on set \(ERR_CACHE: Cannot store the cache entry .*ENOTDIR/);
  });

  for (const [damage, apply] of [
    ['emptied', (path: string) => truncate(path, 0)],
    ['truncated', async (path: string) => truncate(path, (await stat(path)).size - 2)],
    ['replaced by a directory', async (path: string) => {
      await rm(path);
      await mkdir(path);
      await writeFile(join(path, 'x'), 'x');
    }],
  ] as const) {
    it(`refetches an entry whose file was ${damage}, without an exception, and stores it again`, async () => {
      const dir = join(root, damage.replace(/ /g, '-'));
      const url = server.url(`/${damage.replace(/ /g, '-')}`);
      const http = client(dir);
      await http.request(url);
      await apply(await entryFile(dir));
      const before = server.count();
      const [response, body] = await http.request(url);
      expect(response.status).to.equal(200);
      expect(response.fromcache).to.equal(false);
      expect(body).to.deep.equal(BODY);
      expect(server.count() - before).to.equal(1);
      const [third] = await http.request(url);
      expect(third.fromcache, 'stored again').to.equal(true);
    });
  }
});
