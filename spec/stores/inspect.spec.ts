/**
 * Store inspection (#12): every store that can list (FileCache, MemoryCache, keyv + SQLite, keyv +
 * real Redis) lists its entries as a user sees them (URI, status, size, freshness, identity present
 * or not, never which), counts them, purges the stale, the unreadable or a URI prefix, and verifies
 * checksums; the store's identity key is never listed nor purged. Entries are stored by an Http
 * against a loopback server, as a program would.
 */
import { mkdtempSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import KeyvRedis from '@keyv/redis';
import { expect } from 'chai';
import Keyv from 'keyv';
import { FileCache, Http, HttpLib2Error, inspectCache, MemoryCache, openSqliteCache, type CacheInspector, type CacheItem, type EntryInfo } from '../../lib/index.js';
import { safename } from '../../lib/cache/safename.js';
import { IDENTITY_KEY_NAME } from '../../lib/identity.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { RedisServer } from './fixtures/redis-server.js';

const BASIC = `Basic ${Buffer.from('ann:s3cret-pass').toString('base64')}`;

function startOrigin(): Promise<TestServer> {
  return startServer((req, res) => {
    const path = req.url ?? '/';
    if (path.startsWith('/fresh/')) {
      res.writeHead(200, { 'cache-control': 'max-age=3600', 'content-type': 'text/plain' });
      return res.end(`fresh body of ${path}`);
    }
    if (path === '/stale') {
      res.writeHead(200, { 'cache-control': 'max-age=0', etag: '"s1"' });
      return res.end('stale at once, kept for its validator');
    }
    if (path === '/private') {
      if (req.headers.authorization !== BASIC) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="inspect"' });
        return res.end();
      }
      res.writeHead(200, { 'cache-control': 'max-age=3600' });
      return res.end('for ann only');
    }
    if (path === '/moved') {
      res.writeHead(301, { location: '/fresh/a' });
      return res.end();
    }
    res.writeHead(404);
    return res.end();
  });
}

/** What each store's spec provides: the cache to hand an Http, and a way to damage one entry. */
interface Subject {
  cache: ConstructorParameters<typeof Http>[0];
  inspector: CacheInspector;
  /** Damages the stored entry of `uri` (one bit); returns where it is (file name or key). */
  damage(uri: string): Promise<void>;
  /** The raw value under `key`, as the store holds it. */
  raw(key: string): Promise<unknown>;
  dispose(): Promise<void>;
}

async function fill(origin: TestServer, cache: Subject['cache']): Promise<void> {
  const http = new Http(cache);
  try {
    for (const path of ['/fresh/a', '/fresh/b', '/stale', '/moved']) await http.request(origin.url(path));
    http.addCredentials('ann', 's3cret-pass');
    await http.request(origin.url('/private'));
  } finally {
    await http.close();
  }
}

async function listed(inspector: CacheInspector): Promise<CacheItem[]> {
  const items: CacheItem[] = [];
  for await (const item of inspector.list()) items.push(item);
  return items.sort((a, b) => String(a.uri).localeCompare(String(b.uri)));
}

function entries(items: CacheItem[]): EntryInfo[] {
  return items.filter((i): i is EntryInfo => i.kind === 'entry');
}

function inspectionContract(makeSubject: () => Promise<Subject>): void {
  let origin: TestServer;
  let subject: Subject;
  beforeEach(async () => {
    origin = await startOrigin();
    subject = await makeSubject();
    await fill(origin, subject.cache);
  });
  afterEach(() => subject.dispose());

  it('lists every stored answer: URI, status, size, when stored, fresh until, identity present or not', async () => {
    const before = Date.now();
    const items = entries(await listed(subject.inspector));
    expect(items.map((i) => [i.uri, i.method, i.status, i.stale, i.identified])).to.deep.equal([
      [origin.url('/fresh/a'), 'GET', 200, false, false],
      [origin.url('/fresh/b'), 'GET', 200, false, false],
      [origin.url('/moved'), 'GET', 301, false, false],
      [origin.url('/private'), 'GET', 200, false, true],
      [origin.url('/stale'), 'GET', 200, true, false],
    ]);
    for (const item of items) {
      expect(item.size, item.uri).to.be.greaterThan(0);
      expect(item.storedAt.getTime()).to.be.within(before - 60_000, Date.now());
    }
    const fresh = items.find((i) => i.uri === origin.url('/fresh/a'))!;
    expect(fresh.freshUntil!.getTime() - fresh.storedAt.getTime()).to.be.within(3599_000, 3601_000);
    expect(items.find((i) => i.uri === origin.url('/moved'))!.freshUntil, 'a permanent redirect never goes stale').to.equal(null);
  });

  it('gives the same fresh-until instant whenever it lists, on a clock behind the one that stored: a time, not a countdown', async () => {
    const at = Date.now() - 60_000;
    const until = async (now: number) => entries(await listed(inspectCache(subject.cache as never, { now: () => now })))
      .map((i) => i.freshUntil?.getTime() ?? null);
    expect(await until(at + 1500)).to.deep.equal(await until(at));
  });

  it('never lists the identity key, and never shows a user name, password or identity digest', async () => {
    const items = await listed(subject.inspector);
    expect(items.every((i) => i.kind === 'entry'), JSON.stringify(items)).to.equal(true);
    const text = JSON.stringify(items);
    for (const secret of ['ann', 's3cret', IDENTITY_KEY_NAME, 'identity-key']) expect(text).to.not.include(secret);
    expect(text).to.not.match(/ [0-9a-f]{16,}/); // a store key's identity part
  });

  it('counts entries and bytes, fresh, stale and identified', async () => {
    const items = entries(await listed(subject.inspector));
    const totals = await subject.inspector.totals();
    expect(totals).to.deep.equal({
      entries: 5, bytes: items.reduce((sum, i) => sum + i.size, 0), fresh: 4, stale: 1, identified: 1, unreadable: 0, unreadableBytes: 0,
    });
  });

  it('purges only the stale entries: the fresh ones are still answered from the cache', async () => {
    const stale = entries(await listed(subject.inspector)).find((i) => i.stale)!;
    expect(await subject.inspector.purge({ stale: true })).to.deep.equal({ removed: 1, bytes: stale.size });
    expect(entries(await listed(subject.inspector)).map((i) => i.uri)).to.not.include(origin.url('/stale'));
    const http = new Http(subject.cache);
    try {
      const served = origin.count();
      const [a] = await http.request(origin.url('/fresh/a'));
      expect(a.fromcache).to.equal(true);
      expect(origin.count(), 'a fresh hit sends nothing').to.equal(served);
      const [s] = await http.request(origin.url('/stale'));
      expect(s.cacheStatus[0]).to.equal('miss: nothing stored');
    } finally {
      await http.close();
    }
  });

  it('purges by URI prefix (scheme and host in any case), identity variants included', async () => {
    const prefix = origin.url('/fresh/').replace('http://', 'HTTP://');
    expect((await subject.inspector.purge({ prefix })).removed).to.equal(2);
    expect((await subject.inspector.purge({ prefix: origin.url('/priv') })).removed).to.equal(1);
    expect(entries(await listed(subject.inspector)).map((i) => i.uri)).to.deep.equal([origin.url('/moved'), origin.url('/stale')]);
  });

  it('purges everything with all, but keeps the identity key the processes on the store share', async () => {
    const keyBefore = await subject.raw(IDENTITY_KEY_NAME);
    expect(keyBefore, 'the identity key was stored').to.not.equal(null);
    expect((await subject.inspector.purge({ all: true })).removed).to.equal(5);
    expect(await listed(subject.inspector)).to.deep.equal([]);
    expect(await subject.raw(IDENTITY_KEY_NAME)).to.deep.equal(keyBefore);
  });

  it('verifies checksums: a damaged entry is found and named, and a purge of the unreadable removes only it', async () => {
    expect(await subject.inspector.verify()).to.deep.equal({ checked: 5, damaged: [] });
    await subject.damage(origin.url('/fresh/b'));
    const { checked, damaged } = await subject.inspector.verify();
    expect(checked).to.equal(5);
    expect(damaged).to.have.length(1);
    expect(damaged[0]!.problem).to.match(/checksum|version/);
    expect((await subject.inspector.totals()).unreadable).to.equal(1);
    expect((await subject.inspector.purge({ unreadable: true })).removed).to.equal(1);
    expect(await subject.inspector.verify()).to.deep.equal({ checked: 4, damaged: [] });
    expect(entries(await listed(subject.inspector)).map((i) => i.uri)).to.not.include(origin.url('/fresh/b'));
  });

  it('refuses a purge that does not say what to remove, before removing anything', async () => {
    for (const options of [{}, { all: true, stale: true }, { prefix: '' }]) {
      const error = await subject.inspector.purge(options).catch((e: unknown) => e);
      expect(error, JSON.stringify(options)).to.be.instanceOf(HttpLib2Error).with.property('code', 'ERR_INVALID_REQUEST');
    }
    expect((await subject.inspector.totals()).entries).to.equal(5);
  });
}

const roots: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'h2ts-inspect-'));
  roots.push(dir);
  return dir;
}
after(() => Promise.all(roots.splice(0).map((r) => rm(r, { recursive: true, force: true }))));

function flipLastByte(bytes: Buffer): Buffer {
  const copy = Buffer.from(bytes);
  copy[copy.length - 1]! ^= 0x01;
  return copy;
}

describe('inspectCache (#12)', function () {
  this.timeout(30_000);

  describe('FileCache', () => {
    let dir = '';
    inspectionContract(async () => {
      dir = join(tempDir(), 'cache');
      const cache = new FileCache(dir);
      return {
        cache,
        inspector: inspectCache(dir),
        damage: async (uri) => {
          const path = join(dir, safename(uri));
          await writeFile(path, flipLastByte(await readFile(path)));
        },
        raw: (key) => cache.get(key),
        dispose: async () => undefined,
      };
    });

    it('lists a symlink planted in the directory as unreadable and purges the link, never its target', async () => {
      const root = tempDir();
      const cacheDir = join(root, 'cache');
      const cache = new FileCache(cacheDir);
      await cache.set('http://example.com/ok', Buffer.from('not an entry'));
      await writeFile(join(root, 'precious'), 'precious');
      await symlink(join(root, 'precious'), join(cacheDir, 'planted'));
      await mkdir(join(cacheDir, 'a-subdirectory'));
      await writeFile(join(cacheDir, '.tmp-1-writing'), 'partial');
      const items = await listed(inspectCache(cache));
      expect(items.map((i) => [i.location, i.kind, i.uri]).sort()).to.deep.equal([
        [safename('http://example.com/ok'), 'unreadable', 'http://example.com/ok'],
        ['planted', 'unreadable', null],
      ]);
      expect((await inspectCache(cache).purge({ unreadable: true })).removed).to.equal(2);
      expect(await readFile(join(root, 'precious'), 'utf8')).to.equal('precious');
      expect((await readdir(cacheDir)).sort()).to.deep.equal(['.tmp-1-writing', 'a-subdirectory']);
    });
  });

  describe('MemoryCache', () => {
    inspectionContract(async () => {
      const cache = new MemoryCache();
      return {
        cache,
        inspector: inspectCache(cache),
        damage: async (uri) => {
          for await (const record of cache.records()) if (record.ref.key === uri) record.value!.fill(0x55, record.value!.length - 8);
        },
        raw: (key) => cache.get(key),
        dispose: async () => undefined,
      };
    });
  });

  describe('keyv + SQLite', () => {
    let keyv: Keyv;
    inspectionContract(async () => {
      keyv = await openSqliteCache(join(tempDir(), 'cache.sqlite'));
      return {
        cache: keyv,
        inspector: inspectCache(keyv),
        damage: async (uri) => {
          const stored = (await keyv.get(uri)) as string;
          await keyv.set(uri, `h2b64:${flipLastByte(Buffer.from(stored.slice(6), 'base64')).toString('base64')}`);
        },
        raw: (key) => keyv.get(key),
        dispose: () => keyv.disconnect(),
      };
    });

    it('leaves values other programs keep in the same keyv out of listings and purges', async () => {
      const other = await openSqliteCache(join(tempDir(), 'shared.sqlite'));
      try {
        await other.set('their-key', 'their value');
        await other.set('http://example.com/theirs', { not: 'ours' });
        expect(await listed(inspectCache(other))).to.deep.equal([]);
        expect((await inspectCache(other).purge({ all: true })).removed).to.equal(0);
        expect(await other.get('their-key')).to.equal('their value');
      } finally {
        await other.disconnect();
      }
    });

    it('refuses a keyv whose adapter cannot list, naming why', async () => {
      const plain = new Keyv({ store: { get: async () => undefined, set: async () => true, delete: async () => true, clear: async () => undefined } as never });
      const error = await listed(inspectCache(plain)).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(HttpLib2Error).with.property('message').that.includes('cannot list');
    });
  });

  describe('keyv + Redis (a real redis-server)', () => {
    let redis: RedisServer | undefined;
    let keyv: Keyv | undefined;
    before(async () => {
      redis = await RedisServer.start();
    });
    after(() => redis?.close());
    inspectionContract(async () => {
      keyv = new Keyv(new KeyvRedis(redis!.url));
      await keyv.clear();
      const k = keyv;
      return {
        cache: k,
        inspector: inspectCache(k),
        damage: async (uri) => {
          const stored = (await k.get(uri)) as string;
          await k.set(uri, `h2b64:${flipLastByte(Buffer.from(stored.slice(6), 'base64')).toString('base64')}`);
        },
        raw: (key) => k.get(key),
        dispose: () => k.disconnect(),
      };
    });
  });
});

describe('inspectCache: QUERY entries (RFC 10008)', () => {
  it('lists a stored QUERY answer under the URI it was sent to, and purges it by that URI', async () => {
    const origin = await startServer((_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=3600' });
      res.end('results');
    });
    const dir = join(tempDir(), 'cache');
    const http = new Http(new FileCache(dir));
    try {
      await http.request(origin.url('/search'), 'QUERY', '{"q":"cats"}', { 'content-type': 'application/json' });
      await http.request(origin.url('/other'));
    } finally {
      await http.close();
    }
    const inspector = inspectCache(dir);
    const items = entries(await listed(inspector));
    expect(items.map((i) => [i.uri, i.status])).to.deep.equal([[origin.url('/other'), 200], [origin.url('/search'), 200]]);
    expect(JSON.stringify(items)).to.not.include('cats');
    expect((await inspector.purge({ prefix: origin.url('/search') })).removed).to.equal(1);
    expect(entries(await listed(inspector)).map((i) => i.uri)).to.deep.equal([origin.url('/other')]);
  });

  it('tells the answers to QUERY from the answer to GET of the same URI: method QUERY or GET, as the key says', async () => {
    const origin = await startServer((_req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=3600' });
      res.end('results');
    });
    const dir = join(tempDir(), 'cache');
    const http = new Http(new FileCache(dir));
    try {
      await http.request(origin.url('/search'));
      await http.request(origin.url('/search'), 'QUERY', '{"q":"cats"}', { 'content-type': 'application/json' });
      await http.request(origin.url('/search'), 'QUERY', '{"q":"dogs"}', { 'content-type': 'application/json' });
    } finally {
      await http.close();
    }
    const items = entries(await listed(inspectCache(dir)));
    expect(items.map((i) => [i.uri, i.method]).sort()).to.deep.equal([
      [origin.url('/search'), 'GET'],
      [origin.url('/search'), 'QUERY'],
      [origin.url('/search'), 'QUERY'],
    ]);
  });
});
