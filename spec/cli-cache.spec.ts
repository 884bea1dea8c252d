/**
 * `httplib2-ts cache ls|stats|purge|verify` (#12), run as users run it: the built CLI in a child
 * process, on a cache directory an Http filled from a loopback server.
 */
import { expect } from 'chai';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Http } from '../lib/index.js';
import { safename } from '../lib/cache/safename.js';
import { IDENTITY_KEY_NAME } from '../lib/identity.js';
import { ensureBuilt } from './helpers/build.js';
import { runCli } from './helpers/cli.js';
import { startServer, type TestServer } from './helpers/server.js';

interface AtomServer {
  origin: string;
  stats: { requests: number };
  addFeed(path: string, feed: { title: string; maxAge?: number; entries?: Array<{ title: string; summary: string }> }): void;
  close(): Promise<void>;
}
type StartAtomServer = (options: Record<string, unknown>) => Promise<AtomServer>;

const USER = 'joe';
const PASSWORD = 'correct horse';

describe('httplib2-ts cache (#12)', function () {
  this.timeout(30_000);
  let root: string;
  let origin: TestServer;
  before(async function () {
    // Building dist/ (once per run) takes a while on a busy machine; the tests below then do not.
    this.timeout(180_000);
    await ensureBuilt();
    root = await mkdtemp(join(tmpdir(), 'httplib2-ts-cli-cache-'));
    origin = await startServer((req, res) => {
      if (req.url?.startsWith('/fresh')) {
        res.writeHead(200, { 'cache-control': 'max-age=3600' });
        return res.end(`fresh ${req.url}`);
      }
      res.writeHead(200, { 'cache-control': 'max-age=0', etag: '"v1"' });
      return res.end(`stale at once ${req.url}`);
    });
  });
  after(() => rm(root, { recursive: true, force: true }));

  let n = 0;
  async function filledCache(paths: string[]): Promise<string> {
    const dir = join(root, `cache-${++n}`);
    const http = new Http(dir);
    try {
      for (const path of paths) await http.request(origin.url(path));
    } finally {
      await http.close();
    }
    return dir;
  }

  /** Entry files: every file but the identity key's. */
  async function entryFiles(dir: string): Promise<string[]> {
    return (await readdir(dir)).filter((name) => name !== safename(IDENTITY_KEY_NAME)).sort();
  }

  it("stats after the demo's requests prints entries and bytes; ls lists them, an identity marked, never whose", async () => {
    // The demo's cache steps (examples/demo.js): a feed fetched, hit, revalidated; an AtomPub member
    // created and read with Digest credentials.
    const { startAtomServer } = (await import('../examples/support/atom-server.js' as string)) as { startAtomServer: StartAtomServer };
    let now = Date.now();
    const clock = { now: () => now };
    const server = await startAtomServer({ now: clock.now, atompub: true, digest: { user: USER, password: PASSWORD, realm: 'blog' } });
    server.addFeed('/feed.atom', { title: 'news', maxAge: 60, entries: [{ title: 'one', summary: 'the first' }] });
    const dir = join(root, 'demo');
    const http = new Http(dir, { clock });
    try {
      await http.request(`${server.origin}/feed.atom`);
      now += 10_000;
      await http.request(`${server.origin}/feed.atom`);
      now += 120_000;
      await http.request(`${server.origin}/feed.atom`);
      http.addCredentials(USER, PASSWORD);
      const entry = '<?xml version="1.0"?><entry xmlns="http://www.w3.org/2005/Atom"><title>t</title><content>c</content></entry>';
      const [created] = await http.request(`${server.origin}/blog/entries`, 'POST', entry, { 'content-type': 'application/atom+xml;type=entry' });
      await http.request(new URL(created.get('location')!, server.origin).href);
    } finally {
      await http.close();
      await server.close();
    }
    const files = await entryFiles(dir);
    expect(files).to.have.length(2);
    const bytes = (await Promise.all(files.map(async (f) => (await stat(join(dir, f))).size))).reduce((a, b) => a + b, 0);

    const stats = await runCli(['cache', 'stats', '--cache', dir]);
    expect(stats.code, stats.stderr).to.equal(0);
    expect(stats.stdout.toString()).to.include(`entries: 2, `).and.include(`(${bytes.toLocaleString('en-US')} bytes)`);
    expect(stats.stdout.toString()).to.include('for an identity 1');

    const json = await runCli(['cache', 'stats', '--cache', dir, '--json']);
    expect(JSON.parse(json.stdout.toString())).to.deep.include({ entries: 2, bytes, identified: 1, unreadable: 0 });

    const ls = await runCli(['cache', 'ls', '--cache', dir]);
    expect(ls.code).to.equal(0);
    const lines = ls.stdout.toString().trimEnd().split('\n');
    expect(lines).to.have.length(2);
    expect(lines.find((l) => l.endsWith(`${server.origin}/feed.atom`))).to.match(/^200 /);
    expect(lines.find((l) => l.includes('/blog/entries/'))).to.include('[identity]');
    expect(ls.stdout.toString()).to.not.include(USER).and.not.include(PASSWORD);
  });

  it('purge --stale removes only the stale entries; the fresh ones are still answered from the cache', async () => {
    const dir = await filledCache(['/fresh/a', '/fresh/b', '/stale/c', '/stale/d']);
    const before = new Map(await Promise.all((await entryFiles(dir)).map(async (f) => [f, await readFile(join(dir, f))] as const)));
    const purge = await runCli(['cache', 'purge', '--stale', '--cache', dir]);
    expect(purge.code, purge.stderr).to.equal(0);
    expect(purge.stdout.toString()).to.match(/^removed 2 records, /);
    const after = await entryFiles(dir);
    expect(after).to.deep.equal([safename(origin.url('/fresh/a')), safename(origin.url('/fresh/b'))].sort());
    for (const f of after) expect((await readFile(join(dir, f))).equals(before.get(f)!), f).to.equal(true);
    const http = new Http(dir);
    try {
      const count = origin.count();
      const [a] = await http.request(origin.url('/fresh/a'));
      expect(a.fromcache).to.equal(true);
      expect(origin.count()).to.equal(count);
    } finally {
      await http.close();
    }
  });

  it('ls marks an answer to QUERY (RFC 10008) with its method, beside the unmarked GET of the same URI; --json gives every method', async () => {
    const dir = join(root, `cache-${++n}`);
    const url = origin.url('/fresh/search');
    const http = new Http(dir);
    try {
      await http.request(url);
      await http.request(url, 'QUERY', '{"q":"cats"}', { 'content-type': 'application/json' });
    } finally {
      await http.close();
    }
    const ls = await runCli(['cache', 'ls', '--cache', dir]);
    expect(ls.code, ls.stderr.toString()).to.equal(0);
    const lines = ls.stdout.toString().trimEnd().split('\n');
    expect(lines).to.have.length(2);
    expect(lines.filter((l) => l.endsWith(`  QUERY ${url}`))).to.have.length(1);
    expect(lines.filter((l) => l.endsWith(`  ${url}`))).to.have.length(1);
    expect(ls.stdout.toString()).to.not.include('GET');

    const json = JSON.parse((await runCli(['cache', 'ls', '--json', '--cache', dir])).stdout.toString()) as Array<{ uri: string; method: string }>;
    expect(json.map((i) => [i.uri, i.method]).sort()).to.deep.equal([[url, 'GET'], [url, 'QUERY']]);
  });

  it('purge --prefix removes the entries under it, and --json says what was removed', async () => {
    const dir = await filledCache(['/fresh/a', '/fresh/b', '/stale/c']);
    const purge = await runCli(['cache', 'purge', '--prefix', origin.url('/fresh/'), '--json', '--cache', dir]);
    expect(purge.code).to.equal(0);
    expect(JSON.parse(purge.stdout.toString())).to.include({ removed: 2 });
    expect(await entryFiles(dir)).to.deep.equal([safename(origin.url('/stale/c'))]);
  });

  it('verify finds a bit-flipped file (exit 1, naming it), and purge --unreadable removes only it', async () => {
    const dir = await filledCache(['/fresh/a', '/fresh/b', '/stale/c']);
    const damaged = safename(origin.url('/fresh/b'));
    expect((await runCli(['cache', 'verify', '--cache', dir])).stdout.toString()).to.equal('checked 3 records: all intact\n');
    const bytes = await readFile(join(dir, damaged));
    bytes[bytes.length - 10]! ^= 0x04;
    await writeFile(join(dir, damaged), bytes);

    const verify = await runCli(['cache', 'verify', '--cache', dir]);
    expect(verify.code).to.equal(1);
    expect(verify.stdout.toString()).to.include('checked 3 records: 1 damaged').and.include(`damaged: ${damaged}: checksum mismatch`);
    const json = JSON.parse((await runCli(['cache', 'verify', '--json', '--cache', dir])).stdout.toString()) as { damaged: Array<{ location: string }> };
    expect(json.damaged.map((d) => d.location)).to.deep.equal([damaged]);
    expect((await runCli(['cache', 'ls', '--cache', dir])).stdout.toString()).to.include('unreadable: checksum mismatch');

    expect((await runCli(['cache', 'purge', '--unreadable', '--cache', dir])).stdout.toString()).to.match(/^removed 1 record, /);
    expect(await entryFiles(dir)).to.deep.equal([safename(origin.url('/fresh/a')), safename(origin.url('/stale/c'))].sort());
    expect((await runCli(['cache', 'verify', '--cache', dir])).code).to.equal(0);
  });

  it('reads the directory from HTTPLIB2_TS_CACHE when --cache is not given', async () => {
    const dir = await filledCache(['/fresh/a']);
    const stats = await runCli(['cache', 'stats'], { env: { HTTPLIB2_TS_CACHE: dir } });
    expect(stats.code, stats.stderr).to.equal(0);
    expect(stats.stdout.toString()).to.include('entries: 1, ');
  });

  for (const [args, message] of [
    [['cache'], 'say what to do'],
    [['cache', 'rm', '--cache', '.'], 'unknown command rm'],
    [['cache', 'ls'], 'no cache directory: give --cache DIR'],
    [['cache', 'ls', '--cache', '/no/such/cache'], 'no cache directory at /no/such/cache'],
    [['cache', 'ls', '--stale', '--cache', '.'], '--stale is an option of purge'],
    [['cache', 'purge', '--cache', '.'], 'say what to remove'],
    [['cache', 'purge', '--all', '--stale', '--cache', '.'], '--all removes everything and goes alone'],
    [['cache', 'ls', '--bogus'], 'unknown option --bogus'],
  ] as const) {
    it(`exits 2 for bad usage: ${args.slice(1).join(' ') || '(no command)'}`, async () => {
      const result = await runCli(args, { cwd: root });
      expect(result.code).to.equal(2);
      expect(result.stderr).to.include(message).and.include('see httplib2-ts cache --help');
      expect(result.stdout.length).to.equal(0);
    });
  }

  it('never creates the directory it is asked about, and refuses one others can write (exit 2)', async () => {
    const missing = join(root, 'not-there');
    expect((await runCli(['cache', 'stats', '--cache', missing])).code).to.equal(2);
    expect(await stat(missing).catch(() => null), 'not created').to.equal(null);
    const shared = join(root, 'shared');
    await mkdir(shared);
    await chmod(shared, 0o777);
    const result = await runCli(['cache', 'ls', '--cache', shared]);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.include('anyone can write it').and.include(`chmod 700 ${shared}`);
  });

  it('prints its help with exit 0', async () => {
    const result = await runCli(['cache', '--help']);
    expect(result.code).to.equal(0);
    expect(result.stdout.toString()).to.include('Usage: httplib2-ts cache ls|stats|purge|verify');
  });

  it('is named in the main --help, so a user finds it', async () => {
    const result = await runCli(['--help']);
    expect(result.code).to.equal(0);
    expect(result.stdout.toString()).to.include('httplib2-ts cache ls|stats|purge|verify [--cache DIR] [--json]')
      .and.include('httplib2-ts cache --help');
  });
});
