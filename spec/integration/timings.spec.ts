import { expect } from 'chai';
import { Http, MemoryCache, type Response, type Timings } from '../../lib/index.js';
import { testCertificates, type TestCertificates } from '../helpers/certs.js';
import { startH2Server } from '../helpers/h2-server.js';
import { startServer } from '../helpers/server.js';

// response.timings: the phases of the exchange that gave each response, and the call's total. No
// duration is asserted (the machine is shared): which phases are known, that none is negative, and
// that they fit in the total.
const PHASES = ['queued', 'dns', 'connect', 'tls', 'requestSent', 'firstByte', 'bodyDone'] as const;

/** The phases that are known, in order. */
function known(t: Timings): string[] {
  return PHASES.filter((p) => t[p] !== null);
}

/** Every field present; the known phases non-negative and within the total, which is non-negative. */
function wellFormed(response: Response): Timings {
  const t = response.timings;
  expect(Object.keys(t).sort()).to.deep.equal([...PHASES, 'total'].sort());
  for (const p of PHASES) if (t[p] !== null) expect(t[p], p).to.be.a('number').and.at.least(0);
  expect(t.total).to.be.a('number').and.at.least(0);
  const sum = PHASES.reduce((s, p) => s + (t[p] ?? 0), 0);
  // Each phase is rounded to the microsecond.
  expect(sum).to.be.at.most(t.total + 0.01);
  return t;
}

describe('response.timings', () => {
  let certs: TestCertificates;
  const opened: Http[] = [];
  const client = (cache: MemoryCache | null = null, options: object = {}) => {
    const h = new Http(cache, { ca: certs.ca.cert, ...options });
    opened.push(h);
    return h;
  };

  before(async () => {
    certs = await testCertificates();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((h) => h.close()));
  });

  it('has every phase of a new http connection, then none of the connection phases on the reused one', async () => {
    const server = await startServer((_req, res) => res.end('hi'));
    const http = client();
    const [first] = await http.request(server.url('/a'));
    // 127.0.0.1: no name looked up; plain http: no TLS.
    expect(known(wellFormed(first))).to.deep.equal(['queued', 'connect', 'requestSent', 'firstByte', 'bodyDone']);
    const [second] = await http.request(server.url('/b'));
    expect(known(wellFormed(second))).to.deep.equal(['queued', 'requestSent', 'firstByte', 'bodyDone']);
    expect(second.timings.connect).to.equal(null);
    expect(server.connections()).to.equal(1);
  });

  it('has the name lookup and the TLS handshake of a new https connection', async () => {
    const server = await startServer((_req, res) => res.end('hi'), certs.server);
    const http = client();
    const [response] = await http.request(`https://localhost:${server.port}/`);
    expect(known(wellFormed(response))).to.deep.equal(['queued', 'dns', 'connect', 'tls', 'requestSent', 'firstByte', 'bodyDone']);
  });

  it('gives a cache hit its total only', async () => {
    const server = await startServer((_req, res) => {
      res.setHeader('cache-control', 'max-age=300');
      res.end('cached');
    });
    const http = client(new MemoryCache());
    const [miss] = await http.request(server.url('/c'));
    const [hit] = await http.request(server.url('/c'));
    expect(miss.fromcache).to.equal(false);
    expect(known(wellFormed(miss))).to.include.members(['queued', 'requestSent', 'firstByte', 'bodyDone']);
    expect(hit.fromcache).to.equal(true);
    expect(known(wellFormed(hit))).to.deep.equal([]);
    expect(server.count()).to.equal(1);
  });

  it('times each hop of a redirect, the later totals covering the earlier', async () => {
    const server = await startServer((req, res) => {
      if (req.url === '/from') res.writeHead(302, { location: '/to' }).end();
      else res.end('there');
    });
    const http = client();
    const [response] = await http.request(server.url('/from'));
    const hop = response.previous!;
    expect(hop.status).to.equal(302);
    expect(known(wellFormed(hop))).to.include.members(['queued', 'requestSent', 'firstByte', 'bodyDone']);
    expect(known(wellFormed(response))).to.include.members(['queued', 'requestSent', 'firstByte', 'bodyDone']);
    // The second hop went on the first one's connection.
    expect(response.timings.connect).to.equal(null);
    expect(response.timings.total).to.be.at.least(hop.timings.total);
  });

  it('shows one connection made for a burst over HTTP/2, and the others waiting for it', async () => {
    const server = await startH2Server((_req, res) => res.end('two'), certs.server);
    const http = client(null, { http2: true });
    const answers = await Promise.all(Array.from({ length: 10 }, () => http.request(server.url('/'))));
    const timings = answers.map(([r]) => wellFormed(r));
    expect(answers.every(([r]) => r.version === 20)).to.equal(true);
    expect(timings.filter((t) => t.connect !== null)).to.have.length(1);
    expect(timings.filter((t) => t.tls !== null)).to.have.length(1);
    expect(timings.every((t) => t.requestSent !== null && t.firstByte !== null && t.bodyDone !== null)).to.equal(true);
    expect(server.sessions()).to.equal(1);
  });
});
