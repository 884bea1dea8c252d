import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Http, ProxyInfo } from '../../lib/index.js';
import { startProxy } from '../helpers/proxy-server.js';
import { startServer } from '../helpers/server.js';

// A request issued as soon as the previous one resolved must find the idle keep-alive connection
// (RFC 9112 §9.3), not dial another: a server that serves one connection at a time (Python's
// http.server, embedded devices) would hold the second one until the client dropped the first.
const SCRIPT = fileURLToPath(new URL('../helpers/one-connection-server.py', import.meta.url));

async function startPython(): Promise<{ origin: string; child: ChildProcess }> {
  const child = spawn('python3', [SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { origin: `http://127.0.0.1:${Number(line.toString().trim())}`, child };
}

describe('connection reuse', () => {
  describe('against a server that serves one connection at a time (Python http.server)', function () {
    // Without reuse each new connection waits for the idle one to time out (undici: 4 s): let the
    // assertion, not the spec timeout, say so.
    this.timeout(90_000);
    let python: { origin: string; child: ChildProcess };
    let http: Http;

    beforeEach(async () => {
      python = await startPython();
      http = new Http();
    });
    afterEach(async () => {
      await http.close();
      python.child.kill();
      await once(python.child, 'exit');
    });

    it('sends ten sequential GETs on one connection', async () => {
      for (let i = 0; i < 10; i++) {
        const [response, content] = await http.request(`${python.origin}/page/${i}`);
        expect(response.status).to.equal(200);
        expect(content.toString()).to.equal(`page /page/${i}`);
      }
      const [, count] = await http.request(`${python.origin}/count`);
      expect(count.toString()).to.equal('1');
    });

    it('sends ten redirects, each to a 401 answered with Basic, on one connection', async () => {
      http.addCredentials('joe', 'secret');
      for (let i = 0; i < 10; i++) {
        // Each hop goes to its own protection space (/private-i/), so each costs a 401 round trip.
        const [response, content] = await http.request(`${python.origin}/hop/${i}`);
        expect(response.status).to.equal(200);
        expect(content.toString()).to.equal('secret page');
        expect(response.previous?.status).to.equal(302);
      }
      const [, count] = await http.request(`${python.origin}/count`);
      expect(count.toString()).to.equal('1');
    });
  });

  it('forwards ten sequential plain-http requests through a proxy on one connection to it', async () => {
    const origin = await startServer((req, res) => res.end(`page ${req.url}`));
    const proxy = await startProxy();
    const http = new Http(null, { proxyInfo: new ProxyInfo({ host: proxy.host, port: proxy.port }) });
    try {
      for (let i = 0; i < 10; i++) {
        const [response, content] = await http.request(origin.url(`/p${i}`));
        expect(response.status).to.equal(200);
        expect(content.toString()).to.equal(`page /p${i}`);
      }
      expect(proxy.forwards()).to.equal(10);
      expect(proxy.connections()).to.equal(1);
    } finally {
      await http.close();
    }
  });

  it('opens as many connections as requests in flight need', async () => {
    let inFlight = 0;
    let release: () => void = () => undefined;
    const allIn = new Promise<void>((resolve) => (release = resolve));
    const server = await startServer(async (_req, res) => {
      // Every answer waits until all eight requests have arrived: they must be on eight connections.
      if (++inFlight === 8) release();
      await allIn;
      res.end('ok');
    });
    const http = new Http();
    try {
      const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => http.request(server.url(`/c${i}`))));
      expect(answers.map(([r]) => r.status)).to.deep.equal(Array(8).fill(200));
      expect(server.connections()).to.equal(8);
    } finally {
      await http.close();
    }
  });
});
