// The scale section of the bench (`--only=scale`): does a cache hit stay as cheap when the cache
// holds 100,000 entries as when it holds 10, and how much memory do 100 downloads of 1 MiB at once
// take. bench/run.js calls runScale(); see bench/README.md for what each row means.
import { execFile } from 'node:child_process';
import { join, dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { compare, median, paired, printTable, columns } from './measure.js';
import { fillCache, scaleUrl } from './cache-fill.js';
import { SCALE_BODY_SIZE } from './payloads.js';

const here = dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);
const fmtN = (n) => n.toLocaleString('en-US');

/**
 * Cache hits on random stored URLs with N entries in a MemoryCache and in a FileCache, each filled
 * through Http (bench/cache-fill.js): the MemoryCache in this process, the FileCaches in a child
 * process running at the same time.
 */
async function hitRows({ lib, base, opts, quick, log, scratch, closers, counts, resetCounts }) {
  const sizes = quick ? [10, 1_000, 10_000] : [10, 10_000, 100_000];
  const largest = sizes.at(-1);
  log(`scale: filling caches with ${sizes.map(fmtN).join(', ')} entries of ${SCALE_BODY_SIZE} bytes (FileCache in a child process)`);
  const dirs = sizes.map((n) => join(scratch, `scale-file-${n}`));
  const child = run(process.execPath, [join(here, 'cache-fill.js'), base, ...sizes.map((n, i) => `${n}:${dirs[i]}`)], {
    maxBuffer: 1 << 20,
  });
  const memories = [];
  for (const n of sizes) {
    const cache = new lib.MemoryCache({ maxEntries: 2 * largest, maxBytes: 2 ** 31 - 1 });
    const t0 = performance.now();
    await fillCache(lib.Http, cache, base, n);
    log(`  MemoryCache ${fmtN(n)}: ${cache.size} entries in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    memories.push(cache);
  }
  const { filled } = JSON.parse((await child).stdout);
  for (const f of filled) log(`  FileCache ${fmtN(f.n)}: ${f.files} files in ${(f.ms / 1000).toFixed(1)} s`);

  const urls = Array.from({ length: largest }, (_, i) => scaleUrl(base, i));
  const agent = new Agent({ keepAliveTimeout: 60_000 });
  closers.unshift(() => agent.close());
  const plain = new lib.Http();
  closers.unshift(() => plain.close());
  const hit = (label, store, n) => {
    const http = new lib.Http(store);
    closers.unshift(() => http.close());
    return {
      name: `${label}, ${fmtN(n)} entries`,
      store: label,
      entries: n,
      fn: async () => {
        const [response, content] = await http.request(urls[Math.floor(Math.random() * n)]);
        if (content.length !== SCALE_BODY_SIZE) throw new Error(`status ${response.status}, ${content.length} bytes`);
        return content;
      },
      before: async () => {
        await resetCounts();
        // Every stored URL read once first, as a program that has been running a while has: the
        // FileCaches were filled by another process, so this one's memo starts empty, and a row of
        // a few thousand hits would otherwise time mostly first reads (the MemoryCaches are warm).
        if (label === 'FileCache') for (let i = 0; i < n; i++) await http.request(urls[i]);
        for (let i = 0; i < 20; i++) await http.request(urls[Math.floor(Math.random() * n)]);
        const reached = (await counts())['/scale'];
        return reached > 0 ? `n/a: ${reached} 'hits' reached the server while warming up` : null;
      },
      beforeBatch: resetCounts,
      verify: async () => {
        const reached = (await counts())['/scale'];
        return reached > 0 ? `n/a: ${reached} 'hits' reached the server during the run` : null;
      },
    };
  };
  const rows = [
    { name: 'undici.request (no cache)', fn: async () => Buffer.from(await (await request(urls[0], { dispatcher: agent })).body.arrayBuffer()) },
    { name: 'Http.request (no cache)', kind: 'uncached', fn: async () => (await plain.request(urls[0]))[1] },
    ...sizes.map((n, i) => hit('MemoryCache', memories[i], n)),
    ...sizes.map((n, i) => hit('FileCache', dirs[i], n)),
  ].map((r) => ({ body: '512 B', concurrency: 1, ...r }));

  log('scale: fresh hits on random stored URLs');
  const results = await compare(rows, { ...opts, concurrency: 1, log });
  const uncached = results.find((r) => r.kind === 'uncached');
  for (const r of results) {
    r.vsUncached = paired(r, uncached).ratio;
    const smallest = results.find((s) => s.store !== undefined && s.store === r.store && s.entries === sizes[0]);
    if (smallest) ({ ratio: r.vsSmallest, cpu: r.cpuVsSmallest } = paired(r, smallest));
  }
  printTable(`Cache hits as the cache grows: ${SCALE_BODY_SIZE}-byte answers (max-age=3600), sequential hits on random stored URLs ` +
    `(ratio = to undici.request; vs GET = to an uncached Http.request; vs ${sizes[0]} = to the same store holding ${sizes[0]} entries)`,
  [columns.client, columns.rps, columns.p50, columns.p99, columns.ratio(),
    { title: 'vs GET', get: (r) => (r.note || !Number.isFinite(r.vsUncached) ? '' : `${r.vsUncached.toFixed(2)}x`) },
    { title: `vs ${sizes[0]}`, get: (r) => (r.note || !Number.isFinite(r.vsSmallest) ? '' : `${r.vsSmallest.toFixed(2)}x`) },
    columns.spread, columns.cpu, columns.cpuRatio, columns.note],
  results);

  const targets = [];
  const largestOf = (store) => results.find((r) => r.store === store && r.entries === largest);
  const memory = largestOf('MemoryCache');
  const file = largestOf('FileCache');
  targets.push({ what: `MemoryCache hit with ${fmtN(largest)} entries >= 0.8x its rate with ${sizes[0]}`, value: memory.vsSmallest, cpu: memory.cpuVsSmallest, goal: 0.8 });
  targets.push({ what: `FileCache hit with ${fmtN(largest)} entries >= 0.5x its rate with ${sizes[0]}`, value: file.vsSmallest, cpu: file.cpuVsSmallest, goal: 0.5 });
  return { results, targets, filled };
}

/**
 * Peak resident memory of `concurrency` downloads of the 1 MiB body at once, each client in a
 * process of its own (bench/peak-rss.js), median of `runs` processes.
 */
async function peakRss({ base, log, runs, concurrency }) {
  const clients = ['undici.request', 'Http.request'];
  const out = [];
  for (const n of concurrency) {
    for (const client of clients) {
      const samples = [];
      for (let i = 0; i < runs; i++) {
        const { stdout } = await run(process.execPath, [join(here, 'peak-rss.js'), client, `${base}/1m`, String(n), '3']);
        const r = JSON.parse(stdout);
        if (r.bodies !== 3 * n) throw new Error(`peak-rss: ${client} received ${r.bodies} of ${3 * n} bodies`);
        samples.push(r.peak - r.base);
        log(`  ${client}, ${n} at once: +${(samples.at(-1) / 2 ** 20).toFixed(0)} MiB`);
      }
      out.push({ client, concurrency: n, growth: median(samples), bodySize: 1 << 20 });
    }
  }
  return out;
}

export async function runScale(context) {
  const { log, quick } = context;
  const hits = await hitRows(context);
  log('scale: peak memory of concurrent 1 MiB downloads (one process per client)');
  const memory = await peakRss({ base: context.base, log, runs: quick ? 1 : 3, concurrency: [100, 200] });
  const mib = (b) => (b / 2 ** 20).toFixed(1);
  const rows = [];
  const targets = [];
  for (const client of new Set(memory.map((m) => m.client))) {
    const [a, b] = [100, 200].map((n) => memory.find((m) => m.client === client && m.concurrency === n));
    const marginal = (b.growth - a.growth) / 100;
    rows.push({ ...a }, { ...b, marginal });
    if (client === 'Http.request') {
      targets.push({
        what: 'Http.request: memory per extra 1 MiB download in flight (100→200 at once) <= 1.25 MiB',
        // A growth that did not rise from 100 to 200 at once (collections between waves) is within the target.
        value: marginal > 0 ? (1.25 * 2 ** 20) / marginal : Number.MAX_VALUE,
        goal: 1,
        detail: `${mib(marginal)} MiB per request (${mib(a.growth / 100)} MiB per request of the peak with 100 at once)`,
      });
    }
  }
  printTable(`Peak memory of 1 MiB downloads at once: 3 waves of N requests, one process per client, median of ${quick ? 1 : 3} ` +
    'processes (growth = peak resident set over the resident set before the waves; per extra request = growth from 100 to 200 at once, over 100)',
  [columns.client, { title: 'at once', get: (r) => String(r.concurrency) },
    { title: 'growth MiB', get: (r) => mib(r.growth) },
    { title: 'per request MiB', get: (r) => mib(r.growth / r.concurrency) },
    { title: 'per extra request MiB', get: (r) => (r.marginal === undefined ? '' : mib(r.marginal)) }],
  rows.map((r) => ({ ...r, name: r.client })));
  return { hits: hits.results, filled: hits.filled, memory, targets: [...hits.targets, ...targets] };
}
