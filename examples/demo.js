// npm run demo: the main job, end to end, against a local Atom server (started here, on a free
// loopback port): the cache (first fetch, fresh hit, 304 revalidation) and the Atom Publishing
// Protocol with Digest authentication and lost-update protection (If-Match, 412).
// Run: npm run demo   (or, once built: node examples/demo.js)
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Http, MemoryCache } from 'httplib2-ts';
import { startAtomServer } from './support/atom-server.js';

const USER = 'joe';
const PASSWORD = 'correct horse';
const n = (x) => x.toLocaleString('en-US');

// A simulated clock shared by the client's cache and the server's Date header: the demo moves time
// forward instead of sleeping.
let now = Date.now();
const clock = { now: () => now };

const server = await startAtomServer({
  now: clock.now,
  atompub: true,
  digest: { user: USER, password: PASSWORD, realm: 'blog' },
  onRequest: (r) => {
    const conditional = [
      r.ifNoneMatch && `If-None-Match: ${r.ifNoneMatch}`,
      r.ifModifiedSince && 'If-Modified-Since',
      r.ifMatch && `If-Match: ${r.ifMatch}`,
    ].filter(Boolean).join(', ');
    console.log(`   server: ${r.method} ${r.path}${conditional ? ` (${conditional})` : ''} → ${r.status}, ${n(r.bytes)} body bytes${r.user ? `, Digest user ${r.user}` : ''}`);
  },
});
server.addFeed('/feed.atom', {
  title: 'httplib2-ts news',
  maxAge: 60,
  entries: Array.from({ length: 12 }, (_, i) => ({
    title: `Release note ${12 - i}`,
    summary: `Item ${12 - i}: the cache keeps this feed and asks the server only whether it changed. `.repeat(2).trim(),
  })),
});
const feed = `${server.origin}/feed.atom`;
const collection = `${server.origin}/blog/entries`;

const dir = mkdtempSync(join(tmpdir(), 'httplib2-ts-demo-'));
const http = new Http(dir, { clock });
const showCache = (response) => {
  for (const line of response.cacheStatus) console.log(`   cache: ${line}`);
};
const entry = (title, content) => `<?xml version="1.0" encoding="utf-8"?>
<entry xmlns="http://www.w3.org/2005/Atom"><title>${title}</title><content>${content}</content></entry>`;
const ENTRY_TYPE = { 'content-type': 'application/atom+xml;type=entry' };

console.log(`httplib2-ts demo: a local Atom server at ${server.origin}, a cache in a temporary directory`);
console.log('(the clock is simulated: the demo moves time forward instead of sleeping)');
try {
  // 1. First fetch: nothing stored, the whole feed comes over the wire and is stored.
  console.log('\n1. First fetch of the feed');
  let before = server.stats.bytes;
  let [response, content] = await http.request(feed);
  console.log(`   client: ${response.status} ${response.reason}, fromcache=${response.fromcache}, ${n(content.length)} bytes, ETag ${response.get('etag')}`);
  showCache(response);
  const feedBytes = server.stats.bytes - before;
  console.log(`   transferred: ${n(feedBytes)} body bytes`);

  // 2. Ten seconds later the entry is still fresh (max-age=60): served with no request at all.
  now += 10_000;
  console.log('\n2. Ten seconds later: a fresh hit');
  const requestsBefore = server.stats.requests;
  [response, content] = await http.request(feed);
  console.log(`   client: ${response.status} ${response.reason}, fromcache=${response.fromcache}, ${n(content.length)} bytes`);
  showCache(response);
  console.log(`   server requests: ${server.stats.requests} (unchanged: no request was made)`);

  // 3. Two minutes later it is stale: revalidated with If-None-Match; the server answers 304 with no
  //    body and the cached copy is returned as a 200.
  now += 120_000;
  console.log('\n3. Two minutes later: stale, revalidated');
  before = server.stats.bytes;
  [response, content] = await http.request(feed);
  console.log(`   client: ${response.status} ${response.reason}, fromcache=${response.fromcache}, ${n(content.length)} bytes`);
  showCache(response);
  const sent = server.stats.bytes - before;
  console.log(`   transferred: ${n(sent)} body bytes (${n(feedBytes - sent)} saved by the 304)`);

  // 4. Post a new entry to the Digest-protected collection.
  console.log(`\n4. POST a new entry to the collection (Digest, http.addCredentials('${USER}', ...))`);
  http.addCredentials(USER, PASSWORD);
  [response] = await http.request(collection, 'POST', entry('Hello, AtomPub', 'First draft.'), ENTRY_TYPE);
  const member = new URL(response.get('location'), collection).href;
  console.log(`   client: ${response.status} ${response.reason}, Location: ${response.get('location')}, ETag ${response.get('etag')}`);

  // 5. Read the member (its ETag is stored), then PUT an edit: the library adds If-Match itself.
  console.log('\n5. GET the entry, then PUT an edit (the library adds If-Match from the stored ETag)');
  [response] = await http.request(member);
  console.log(`   client: GET ${response.status} ${response.reason}, ETag ${response.get('etag')}`);
  showCache(response);
  [response] = await http.request(member, 'PUT', entry('Hello, AtomPub', 'Second draft.'), ENTRY_TYPE);
  console.log(`   client: PUT ${response.status} ${response.reason}, new ETag ${response.get('etag')}`);
  showCache(response);

  // 6. We read the entry again; meanwhile another author (another client, its own cache) edits it.
  //    Our next PUT carries the ETag we read, which is now stale: 412, the lost update caught.
  console.log('\n6. Another author edits the entry between our GET and our PUT');
  [response] = await http.request(member);
  console.log(`   client: GET ${response.status} ${response.reason}, ETag ${response.get('etag')}`);
  const other = new Http(new MemoryCache());
  other.addCredentials(USER, PASSWORD);
  const [otherRead] = await other.request(member);
  console.log(`   other client: GET ${otherRead.status} ${otherRead.reason}, ETag ${otherRead.get('etag')}`);
  const [otherResponse] = await other.request(member, 'PUT', entry('Hello, AtomPub', 'Edited by a colleague.'), ENTRY_TYPE);
  console.log(`   other client: PUT ${otherResponse.status} ${otherResponse.reason}, new ETag ${otherResponse.get('etag')}`);
  await other.close();
  let body;
  [response, body] = await http.request(member, 'PUT', entry('Hello, AtomPub', 'Third draft.'), ENTRY_TYPE);
  console.log(`   client: PUT ${response.status} ${response.reason}: ${String(body).trim()}`);
  showCache(response);
  console.log(`   ${response.status === 412 ? 'the lost update was caught: the colleague\'s edit is intact' : 'the lost update was NOT caught'}`);
  // The way out: read the entry again (no-cache: revalidated, and it changed), merge, PUT again.
  [response, body] = await http.request(member);
  console.log(`   client: re-read: GET ${response.status} ${response.reason}, ETag ${response.get('etag')}, content "${/<content>(.*)<\/content>/.exec(String(body))?.[1]}"`);
  [response] = await http.request(member, 'PUT', entry('Hello, AtomPub', 'Edited by a colleague. Third draft.'), ENTRY_TYPE);
  console.log(`   client: PUT ${response.status} ${response.reason}, new ETag ${response.get('etag')}`);
  [response] = await http.request(member);
  console.log(`   client: GET ${response.status} ${response.reason}, ETag ${response.get('etag')} (stored again)`);

  // 7. What the cache keeps on disk: one file per stored response, and the key of its identity digests.
  const files = readdirSync(dir).sort();
  console.log(`\n7. The cache directory holds ${files.length} file${files.length === 1 ? '' : 's'}:`);
  for (const name of files) console.log(`   ${n(statSync(join(dir, name)).size).padStart(6)} B  ${name}`);

  console.log(`\nDone: ${server.stats.requests} requests reached the server, ${n(server.stats.bytes)} body bytes sent.`);
} finally {
  await http.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
