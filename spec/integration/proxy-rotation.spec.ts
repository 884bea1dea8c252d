import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Http, ProxyInfo } from '../../lib/index.js';
import { testCertificates } from '../helpers/certs.js';
import { startProxy } from '../helpers/proxy-server.js';
import { startServer } from '../helpers/server.js';

// A proxyInfo function handing out a new proxy password per request (short-lived proxy tokens):
// each password is another proxy identity with pools of its own, and only a few may stay open.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const openFds = () => readdirSync('/proc/self/fd').length;
const heap = () => {
  gc();
  return process.memoryUsage().heapUsed;
};
const MiB = 1024 * 1024;

describe('proxy credentials that rotate on every request', function () {
  this.timeout(120_000);
  let opened: Http[] = [];
  afterEach(async () => {
    await Promise.all(opened.map((h) => h.close()));
    opened = [];
  });

  async function rotate(target: (i: number) => string, rounds: number, ca?: string) {
    const proxy = await startProxy();
    let token = 0;
    const http = new Http(null, {
      ...(ca ? { ca } : {}),
      proxyInfo: () => new ProxyInfo({ host: proxy.host, port: proxy.port, user: 'svc', password: `token-${++token}` }),
    });
    opened.push(http);
    for (let i = 0; i < 20; i++) await http.request(target(i));
    const fds = openFds();
    const used = heap();
    for (let i = 0; i < rounds; i++) {
      const [response] = await http.request(target(i));
      expect(response.status).to.equal(200);
    }
    return { proxy, fds: openFds() - fds, heap: heap() - used };
  }

  it('1,000 plain requests, each with a new password, leave the open sockets and the heap bounded', async () => {
    const origin = await startServer((_req, res) => res.end('ok'));
    const { proxy, fds, heap: grown } = await rotate((i) => origin.url(`/r${i}`), 1000);
    expect(fds, `${fds} more file descriptors`).to.be.below(100);
    expect(grown, `heap grew by ${(grown / MiB).toFixed(1)} MiB`).to.be.below(20 * MiB);
    // Each request still carried its own credentials, to the proxy.
    const last = proxy.requests.at(-1)?.headers['proxy-authorization'];
    expect(last).to.equal(`Basic ${Buffer.from('svc:token-1020').toString('base64')}`);
  });

  it('so do 200 https requests tunnelled through CONNECT, each with a new password', async () => {
    const certs = await testCertificates();
    const origin = await startServer((_req, res) => res.end('ok'), { key: certs.server.key, cert: certs.server.cert });
    const { proxy, fds } = await rotate((i) => origin.url(`/s${i}`), 200, certs.ca.cert);
    expect(fds, `${fds} more file descriptors`).to.be.below(100);
    expect(proxy.connects()).to.equal(220);
  });
});
