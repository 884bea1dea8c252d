// The pieces of a cache hit, timed one by one in-process (no server), so that each can be weighed
// against the whole: `node bench/hit-path.js` after `npm run build`.
//
// It imports internal modules from dist/ (not the public API): a piece whose module or export has
// moved is printed as n/a.
import { mkdtempSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as zlib from 'node:zlib';
import { median } from './measure.js';
import { opaqueBody } from './payloads.js';

const load = async (path) => {
  try {
    return await import(path);
  } catch {
    return {};
  }
};
const lib = await load('../dist/index.js');
const entryModule = await load('../dist/cache/entry.js');
const safenameModule = await load('../dist/cache/safename.js');
const uriModule = await load('../dist/uri.js');

const ROUNDS = 7;
const ROUND_MS = 60;

// Timed in CPU time of this process (process.cpuUsage), not wall time: on a shared machine another
// process taking the core inflates wall time, hardly the CPU time of the work itself.
const cpuNow = () => {
  const c = process.cpuUsage();
  return c.user + c.system; // µs
};

/** ns of CPU per call of each op, median over interleaved rounds. */
function time(ops) {
  const per = new Map(ops.map(([name]) => [name, []]));
  for (const [, fn] of ops) for (let i = 0; i < 200; i++) fn(); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, fn] of ops) {
      let n = 0;
      const w0 = performance.now();
      const c0 = cpuNow();
      while (performance.now() - w0 < ROUND_MS) {
        for (let i = 0; i < 20; i++) fn();
        n += 20;
      }
      per.get(name).push(((cpuNow() - c0) * 1000) / n);
    }
  }
  return ops.map(([name]) => [name, median(per.get(name))]);
}

async function timeAsync(name, fn) {
  for (let i = 0; i < 200; i++) await fn();
  const per = [];
  for (let r = 0; r < ROUNDS; r++) {
    let n = 0;
    const w0 = performance.now();
    const c0 = cpuNow();
    while (performance.now() - w0 < ROUND_MS) {
      await fn();
      n++;
    }
    per.push(((cpuNow() - c0) * 1000) / n);
  }
  return [name, median(per)];
}

const url = 'http://127.0.0.1:8080/cached';
const key = url;
const headers = {
  date: new Date().toUTCString(),
  'content-type': 'application/octet-stream',
  'cache-control': 'max-age=3600',
  etag: '"bench-v1"',
  'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT',
  'content-length': '1024',
  connection: 'keep-alive',
  'content-location': url,
};

const scratch = mkdtempSync(join(tmpdir(), 'httplib2-ts-hitpath-'));
try {
  for (const size of [1024, 100 * 1024]) {
    const body = opaqueBody(size, 5);
    const rows = [];
    const entry = {
      key,
      status: 200,
      reason: 'OK',
      version: 11,
      headers: { ...headers, 'content-length': String(size) },
      vary: {},
      identity: null,
      requestTime: Date.now(),
      responseTime: Date.now(),
      body,
    };
    const stored = entryModule.serialiseEntry ? entryModule.serialiseEntry(entry) : null;
    const ops = [];
    if (stored) {
      const upTo = stored.length - 32;
      ops.push(['parseEntry (whole)', () => entryModule.parseEntry(stored)]);
      ops.push(['  sha256 of the entry (in parseEntry)', () => createHash('sha256').update(stored.subarray(0, upTo)).digest()]);
      ops.push(['  zlib.crc32 of the entry (an alternative)', () => zlib.crc32(stored.subarray(0, upTo))]);
      ops.push(['  copy of the body (in parseEntry)', () => Buffer.from(body)]);
      ops.push(['  JSON.parse of the head', () => JSON.parse(stored.subarray(9, stored.readUInt32BE(5) + 9).toString('utf8'))]);
    }
    if (safenameModule.safename) ops.push(['safename(key) (FileCache path, per get)', () => safenameModule.safename(key)]);
    if (lib.Response) ops.push(['new Response(entry headers)', () => new lib.Response({ status: 200, reason: 'OK', headers: entry.headers, fromcache: true })]);
    if (uriModule.parseRequestUri) ops.push(['parseRequestUri (twice per request today)', () => uriModule.parseRequestUri(url)]);
    rows.push(...time(ops));

    if (stored && lib.MemoryCache) {
      const m = new lib.MemoryCache();
      await m.set(key, stored);
      rows.push(await timeAsync('MemoryCache.get (copies the value)', () => m.get(key)));
    }
    if (stored && lib.FileCache) {
      const f = new lib.FileCache(join(scratch, `fc-${size}`));
      await f.set(key, stored);
      rows.push(await timeAsync('FileCache.get (sync open/fstat/read/close + crc32)', () => f.get(key)));
    }
    const width = Math.max(...rows.map(([n]) => n.length));
    console.log(`\nentry with a ${size / 1024} KiB body${stored ? ` (${stored.length} bytes stored)` : ''}` + ': µs of CPU per call');
    for (const [name, ns] of rows) console.log(`  ${name.padEnd(width)}  ${Number.isFinite(ns) ? (ns / 1000).toFixed(2).padStart(8) : '     n/a'}`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
