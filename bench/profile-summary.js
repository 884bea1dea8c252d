// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function, and the inclusive time
// of this package's own functions (dist/), so the hot path can be read without a GUI.
//
//   node bench/profile-summary.js FILE.cpuprofile [--top=25] [--requests=N]
//
// With --requests (the count bench/profile.js prints), times are also shown in µs per request.
import { readFileSync } from 'node:fs';

const file = process.argv[2];
if (!file) {
  console.error('usage: node bench/profile-summary.js FILE.cpuprofile [--top=25]');
  process.exit(1);
}
const top = Number(process.argv.find((a) => a.startsWith('--top='))?.slice(6) ?? 25);
const requests = Number(process.argv.find((a) => a.startsWith('--requests='))?.slice(11) ?? NaN);
const profile = JSON.parse(readFileSync(file, 'utf8'));

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Sample time: timeDeltas[i] is the time before samples[i].
const self = new Map();
let total = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  self.set(id, (self.get(id) ?? 0) + dt);
  total += dt;
});

function label(n) {
  const cf = n.callFrame;
  const name = cf.functionName || '(anonymous)';
  if (!cf.url) return name;
  const url = cf.url.replace(/^file:\/\//, '');
  const short = url.includes('/node_modules/')
    ? url.slice(url.lastIndexOf('/node_modules/') + 14)
    : url.includes('/dist/')
      ? `dist/${url.slice(url.lastIndexOf('/dist/') + 6)}`
      : url.includes('/bench/')
        ? `bench/${url.slice(url.lastIndexOf('/bench/') + 7)}`
        : url.replace(/^node:/, 'node:');
  return `${name}  ${short}:${cf.lineNumber + 1}`;
}

const selfByLabel = new Map();
for (const [id, t] of self) {
  const l = label(byId.get(id));
  selfByLabel.set(l, (selfByLabel.get(l) ?? 0) + t);
}

// Inclusive time: each sample is charged once to every distinct function on its stack.
const inclusive = new Map();
const groups = new Map(); // bucket of the innermost interesting frame: dist / undici / node / gc / other
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur));
    if (!seen.has(l)) {
      seen.add(l);
      inclusive.set(l, (inclusive.get(l) ?? 0) + dt);
    }
  }
  const leaf = byId.get(id).callFrame;
  const url = leaf.url ?? '';
  const g = leaf.functionName === '(garbage collector)' ? 'GC'
    : leaf.functionName === '(idle)' ? 'idle'
    : leaf.functionName === '(program)' ? 'program (native, unattributed)'
    : url.includes('/dist/') ? 'httplib2-ts (dist/)'
    : url.includes('/node_modules/undici/') ? 'undici'
    : url.includes('/node_modules/') ? 'other packages'
    : url.includes('/bench/') ? 'bench harness'
    : url.startsWith('node:') ? 'node core (JS)'
    : 'native / builtins';
  groups.set(g, (groups.get(g) ?? 0) + dt);
});

const ms = (us) => (us / 1000).toFixed(1).padStart(8);
const pct = (us) =>
  `${((us / total) * 100).toFixed(1)}%`.padStart(6) + (Number.isFinite(requests) ? `${(us / requests).toFixed(2).padStart(8)} µs/req` : '');
const busy = total - (groups.get('idle') ?? 0);

console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled, ${(busy / 1000).toFixed(0)} ms busy`);
console.log('\nby where the CPU was (innermost frame)');
for (const [g, t] of [...groups].sort((a, b) => b[1] - a[1])) console.log(`${ms(t)} ms ${pct(t)}  ${g}`);

console.log(`\ntop ${top} by self time`);
for (const [l, t] of [...selfByLabel].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(t)} ms ${pct(t)}  ${l}`);

console.log(`\nhttplib2-ts functions by inclusive time`);
for (const [l, t] of [...inclusive].filter(([l]) => l.includes('dist/')).sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${ms(t)} ms ${pct(t)}  ${l}`);
}
