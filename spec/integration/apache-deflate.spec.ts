/**
 * Against a stock Apache httpd with mod_deflate (its defaults: `DeflateAlterETag AddSuffix`) and
 * mod_dav: the gzip variant of a document is served with `ETag: "<tag>-gzip"`, a tag Apache itself
 * never matches in If-None-Match or If-Match. Revalidation must still end in a 304, lost-update
 * protection must still let a PUT through (and still stop one after another client's change), and no
 * conditional GET may carry a validator the server did not send (DESIGN.md, Cache, Apache's -gzip).
 */
import { expect } from 'chai';
import { chmodSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Http, MemoryCache } from '../../lib/index.js';
import { startApache, type ApacheServer } from '../helpers/apache.js';

// The request's validators and the answer's ETag, one line per request.
const LOG_FORMAT = '%m %U %>s inm=%{If-None-Match}i ims=%{If-Modified-Since}i im=%{If-Match}i etag=%{ETag}o ce=%{Content-Encoding}o';

const DIRECTIVES = [
  'TypesConfig "{dir}/mime.types"',
  // Debian's stock deflate.conf, for the types a feed publisher serves.
  'AddType application/atom+xml .xml',
  'AddOutputFilterByType DEFLATE text/html text/plain text/xml application/xml application/atom+xml',
  'DAVLockDB "{dir}/davlock/lockdb"',
  '<Location "/feeds">',
  '  Dav On',
  '</Location>',
];

interface LogLine {
  method: string;
  path: string;
  status: number;
  inm: string;
  ims: string;
  im: string;
  etag: string;
  ce: string;
}

function parse(line: string): LogLine {
  const m = /^(\S+) (\S+) (\d+) inm=(.*) ims=(.*) im=(.*) etag=(.*) ce=(.*)$/.exec(line);
  if (!m) throw new Error(`unexpected access log line ${line}`);
  const [, method, path, status, inm, ims, im, etag, ce] = m;
  return { method: method!, path: path!, status: Number(status), inm: inm!, ims: ims!, im: im!, etag: etag!, ce: ce! };
}

describe('a stock Apache with mod_deflate and mod_dav (-gzip ETags)', function () {
  this.timeout(20_000);
  let apache: ApacheServer;
  let feeds: string;
  const open: Http[] = [];
  let n = 0;

  // A new document per spec, last modified an hour ago: Apache marks the ETag of a file changed in
  // the last second weak, and If-Match is only sent with a strong one.
  function aFeed(): { url: string; path: string; text: string } {
    const name = `feed-${++n}.xml`;
    const text = `<feed xmlns="http://www.w3.org/2005/Atom">${'<entry><title>t</title></entry>'.repeat(50)}</feed>\n`;
    const path = join(feeds, name);
    writeFileSync(path, text);
    chmodSync(path, 0o666);
    const anHourAgo = new Date(Date.now() - 3600_000);
    utimesSync(path, anHourAgo, anHourAgo);
    return { url: `${apache.origin}/feeds/${name}`, path, text };
  }

  const anHttp = (clock?: { now(): number }) => {
    const h = new Http(new MemoryCache(), clock ? { clock } : {});
    open.push(h);
    return h;
  };
  // The lines of the requests for `url`, once there are `count`.
  const log = async (url: string, count: number) => (await apache.accessLog((l) => parse(l).path === new URL(url).pathname, count)).map(parse);

  before(async () => {
    apache = await startApache({
      modules: ['mime', 'filter', 'deflate', 'dav', 'dav_fs'],
      directives: DIRECTIVES,
      logFormat: LOG_FORMAT,
      prepare: (dir) => {
        // No system mime.types: the one type served is added by AddType.
        writeFileSync(join(dir, 'mime.types'), '');
        for (const sub of ['htdocs', 'htdocs/feeds', 'davlock']) mkdirSync(join(dir, sub));
        // The workers run as nobody: the DAV collection and lock directory must be theirs to write.
        chmodSync(join(dir, 'htdocs/feeds'), 0o777);
        chmodSync(join(dir, 'davlock'), 0o777);
      },
    });
    feeds = join(apache.dir, 'htdocs/feeds');
  });
  after(() => apache?.stop());
  afterEach(async () => {
    await Promise.all(open.splice(0).map((h) => h.close()));
  });

  it('serves the gzip variant with a -gzip ETag (the server under test is the one the rule is for)', async () => {
    const feed = aFeed();
    const [res, content] = await anHttp().request(feed.url);
    expect(res.status).to.equal(200);
    expect(res.get('-content-encoding')).to.equal('gzip');
    expect(res.get('etag')).to.match(/-gzip"$/);
    expect(content.toString()).to.equal(feed.text);
  });

  it('revalidates a gzip-served document with a 304 and serves the cached body', async () => {
    const feed = aFeed();
    let offset = 0;
    const http = anHttp({ now: () => Date.now() + offset });
    const [first] = await http.request(feed.url);
    expect(first.fromcache).to.equal(false);
    // Two days later the heuristic freshness (at most a day) is over: the entry must be revalidated.
    offset = 2 * 86400_000;
    for (let i = 0; i < 2; i++) {
      const [again, content] = await http.request(feed.url);
      expect([again.status, again.fromcache], `revalidation ${i + 1}`).to.deep.equal([200, true]);
      expect(content.toString()).to.equal(feed.text);
      expect(again.cacheStatus.join(' | ')).to.match(/revalidated: 304/);
    }
    const statuses = (await log(feed.url, 3)).map((l) => l.status);
    expect(statuses).to.deep.equal([200, 304, 304]);
  });

  it('never sends in a conditional GET a validator the server did not send for that document', async () => {
    const feed = aFeed();
    let offset = 0;
    const http = anHttp({ now: () => Date.now() + offset });
    const [first] = await http.request(feed.url);
    for (let i = 1; i <= 3; i++) {
      offset = i * 2 * 86400_000;
      await http.request(feed.url);
    }
    const lines = await log(feed.url, 4);
    expect(lines.map((l) => l.method)).to.deep.equal(['GET', 'GET', 'GET', 'GET']);
    const sent = new Set<string>();
    for (const line of lines) {
      // Only a tag the server sent for this document before, or the Last-Modified it sent.
      if (line.inm !== '-') for (const tag of line.inm.split(/\s*,\s*/)) expect([...sent], `If-None-Match ${tag}`).to.include(tag);
      if (line.ims !== '-') expect(line.ims).to.equal(first.get('last-modified'));
      if (line.etag !== '-') sent.add(line.etag);
    }
    // And every revalidation carries one.
    for (const line of lines.slice(1)) expect(line.inm !== '-' || line.ims !== '-', 'a validator').to.equal(true);
  });

  it('lets a PUT after a gzip GET through: If-Match carries the tag Apache compares, and the document is replaced', async () => {
    const feed = aFeed();
    const http = anHttp();
    const [got] = await http.request(feed.url);
    expect(got.get('etag')).to.match(/-gzip"$/);
    const edited = feed.text.replace('<title>t</title>', '<title>edited</title>');
    const [put] = await http.request(feed.url, 'PUT', edited, { 'content-type': 'application/atom+xml' });
    expect(put.status).to.equal(204);
    const putLine = (await log(feed.url, 2)).find((l) => l.method === 'PUT')!;
    // Still protected: the PUT was conditional.
    expect(putLine.im).to.not.equal('-');
    expect(readFileSync(feed.path, 'utf8')).to.equal(edited);
  });

  it('still refuses (412) a PUT after another client changed the document since the gzip GET', async () => {
    const feed = aFeed();
    const http = anHttp();
    await http.request(feed.url);
    const other = new Http();
    open.push(other);
    const [theirs] = await other.request(feed.url, 'PUT', `${feed.text}<!-- theirs -->\n`, { 'content-type': 'application/atom+xml' });
    expect(theirs.status).to.equal(204);
    const [mine] = await http.request(feed.url, 'PUT', `${feed.text}<!-- mine -->\n`, { 'content-type': 'application/atom+xml' });
    expect(mine.status).to.equal(412);
    expect(readFileSync(feed.path, 'utf8')).to.equal(`${feed.text}<!-- theirs -->\n`);
  });
});
