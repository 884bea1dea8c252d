// Does a cache hit get slower as the cache grows? `node bench/cache-scale.js` after `npm run build`.
//
// For each store and each size N: N cacheable 512-byte answers are fetched through an Http (so the
// store holds what a real run stores), then fresh hits on stored URLs picked at random are timed,
// sequentially, in rounds. Hits never reach the server (checked). Prints hits/s per size and the
// ratio to the smallest size of the same store.
//
//   node bench/cache-scale.js [--sizes=10,20000,100000] [--stores=file,memory] [--rounds=5] [--ms=400]
//                             [--memo-bytes=N] [--json=FILE]
//
// --memo-bytes sets the FileCache's memoBytes (its default, 64 MiB, holds ~25,000 of these entries).
// Filling reads every URL once after storing it, as a program would, so the memo is as full as it gets.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const lib = await import('../dist/index.js');

const argv = process.argv.slice(2);
const value = (name) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const sizes = (value('sizes') ?? '10,20000,100000').split(',').map(Number);
const stores = (value('stores') ?? 'file,memory').split(',');
const rounds = Number(value('rounds') ?? 5);
const roundMs = Number(value('ms') ?? 400);
const jsonOut = value('json');
const memoBytes = value('memo-bytes') === undefined ? undefined : Number(value('memo-bytes'));

setFlagsFromString('--expose-gc');
// A young-generation collection between rounds, as bench/measure.js does (a full one made the next
// round pay for sweeping the heap).
const gc = runInNewContext('gc');
const collect = () => gc({ type: 'minor' });

const BODY = Buffer.alloc(512, 'x');
let served = 0;
const server = createServer((req, res) => {
  served++;
  res.writeHead(200, { 'cache-control': 'max-age=86400', 'content-type': 'text/plain', 'content-length': BODY.length });
  res.end(BODY);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;
const scratch = mkdtempSync(join(tmpdir(), 'httplib2-ts-cache-scale-'));

function makeStore(kind, n) {
  if (kind === 'memory') return new lib.MemoryCache({ maxEntries: n + 10, maxBytes: 2 ** 31 });
  const dir = join(scratch, `file-${n}`);
  return memoBytes === undefined ? dir : new lib.FileCache(dir, { memoBytes });
}

// The store budget is lifted while filling: on a busy machine a write past the default budget would
// go on in the background, and a few such URLs would be misses instead of hits.
async function fill(http, n) {
  let next = 0;
  async function worker() {
    while (next < n) {
      const i = next++;
      const [response] = await http.request(`${base}/r/${i}`);
      if (response.status !== 200) throw new Error(`fill: ${response.status}`);
    }
  }
  await Promise.all(Array.from({ length: 16 }, worker));
  // Every URL once more: anything not kept is fetched again until the store holds all N.
  for (let pass = 0; pass < 3; pass++) {
    let missing = 0;
    for (let i = 0; i < n; i++) {
      const [response] = await http.request(`${base}/r/${i}`);
      if (!response.fromcache) missing++;
    }
    if (missing === 0) return;
  }
  throw new Error('fill: the store does not keep every answer');
}

// Random indices drawn ahead of time, so the timed loop does nothing but hit.
function randomIndices(n, count) {
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = Math.floor(Math.random() * n);
  return out;
}

async function measure(http, n) {
  const urls = Array.from({ length: n }, (_, i) => `${base}/r/${i}`);
  const picks = randomIndices(n, 1 << 20);
  let p = 0;
  const hit = async () => {
    const [response] = await http.request(urls[picks[p++ & ((1 << 20) - 1)]]);
    if (!response.fromcache) throw new Error('a hit reached the server');
  };
  // The fill's garbage and the last size's store are collected here, before the warm-up (which takes
  // the aftermath of a full collection) and outside the timed rounds.
  gc();
  for (let i = 0; i < 2000; i++) await hit(); // warm-up
  const rates = [];
  const cpuCosts = [];
  for (let r = 0; r < rounds; r++) {
    collect();
    let count = 0;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    while (performance.now() - t0 < roundMs) {
      await hit();
      count++;
    }
    const cpu = process.cpuUsage(c0);
    rates.push((count * 1000) / (performance.now() - t0));
    cpuCosts.push((cpu.user + cpu.system) / count);
  }
  return { rate: median(rates), cpuMicros: median(cpuCosts) };
}

function median(values) {
  const v = [...values].sort((a, b) => a - b);
  return v[v.length >> 1];
}

const results = [];
try {
  for (const kind of stores) {
    for (const n of sizes) {
      const http = new lib.Http(makeStore(kind, n), { storeTimeout: 10_000 });
      const t0 = performance.now();
      await fill(http, n);
      const fillMs = performance.now() - t0;
      const before = served;
      const { rate, cpuMicros } = await measure(http, n);
      if (served !== before) throw new Error(`${served - before} hits reached the server`);
      await http.close();
      const rss = process.memoryUsage().rss;
      results.push({ store: kind, entries: n, hitsPerSecond: Math.round(rate), cpuMicrosPerHit: +cpuMicros.toFixed(1), fillSeconds: +(fillMs / 1000).toFixed(1), rssMiB: Math.round(rss / 2 ** 20) });
      process.stderr.write(`${kind} ${n}: ${Math.round(rate)} hits/s, ${cpuMicros.toFixed(1)} µs CPU per hit (filled in ${(fillMs / 1000).toFixed(1)} s)\n`);
    }
  }
} finally {
  server.close();
  rmSync(scratch, { recursive: true, force: true });
}

console.log(`\nCache hits as the cache grows (sequential fresh hits on random stored URLs, 512-byte bodies; median of ${rounds} rounds of ${roundMs} ms; FileCache memoBytes ${memoBytes ?? 'default'}; Node ${process.version})`);
// CPU per hit is the steadier figure on a shared machine: another process taking the core inflates
// wall time, hardly the CPU this process spends.
console.log('| store | entries | hits/s | vs smallest | CPU µs/hit | vs smallest (CPU) | RSS MiB |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const r of results) {
  const smallest = results.find((x) => x.store === r.store);
  console.log(`| ${r.store} | ${r.entries.toLocaleString('en-US')} | ${r.hitsPerSecond.toLocaleString('en-US')} | ${(r.hitsPerSecond / smallest.hitsPerSecond).toFixed(2)}x | ${r.cpuMicrosPerHit} | ${(smallest.cpuMicrosPerHit / r.cpuMicrosPerHit).toFixed(2)}x | ${r.rssMiB} |`);
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(results, null, 2));
