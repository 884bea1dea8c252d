/**
 * keyv + Redis: the store contract against a real redis-server this spec starts on a free loopback
 * port (installed by the pretest provisioning; a missing binary fails here, it is never skipped).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import KeyvRedis from '@keyv/redis';
import { expect } from 'chai';
import Keyv from 'keyv';
import { openCache } from '../../lib/cache/open.js';
import type { CacheStore } from '../../lib/cache/store.js';
import { bytesOf, storeContract } from './contract.js';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    socket.setTimeout(500);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      answer += d.toString();
      if (answer.includes('\r\n')) {
        socket.destroy();
        resolve(answer.startsWith('+PONG'));
      }
    });
    socket.on('error', () => resolve(false));
    socket.on('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** Starts redis-server with no persistence on a free loopback port; resolves once it answers PING. */
async function startRedis(dir: string): Promise<{ port: number; process: ChildProcess }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let failure: Error | null = null;
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.once('error', (e) => (failure = e));
  child.once('exit', (code) => (failure ??= new Error(`redis-server exited with ${code}: ${stderr}`)));
  const deadline = Date.now() + 10_000;
  while (!(await ping(port))) {
    if (failure) throw failure;
    if (Date.now() > deadline) throw new Error('redis-server did not answer PING within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { port, process: child };
}

describe('keyv + Redis (@keyv/redis, a real redis-server)', function () {
  this.timeout(30_000);
  const dir = mkdtempSync(join(tmpdir(), 'h2ts-redis-'));
  let redis: { port: number; process: ChildProcess } | undefined;
  let keyv: Keyv | undefined;
  let store: CacheStore;

  before(async () => {
    redis = await startRedis(dir);
    keyv = new Keyv(new KeyvRedis(`redis://127.0.0.1:${redis.port}`));
    store = openCache(keyv);
  });
  after(async () => {
    await keyv?.disconnect();
    if (redis && redis.process.exitCode === null) {
      const exited = new Promise((resolve) => redis!.process.once('exit', resolve));
      redis.process.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  });

  storeContract(() => store);

  it('shares entries between two clients of one server (a fleet sharing one cache)', async () => {
    const other = new Keyv(new KeyvRedis(`redis://127.0.0.1:${redis!.port}`));
    try {
      const value = Buffer.from([0, 0xff, 0x80, 0x3a]);
      await store.set('http://shared.test/', value);
      expect(bytesOf(await openCache(other).get('http://shared.test/'))).to.deep.equal(value);
    } finally {
      await other.disconnect();
    }
  });
});
