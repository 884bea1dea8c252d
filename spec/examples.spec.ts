import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { ensureBuilt } from './helpers/build.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

// The examples import 'httplib2-ts', which resolves to the built dist/.
const run = promisify(execFile);
const ROOT = process.cwd();

/**
 * Runs an example as a user would (`node examples/NAME`) with its own empty TMPDIR, and checks that
 * it exited by itself and left nothing behind in that directory.
 */
async function example(name: string): Promise<string> {
  const tmp = mkdtempSync(join(tmpdir(), 'examples-spec-'));
  try {
    const { stdout } = await run(process.execPath, [join(ROOT, 'examples', name)], {
      cwd: ROOT,
      timeout: 15_000,
      env: { ...process.env, TMPDIR: tmp, TMP: tmp, TEMP: tmp },
    });
    expect(readdirSync(tmp), `${name} left temporary files behind`).to.deep.equal([]);
    return stdout;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The lines of `out` from the line starting with `from` up to the next blank line (or the end). */
function section(out: string, from: string): string {
  const start = out.indexOf(`\n${from}`);
  expect(start, `no section ${from}`).to.be.greaterThan(-1);
  const rest = out.slice(start + 1);
  const end = rest.slice(1).search(/\n\n/);
  return end === -1 ? rest : rest.slice(0, end + 2);
}

describe('examples', function () {
  this.timeout(60_000);
  before(ensureBuilt);

  it('first-request.js fetches through a cache directory, then answers again from it', async () => {
    const out = await example('first-request.js');
    expect(out).to.equal([
      'status 200 OK, fromcache=false', 'content-type: text/plain', 'body: Hello from /hello',
      'again: status 200, fromcache=true, server saw 1 request(s)', '',
    ].join('\n'));
  });

  it('digest-auth.js posts two Atom entries through Digest, the second pre-emptively', async () => {
    const out = await example('digest-auth.js');
    expect(out).to.equal(
      [
        'POST Hello, Digest',
        '  server: POST /blog/entries → 401, challenge sent',
        '  server: POST /blog/entries → 201 (Digest from joe, nonce count 00000001)',
        '  client: 201 Created, Location: /blog/entries/1',
        'POST A second entry',
        '  server: POST /blog/entries → 201 (Digest from joe, nonce count 00000002)',
        '  client: 201 Created, Location: /blog/entries/2',
        '',
      ].join('\n'),
    );
  });

  it('demo.js (npm run demo): first fetch, fresh hit, 304 revalidation, Digest POST, If-Match PUT, 412, cache files', async () => {
    const out = await example('demo.js');

    const first = section(out, '1. First fetch');
    expect(first).to.match(/server: GET \/feed\.atom → 200, 4,054 body bytes\n/);
    expect(first).to.include('client: 200 OK, fromcache=false, 4,054 bytes, ETag "feed-v1"');
    expect(first).to.include('cache: miss: nothing stored\n   cache: stored: max-age=60');
    expect(first).to.include('transferred: 4,054 body bytes');

    const fresh = section(out, '2. Ten seconds later');
    expect(fresh).not.to.include('server:');
    expect(fresh).to.include('client: 200 OK, fromcache=true, 4,054 bytes');
    expect(fresh).to.include('cache: fresh: max-age=60, age 10s');
    expect(fresh).to.include('server requests: 1 (unchanged: no request was made)');

    const revalidated = section(out, '3. Two minutes later');
    expect(revalidated).to.include('server: GET /feed.atom (If-None-Match: "feed-v1", If-Modified-Since) → 304, 0 body bytes');
    expect(revalidated).to.include('client: 200 OK, fromcache=true, 4,054 bytes');
    expect(revalidated).to.include('cache: revalidated: 304 via If-None-Match');
    expect(revalidated).to.include('transferred: 0 body bytes (4,054 saved by the 304)');

    const post = section(out, '4. POST');
    expect(post).to.include('server: POST /blog/entries → 401');
    expect(post).to.include('server: POST /blog/entries → 201, 274 body bytes, Digest user joe');
    expect(post).to.include('client: 201 Created, Location: /blog/entries/1, ETag "1-r1"');

    const put = section(out, '5. GET the entry');
    expect(put).to.include('client: GET 200 OK, ETag "1-r1"');
    expect(put).to.include('server: PUT /blog/entries/1 (If-Match: "1-r1") → 200');
    expect(put).to.include('client: PUT 200 OK, new ETag "1-r2"');
    expect(put).to.include('cache: If-Match: "1-r1" (lost-update protection)');

    const lost = section(out, '6. Another author');
    expect(lost).to.include('other client: PUT 200 OK, new ETag "1-r3"');
    expect(lost).to.include('server: PUT /blog/entries/1 (If-Match: "1-r2") → 412');
    expect(lost).to.include('client: PUT 412 Precondition Failed: The entry changed: its ETag is now "1-r3"');
    expect(lost).to.include('the lost update was caught');
    expect(lost).to.include('client: re-read: GET 200 OK, ETag "1-r3", content "Edited by a colleague."');
    expect(lost).to.include('client: PUT 200 OK, new ETag "1-r4"');

    const files = section(out, '7. The cache directory');
    // Sizes hold the URL, whose port has 4 or 5 digits.
    expect(files).to.match(/holds 3 files:\n +\d{3} B {2}127\.0\.0\.1,\d+,blog,entries,1,[0-9a-f]{64}\n +4,5\d\d B {2}127\.0\.0\.1,\d+,feed\.atom,[0-9a-f]{64}\n +\d+ B {2}httplib2-ts,identity-key,[0-9a-f]{64}\n/);

    expect(out).to.match(/Done: 14 requests reached the server, 6,657 body bytes sent\.\n$/);
  });

  it('feed-poller.js polls three feeds ten times both ways, then on the cache\'s schedule (freshUntil, retryAfter)', async () => {
    const out = await example('feed-poller.js');
    interface Row { poll: number; cells: string[]; requests: number; bytes: number }
    const table = (from: string): { rows: Row[]; totals: string } => {
      const text = section(out, from);
      const rows = [...text.matchAll(/^ +(\d+) {2}\d\d:\d\d {2}(.{16}) (.{16}) (.{16}) +(\d+) +([\d,]+)$/gm)].map((m) => ({
        poll: Number(m[1]),
        cells: [m[2]!.trim(), m[3]!.trim(), m[4]!.trim()],
        requests: Number(m[5]),
        bytes: Number(m[6]!.replace(/,/g, '')),
      }));
      return { rows, totals: text };
    };
    const changed = (poll: number): boolean => poll === 1 || poll === 4 || poll === 8;

    // (a) Through the cache: news.atom downloaded only when it changed, revalidated by 304 otherwise;
    // releases.atom (max-age 30 min) not even asked for while fresh; notes.atom (Last-Modified only)
    // revalidated with If-Modified-Since.
    const a = table('(a) Through the cache');
    expect(a.rows.map((r) => r.poll)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (const row of a.rows) {
      expect(row.cells[0], `poll ${row.poll}`).to.equal(changed(row.poll) ? '200 new' : '200 after 304');
      expect(row.cells[1], `poll ${row.poll}`).to.equal(row.poll === 1 ? '200 new' : [4, 7, 10].includes(row.poll) ? '200 after 304' : '200 fresh');
      expect(row.cells[2], `poll ${row.poll}`).to.equal(row.poll === 1 ? '200 new' : '200 after 304');
      expect(row.requests, `poll ${row.poll}`).to.equal(row.cells.filter((c) => c !== '200 fresh').length);
      if (changed(row.poll)) expect(row.bytes, `poll ${row.poll}`).to.be.greaterThan(2000);
      else expect(row.bytes, `poll ${row.poll}`).to.equal(0);
    }
    const total = a.rows.reduce((sum, r) => sum + r.bytes, 0);
    expect(a.totals).to.include(`total: 24 requests, ${total.toLocaleString('en-US')} body bytes`);
    const without = /without validators: ([\d,]+) body bytes; saved ([\d,]+)/.exec(a.totals);
    expect(without).to.not.equal(null);
    const full = Number(without![1]!.replace(/,/g, ''));
    expect(full).to.be.greaterThan(total * 4);
    expect(Number(without![2]!.replace(/,/g, ''))).to.equal(full - total);

    // (b) Caller-supplied validators: every feed asked every time, raw 304s with empty bodies, the
    // same bytes on the wire poll by poll.
    const b = table('(b) Caller-supplied validators');
    expect(b.rows.map((r) => r.poll)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (const [i, row] of b.rows.entries()) {
      expect(row.cells, `poll ${row.poll}`).to.deep.equal([
        changed(row.poll) ? '200 new' : '304 (0 B)',
        row.poll === 1 ? '200 new' : '304 (0 B)',
        row.poll === 1 ? '200 new' : '304 (0 B)',
      ]);
      expect(row.requests).to.equal(3);
      expect(row.bytes, `poll ${row.poll}`).to.equal(a.rows[i]!.bytes);
    }
    expect(b.totals).to.include(`total: 30 requests, ${total.toLocaleString('en-US')} body bytes`);
    expect(b.totals).to.include(`without validators: ${full.toLocaleString('en-US')} body bytes`);

    // (c) On the cache's schedule (#11): each feed is polled again when freshUntil / retryAfter say a
    // request can reach the server, so every poll is a request, none is answered from the cache, and
    // the rate-limited feed is not asked during its Retry-After.
    const c = section(out, '(c) On the cache');
    const polls = [...c.matchAll(/^(\d\d:\d\d) {2}(\S+) +(.{17}) (\d\d:\d\d) {2}(.+)$/gm)].map((m) => ({
      time: m[1]!, feed: m[2]!, answer: m[3]!.trim(), next: m[4]!, because: m[5]!,
    }));
    expect(polls.filter((p) => p.feed === 'busy.atom').map((p) => `${p.time} ${p.answer} → ${p.next} (${p.because})`)).to.deep.equal([
      '09:00 200 new → 09:10 (fresh until)',
      '09:10 200 after 304 → 09:20 (fresh until)',
      '09:20 429 retry later → 10:20 (retry after)',
      '10:20 200 after 304 → 10:30 (fresh until)',
      '10:30 200 after 304 → 10:40 (fresh until)',
      '10:40 200 after 304 → 10:50 (fresh until)',
      '10:50 200 after 304 → 11:00 (fresh until)',
    ]);
    expect(polls.filter((p) => p.feed === 'news.atom').map((p) => `${p.time} ${p.answer}`)).to.deep.equal([
      '09:00 200 new', '09:15 200 after 304', '09:30 200 after 304', '09:45 200 after 304', '10:00 200 new',
      '10:15 200 after 304', '10:30 200 after 304', '10:45 200 after 304',
    ]);
    expect(polls.filter((p) => p.feed === 'releases.atom').map((p) => p.time)).to.deep.equal(['09:00', '09:30', '10:00', '10:30']);
    expect(polls.filter((p) => p.answer.includes('fresh') || p.answer.includes('held'))).to.deep.equal([]);
    expect(c).to.include(`total: ${polls.length} polls in 2 hours, ${polls.length} requests (1 answered 429)`);
  });

  it('atompub-client.js walks service document → collection → POST → PUT with If-Match → DELETE', async () => {
    const out = await example('atompub-client.js');
    expect(out.replace(/127\.0\.0\.1:\d+/, '127.0.0.1:PORT')).to.equal(
      [
        '1. GET the service document http://127.0.0.1:PORT/service',
        '   server: GET /service → 200',
        '   client: 200 OK, application/atomsvc+xml',
        '   collection "Blog entries" at /blog/entries, accepts application/atom+xml;type=entry',
        '',
        '2. GET the collection',
        '   server: GET /blog/entries → 200',
        '   client: 200 OK, entries: ["Welcome"]',
        '',
        '3. POST a new entry',
        '   server: POST /blog/entries → 201',
        '   client: 201 Created, Location: /blog/entries/2, ETag "2-r1"',
        '   edit link: /blog/entries/2',
        '   server: GET /blog/entries → 200',
        '   client: collection entries: ["Hello, AtomPub","Welcome"]',
        '',
        '4. GET the entry, then PUT an edit (If-Match added from the ETag read)',
        '   server: GET /blog/entries/2 → 200',
        '   client: GET 200 OK, ETag "2-r1", content "First draft."',
        '   server: PUT /blog/entries/2 (If-Match: "2-r1") → 200',
        '   client: PUT 200 OK, new ETag "2-r2", content "Second draft, edited."',
        '',
        '5. DELETE the entry',
        '   server: DELETE /blog/entries/2 → 204',
        '   client: DELETE 204 No Content',
        '   server: GET /blog/entries/2 → 404',
        '   client: GET 404 Not Found',
        '   server: GET /blog/entries → 200',
        '   client: collection entries: ["Welcome"]',
        '',
      ].join('\n'),
    );
  });

  it('shared-cache-sqlite.js: a second process gets a hit from the SQLite file without contacting the server', async () => {
    const out = await example('shared-cache-sqlite.js');
    const lines = out.split('\n');
    const expected = [
      /^process A \(pid (\d+)\) opens the cache file cache\.sqlite$/,
      /^A: GET \/feeds\/news\.atom$/,
      /^ {3}server: GET \/feeds\/news\.atom → 200, 1218 body bytes$/,
      /^A: {3}200 OK, fromcache=false, 1218 bytes \(miss: nothing stored; stored: max-age=300\)$/,
      /^process B \(pid (\d+)\) opens the same cache file$/,
      /^B: GET \/feeds\/news\.atom$/,
      // no server line here: B's answer came from the file A wrote
      /^B: {3}200 OK, fromcache=true, 1218 bytes \(fresh: max-age=300, age \ds\)$/,
      /^B: GET \/feeds\/releases\.atom$/,
      /^ {3}server: GET \/feeds\/releases\.atom → 200, 1250 body bytes$/,
      /^B: {3}200 OK, fromcache=false, 1250 bytes \(miss: nothing stored; stored: max-age=300\)$/,
      /^process A again$/,
      /^A: GET \/feeds\/releases\.atom$/,
      /^A: {3}200 OK, fromcache=true, 1250 bytes \(fresh: max-age=300, age \ds\)$/,
      /^$/,
      /^The server saw 2 requests for 4 fetches by 2 processes: each feed was fetched once\.$/,
      /^$/,
    ];
    expect(lines).to.have.length(expected.length, out);
    expected.forEach((re, i) => expect(lines[i], `line ${i + 1}`).to.match(re));
    const pidA = expected[0]!.exec(lines[0]!)![1];
    const pidB = expected[4]!.exec(lines[4]!)![1];
    expect(pidB, 'B is another process').to.not.equal(pidA);
  });
});
