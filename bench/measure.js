// Timing harness: fixed-duration batches, interleaved rounds, percentiles, and the table printer.
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// A young-generation collection between batches (outside the timed region), so that one row's
// short-lived garbage is not collected on the next row's time. Not a full one: measured, a full
// collection made the batch after it pay for sweeping and regrowing the heap (raw undici.request cost
// ~550 µs of CPU per request beside 110,000 cached entries after one, ~105 µs after a young one, and
// 274 against 114 µs in the uncached table), so every row read slower and noisier than a program
// running steadily would see it.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
const collect = () => gc({ type: 'minor' });

/**
 * Runs `fn` with `concurrency` loops until `durationMs` has passed (requests in flight at the
 * deadline are finished and counted). Returns the count, the elapsed time, every latency (ms) and the
 * CPU time this process spent (µs, all threads: the main thread, zlib and fs work in the pool).
 */
export async function batch(fn, { concurrency, durationMs }) {
  const latencies = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + durationMs;
  async function loop() {
    while (performance.now() < deadline) {
      const s = performance.now();
      await fn();
      latencies.push(performance.now() - s);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { count: latencies.length, elapsed, cpu: cpu.user + cpu.system, latencies };
}

export function median(values) {
  if (values.length === 0) return NaN;
  const v = [...values].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/**
 * Measures several rows against each other: every row is warmed up, then `rounds` rounds run one
 * batch of each row, the order rotating each round so that drift on a shared machine falls on every
 * row alike. A row whose `before()` returns a string is skipped with that note. `verify(row)` runs
 * after each of that row's batches, outside the timed region, and may return a note (e.g. a cache
 * "hit" that reached the server); a row with a note from `verify` is reported as n/a.
 *
 * Each result: { ...row, rps, p50, p99, ratio, spread: [min, max] of per-round ratios, cpuPerReq (µs),
 * cpuRatio, note }. `cpuRatio` is the median over rounds of the baseline's CPU per request over the
 * row's (1.0 = as cheap as the baseline, 0.5 = twice the CPU): it measures the client's own work and
 * is far less sensitive than req/s to other processes competing for the cores.
 * `rps` is aggregated over all of the row's batches. `ratio` is the median over the rounds of the
 * row's req/s over the baseline row's req/s in the same round (the baseline is the first row unless
 * `baseline` is given): on a shared machine a burst of outside load hits a batch or two, and the
 * median of paired ratios shrugs that off where a ratio of totals would not.
 */
export async function compare(rows, { concurrency, durationMs, warmupMs, rounds, baseline = 0, log = () => {} }) {
  const state = rows.map(() => ({ count: 0, elapsed: 0, cpu: 0, latencies: [], perRound: [], cpuPerRound: [], note: null }));
  for (const [i, row] of rows.entries()) {
    try {
      const skip = row.before ? await row.before() : null;
      if (skip) {
        state[i].note = skip;
        continue;
      }
      await batch(row.fn, { concurrency: row.concurrency ?? concurrency, durationMs: warmupMs });
    } catch (error) {
      state[i].note = `error: ${error?.message ?? error}`;
    }
  }
  for (let r = 0; r < rounds; r++) {
    const order = rows.map((_, i) => (i + r) % rows.length);
    for (const i of order) {
      const row = rows[i];
      const s = state[i];
      if (s.note) {
        s.perRound.push(NaN);
        s.cpuPerRound.push(NaN);
        continue;
      }
      try {
        if (row.beforeBatch) await row.beforeBatch();
        collect();
        const b = await batch(row.fn, { concurrency: row.concurrency ?? concurrency, durationMs });
        const note = row.verify ? await row.verify(b) : null;
        if (note) s.note = note;
        s.count += b.count;
        s.elapsed += b.elapsed;
        s.cpu += b.cpu;
        for (const l of b.latencies) s.latencies.push(l);
        s.perRound.push((b.count / b.elapsed) * 1000);
        s.cpuPerRound.push(b.cpu / b.count);
      } catch (error) {
        s.note = `error: ${error?.message ?? error}`;
        s.perRound.push(NaN);
        s.cpuPerRound.push(NaN);
      }
    }
    log(`  round ${r + 1}/${rounds}`);
  }
  const base = state[baseline];
  return rows.map((row, i) => {
    const s = state[i];
    if (s.note) return { ...row, rps: NaN, p50: NaN, p99: NaN, ratio: NaN, spread: [NaN, NaN], cpuPerReq: NaN, cpuRatio: NaN, note: s.note };
    const sorted = Float64Array.from(s.latencies).sort();
    const rps = (s.count / s.elapsed) * 1000;
    const perRatio = s.perRound.map((v, r) => v / base.perRound[r]).filter(Number.isFinite);
    const cpuRatios = s.cpuPerRound.map((v, r) => base.cpuPerRound[r] / v).filter(Number.isFinite);
    return {
      ...row,
      rps,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      ratio: median(perRatio),
      spread: perRatio.length ? [Math.min(...perRatio), Math.max(...perRatio)] : [NaN, NaN],
      cpuPerReq: s.cpu / s.count,
      cpuRatio: median(cpuRatios),
      perRound: s.perRound,
      cpuPerRound: s.cpuPerRound,
      note: null,
    };
  });
}

/**
 * `a` against `b`, two results of the same compare(): the median over rounds of a's req/s over b's,
 * and of b's CPU per request over a's (so both read "how many times better a is").
 */
export function paired(a, b) {
  if (!a?.perRound || !b?.perRound) return { ratio: NaN, cpu: NaN };
  const ratios = a.perRound.map((v, r) => v / b.perRound[r]).filter(Number.isFinite);
  const cpus = a.cpuPerRound.map((v, r) => b.cpuPerRound[r] / v).filter(Number.isFinite);
  return { ratio: median(ratios), cpu: median(cpus) };
}

const fmt = {
  int: (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-'),
  ms: (v) => (Number.isFinite(v) ? (v < 1 ? v.toFixed(3) : v < 10 ? v.toFixed(2) : v.toFixed(1)) : '-'),
  x: (v) => (Number.isFinite(v) ? `${v.toFixed(2)}x` : '-'),
  range: ([a, b]) => (Number.isFinite(a) ? `${a.toFixed(2)}-${b.toFixed(2)}` : '-'),
  mbs: (v) => (Number.isFinite(v) ? v.toFixed(0) : '-'),
};

/** Prints rows as an aligned text table. `columns`: [{ title, get(row) → string, left? }]. */
export function printTable(title, columns, results) {
  const cells = results.map((r) => columns.map((c) => c.get(r)));
  const widths = columns.map((c, j) => Math.max(c.title.length, ...cells.map((row) => row[j].length)));
  const line = (vals) =>
    vals.map((v, j) => (columns[j].left ? v.padEnd(widths[j]) : v.padStart(widths[j]))).join('  ').trimEnd();
  console.log(`\n${title}`);
  console.log(line(columns.map((c) => c.title)));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of cells) console.log(line(row));
}

export const columns = {
  client: { title: 'client', get: (r) => r.name, left: true },
  body: { title: 'body', get: (r) => r.body ?? '', left: true },
  conc: { title: 'conc', get: (r) => String(r.concurrency ?? '') },
  rps: { title: 'req/s', get: (r) => (r.note ? '' : fmt.int(r.rps)) },
  p50: { title: 'p50 ms', get: (r) => (r.note ? '' : fmt.ms(r.p50)) },
  p99: { title: 'p99 ms', get: (r) => (r.note ? '' : fmt.ms(r.p99)) },
  ratio: (title = 'ratio') => ({ title, get: (r) => (r.note ? '' : fmt.x(r.ratio)) }),
  cpu: { title: 'CPU µs/req', get: (r) => (r.note ? '' : Number.isFinite(r.cpuPerReq) ? r.cpuPerReq.toFixed(0) : '-') },
  cpuRatio: { title: 'CPU ratio', get: (r) => (r.note ? '' : fmt.x(r.cpuRatio)) },
  spread: { title: 'per-round', get: (r) => (r.note ? '' : fmt.range(r.spread)) },
  mbs: { title: 'MB/s', get: (r) => (r.note ? '' : fmt.mbs((r.rps * r.bytes) / 1e6)) },
  note: { title: 'note', get: (r) => r.note ?? r.comment ?? '', left: true },
};

export { fmt };
