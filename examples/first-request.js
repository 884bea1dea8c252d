// The smallest useful program: start a local server, fetch from it twice through a cache directory.
// Run: npm run build && node examples/first-request.js
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Http } from 'httplib2-ts';

let requests = 0;
const server = createServer((req, res) => {
  requests++;
  res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60', etag: '"v1"' });
  res.end(`Hello from ${req.url}\n`);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/hello`;

const dir = mkdtempSync(join(tmpdir(), 'httplib2-ts-'));
const http = new Http(dir);
try {
  const [response, content] = await http.request(url);
  console.log(`status ${response.status} ${response.reason}, fromcache=${response.fromcache}`);
  console.log(`content-type: ${response.get('content-type')}`);
  process.stdout.write(`body: ${content}`);
  // Fresh for 60 s (Cache-Control: max-age=60): the second request never reaches the server.
  const [again] = await http.request(url);
  console.log(`again: status ${again.status}, fromcache=${again.fromcache}, server saw ${requests} request(s)`);
} finally {
  await http.close();
  server.close();
  rmSync(dir, { recursive: true, force: true });
}
