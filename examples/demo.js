// npm run demo: the main job on an embedded local server (grows with the cache and auth issues).
// Run: npm run demo
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Http } from 'httplib2-ts';

const server = createServer((req, res) => {
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
} finally {
  await http.close();
  server.close();
  rmSync(dir, { recursive: true, force: true });
}
