/**
 * Credentials are bound to the scheme they were meant for (#18): after a hop from https down to
 * http, nothing credential-like (a registered credential's answer, the caller's Authorization,
 * Cookie or X-WSSE) is sent on that hop or any later one, whatever the form of the credential's
 * domain; an origin-form domain (`https://host:port`) binds a credential to that origin. Against
 * loopback servers: an https server redirecting to an http one on another port, and one port that
 * speaks both (a front that sniffs the first byte: 0x16 opens a TLS handshake).
 */
import { expect } from 'chai';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Http, HttpLib2Error } from '../../lib/index.js';
import { testCertificates, type TestCertificates } from '../helpers/certs.js';
import { startServer, track, type TestServer } from '../helpers/server.js';

const GOOD = `Basic ${Buffer.from('joe:secret').toString('base64')}`;

// Every path answers 401 with a Basic challenge unless the right credentials come; `/go?to=URL`
// redirects first (no credentials needed there).
function route(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const to = url.searchParams.get('to');
  if (url.pathname === '/go' && to) {
    res.writeHead(302, { location: to });
    return void res.end();
  }
  if (req.headers.authorization !== GOOD) {
    res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' });
    return void res.end('denied');
  }
  res.end(`ok ${url.pathname}`);
}

/** One port, two protocols: a TLS ClientHello goes to `secure`, anything else to `plain`. */
async function startBothOnOnePort(secure: TestServer, plain: TestServer): Promise<number> {
  const front = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.once('data', (first: Buffer) => {
      const backend = net.connect(first[0] === 0x16 ? secure.port : plain.port, '127.0.0.1', () => {
        backend.write(first);
        socket.pipe(backend);
        backend.pipe(socket);
      });
      backend.on('error', () => socket.destroy());
      socket.on('close', () => backend.destroy());
    });
  });
  track(front);
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  return (front.address() as AddressInfo).port;
}

const go = (from: string, to: string) => `${from}/go?to=${encodeURIComponent(to)}`;

describe('credentials are bound to their scheme (https → http)', () => {
  let certs: TestCertificates;
  let secure: TestServer;
  let plain: TestServer;
  let both: number;
  let http: Http;

  before(async () => {
    certs = await testCertificates();
    [secure, plain] = await Promise.all([startServer(route, certs.server), startServer(route)]);
    both = await startBothOnOnePort(secure, plain);
  });
  beforeEach(() => {
    http = new Http(null, { ca: certs.ca.cert });
  });
  afterEach(() => http.close());

  const sentTo = (server: TestServer, from: number) => server.requests.slice(from);

  describe('https → http on another port', () => {
    for (const [label, domain] of [['none', () => ''], ['host', () => '127.0.0.1'], ['host:port', () => `127.0.0.1:${plain.port}`]] as const) {
      it(`never answers the http hop's 401 (domain: ${label})`, async () => {
        http.addCredentials('joe', 'secret', domain());
        const before = plain.count();
        const [response, content] = await http.request(go(secure.origin, plain.url('/landing')));
        expect([response.status, content.toString()]).to.deep.equal([401, 'denied']);
        expect(sentTo(plain, before).map((r) => r.headers.authorization)).to.deep.equal([undefined]);
      });
    }

    it('still answers http when the caller asks for http itself (the credential applies there)', async () => {
      http.addCredentials('joe', 'secret', '127.0.0.1');
      const [response] = await http.request(plain.url('/landing'));
      expect(response.status).to.equal(200);
    });

    it('sends nothing on later hops either, even back on https', async () => {
      http.addCredentials('joe', 'secret', '127.0.0.1');
      const back = secure.url('/protected');
      const beforeSecure = secure.count();
      const [response] = await http.request(go(secure.origin, go(plain.origin, back)), 'GET', null, { cookie: 'sid=1', 'x-wsse': 'UsernameToken x' });
      expect(response.status).to.equal(401);
      const last = secure.requests.at(-1)!;
      expect(last.url).to.equal('/protected');
      expect([last.headers.authorization, last.headers.cookie, last.headers['x-wsse']]).to.deep.equal([undefined, undefined, undefined]);
      expect(secure.count() - beforeSecure).to.equal(2); // /go, then /protected once: no answer to its 401
      const [direct] = await http.request(back);
      expect(direct.status).to.equal(200);
    });

    it('drops a pre-emptive answer learnt on https at the http hop', async () => {
      http.addCredentials('joe', 'secret', '127.0.0.1');
      expect((await http.request(secure.url('/d/first')))[0].status).to.equal(200);
      const before = plain.count();
      await http.request(go(secure.origin, plain.url('/d/second')));
      expect(sentTo(plain, before).map((r) => r.headers.authorization)).to.deep.equal([undefined]);
    });
  });

  describe('one port speaking both https and http', () => {
    for (const [label, domain] of [['none', () => ''], ['host', () => '127.0.0.1'], ['host:port', () => `127.0.0.1:${both}`]] as const) {
      it(`never answers the http hop (domain: ${label})`, async () => {
        http.addCredentials('joe', 'secret', domain());
        const before = plain.count();
        const [response] = await http.request(go(`https://127.0.0.1:${both}`, `http://127.0.0.1:${both}/landing`));
        expect(response.status).to.equal(401);
        expect(sentTo(plain, before).map((r) => [r.url, r.headers.authorization])).to.deep.equal([['/landing', undefined]]);
      });
    }

    it('a caller Authorization set for https is not sent to the same port over http', async () => {
      const before = plain.count();
      await http.request(go(`https://127.0.0.1:${both}`, `http://127.0.0.1:${both}/landing`), 'GET', null, { authorization: GOOD });
      expect(sentTo(plain, before).map((r) => r.headers.authorization)).to.deep.equal([undefined]);
    });
  });

  describe('origin-form domains (https://host[:port])', () => {
    it('answer that origin only: not the same host and port over http, asked for directly', async () => {
      http.addCredentials('joe', 'secret', `https://127.0.0.1:${both}`);
      expect((await http.request(`https://127.0.0.1:${both}/in`))[0].status).to.equal(200);
      const before = plain.count();
      const [response] = await http.request(`http://127.0.0.1:${both}/in`);
      expect(response.status).to.equal(401);
      expect(sentTo(plain, before).map((r) => r.headers.authorization)).to.deep.equal([undefined]);
    });

    it('an http origin answers http (and only that port); the scheme is compared case-insensitively', async () => {
      http.addCredentials('joe', 'secret', `HTTP://127.0.0.1:${plain.port}/`);
      expect((await http.request(plain.url('/p')))[0].status).to.equal(200);
      expect((await http.request(secure.url('/p')))[0].status).to.equal(401);
    });

    it('https://host means port 443, as an origin does', async () => {
      http.addCredentials('joe', 'secret', 'https://127.0.0.1');
      expect((await http.request(secure.url('/p')))[0].status).to.equal(401);
    });

    for (const bad of ['https://127.0.0.1/path', 'https://u:p@127.0.0.1', 'https://127.0.0.1?x', 'ftp://127.0.0.1', 'https://', 'https://a b']) {
      it(`refuses ${JSON.stringify(bad)} when it is added`, () => {
        expect(() => http.addCredentials('joe', 'secret', bad)).to.throw(HttpLib2Error, /origin/);
      });
    }
  });
});
