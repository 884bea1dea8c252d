// Two processes share one cache: a SQLite file opened with openSqliteCache() (keyv + @keyv/sqlite, in
// WAL mode with a busy timeout, so several processes can read and write it at once). Process A
// fetches a feed and stores it; process B, a second node process started by A, opens the same file and
// gets that feed from the cache without contacting the server; B stores another feed, which A then
// finds in the cache in turn. The same works for a fleet of crawlers on one machine.
// Run: npm run build && node examples/shared-cache-sqlite.js
// (needs the optional peer dependency @keyv/sqlite: npm install @keyv/sqlite)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Http, openSqliteCache } from 'httplib2-ts';

/** One process's work: open the shared cache, GET each URL, print what happened. */
async function fetchThrough(name, database, urls) {
  const keyv = await openSqliteCache(database);
  const http = new Http(keyv);
  try {
    for (const url of urls) {
      console.log(`${name}: GET ${new URL(url).pathname}`);
      const [response, content] = await http.request(url);
      console.log(`${name}:   ${response.status} ${response.reason}, fromcache=${response.fromcache}, ${content.length} bytes (${response.cacheStatus.join('; ')})`);
    }
  } finally {
    await http.close();
    await keyv.disconnect();
  }
}

if (process.argv[2] === 'child') {
  // Process B: started by process A below with the database path and the server's address.
  const [database, origin] = process.argv.slice(3);
  console.log(`process B (pid ${process.pid}) opens the same cache file`);
  await fetchThrough('B', database, [`${origin}/feeds/news.atom`, `${origin}/feeds/releases.atom`]);
} else {
  // Process A: starts the local server, fetches, then runs process B and waits for it.
  const { startAtomServer } = await import('./support/atom-server.js');
  const server = await startAtomServer({
    onRequest: (r) => console.log(`   server: ${r.method} ${r.path} → ${r.status}, ${r.bytes} body bytes`),
  });
  const entries = Array.from({ length: 5 }, (_, i) => ({ title: `Item ${i + 1}`, summary: 'Fetched once, shared by every process.' }));
  server.addFeed('/feeds/news.atom', { title: 'News', maxAge: 300, entries });
  server.addFeed('/feeds/releases.atom', { title: 'Releases', maxAge: 300, entries });
  const dir = mkdtempSync(join(tmpdir(), 'httplib2-ts-sqlite-'));
  const database = join(dir, 'cache.sqlite');
  try {
    console.log(`process A (pid ${process.pid}) opens the cache file ${basename(database)}`);
    await fetchThrough('A', database, [`${server.origin}/feeds/news.atom`]);

    // Run B and wait for it without blocking: this process's server must answer B meanwhile. B writes
    // to the same stdout (inherited), so its lines come in order with the server's.
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'child', database, server.origin], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const timer = setTimeout(() => child.kill(), 15_000);
    const exit = await new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code, signal) => resolve(signal ?? code));
    });
    clearTimeout(timer);
    if (exit !== 0) throw new Error(`process B failed (${exit})`);

    console.log(`process A again`);
    await fetchThrough('A', database, [`${server.origin}/feeds/releases.atom`]);
    console.log(`\nThe server saw ${server.stats.requests} requests for 4 fetches by 2 processes: each feed was fetched once.`);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
