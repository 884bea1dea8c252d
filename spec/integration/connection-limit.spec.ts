import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Http, HttpLib2Error } from '../../lib/index.js';
import { startServer } from '../helpers/server.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BURST = fileURLToPath(new URL('../helpers/burst.ts', import.meta.url));

describe('connections (a limit per origin)', () => {
  it('2,000 requests fired at once under ulimit -n 1024 all answer 200, on at most 32 connections', async function () {
    this.timeout(120_000);
    let inFlight = 0;
    let most = 0;
    const server = await startServer((_req, res) => {
      most = Math.max(most, ++inFlight);
      // Answer on a later turn, so the requests really pile up on the connections.
      setImmediate(() => {
        inFlight--;
        res.end('ok');
      });
    });
    const { stdout } = await run('bash', ['-c', `ulimit -n 1024 && exec "$0" --import tsx "$1" "$2" 2000`, process.execPath, BURST, server.origin], {
      cwd: ROOT,
      maxBuffer: 1 << 20,
    });
    expect(JSON.parse(stdout)).to.deep.equal({ 200: 2000 });
    expect(server.count()).to.equal(2000);
    expect(server.connections()).to.be.at.most(32);
    expect(most).to.be.at.most(32);
  });

  it('takes another limit: requests beyond it wait for a free connection', async () => {
    const server = await startServer((_req, res) => setImmediate(() => res.end('ok')));
    const http = new Http(null, { connections: 4 });
    try {
      const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => http.request(server.url(`/q${i}`))));
      expect(answers.every(([r]) => r.status === 200)).to.equal(true);
      expect(server.connections()).to.equal(4);
    } finally {
      await http.close();
    }
  });

  it('Infinity lifts the limit', async () => {
    let release!: () => void;
    const all = new Promise<void>((resolve) => (release = resolve));
    let arrived = 0;
    const server = await startServer(async (_req, res) => {
      if (++arrived === 40) release();
      await all;
      res.end('ok');
    });
    const http = new Http(null, { connections: Infinity });
    try {
      await Promise.all(Array.from({ length: 40 }, (_, i) => http.request(server.url(`/u${i}`))));
      expect(server.connections()).to.equal(40);
    } finally {
      await http.close();
    }
  });

  for (const bad of [0, -1, 2.5, Number.NaN, '8']) {
    it(`refuses connections: ${typeof bad === 'string' ? JSON.stringify(bad) : String(bad)} when the Http is made`, () => {
      expect(() => new Http(null, { connections: bad as number }))
        .to.throw(HttpLib2Error, /Invalid option connections/)
        .with.property('code', 'ERR_INVALID_REQUEST');
    });
  }
});
