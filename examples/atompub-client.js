// An Atom Publishing Protocol (RFC 5023) client: service document → collection → create an entry
// (POST, 201 + Location) → edit it with If-Match (PUT) → delete it, against a local AtomPub server.
// The client keeps a small in-memory cache, so after it has read an entry, its PUT carries
// If-Match with the ETag it read (lost-update protection) without any code of ours.
// Run: npm run build && node examples/atompub-client.js
import { Http, MemoryCache } from 'httplib2-ts';
import { startAtomServer } from './support/atom-server.js';

// --- the server side: started here so the example runs anywhere (see support/atom-server.js) ---
const server = await startAtomServer({
  atompub: true,
  onRequest: (r) => console.log(`   server: ${r.method} ${r.path}${r.ifMatch ? ` (If-Match: ${r.ifMatch})` : ''} → ${r.status}`),
});
server.addMember('Welcome', 'The first entry of this blog.');

// Enough XML reading for the example; a real client would use an XML parser.
const attr = (xml, tag, name) => new RegExp(`<${tag}\\b[^>]*\\b${name}="([^"]*)"`).exec(xml)?.[1];
const text = (xml, tag) => new RegExp(`<${tag}\\b[^>]*>([^<]*)</${tag}>`).exec(xml)?.[1];
const titles = (feed) => [...feed.matchAll(/<entry>[\s\S]*?<title>([^<]*)<\/title>/g)].map((m) => m[1]);
const entry = (title, content) => `<?xml version="1.0" encoding="utf-8"?>
<entry xmlns="http://www.w3.org/2005/Atom">
  <title>${title}</title>
  <content>${content}</content>
</entry>`;
const ENTRY_TYPE = { 'content-type': 'application/atom+xml;type=entry' };

// --- the client ---
const http = new Http(new MemoryCache());
try {
  // 1. The service document names the collections and what they accept.
  const service = `${server.origin}/service`;
  console.log(`1. GET the service document ${service}`);
  let [response, content] = await http.request(service);
  const collectionXml = /<collection\b[\s\S]*?<\/collection>/.exec(String(content))[0];
  const collection = new URL(attr(collectionXml, 'collection', 'href'), service).href;
  console.log(`   client: ${response.status} ${response.reason}, ${response.get('content-type')}`);
  console.log(`   collection "${text(collectionXml, 'atom:title')}" at ${new URL(collection).pathname}, accepts ${text(collectionXml, 'accept')}`);

  // 2. The collection is an Atom feed of its members.
  console.log('\n2. GET the collection');
  [response, content] = await http.request(collection);
  console.log(`   client: ${response.status} ${response.reason}, entries: ${JSON.stringify(titles(String(content)))}`);

  // 3. Create: POST an entry; the server answers 201 Created with the member's Location and ETag.
  console.log('\n3. POST a new entry');
  [response, content] = await http.request(collection, 'POST', entry('Hello, AtomPub', 'First draft.'), ENTRY_TYPE);
  const member = new URL(response.get('location'), collection).href;
  console.log(`   client: ${response.status} ${response.reason}, Location: ${response.get('location')}, ETag ${response.get('etag')}`);
  console.log(`   edit link: ${attr(String(content), 'link', 'href')}`);
  [response, content] = await http.request(collection);
  console.log(`   client: collection entries: ${JSON.stringify(titles(String(content)))}`);

  // 4. Edit: read the member (its ETag is kept), then PUT the new version; If-Match is added for us.
  console.log('\n4. GET the entry, then PUT an edit (If-Match added from the ETag read)');
  [response, content] = await http.request(member);
  console.log(`   client: GET ${response.status} ${response.reason}, ETag ${response.get('etag')}, content "${text(String(content), 'content')}"`);
  [response, content] = await http.request(member, 'PUT', entry('Hello, AtomPub', 'Second draft, edited.'), ENTRY_TYPE);
  console.log(`   client: PUT ${response.status} ${response.reason}, new ETag ${response.get('etag')}, content "${text(String(content), 'content')}"`);

  // 5. Delete the member; it is gone from the collection.
  console.log('\n5. DELETE the entry');
  [response] = await http.request(member, 'DELETE');
  console.log(`   client: DELETE ${response.status} ${response.reason}`);
  [response] = await http.request(member);
  console.log(`   client: GET ${response.status} ${response.reason}`);
  [response, content] = await http.request(collection);
  console.log(`   client: collection entries: ${JSON.stringify(titles(String(content)))}`);
} finally {
  await http.close();
  await server.close();
}
