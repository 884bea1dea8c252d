// Fills a cache with N cacheable 512-byte answers (`/scale/0` … `/scale/N-1` of the bench server)
// through Http itself, so every entry is one the cache layer decided to store, in its own format.
// The answers come from a dispatcher that replies at once with the bench server's own `/scale`
// response (the `dispatcher` option), so 100,000 entries take seconds rather than a minute of
// loopback round trips; nothing is sent on the network.
//
// As a child process (the FileCache fill, so its garbage never lands on the measuring process):
//   node bench/cache-fill.js <base-url> <N>:<dir> [<N>:<dir> ...]
// prints one JSON line { filled: [{ n, dir, files, ms }] } and exits.
import { EventEmitter } from 'node:events';
import { readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { SCALE_BODY_SIZE, SCALE_HEADERS, opaqueBody } from './payloads.js';

const BODY = opaqueBody(SCALE_BODY_SIZE, 5);

/** The URL of the i-th stored answer. */
export const scaleUrl = (base, i) => `${base}/scale/${i}`;

/** A body as undici hands it over: 'data' once, then 'end', on a later turn. */
class ReadyBody extends EventEmitter {
  constructor() {
    super();
    setImmediate(() => {
      this.emit('data', BODY);
      this.emit('end');
    });
  }
  destroy() {}
}

/** An undici-shaped dispatcher answering every request with the server's `/scale` response. */
export function scaleDispatcher() {
  const raw = () => {
    const headers = ['Date', new Date().toUTCString(), 'Content-Length', String(BODY.length)];
    for (const line of SCALE_HEADERS) {
      const colon = line.indexOf(':');
      headers.push(line.slice(0, colon), line.slice(colon + 1).trim());
    }
    return headers;
  };
  return {
    request: async () => ({ statusCode: 200, statusText: 'OK', headers: raw(), body: new ReadyBody(), trailers: {} }),
    close: async () => {},
    destroy: async () => {},
    on() { return this; },
    off() { return this; },
    once() { return this; },
  };
}

/**
 * Stores N answers in `cache` (a directory or a store object) through an Http over the answering
 * dispatcher, 64 at a time. The store budget is raised so that no write is left to the background.
 */
export async function fillCache(Http, cache, base, n) {
  const http = new Http(cache, { dispatcher: scaleDispatcher(), storeTimeout: 600_000 });
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const [response, content] = await http.request(scaleUrl(base, i));
      if (response.status !== 200 || content.length !== SCALE_BODY_SIZE) throw new Error(`fill: status ${response.status}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(64, n) }, worker));
  await http.close();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [base, ...jobs] = process.argv.slice(2);
  const { Http } = await import('../dist/index.js');
  const filled = [];
  for (const job of jobs) {
    const colon = job.indexOf(':');
    const n = Number(job.slice(0, colon));
    const dir = job.slice(colon + 1);
    const t0 = performance.now();
    await fillCache(Http, dir, base, n);
    filled.push({ n, dir, files: readdirSync(dir).length, ms: performance.now() - t0 });
  }
  process.stdout.write(`${JSON.stringify({ filled })}\n`);
}
