// The scale section of the bench (`--only=scale`): does a cache hit stay as cheap when the cache
// holds 100,000 entries as when it holds 10, and how much memory do 100 downloads of 1 MiB at once
// take. bench/run.js calls runScale(); see bench/README.md for what each row means.
import { execFile } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { median, paired, printTable, columns } from './measure.js';
import { SCALE_BODY_SIZE } from './payloads.js';

const here = dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);
const fmtN = (n) => n.toLocaleString('en-US');

/**
 * Cache hits on random stored URLs with N entries in a MemoryCache and in a FileCache, each filled
 * through Http (bench/cache-fill.js; the FileCaches in a child process). The rows of each store run
 * in a process of their own (bench/scale-hits.js) with the two baselines measured beside them there.
 */
async function hitRows({ base, opts, quick, log, scratch }) {
  const sizes = quick ? [10, 1_000, 10_000] : [10, 10_000, 100_000];
  const largest = sizes.at(-1);
  log(`scale: filling FileCaches with ${sizes.map(fmtN).join(', ')} entries of ${SCALE_BODY_SIZE} bytes (in a child process)`);
  const dirs = sizes.map((n) => join(scratch, `scale-file-${n}`));
  const fill = await run(process.execPath, [join(here, 'cache-fill.js'), base, ...sizes.map((n, i) => `${n}:${dirs[i]}`)], { maxBuffer: 1 << 20 });
  const { filled } = JSON.parse(fill.stdout);
  for (const f of filled) log(`  FileCache ${fmtN(f.n)}: ${f.files} files in ${(f.ms / 1000).toFixed(1)} s`);
  const measured = [];
  for (const [store, jobs] of [['memory', sizes.map(String)], ['file', sizes.map((n, i) => `${n}:${dirs[i]}`)]]) {
    log(`scale: fresh hits on random stored URLs, ${store === 'memory' ? 'MemoryCache' : 'FileCache'} (a process of its own)`);
    const child = run(process.execPath, [join(here, 'scale-hits.js'), base, store, JSON.stringify(opts), ...jobs], { maxBuffer: 64 << 20 });
    child.child.stderr.on('data', (chunk) => process.stderr.write(chunk));
    measured.push(JSON.parse((await child).stdout).results);
  }
  const results = [];
  for (const group of measured) {
    const uncached = group.find((r) => r.kind === 'uncached');
    for (const r of group) {
      r.vsUncached = paired(r, uncached).ratio;
      const smallest = group.find((s) => s.store !== undefined && s.store === r.store && s.entries === sizes[0]);
      if (smallest) ({ ratio: r.vsSmallest, cpu: r.cpuVsSmallest } = paired(r, smallest));
      results.push({ ...r, name: r.store === undefined ? `${r.name}, beside ${group.find((g) => g.store)?.store}` : r.name });
    }
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
