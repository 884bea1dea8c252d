// Http's own CPU per request with the network taken out: Http runs over a stub dispatcher that
// answers at once (a ready 1 KiB body), and the same stub is called bare. The difference is what the
// library itself costs per request (orchestration, layers, Response, body collection), the number
// the hot path has to keep small. `node bench/overhead.js` after `npm run build`.
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Http } from '../dist/index.js';
import { median } from './measure.js';

const BODY = Buffer.alloc(1024, 97);
const RAW_HEADERS = [
  'Date', new Date().toUTCString(), 'Content-Type', 'application/octet-stream',
  'Content-Length', '1024', 'Connection', 'keep-alive',
];

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
  request: async () => ({ statusCode: 200, statusText: 'OK', headers: RAW_HEADERS, body: new StubBody(), trailers: {} }),
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
await http.close();
