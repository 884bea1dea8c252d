// A small local Atom server shared by the demo and the examples (server side only: not part of the
// library, and not what a user writes). It serves:
//   - Atom feeds with a strong ETag and Last-Modified, answering If-None-Match / If-Modified-Since
//     with 304 and counting the body bytes it sends;
//   - optionally an Atom Publishing Protocol (RFC 5023) service: a service document, one collection,
//     members created by POST (201 + Location + ETag), read by GET, replaced by PUT and removed by
//     DELETE, where If-Match is honoured (412 Precondition Failed on a stale ETag);
//   - optionally Digest authentication (RFC 7616, SHA-256, qop=auth) in front of the AtomPub part.
// Time comes from a `now()` function, also used for the Date header, so a client with a simulated
// clock and this server agree on what time it is.
import { createServer } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';

const ATOM = 'application/atom+xml';
const ENTRY = 'application/atom+xml;type=entry';
const SERVICE = 'application/atomsvc+xml';

const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const httpDate = (ms) => new Date(ms).toUTCString();
const seconds = (ms) => Math.floor(ms / 1000);
const escapeXml = (s) => String(s).replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]);

/** Splits an If-None-Match / If-Match value into its entity tags. */
function etagList(value) {
  return (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}
const weakEqual = (a, b) => a.replace(/^W\//, '') === b.replace(/^W\//, '');

/**
 * Starts the server on 127.0.0.1, port 0 (a free port). Options:
 *   now          () => ms since the epoch; default Date.now
 *   atompub      true to serve /service and the collection /blog/entries
 *   digest       { user, password, realm } to protect the AtomPub part with Digest
 *   onRequest    (record) => void, called after each answer with
 *                { method, path, status, bytes, ifNoneMatch, ifModifiedSince, ifMatch, user }
 * Returns { origin, stats: { requests, bytes }, addFeed, updateFeed, throttle, addMember, editMember, close }.
 */
export async function startAtomServer(options = {}) {
  const now = options.now ?? (() => Date.now());
  const digest = options.digest ?? null;
  const stats = { requests: 0, bytes: 0 };
  const feeds = new Map(); // path → feed
  const members = new Map(); // id → { id, title, content, revision, updated }
  let nextId = 1;
  const nonces = new Map(); // Digest nonce → highest nonce count seen

  function addFeed(path, { title, maxAge = 60, etag = true, lastModified = true, entries = [] }) {
    feeds.set(path, { path, title, maxAge, useEtag: etag, useLastModified: lastModified, entries: [...entries], version: 1, modified: now() });
  }

  /** Adds an entry at the top of a feed: a new version, a new ETag, a new Last-Modified. */
  function updateFeed(path, entry) {
    const feed = feeds.get(path);
    feed.entries.unshift(entry);
    feed.version += 1;
    feed.modified = now();
  }

  /**
   * Rate-limits a feed: from `from` until `until` (ms, on the server's clock) every request for it is
   * answered `429 Too Many Requests` with `Retry-After` = the seconds left (RFC 6585 §4).
   */
  function throttle(path, { from, until }) {
    feeds.get(path).throttle = { from, until };
  }

  /** Adds a member to the collection directly (an entry that was there before the client came). */
  function addMember(title, content) {
    const member = { id: nextId++, title, content, revision: 1, updated: now() };
    members.set(member.id, member);
    return memberPath(member.id);
  }

  /** Changes a member behind the clients' backs (another author editing it). */
  function editMember(id, content) {
    const member = members.get(id);
    member.content = content;
    member.revision += 1;
    member.updated = now();
  }

  function feedXml(feed) {
    const entries = feed.entries.map((e, i) => `  <entry>
    <title>${escapeXml(e.title)}</title>
    <id>urn:example${feed.path.replace(/\//g, ':')}:${feed.entries.length - i}</id>
    <updated>${iso(feed.modified)}</updated>
    <summary>${escapeXml(e.summary)}</summary>
  </entry>\n`).join('');
    return `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>${escapeXml(feed.title)}</title>
  <id>urn:example${feed.path.replace(/\//g, ':')}</id>
  <updated>${iso(feed.modified)}</updated>
  <link rel="self" href="${feed.path}"/>
${entries}</feed>\n`;
  }

  const memberPath = (id) => `/blog/entries/${id}`;
  const memberEtag = (m) => `"${m.id}-r${m.revision}"`;
  function memberXml(m) {
    return `<?xml version="1.0" encoding="utf-8"?>
<entry xmlns="http://www.w3.org/2005/Atom">
  <title>${escapeXml(m.title)}</title>
  <id>urn:example:blog:${m.id}</id>
  <updated>${iso(m.updated)}</updated>
  <link rel="edit" href="${memberPath(m.id)}"/>
  <content>${escapeXml(m.content)}</content>
</entry>\n`;
  }
  function collectionXml() {
    // Most recently edited first, as RFC 5023 §10.1 suggests.
    const list = [...members.values()].sort((x, y) => y.updated - x.updated || y.id - x.id).map((m) => `  <entry>
    <title>${escapeXml(m.title)}</title>
    <id>urn:example:blog:${m.id}</id>
    <updated>${iso(m.updated)}</updated>
    <link rel="edit" href="${memberPath(m.id)}"/>
  </entry>\n`).join('');
    return `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Blog entries</title>
  <id>urn:example:blog</id>
  <updated>${iso(now())}</updated>
  <link rel="self" href="/blog/entries"/>
${list}</feed>\n`;
  }
  const serviceXml = () => `<?xml version="1.0" encoding="utf-8"?>
<service xmlns="http://www.w3.org/2007/app" xmlns:atom="http://www.w3.org/2005/Atom">
  <workspace>
    <atom:title>Blog</atom:title>
    <collection href="/blog/entries">
      <atom:title>Blog entries</atom:title>
      <accept>${ENTRY}</accept>
    </collection>
  </workspace>
</service>\n`;

  /** Reads title and content out of a posted Atom entry (enough for this server; not an XML parser). */
  function parseEntry(body) {
    const pick = (tag) => (body.match(new RegExp(`<${tag}[^>]*>([\\s\\S]*?)</${tag}>`)) ?? [])[1]?.trim() ?? '';
    const unescape = (s) => s.replace(/&(lt|gt|quot|amp);/g, (_, e) => ({ lt: '<', gt: '>', quot: '"', amp: '&' })[e]);
    return { title: unescape(pick('title')), content: unescape(pick('content')) };
  }

  /** Verifies a Digest Authorization header; returns the user name or null. */
  function digestUser(req) {
    const header = req.headers.authorization ?? '';
    if (!header.startsWith('Digest ')) return null;
    const f = Object.fromEntries([...header.matchAll(/(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)]
      .map((m) => [m[1], m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]]));
    const nc = parseInt(f.nc, 16);
    if (!nonces.has(f.nonce) || !(nc > nonces.get(f.nonce)) || f.username !== digest.user || f.uri !== req.url) return null;
    const sha256 = (s) => createHash('sha256').update(s).digest('hex');
    const ha1 = sha256(`${digest.user}:${digest.realm}:${digest.password}`);
    const ha2 = sha256(`${req.method}:${f.uri}`);
    if (f.response !== sha256(`${ha1}:${f.nonce}:${f.nc}:${f.cnonce}:${f.qop}:${ha2}`)) return null;
    nonces.set(f.nonce, nc);
    return f.username;
  }

  function handle(req, body) {
    const url = new URL(req.url, 'http://localhost');
    const path = url.pathname;
    const head = (extra = {}) => ({ date: httpDate(now()), ...extra });

    const feed = feeds.get(path);
    if (feed) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return { status: 405, headers: head({ allow: 'GET, HEAD' }) };
      const limit = feed.throttle;
      if (limit && now() >= limit.from && now() < limit.until) {
        const retryAfter = String(Math.ceil((limit.until - now()) / 1000));
        return { status: 429, headers: head({ 'retry-after': retryAfter, 'content-type': 'text/plain' }), body: 'Too Many Requests\n' };
      }
      const etag = feed.useEtag ? `"${path.split('/').pop().replace(/\.\w+$/, '')}-v${feed.version}"` : null;
      const validators = {
        'cache-control': `max-age=${feed.maxAge}`,
        ...(etag ? { etag } : {}),
        ...(feed.useLastModified ? { 'last-modified': httpDate(feed.modified) } : {}),
      };
      // RFC 9110 §13.2.2: If-None-Match first; If-Modified-Since only when it is absent.
      const inm = req.headers['if-none-match'];
      const ims = req.headers['if-modified-since'];
      const notModified = inm !== undefined
        ? etag !== null && etagList(inm).some((t) => t === '*' || weakEqual(t, etag))
        : ims !== undefined && feed.useLastModified && !Number.isNaN(Date.parse(ims)) && seconds(feed.modified) <= seconds(Date.parse(ims));
      if (notModified) return { status: 304, headers: head(validators) };
      return { status: 200, headers: head({ 'content-type': ATOM, ...validators }), body: feedXml(feed) };
    }

    if (!options.atompub || !(path === '/service' || path === '/blog/entries' || path.startsWith('/blog/entries/'))) {
      return { status: 404, headers: head({ 'content-type': 'text/plain' }), body: 'Not Found\n' };
    }
    let user = null;
    if (digest) {
      user = digestUser(req);
      if (user === null) {
        const nonce = randomBytes(16).toString('base64');
        nonces.set(nonce, 0);
        const challenge = `Digest realm="${digest.realm}", qop="auth", algorithm=SHA-256, nonce="${nonce}"`;
        return { status: 401, headers: head({ 'www-authenticate': challenge, 'content-type': 'text/plain' }), body: 'Unauthorized\n' };
      }
    }
    // Members may change at any time: stored by a client, but revalidated on every use.
    const revalidate = { 'cache-control': 'private, no-cache' };
    if (path === '/service') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return { status: 405, user, headers: head({ allow: 'GET, HEAD' }) };
      return { status: 200, user, headers: head({ 'content-type': SERVICE, ...revalidate }), body: serviceXml() };
    }
    if (path === '/blog/entries') {
      if (req.method === 'POST') {
        const { title, content } = parseEntry(body);
        const location = addMember(title, content);
        const member = members.get(nextId - 1);
        return { status: 201, user, headers: head({ location, 'content-location': location, 'content-type': ENTRY, etag: memberEtag(member) }), body: memberXml(member) };
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return { status: 405, user, headers: head({ allow: 'GET, HEAD, POST' }) };
      return { status: 200, user, headers: head({ 'content-type': ATOM, ...revalidate }), body: collectionXml() };
    }
    const member = members.get(Number(path.slice('/blog/entries/'.length)));
    if (!member) return { status: 404, user, headers: head({ 'content-type': 'text/plain' }), body: 'Not Found\n' };
    const etag = memberEtag(member);
    if (req.method === 'GET' || req.method === 'HEAD') {
      const inm = req.headers['if-none-match'];
      if (inm !== undefined && etagList(inm).some((t) => t === '*' || weakEqual(t, etag))) {
        return { status: 304, user, headers: head({ etag, ...revalidate }) };
      }
      return { status: 200, user, headers: head({ 'content-type': ENTRY, etag, ...revalidate }), body: memberXml(member) };
    }
    if (req.method !== 'PUT' && req.method !== 'DELETE') return { status: 405, user, headers: head({ allow: 'GET, HEAD, PUT, DELETE' }) };
    // RFC 9110 §13.1.1: If-Match compares strongly; a stale ETag means someone else changed the member.
    const ifMatch = req.headers['if-match'];
    if (ifMatch !== undefined && !etagList(ifMatch).some((t) => t === '*' || (!t.startsWith('W/') && t === etag))) {
      return { status: 412, user, headers: head({ 'content-type': 'text/plain' }), body: `The entry changed: its ETag is now ${etag}\n` };
    }
    if (req.method === 'DELETE') {
      members.delete(member.id);
      return { status: 204, user, headers: head() };
    }
    const edited = parseEntry(body);
    member.title = edited.title || member.title;
    member.content = edited.content;
    member.revision += 1;
    member.updated = now();
    return { status: 200, user, headers: head({ 'content-type': ENTRY, etag: memberEtag(member) }), body: memberXml(member) };
  }

  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const answer = handle(req, Buffer.concat(chunks).toString('utf8'));
      const body = Buffer.from(answer.body ?? '');
      const sent = req.method === 'HEAD' || answer.status === 304 ? 0 : body.length;
      res.writeHead(answer.status, { ...answer.headers, ...(answer.status === 304 ? {} : { 'content-length': body.length }) });
      res.end(sent > 0 ? body : undefined);
      stats.requests += 1;
      stats.bytes += sent;
      options.onRequest?.({
        method: req.method,
        path: req.url,
        status: answer.status,
        bytes: sent,
        ifNoneMatch: req.headers['if-none-match'] ?? null,
        ifModifiedSince: req.headers['if-modified-since'] ?? null,
        ifMatch: req.headers['if-match'] ?? null,
        user: answer.user ?? null,
      });
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;

  return {
    origin,
    stats,
    addFeed,
    updateFeed,
    throttle,
    addMember,
    editMember,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
