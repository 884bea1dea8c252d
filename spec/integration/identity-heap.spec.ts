/**
 * DESIGN.md, Identity: no memo is keyed by a secret, and the Http's memos are emptied by
 * clearCredentials() and close(): after both and a garbage collection, a heap snapshot of the process
 * holds no byte of the passwords it used (a registered credential, a caller's Basic header).
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { aClock, reply, startRoutedServer } from '../helpers/cache-fixtures.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WORKER = fileURLToPath(new URL('./fixtures/identity-heap-worker.ts', import.meta.url));
const run = promisify(execFile);

const mask = (s: string) => Buffer.from(Buffer.from(s, 'latin1').map((b) => b ^ 0x5a)).toString('hex');
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('identity memos and the heap', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'h2ts-heap-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps no byte of a used password after clearCredentials(), close() and a GC', async () => {
    const registered = `reg-${randomBytes(12).toString('hex')}`;
    const callers = `call-${randomBytes(12).toString('hex')}`;
    const clock = aClock();
    const server = await startRoutedServer();
    const allowed = new Set([basic('alice', registered), basic('bob', callers)]);
    server.route('/private', (req, res) => (allowed.has(req.headers.authorization ?? '')
      ? reply(res, clock, 200, { 'cache-control': 'max-age=60', date: '' }, 'private')
      : reply(res, clock, 401, { 'www-authenticate': 'Basic realm="r"' }, 'who are you?')));
    const snapshot = join(dir, 'after.heapsnapshot');
    const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', WORKER, server.origin, `${mask(registered)},${mask(callers)}`, snapshot], { cwd: ROOT, maxBuffer: 1 << 20 });
    expect(stdout).to.equal('written\n');
    // The requests really happened (the registered credential after a 401, the caller's Basic at once),
    // and the second of each was a hit: both identities were computed and used.
    expect(server.hits('/private').map((r) => r.headers.authorization ?? 'none')).to.deep.equal(['none', basic('alice', registered), basic('bob', callers)]);
    const heap = readFileSync(snapshot);
    for (const secret of [registered, callers, basic('bob', callers).slice('Basic '.length)]) {
      expect(heap.includes(Buffer.from(secret, 'latin1')), `${secret.slice(0, 4)}… in the heap`).to.equal(false);
    }
  });
});
