// The bench's loopback HTTP/1.1 server, run in its own process (bench/run.js forks it) so that its
// work does not share an event loop with the clients being measured.
//
// It is a deliberately small server on node:net that answers GET/HEAD with prebuilt responses: a
// node:http server costs more per request than the clients we measure, and would hide their
// differences at concurrency 32. It supports keep-alive and pipelining, and counts requests per path so
// the bench can prove that a cache "hit" never reached the server.
//
// Routes:
//   /1k, /100k            opaque bodies of 1 KiB and 100 KiB, no caching headers
//   /1m, /10m             opaque bodies of 1 MiB and 10 MiB, no caching headers
//   /gzip-32k, /gzip-100k, /gzip-1m  JSON-like text sent with Content-Encoding: gzip (whatever Accept-Encoding says)
//   /cached               1 KiB, Cache-Control: max-age=3600, an ETag; If-None-Match → 304
//   /scale/<n>            512 bytes, Cache-Control: max-age=3600 (any n; all counted as /scale): the
//                         answers a cache is filled with to measure hits as it grows
//   /__stats              JSON { path: count } of the requests above (itself not counted)
//   /__reset              zeroes the counters
//
// Stops when the parent disconnects, and after MAX_LIFETIME_MS whatever happens.
import { createServer } from 'node:net';
import { LARGE_SIZES, SCALE_BODY_SIZE, SCALE_HEADERS, SIZES, gzipBodies, opaqueBody } from './payloads.js';

const MAX_LIFETIME_MS = 15 * 60 * 1000;
const ETAG = '"bench-v1"';
const LAST_MODIFIED = 'Mon, 01 Jan 2024 00:00:00 GMT';
const LARGE = 1024 * 1024;

const routes = new Map();
for (const [name, size] of Object.entries({ ...SIZES, ...LARGE_SIZES })) {
  routes.set(`/${name}`, { body: opaqueBody(size, size), headers: ['Content-Type: application/octet-stream'] });
}
for (const [name, { gzipped }] of Object.entries(gzipBodies())) {
  routes.set(`/${name}`, {
    body: gzipped,
    headers: ['Content-Type: application/json', 'Content-Encoding: gzip', 'Vary: Accept-Encoding'],
  });
}
routes.set('/cached', {
  body: opaqueBody(1024, 99),
  headers: [
    'Content-Type: application/octet-stream',
    'Cache-Control: max-age=3600',
    `ETag: ${ETAG}`,
    `Last-Modified: ${LAST_MODIFIED}`,
  ],
});

routes.set('/scale', { body: opaqueBody(SCALE_BODY_SIZE, 5), headers: SCALE_HEADERS });

const counts = Object.create(null);
for (const path of routes.keys()) counts[path] = 0;

// Whole responses are prebuilt and rebuilt once a second so that Date stays current (caches use it).
let built = new Map();
let notModified = Buffer.alloc(0);
let notFound = Buffer.alloc(0);
function rebuild() {
  const date = new Date().toUTCString();
  const next = new Map();
  for (const [path, { body, headers }] of routes) {
    const head = Buffer.from(
      ['HTTP/1.1 200 OK', `Date: ${date}`, ...headers, `Content-Length: ${body.length}`, 'Connection: keep-alive', '', ''].join('\r\n'),
      'latin1',
    );
    // Large bodies go out as head + body (not copied into one buffer every second).
    next.set(path, { full: body.length < LARGE ? Buffer.concat([head, body]) : null, head, body });
  }
  built = next;
  notModified = Buffer.from(
    ['HTTP/1.1 304 Not Modified', `Date: ${date}`, 'Cache-Control: max-age=3600', `ETag: ${ETAG}`, 'Connection: keep-alive', '', ''].join('\r\n'),
    'latin1',
  );
  notFound = Buffer.from(['HTTP/1.1 404 Not Found', `Date: ${date}`, 'Content-Length: 0', 'Connection: keep-alive', '', ''].join('\r\n'), 'latin1');
}
rebuild();
setInterval(rebuild, 1000).unref();

function simple(status, type, body) {
  const head = `HTTP/1.1 ${status}\r\nContent-Type: ${type}\r\nContent-Length: ${body.length}\r\nCache-Control: no-store\r\nConnection: keep-alive\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

function header(head, name) {
  const m = new RegExp(`\\r\\n${name}:[ \\t]*([^\\r\\n]*)`, 'i').exec(head);
  return m ? m[1].trim() : undefined;
}

/** Answers one request head; returns the number of body bytes to skip, or -1 to close the socket. */
function answer(socket, head) {
  const lineEnd = head.indexOf('\r\n');
  const line = lineEnd === -1 ? head : head.slice(0, lineEnd);
  const [method, target] = line.split(' ');
  if (!method || !target) return -1;
  if (header(head, 'transfer-encoding')) {
    socket.end(simple('501 Not Implemented', 'text/plain', Buffer.from('no request bodies')));
    return -1;
  }
  const q = target.indexOf('?');
  const whole = q === -1 ? target : target.slice(0, q);
  const path = whole.startsWith('/scale/') ? '/scale' : whole;
  const length = Number(header(head, 'content-length') ?? 0) || 0;
  if (path === '/__stats') {
    socket.write(simple('200 OK', 'application/json', Buffer.from(JSON.stringify(counts))));
  } else if (path === '/__reset') {
    for (const k of Object.keys(counts)) counts[k] = 0;
    socket.write(simple('200 OK', 'application/json', Buffer.from('{}')));
  } else {
    const r = built.get(path);
    if (!r) {
      socket.write(notFound);
    } else {
      counts[path]++;
      if (path === '/cached' && header(head, 'if-none-match') === ETAG) socket.write(notModified);
      else if (method === 'HEAD') socket.write(r.head);
      else if (r.full) socket.write(r.full);
      else {
        socket.cork();
        socket.write(r.head);
        socket.write(r.body);
        socket.uncork();
      }
    }
  }
  if (/^close$/i.test(header(head, 'connection') ?? '')) {
    socket.end();
    return -1;
  }
  return length;
}

const server = createServer({ noDelay: true }, (socket) => {
  let pending = null; // unparsed bytes
  let skip = 0; // request body bytes still to discard
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk) => {
    let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
    pending = null;
    for (;;) {
      if (skip > 0) {
        const n = Math.min(skip, buf.length);
        skip -= n;
        buf = buf.subarray(n);
      }
      if (buf.length === 0) return;
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) {
        if (buf.length > 64 * 1024) socket.destroy();
        else pending = Buffer.from(buf);
        return;
      }
      const head = buf.toString('latin1', 0, end + 2);
      buf = buf.subarray(end + 4);
      const n = answer(socket, head);
      if (n < 0) return;
      skip = n;
    }
  });
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  if (process.send) process.send({ port });
  else console.log(`bench server on http://127.0.0.1:${port}/`);
});

function stop() {
  server.close();
  process.exit(0);
}
process.on('disconnect', stop);
process.on('SIGTERM', stop);
setTimeout(stop, MAX_LIFETIME_MS).unref();
