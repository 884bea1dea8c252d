// Post an Atom entry to a server that requires Digest authentication (RFC 7616).
// The example starts its own local server, so it runs anywhere:
//   npm run build && node examples/digest-auth.js
import { createServer } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { Http } from 'httplib2-ts';

const USER = 'joe';
const PASSWORD = 'correct horse';
const REALM = 'blog';

// --- a tiny Digest-protected Atom collection (server side, for the example only) ---
const nonces = new Map(); // nonce → highest nonce count seen
const entries = [];
const sha256 = (s) => createHash('sha256').update(s).digest('hex');

function authorized(req) {
  const header = req.headers.authorization ?? '';
  if (!header.startsWith('Digest ')) return null;
  const f = Object.fromEntries([...header.matchAll(/(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)]
    .map((m) => [m[1], m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]]));
  const nc = parseInt(f.nc, 16);
  if (!nonces.has(f.nonce) || !(nc > nonces.get(f.nonce)) || f.username !== USER || f.uri !== req.url) return null;
  const ha1 = sha256(`${USER}:${REALM}:${PASSWORD}`);
  const ha2 = sha256(`${req.method}:${f.uri}`);
  if (f.response !== sha256(`${ha1}:${f.nonce}:${f.nc}:${f.cnonce}:${f.qop}:${ha2}`)) return null;
  nonces.set(f.nonce, nc);
  return f;
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const answer = authorized(req);
    if (!answer) {
      const nonce = randomBytes(16).toString('base64');
      nonces.set(nonce, 0);
      res.writeHead(401, { 'www-authenticate': `Digest realm="${REALM}", qop="auth", algorithm=SHA-256, nonce="${nonce}"` });
      res.end();
      console.log(`  server: ${req.method} ${req.url} → 401, challenge sent`);
      return;
    }
    entries.push(Buffer.concat(chunks).toString('utf8'));
    const location = `/blog/entries/${entries.length}`;
    res.writeHead(201, { location, 'content-type': 'application/atom+xml' });
    res.end(entries.at(-1));
    console.log(`  server: ${req.method} ${req.url} → 201 (Digest from ${answer.username}, nonce count ${answer.nc})`);
  });
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const collection = `http://127.0.0.1:${server.address().port}/blog/entries`;

// --- the client: this is all a user writes ---
const http = new Http();
http.addCredentials(USER, PASSWORD); // no domain: answers only the hosts we ask for
try {
  for (const title of ['Hello, Digest', 'A second entry']) {
    const entry = `<?xml version="1.0"?>
<entry xmlns="http://www.w3.org/2005/Atom"><title>${title}</title><content>Posted by httplib2-ts.</content></entry>`;
    console.log(`POST ${title}`);
    const [response] = await http.request(collection, 'POST', entry, { 'content-type': 'application/atom+xml;type=entry' });
    console.log(`  client: ${response.status} ${response.reason}, Location: ${response.get('location')}`);
  }
} finally {
  await http.close();
  server.close();
}
