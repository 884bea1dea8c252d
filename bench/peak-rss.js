// Peak memory of N concurrent downloads of one large body, for one client, in a process of its own
// (bench/run.js forks it once per client) so that the peak belongs to that client alone:
//
//   node bench/peak-rss.js <client> <url> <concurrency> <waves>
//
// After a warm-up request and a full collection, runs <waves> waves of <concurrency> requests at once
// (each wave waits for all its bodies), then prints one JSON line: { base, peak } in bytes, where
// base is the resident set before the waves and peak the process's maximum resident set
// (getrusage), and { bodies } the number of bodies received whole.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Agent, request } from 'undici';

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc');

const [client, url, concurrency, waves] = process.argv.slice(2);
const n = Number(concurrency);

async function clientFor(name) {
  if (name === 'undici.request') {
    const agent = new Agent({ keepAliveTimeout: 60_000 });
    return async () => Buffer.from(await (await request(url, { dispatcher: agent })).body.arrayBuffer());
  }
  const { Http } = await import('../dist/index.js');
  // connections=N: all N requests in flight at once (the default, 32, would queue the rest).
  const http = name === 'Http.request (connections: 32, the default)' ? new Http() : new Http(null, { connections: n });
  return async () => (await http.request(url))[1];
}

const get = await clientFor(client);
const first = await get();
collect();
const base = process.memoryUsage().rss;
// One wave: n requests at once; the bodies are dropped as soon as they are counted (a wave's
// bodies must not stay reachable while the next wave runs).
const wave = async () => (await Promise.all(Array.from({ length: n }, get))).filter((b) => b.length === first.length).length;
let bodies = 0;
for (let w = 0; w < Number(waves); w++) bodies += await wave();
const peak = process.resourceUsage().maxRSS * 1024;
process.stdout.write(`${JSON.stringify({ client, base, peak, bodies, bodySize: first.length })}\n`);
process.exit(0);
