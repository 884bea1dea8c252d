// Runs ONE client against the bench server for a few seconds, so that a CPU profile shows that
// client alone. Meant to be run under the profiler, then summarised:
//
//   npm run build
//   node --cpu-prof --cpu-prof-dir=prof bench/profile.js --client=http --path=/1k --conc=1 --seconds=5
//   node bench/profile-summary.js prof/<file>.cpuprofile
//
// --client: http (Http.request, no cache), undici (undici.request + Agent), agent (Agent#request),
//           decode (decodeBody from dist/transport/decode.js on the gzip body, no network),
//           memory / file (Http with a MemoryCache / FileCache: fresh hits on /cached)
// --path:   /1k, /100k, /1m, /10m, /gzip-32k, /gzip-100k, /gzip-1m, /cached
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { batch, percentile } from './measure.js';

const argv = process.argv.slice(2);
const value = (name, def) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? def;
const client = value('client', 'http');
const path = value('path', client === 'memory' || client === 'file' ? '/cached' : '/1k');
const concurrency = Number(value('conc', '1'));
const seconds = Math.min(Number(value('seconds', '5')), 60);

const here = dirname(fileURLToPath(import.meta.url));
const child = fork(join(here, 'server.js'), [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const port = await new Promise((resolve, reject) => {
  child.once('message', (m) => resolve(m.port));
  child.once('exit', () => reject(new Error('bench server exited early')));
});
const url = `http://127.0.0.1:${port}${path}`;
const target = new URL(url);
const scratch = mkdtempSync(join(tmpdir(), 'httplib2-ts-profile-'));

const { Http, MemoryCache } = await import('../dist/index.js');
const agent = new Agent();
let close = async () => {};
let fn;
switch (client) {
  case 'http':
  case 'memory':
  case 'file': {
    if (client === 'memory' && typeof MemoryCache !== 'function') throw new Error('MemoryCache is not exported yet');
    const cache = client === 'http' ? null : client === 'memory' ? new MemoryCache() : join(scratch, 'cache');
    const http = new Http(cache);
    close = () => http.close();
    fn = async () => (await http.request(url))[1];
    break;
  }
  case 'undici':
    fn = async () => Buffer.from(await (await request(url, { dispatcher: agent })).body.arrayBuffer());
    break;
  case 'agent':
    fn = async () => {
      const { body } = await agent.request({ origin: target.origin, path: target.pathname, method: 'GET' });
      return Buffer.from(await body.arrayBuffer());
    };
    break;
  case 'decode': {
    const { decodeBody } = await import('../dist/transport/decode.js');
    const { body } = await agent.request({ origin: target.origin, path: target.pathname, method: 'GET' });
    const gz = Buffer.from(await body.arrayBuffer());
    fn = async () => decodeBody(gz, ['gzip'], 2 ** 30);
    break;
  }
  default:
    throw new Error(`unknown --client=${client}`);
}

const warm = await batch(fn, { concurrency, durationMs: 500 });
const b = await batch(fn, { concurrency, durationMs: seconds * 1000 });
const sorted = Float64Array.from(b.latencies).sort();
console.log(
  `${client} ${path} c=${concurrency}: ${Math.round((b.count / b.elapsed) * 1000)} req/s, ` +
    `${(b.cpu / b.count).toFixed(0)} CPU µs/req, p50 ${percentile(sorted, 50).toFixed(3)} ms, p99 ${percentile(sorted, 99).toFixed(3)} ms; ` +
    `${warm.count + b.count} requests in all (give --requests=${warm.count + b.count} to profile-summary.js)`,
);

await close();
await agent.close();
rmSync(scratch, { recursive: true, force: true });
child.disconnect();
