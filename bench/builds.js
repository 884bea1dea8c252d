// Two builds of the library timed against each other in one process, for a change's "before and
// after": the CPU each spends per request, the builds alternating round by round (their order
// swapped every other round), so that the machine's drift falls on both alike. On a shared machine the
// req/s rows of `npm run bench` move 20-40% between two runs of the same code; the CPU of the
// client's own work, measured alternately in one process, moves a few per cent.
//
//   git worktree add ../before <rev> && npm --prefix ../before ci && npm --prefix ../before run build
//   npm run build
//   node bench/builds.js ../before/dist [dist] [--rounds=9] [--requests=3000]
//
// Rows: an uncached 1 KiB GET (Http, no cache), a fresh hit on a MemoryCache and on a FileCache
// (Http + store, `/cached`), each build's own; raw `undici.request` of the same 1 KiB is timed beside
// them as a reference. The server is bench/server.js in a process of its own, so its CPU is not
// counted. Prints one table: the median CPU µs per request of each build, after/before, and the
// smallest and largest per-round ratio.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Agent, request } from 'undici';
import { median } from './measure.js';

const argv = process.argv.slice(2);
const flag = (name, def) => Number(argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? def);
const [beforeDir, afterDir = 'dist'] = argv.filter((a) => !a.startsWith('--'));
if (beforeDir === undefined) {
  process.stderr.write('usage: node bench/builds.js <before-dist-dir> [<after-dist-dir>] [--rounds=9] [--requests=3000]\n');
  process.exit(2);
}
const rounds = flag('rounds', 9);
const requests = flag('requests', 3000);

const here = dirname(fileURLToPath(import.meta.url));
const child = fork(join(here, 'server.js'), [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const port = await new Promise((done, fail) => {
  child.once('message', (m) => done(m.port));
  child.once('exit', () => fail(new Error('bench server exited early')));
});
const base = `http://127.0.0.1:${port}`;
const scratch = mkdtempSync(join(tmpdir(), 'httplib2-ts-builds-'));

// Each build's three clients, warmed up; the caches hold /cached before any round.
async function clientsOf(name, dir) {
  const lib = await import(pathToFileURL(join(resolve(dir), 'index.js')).href);
  const none = new lib.Http();
  const memory = new lib.Http(new lib.MemoryCache());
  const file = new lib.Http(join(scratch, name));
  for (const h of [memory, file]) {
    const [response] = await h.request(`${base}/cached`);
    if (response.status !== 200) throw new Error(`${name}: /cached answered ${response.status}`);
  }
  return { name, all: [none, memory, file], rows: {
    'uncached GET 1 KiB': () => none.request(`${base}/1k`),
    'MemoryCache hit': () => memory.request(`${base}/cached`),
    'FileCache hit': () => file.request(`${base}/cached`),
  } };
}

// CPU µs per call of `fn` over `n` sequential calls (every thread of this process).
async function cpuPer(fn, n) {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) await fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

const agent = new Agent();
const builds = [await clientsOf('before', beforeDir), await clientsOf('after', afterDir)];
const rowNames = Object.keys(builds[0].rows);
const cpu = {}; // row → build name → per-round µs
const undiciCpu = [];
try {
  for (const b of builds) for (const row of rowNames) await cpuPer(b.rows[row], requests);
  for (let r = 0; r < rounds; r++) {
    process.stderr.write(`  round ${r + 1}/${rounds}\n`);
    undiciCpu.push(await cpuPer(async () => (await request(`${base}/1k`, { dispatcher: agent })).body.arrayBuffer(), requests));
    for (const b of r % 2 === 0 ? builds : [...builds].reverse()) {
      for (const row of rowNames) {
        // Hits are cheap: more of them per round, so that each lasts about as long as the GETs'.
        const n = row === 'uncached GET 1 KiB' ? requests : requests * 10;
        ((cpu[row] ??= {})[b.name] ??= []).push(await cpuPer(b.rows[row], n));
      }
    }
  }
} finally {
  for (const b of builds) for (const h of b.all) await h.close();
  await agent.close();
  child.kill();
  rmSync(scratch, { recursive: true, force: true });
}

const fmt = (n) => n.toFixed(n < 100 ? 2 : 1);
console.log(`\nCPU µs per request, before = ${beforeDir}, after = ${afterDir}; ${rounds} rounds, builds alternating (median; per-round after/before min-max)`);
console.log(`${'row'.padEnd(22)}${'before'.padStart(10)}${'after'.padStart(10)}${'after/before'.padStart(14)}  per-round`);
for (const row of rowNames) {
  const { before, after } = cpu[row];
  const ratios = after.map((a, i) => a / before[i]);
  const line = `${row.padEnd(22)}${fmt(median(before)).padStart(10)}${fmt(median(after)).padStart(10)}${median(ratios).toFixed(3).padStart(14)}`;
  console.log(`${line}  ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}`);
}
console.log(`${'undici.request 1 KiB'.padEnd(22)}${fmt(median(undiciCpu)).padStart(10)}  (reference, measured in the same rounds)`);
