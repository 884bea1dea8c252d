// Http's own CPU per request with the network taken out: Http runs over a stub dispatcher that
// answers at once (a ready 1 KiB body), and the same stub is called bare. The difference is what the
// library itself costs per request (orchestration, layers, Response, body collection), the number
// the hot path has to keep small. `node bench/overhead.js` after `npm run build`.
//
// Then the request events (#12): the same uncached request, and a MemoryCache hit, with nobody
// subscribed to the three `httplib2-ts:request:*` channels and with a no-op subscriber on each, the
// two variants alternating in short blocks in one process so that load from other processes falls
// on both alike.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Http, MemoryCache } from '../dist/index.js';
import { median } from './measure.js';

// A full collection before every round of the events rows, outside the timed region, so that a
// round does not pay for the garbage of the one before it.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc');

const BODY = Buffer.alloc(1024, 97);
const RAW_HEADERS = [
  'Date', new Date().toUTCString(), 'Content-Type', 'application/octet-stream',
  'Content-Length', '1024', 'Connection', 'keep-alive',
];
// `/cached` is the same answer, fresh for an hour: after the first request, every one is a hit.
const CACHED_HEADERS = [...RAW_HEADERS, 'Cache-Control', 'max-age=3600'];
let cachedAsked = 0;

class StubBody extends EventEmitter {
  constructor() {
    super();
    setImmediate(() => {
      this.emit('data', BODY);
      this.emit('end');
    });
  }
  destroy() {}
}

const stub = {
  request: async ({ path }) => {
    const cached = path === '/cached';
    if (cached) cachedAsked++;
    return { statusCode: 200, statusText: 'OK', headers: cached ? CACHED_HEADERS : RAW_HEADERS, body: new StubBody(), trailers: {} };
  },
  close: async () => {},
  destroy: async () => {},
  on() { return this; },
  off() { return this; },
  once() { return this; },
};

const bare = async () => {
  const { body } = await stub.request({ origin: 'http://127.0.0.1:9', path: '/1k', method: 'GET' });
  return new Promise((resolve) => {
    const chunks = [];
    body.on('data', (c) => chunks.push(c));
    body.on('end', () => resolve(Buffer.concat(chunks)));
  });
};
const http = new Http(null, { dispatcher: stub });
const viaHttp = async () => (await http.request('http://127.0.0.1:9/1k'))[1];
const cachingHttp = new Http(new MemoryCache(), { dispatcher: stub });
const viaHit = async () => (await cachingHttp.request('http://127.0.0.1:9/cached'))[1];

const cpuNow = () => {
  const c = process.cpuUsage();
  return c.user + c.system;
};
async function cpuPerCall(fn, ms) {
  let n = 0;
  const w0 = performance.now();
  const c0 = cpuNow();
  while (performance.now() - w0 < ms) {
    await fn();
    n++;
  }
  return (cpuNow() - c0) / n;
}

for (const fn of [bare, viaHttp]) await cpuPerCall(fn, 300);
const rows = { bare: [], http: [] };
for (let r = 0; r < 9; r++) {
  rows.bare.push(await cpuPerCall(bare, 100));
  rows.http.push(await cpuPerCall(viaHttp, 100));
}
const b = median(rows.bare);
const h = median(rows.http);
console.log(`stub dispatcher, bare:   ${b.toFixed(2)} µs CPU per request`);
console.log(`stub dispatcher, Http:   ${h.toFixed(2)} µs CPU per request`);
console.log(`Http's own cost:         ${(h - b).toFixed(2)} µs CPU per request (median of 9 interleaved rounds)`);

// Request events: nobody subscribed against a no-op subscriber on each of the three channels. A
// round is BLOCKS pairs of blocks of BLOCK requests, one block of each variant, the subscribers added
// or removed between blocks (outside the timed region) and the variant that opens a pair
// alternating. The round's ratio is the median of its pairs' ratios (subscribed CPU over
// unsubscribed), its CPU per request for a variant the median of its blocks. Medians, because on a
// loaded machine one block in twenty costs five times the others and one in a hundred ten times or
// more (another process took the core and the caches went cold, or a collection's helper threads
// ran then): a sum over blocks is decided by where those few land. The sum is printed too ("all
// CPU": a round's subscribed total over its unsubscribed total).
const CHANNELS = ['httplib2-ts:request:start', 'httplib2-ts:request:end', 'httplib2-ts:request:error'];
const noop = () => {};
const setSubscribed = (on) => {
  for (const name of CHANNELS) (on ? subscribe : unsubscribe)(name, noop);
};
const ROUNDS = 15;
const BLOCKS = 20;
const BLOCK = 25;
const range = (values) => `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`;

/** For `fn` without and with subscribers: µs CPU per request (median block, median over rounds) and the per-round ratios. */
async function eventsRow(fn) {
  for (const on of [false, true]) {
    setSubscribed(on);
    for (let i = 0; i < 500; i++) await fn();
  }
  setSubscribed(false);
  const none = [];
  const subscribed = [];
  const ratios = [];
  const totalRatios = [];
  for (let r = 0; r < ROUNDS; r++) {
    collect();
    const blocks = [[], []];
    const pairs = [];
    for (let k = 0; k < BLOCKS; k++) {
      const first = (k + r) % 2 === 1; // which variant opens the pair alternates
      const pair = [0, 0];
      for (const on of [first, !first]) {
        setSubscribed(on);
        const c0 = cpuNow();
        for (let i = 0; i < BLOCK; i++) await fn();
        pair[on ? 1 : 0] = (cpuNow() - c0) / BLOCK;
        setSubscribed(false);
      }
      blocks[0].push(pair[0]);
      blocks[1].push(pair[1]);
      pairs.push(pair[1] / pair[0]);
    }
    const [a, s] = blocks.map(median);
    none.push(a);
    subscribed.push(s);
    ratios.push(median(pairs));
    const sum = (values) => values.reduce((x, y) => x + y, 0);
    totalRatios.push(sum(blocks[1]) / sum(blocks[0]));
  }
  return { none: median(none), subscribed: median(subscribed), ratio: median(ratios), ratios, totalRatio: median(totalRatios), totalRatios };
}

await viaHit(); // stores the answer
const asked = cachedAsked;
const events = { uncached: await eventsRow(viaHttp), 'MemoryCache hit': await eventsRow(viaHit) };
if (cachedAsked !== asked) throw new Error(`the MemoryCache row asked the dispatcher ${cachedAsked - asked} times: not hits`);

console.log('');
console.log(`request events: µs CPU per request, median of ${ROUNDS} rounds; in each, ${BLOCKS} blocks of ${BLOCK} requests of each variant, alternating`);
console.log('                   no subscriber   no-op subscribers   subscribed/none (per-round range)   all CPU (range)');
for (const [name, e] of Object.entries(events)) {
  console.log(
    `${name.padEnd(19)}${e.none.toFixed(2).padStart(13)}${e.subscribed.toFixed(2).padStart(20)}` +
      `${(e.ratio.toFixed(2) + 'x').padStart(17)} (${range(e.ratios)})` +
      `${(e.totalRatio.toFixed(2) + 'x').padStart(17)} (${range(e.totalRatios)})`,
  );
}
await http.close();
await cachingHttp.close();
