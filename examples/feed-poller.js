// Poll several Atom feeds with conditional GET, the way a feed reader does, both ways:
//   (a) through the cache: new Http(dir) keeps each feed with its ETag / Last-Modified, sends
//       If-None-Match / If-Modified-Since itself, and turns a 304 into the cached 200 (fromcache=true);
//       while a feed is still fresh (max-age) it is not asked for at all;
//   (b) with caller-supplied validators (feedparser's etag= / modified= pattern): new Http() with no
//       cache; we keep each feed's ETag and Last-Modified and send them ourselves; a 304 comes back as
//       it is, with an empty body;
//   (c) on the cache's schedule: instead of a fixed interval, each feed is polled again when its
//       answer says a request can reach the server: response.freshUntil (when the stored copy goes
//       stale) and response.retryAfter (until when a 429/503's Retry-After holds requests back).
// The example starts its own local feed server, which counts the body bytes it sends, and uses a
// simulated clock (shared with the server) so ten polls ten minutes apart take no time at all.
// Run: npm run build && node examples/feed-poller.js
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Http } from 'httplib2-ts';
import { startAtomServer } from './support/atom-server.js';

const POLLS = 10;
const INTERVAL = 10 * 60_000; // ten minutes between polls
const CHANGES = new Set([4, 8]); // news.atom gets a new entry just before these polls
const FEEDS = ['news.atom', 'releases.atom', 'notes.atom'];
const n = (x) => x.toLocaleString('en-US');
const entries = (name, count) => Array.from({ length: count }, (_, i) => ({
  title: `${name} item ${count - i}`,
  summary: `Summary of ${name} item ${count - i}, long enough to look like a real feed entry.`,
}));

/** Starts a fresh feed server on a simulated clock; returns it with the clock. */
async function start() {
  let now = Date.UTC(2025, 5, 2, 9, 0, 0); // a Monday, 09:00 UTC
  const clock = { now: () => now, advance: (ms) => { now += ms; } };
  const server = await startAtomServer({ now: clock.now });
  // news: ETag + Last-Modified, fresh 5 minutes; releases: fresh 30 minutes; notes: Last-Modified only.
  server.addFeed('/feeds/news.atom', { title: 'News', maxAge: 300, entries: entries('news', 10) });
  server.addFeed('/feeds/releases.atom', { title: 'Releases', maxAge: 1800, entries: entries('release', 6) });
  server.addFeed('/feeds/notes.atom', { title: 'Notes', maxAge: 300, etag: false, entries: entries('note', 4) });
  return { server, clock };
}

/**
 * Runs ten polls; `fetchFeed(url)` returns the cell to print for one feed. Prints one row per poll
 * with the requests that reached the server and the body bytes it sent during that poll.
 */
async function pollTenTimes(server, clock, fetchFeed) {
  console.log(`poll  time   ${FEEDS.map((f) => f.padEnd(16)).join(' ')} requests  bytes transferred`);
  let total = 0;
  for (let poll = 1; poll <= POLLS; poll++) {
    if (poll > 1) clock.advance(INTERVAL);
    if (CHANGES.has(poll)) server.updateFeed('/feeds/news.atom', { title: `Breaking news before poll ${poll}`, summary: 'Something changed.' });
    const before = { ...server.stats };
    const cells = await Promise.all(FEEDS.map((f) => fetchFeed(`${server.origin}/feeds/${f}`)));
    const bytes = server.stats.bytes - before.bytes;
    total += bytes;
    const time = new Date(clock.now()).toISOString().slice(11, 16);
    const requests = server.stats.requests - before.requests;
    console.log(`${String(poll).padStart(4)}  ${time}  ${cells.map((c) => c.padEnd(16)).join(' ')} ${String(requests).padStart(8)}  ${n(bytes).padStart(17)}`);
  }
  console.log(`total: ${server.stats.requests} requests, ${n(total)} body bytes`);
  return total;
}

// What ten polls would cost with no validators at all (every feed downloaded every time): the sum of
// the feeds' sizes at each poll, measured in (a), where every answer carries the whole feed.
let withoutValidators = 0;

console.log(`${FEEDS.length} local feeds polled ${POLLS} times, ten minutes apart (simulated clock); news.atom gets a new`);
console.log(`entry before polls ${[...CHANGES].join(' and ')}. Bytes are counted by the server: the body bytes it sent.\n`);

// (a) Through the cache.
{
  const { server, clock } = await start();
  const dir = mkdtempSync(join(tmpdir(), 'httplib2-ts-feed-poller-'));
  const http = new Http(dir, { clock });
  console.log('(a) Through the cache: new Http(dir) revalidates by itself; a 304 comes back as the cached 200');
  console.log('    "200 new": downloaded; "200 after 304": revalidated, body from the cache (fromcache=true);');
  console.log('    "200 fresh": still fresh (max-age), served from the cache with no request');
  try {
    const total = await pollTenTimes(server, clock, async (url) => {
      const [response, content] = await http.request(url);
      withoutValidators += content.length;
      if (!response.fromcache) return `${response.status} new`;
      const revalidated = response.cacheStatus.some((line) => line.startsWith('revalidated:'));
      return `${response.status} ${revalidated ? 'after 304' : 'fresh'}`;
    });
    console.log(`without validators: ${n(withoutValidators)} body bytes; saved ${n(withoutValidators - total)}`);
  } finally {
    await http.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// (b) Caller-supplied validators, no cache.
{
  const { server, clock } = await start();
  const http = new Http(); // no cache
  const validators = new Map(); // url → { etag, modified }, what a feed reader saves between polls
  console.log('\n(b) Caller-supplied validators: new Http() with no cache; we send If-None-Match / If-Modified-Since');
  console.log('    ourselves and get the 304 as it is, with an empty body');
  try {
    const total = await pollTenTimes(server, clock, async (url) => {
      const { etag, modified } = validators.get(url) ?? {};
      const headers = {};
      if (etag) headers['if-none-match'] = etag;
      if (modified) headers['if-modified-since'] = modified;
      const [response, content] = await http.request(url, 'GET', null, headers);
      if (response.status === 200) {
        validators.set(url, { etag: response.get('etag'), modified: response.get('last-modified') });
        return `200 new`;
      }
      return `${response.status} (${content.length} B)`;
    });
    console.log(`without validators: ${n(withoutValidators)} body bytes; saved ${n(withoutValidators - total)}`);
  } finally {
    await http.close();
    await server.close();
  }
}

// (c) On the cache's schedule. Each answer says when the next request for that feed can reach the
// server: freshUntil (the stored copy is fresh until then: asking earlier gets it from the cache) and
// retryAfter (the server asked not to be asked before then). The poller sleeps until the later of
// the two that lie ahead, or its own interval when neither does. busy.atom is rate-limited for an
// hour: its 429 carries Retry-After, which the cache remembers. news.atom gets a new entry at 10:00.
{
  const HOURS = 2;
  const FALLBACK = 15 * 60_000; // the poller's own interval, for a feed that gives no time
  let now = Date.UTC(2025, 5, 2, 9, 0, 0);
  const clock = { now: () => now };
  const start = now;
  let refused = 0;
  const server = await startAtomServer({ now: clock.now, onRequest: (r) => { if (r.status === 429) refused += 1; } });
  server.addFeed('/feeds/news.atom', { title: 'News', maxAge: 900, entries: entries('news', 10) });
  server.addFeed('/feeds/releases.atom', { title: 'Releases', maxAge: 1800, entries: entries('release', 6) });
  server.addFeed('/feeds/busy.atom', { title: 'Busy', maxAge: 600, entries: entries('busy', 8) });
  server.throttle('/feeds/busy.atom', { from: start + 20 * 60_000, until: start + 80 * 60_000 });
  const dir = mkdtempSync(join(tmpdir(), 'httplib2-ts-feed-poller-'));
  const http = new Http(dir, { clock });
  const hhmm = (ms) => new Date(ms).toISOString().slice(11, 16);
  console.log('\n(c) On the cache\'s schedule: each feed is polled again at the later of response.freshUntil and');
  console.log('    response.retryAfter still ahead (else every 15 minutes); busy.atom answers 429 from 09:20 to 10:20,');
  console.log('    news.atom changes at 10:00');
  console.log('time   feed             answer            next   because');
  try {
    const next = new Map(['news.atom', 'releases.atom', 'busy.atom'].map((feed) => [feed, start]));
    let changed = false;
    let polls = 0;
    for (;;) {
      now = Math.min(...next.values()); // sleep until the earliest feed is due
      if (now >= start + HOURS * 3600_000) break;
      if (!changed && now >= start + 3600_000) {
        server.updateFeed('/feeds/news.atom', { title: 'Breaking news at 10:00', summary: 'Something changed.' });
        changed = true;
      }
      for (const [feed, due] of next) {
        if (due > now) continue;
        const [response] = await http.request(`${server.origin}/feeds/${feed}`);
        polls += 1;
        const ahead = [[response.freshUntil, 'fresh until'], [response.retryAfter, 'retry after']].filter(([at]) => at !== null && at.getTime() > now);
        const [at, because] = ahead.length === 0 ? [new Date(now + FALLBACK), 'interval'] : ahead.reduce((a, b) => (b[0] > a[0] ? b : a));
        next.set(feed, at.getTime());
        console.log(`${hhmm(now)}  ${feed.padEnd(16)} ${describe(response).padEnd(17)} ${hhmm(at.getTime())}  ${because}`);
      }
    }
    console.log(`total: ${polls} polls in ${HOURS} hours, ${server.stats.requests} requests (${refused} answered 429), ${n(server.stats.bytes)} body bytes`);
  } finally {
    await http.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What happened to one poll, as the cache tells it. */
function describe(response) {
  if (!response.fromcache) return response.status === 200 ? '200 new' : `${response.status} retry later`;
  if (response.cacheStatus.some((line) => line.startsWith('revalidated:'))) return '200 after 304';
  if (response.cacheStatus.some((line) => line.startsWith('retry-after:'))) return '200 held (stale)';
  return '200 fresh';
}
