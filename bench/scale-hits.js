// The cache-hit rows of the scale section for one kind of store, in a process of its own (a real
// program has one cache; measured side by side in one heap, the 110,000 values of one store made the
// other store's collections slower). bench/scale.js runs it once per store:
//
//   node bench/scale-hits.js <base-url> <memory|file> '<opts JSON>' <N>[:<dir>] ...
//
// With `memory`, each MemoryCache is filled here (bench/cache-fill.js); with `file`, each FileCache
// directory was filled by bench/cache-fill.js beforehand. Rows: raw undici.request and an uncached
// Http.request (the baselines, measured in this process), then a hit with each N stored entries.
// Prints one JSON line { results } (bench/measure.js compare() results without their functions).
import { Agent, request } from 'undici';
import { compare } from './measure.js';
import { fillCache, scaleUrl } from './cache-fill.js';
import { SCALE_BODY_SIZE } from './payloads.js';

const [base, store, optsJson, ...jobs] = process.argv.slice(2);
const opts = JSON.parse(optsJson);
const lib = await import('../dist/index.js');
const log = (s) => process.stderr.write(`${s}\n`);
const fmtN = (n) => n.toLocaleString('en-US');
const label = store === 'memory' ? 'MemoryCache' : 'FileCache';
const sizes = jobs.map((job) => Number(job.split(':')[0]));
const largest = Math.max(...sizes);

async function serverCall(path) {
  const { body } = await request(`${base}${path}`);
  return body.json();
}
const resetCounts = () => serverCall('/__reset');
const reached = async () => (await serverCall('/__stats'))['/scale'] ?? 0;

// Each job's store: a MemoryCache filled here, or the FileCache directory filled before.
async function storeFor(job) {
  const colon = job.indexOf(':');
  if (store === 'file') return job.slice(colon + 1);
  const n = Number(job);
  const cache = new lib.MemoryCache({ maxEntries: 2 * largest, maxBytes: 2 ** 31 - 1 });
  await fillCache(lib.Http, cache, base, n);
  log(`  MemoryCache ${fmtN(n)}: ${cache.size} entries`);
  return cache;
}

const urls = Array.from({ length: largest }, (_, i) => scaleUrl(base, i));
const closers = [];
function hitRow(cache, n) {
  const http = new lib.Http(cache);
  closers.push(() => http.close());
  return {
    name: `${label}, ${fmtN(n)} entries`,
    store: label,
    entries: n,
    fn: async () => {
      const [response, content] = await http.request(urls[Math.floor(Math.random() * n)]);
      if (content.length !== SCALE_BODY_SIZE) throw new Error(`status ${response.status}, ${content.length} bytes`);
      return content;
    },
    // A FileCache's memo is filled as a program's would be: every entry read once.
    before: async () => {
      await resetCounts();
      if (store === 'file') for (let i = 0; i < n; i++) await http.request(urls[i]);
      for (let i = 0; i < 20; i++) await http.request(urls[Math.floor(Math.random() * n)]);
      const count = await reached();
      return count > 0 ? `n/a: ${count} 'hits' reached the server while warming up` : null;
    },
    beforeBatch: resetCounts,
    verify: async () => {
      const count = await reached();
      return count > 0 ? `n/a: ${count} 'hits' reached the server during the run` : null;
    },
  };
}

const agent = new Agent({ keepAliveTimeout: 60_000 });
const plain = new lib.Http();
closers.push(() => plain.close(), () => agent.close());
const stores = [];
for (const job of jobs) stores.push(await storeFor(job));
const rows = [
  { name: 'undici.request (no cache)', fn: async () => Buffer.from(await (await request(urls[0], { dispatcher: agent })).body.arrayBuffer()) },
  { name: 'Http.request (no cache)', kind: 'uncached', fn: async () => (await plain.request(urls[0]))[1] },
  ...stores.map((cache, i) => hitRow(cache, sizes[i])),
].map((r) => ({ body: `${SCALE_BODY_SIZE} B`, concurrency: 1, ...r }));

try {
  const results = await compare(rows, { ...opts, concurrency: 1, log });
  process.stdout.write(`${JSON.stringify({ results: results.map(({ fn, before, beforeBatch, verify, ...r }) => r) })}\n`);
} finally {
  for (const close of closers) await close();
}
