// The bench's loopback HTTPS server for the HTTP/2 table, run in its own process (bench/run.js forks
// it with the paths of a throwaway key and certificate). A node:http2 secure server that also accepts
// HTTP/1.1 (allowHTTP1), so the same server answers the h2 rows and the h1 rows next to them.
//
// Routes: /1k, an opaque 1 KiB body with no caching headers. Stops when the parent disconnects, and
// after MAX_LIFETIME_MS whatever happens.
import { readFileSync } from 'node:fs';
import { createSecureServer } from 'node:http2';
import { opaqueBody } from './payloads.js';

const MAX_LIFETIME_MS = 15 * 60 * 1000;
const [keyPath, certPath] = process.argv.slice(2);
const body = opaqueBody(1024, 1024);

const server = createSecureServer({ key: readFileSync(keyPath), cert: readFileSync(certPath), allowHTTP1: true }, (req, res) => {
  if (req.url !== '/1k') {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
  res.end(body);
});
server.on('sessionError', () => undefined);
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  if (process.send) process.send({ port });
  else console.log(`bench h2 server on https://127.0.0.1:${port}/`);
});

function stop() {
  server.close();
  process.exit(0);
}
process.on('disconnect', stop);
process.on('SIGTERM', stop);
setTimeout(stop, MAX_LIFETIME_MS).unref();
