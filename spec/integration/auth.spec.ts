import { expect } from 'chai';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Http, HttpLib2Error, UnimplementedDigestAuthOptionError } from '../../lib/index.js';
import { startServer, type TestServer } from '../helpers/server.js';

// The servers below check the client's answers with their own code: a wrong hash fails the spec.

/** Reads `k=v` / `k="v"` pairs of a credentials header (trusted spec input, not a general parser). */
function fields(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const m of header.matchAll(/([\w*-]+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    out[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!;
  }
  return out;
}

const HASHES: Record<string, string> = { MD5: 'md5', 'MD5-SESS': 'md5', 'SHA-256': 'sha256', 'SHA-256-SESS': 'sha256', 'SHA-512-256': 'sha512-256' };

interface DigestServerOptions {
  algorithms: string[];
  qop: string | null;
  user?: string;
  password?: string;
  realm?: string;
  /** More challenges offered after the Digest ones. */
  extra?: string[];
}

/** A Digest server (RFC 7616) that verifies every answer and refuses replayed nonce counts. */
async function digestServer(o: DigestServerOptions) {
  const user = o.user ?? 'joe';
  const password = o.password ?? 'secret';
  const realm = o.realm ?? 'spec realm';
  const nonces = new Map<string, { lastNc: number; stale: boolean }>();
  const ncSeen: string[] = [];
  const challenge = (stale: boolean) =>
    o.algorithms.map((alg) => {
      const nonce = randomBytes(12).toString('base64');
      nonces.set(nonce, { lastNc: 0, stale: false });
      return `Digest realm="${realm}", nonce="${nonce}", algorithm=${alg}${o.qop ? `, qop="${o.qop}"` : ''}, opaque="opq"${stale ? ', stale=true' : ''}`;
    });
  const deny = (res: ServerResponse, stale = false) => {
    res.writeHead(401, { 'www-authenticate': [...(o.extra ?? []), ...challenge(stale)], 'content-type': 'text/plain' });
    res.end('denied');
  };
  const server = await startServer((req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const auth = req.headers.authorization;
    if (!auth?.startsWith('Digest ')) return deny(res);
    const f = fields(auth.slice(7));
    const state = nonces.get(f['nonce'] ?? '');
    const alg = (f['algorithm'] ?? 'MD5').toUpperCase();
    const hash = HASHES[alg];
    if (!state || !hash || f['opaque'] !== 'opq' || f['uri'] !== req.url || f['username'] !== user || f['realm'] !== realm) return deny(res);
    const H = (s: string | Buffer) => createHash(hash).update(s).digest('hex');
    let ha1 = H(Buffer.from(`${user}:${realm}:${password}`, 'utf8'));
    if (alg.endsWith('-SESS')) ha1 = H(`${ha1}:${f['nonce']}:${f['cnonce']}`);
    const ha2 = f['qop'] === 'auth-int' ? H(`${req.method}:${f['uri']}:${H(body)}`) : H(`${req.method}:${f['uri']}`);
    const expected = o.qop ? H(`${ha1}:${f['nonce']}:${f['nc']}:${f['cnonce']}:${f['qop']}:${ha2}`) : H(`${ha1}:${f['nonce']}:${ha2}`);
    if (f['response'] !== expected) return deny(res);
    if (o.qop) {
      const nc = parseInt(f['nc'] ?? '', 16);
      if (!(nc > state.lastNc) || (f['cnonce'] ?? '').length < 16) return deny(res); // a replay, or a weak cnonce
      state.lastNc = nc;
      ncSeen.push(f['nc']!);
    }
    if (state.stale) return deny(res, true);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`hello ${user} ${req.method} ${body.toString()}`);
  });
  return { server, ncSeen, expire: () => nonces.forEach((s) => (s.stale = true)) };
}

function basicServer(user = 'joe', password = 'secret') {
  return startServer((req, res) => {
    const expected = `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="spec"' });
      return res.end('denied');
    }
    res.end(`basic ok ${req.url}`);
  });
}

const authOf = (s: TestServer, i: number) => s.requests[i]!.headers.authorization;

describe('authentication against loopback servers', () => {
  let http: Http;
  beforeEach(() => {
    http = new Http();
  });
  afterEach(() => http.close());

  describe('Basic', () => {
    it('answers a 401 once, then sends pre-emptively under the same path', async () => {
      const server = await basicServer();
      http.addCredentials('joe', 'secret');
      const [r1, c1] = await http.request(server.url('/dir/a'));
      expect([r1.status, c1.toString()]).to.deep.equal([200, 'basic ok /dir/a']);
      expect(server.count()).to.equal(2);
      expect(authOf(server, 0)).to.equal(undefined);
      const [r2] = await http.request(server.url('/dir/sub/b'));
      expect(r2.status).to.equal(200);
      expect(server.count()).to.equal(3); // no extra 401 round trip
      expect(authOf(server, 2)).to.match(/^Basic /);
      await http.request(server.url('/elsewhere'));
      expect(authOf(server, 3)).to.equal(undefined); // outside the space: challenged first
      expect(server.count()).to.equal(5);
    });

    it('gives a wrong password its 401 back after one retry, never a loop', async () => {
      const server = await basicServer();
      http.addCredentials('joe', 'wrong');
      const [r, c] = await http.request(server.url('/x'));
      expect(r.status).to.equal(401);
      expect(c.toString()).to.equal('denied');
      expect(server.count()).to.equal(2);
      await http.request(server.url('/x'));
      expect(server.count()).to.equal(4); // a refused answer is not remembered for pre-emptive use
    });

    it('leaves an Authorization header the caller set alone', async () => {
      const server = await basicServer();
      http.addCredentials('joe', 'secret');
      const [r] = await http.request(server.url('/x'), 'GET', null, { authorization: 'Bearer mine' });
      expect(r.status).to.equal(401);
      expect(server.count()).to.equal(1);
      expect(authOf(server, 0)).to.equal('Bearer mine');
    });

    it('forgets credentials and pre-emptive answers on clearCredentials()', async () => {
      const server = await basicServer();
      http.addCredentials('joe', 'secret');
      await http.request(server.url('/d/a'));
      http.clearCredentials();
      const [r] = await http.request(server.url('/d/b'));
      expect(r.status).to.equal(401);
      expect(server.count()).to.equal(3);
      expect(authOf(server, 2)).to.equal(undefined);
    });

    it('refuses CR, LF or NUL in a user name or password before anything is sent', async () => {
      const server = await basicServer();
      for (const bad of ['a\rb', 'a\nb', 'a\0b']) {
        expect(() => http.addCredentials(bad, 'p')).to.throw(HttpLib2Error, /CR, LF or NUL/);
        expect(() => http.addCredentials('u', bad)).to.throw(HttpLib2Error, /CR, LF or NUL/);
      }
      const [r] = await http.request(server.url('/x'));
      expect(r.status).to.equal(401);
      expect(server.count()).to.equal(1);
    });
  });

  describe('Digest', () => {
    for (const [algorithm, qop] of [['MD5', 'auth'], ['MD5-sess', 'auth'], ['SHA-256', 'auth'], ['SHA-256-sess', 'auth'], ['SHA-512-256', 'auth'], ['MD5', 'auth-int'], ['SHA-256', null]] as const) {
      it(`answers ${algorithm} with qop=${qop ?? '(none)'}`, async () => {
        const { server } = await digestServer({ algorithms: [algorithm], qop });
        http.addCredentials('joe', 'secret');
        const [r, c] = await http.request(server.url('/d/x?q=1'), 'PUT', 'the body');
        expect(r.status).to.equal(200);
        expect(c.toString()).to.equal('hello joe PUT the body');
        expect(server.count()).to.equal(2);
      });
    }

    it('chooses the strongest algorithm offered, and Digest over Basic', async () => {
      const { server } = await digestServer({ algorithms: ['MD5', 'SHA-256'], qop: 'auth', extra: ['Basic realm="spec realm"'] });
      http.addCredentials('joe', 'secret');
      const [r] = await http.request(server.url('/'));
      expect(r.status).to.equal(200);
      expect(authOf(server, 1)).to.contain('algorithm=SHA-256');
    });

    it('counts nonces up on pre-emptive requests, concurrent ones included', async () => {
      const { server, ncSeen } = await digestServer({ algorithms: ['MD5'], qop: 'auth' });
      http.addCredentials('joe', 'secret');
      await http.request(server.url('/dir/one'));
      await http.request(server.url('/dir/two'));
      const results = await Promise.all([1, 2, 3, 4].map((i) => http.request(server.url(`/dir/p${i}`))));
      expect(results.map(([r]) => r.status)).to.deep.equal([200, 200, 200, 200]);
      expect(server.count()).to.equal(7); // one 401, then every request answered pre-emptively
      expect([...ncSeen].sort()).to.deep.equal(['00000001', '00000002', '00000003', '00000004', '00000005', '00000006']);
      const cnonces = server.requests.slice(1).map((q) => fields(q.headers.authorization)['cnonce']);
      expect(new Set(cnonces).size).to.equal(6);
    });

    it('follows stale=true to the new nonce without treating it as a failure', async () => {
      const { server, expire } = await digestServer({ algorithms: ['SHA-256'], qop: 'auth' });
      http.addCredentials('joe', 'secret');
      await http.request(server.url('/s/a'));
      expire();
      const [r] = await http.request(server.url('/s/b'));
      expect(r.status).to.equal(200);
      expect(server.count()).to.equal(4); // pre-emptive (stale) + retry on the new nonce
      expect(fields(authOf(server, 3))['nc']).to.equal('00000001');
      await http.request(server.url('/s/c'));
      expect(server.count()).to.equal(5);
      expect(fields(authOf(server, 4))['nc']).to.equal('00000002');
    });

    it('gives a wrong password its 401 back after one retry', async () => {
      const { server } = await digestServer({ algorithms: ['MD5'], qop: 'auth' });
      http.addCredentials('joe', 'wrong');
      const [r] = await http.request(server.url('/'));
      expect(r.status).to.equal(401);
      expect(server.count()).to.equal(2);
    });

    it('escapes " and \\ in the user name', async () => {
      const { server } = await digestServer({ algorithms: ['MD5'], qop: 'auth', user: 'j"o\\e' });
      http.addCredentials('j"o\\e', 'secret');
      const [r] = await http.request(server.url('/'));
      expect(r.status).to.equal(200);
      expect(authOf(server, 1)).to.contain('username="j\\"o\\\\e"');
    });

    it('never falls back to Basic after a Digest challenge without a nonce', async () => {
      const server = await startServer((_req, res) => {
        res.writeHead(401, { 'www-authenticate': ['Digest realm="r"', 'Basic realm="r"'] });
        res.end();
      });
      http.addCredentials('joe', 'secret');
      const [r] = await http.request(server.url('/'));
      expect(r.status).to.equal(401);
      expect(server.count()).to.equal(1);
    });

    it('reports an algorithm it cannot do as UnimplementedDigestAuthOptionError carrying the 401', async () => {
      const server = await startServer((_req, res) => {
        res.writeHead(401, { 'www-authenticate': 'Digest realm="r", nonce="n", algorithm=SHA3-256' });
        res.end('no');
      });
      http.addCredentials('joe', 'secret');
      const error = await http.request(server.url('/')).then(() => null, (e: unknown) => e);
      expect(error).to.be.instanceOf(UnimplementedDigestAuthOptionError);
      expect((error as UnimplementedDigestAuthOptionError).response!.status).to.equal(401);
      expect(server.count()).to.equal(1);
    });
  });

  describe('several credentials (httplib2 tries each in turn)', () => {
    const basicOf = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

    it('answers a 401 with each applicable credential in registration order until one is accepted', async () => {
      const server = await basicServer('joe', 'secret');
      http.addCredentials('fred', 'nope');
      http.addCredentials('joe', 'secret');
      const [r, c] = await http.request(server.url('/d/a'));
      expect([r.status, c.toString()]).to.deep.equal([200, 'basic ok /d/a']);
      expect(server.requests.map((q) => q.headers.authorization)).to.deep.equal([undefined, basicOf('fred', 'nope'), basicOf('joe', 'secret')]);
      await http.request(server.url('/d/b'));
      expect(authOf(server, 3)).to.equal(basicOf('joe', 'secret')); // the accepted one, pre-emptively
      expect(server.count()).to.equal(4);
    });

    it('tries each wrong credential once, then gives the 401 back (never a loop)', async () => {
      const server = await basicServer('joe', 'secret');
      http.addCredentials('a', '1');
      http.addCredentials('b', '2', '127.0.0.1');
      http.addCredentials('c', '3', 'localhost'); // does not apply: never sent
      const [r, c] = await http.request(server.url('/x'));
      expect([r.status, c.toString()]).to.deep.equal([401, 'denied']);
      expect(server.requests.map((q) => q.headers.authorization)).to.deep.equal([undefined, basicOf('a', '1'), basicOf('b', '2')]);
    });

    it('tries in registration order whatever the domain (httplib2 Credentials.iter)', async () => {
      const server = await basicServer('joe', 'secret');
      http.addCredentials('joe', 'secret');
      http.addCredentials('fred', 'nope', '127.0.0.1');
      const [r] = await http.request(server.url('/x'));
      expect(r.status).to.equal(200);
      expect(server.count()).to.equal(2);
      expect(authOf(server, 1)).to.equal(basicOf('joe', 'secret'));
    });

    it('after a pre-emptive answer is refused, tries every credential again from the new challenge', async () => {
      // httplib2's test_basic_two_credentials: the server changes which user it accepts.
      let accepted = basicOf('joe', 'pw-joe');
      const server = await startServer((req, res) => {
        if (req.headers.authorization !== accepted) {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' });
          return res.end('denied');
        }
        res.end('ok');
      });
      http.addCredentials('fred', 'pw-fred');
      http.addCredentials('joe', 'pw-joe');
      expect((await http.request(server.url('/p/1')))[0].status).to.equal(200);
      accepted = basicOf('fred', 'pw-fred');
      expect((await http.request(server.url('/p/2')))[0].status).to.equal(200);
      expect(server.requests.slice(3).map((q) => q.headers.authorization)).to.deep.equal([basicOf('joe', 'pw-joe'), basicOf('fred', 'pw-fred')]);
      expect(server.count()).to.equal(5);
    });

    it('answers each Digest refusal\'s fresh nonce with the next credential', async () => {
      const { server } = await digestServer({ algorithms: ['SHA-256'], qop: 'auth' });
      http.addCredentials('joe', 'wrong');
      http.addCredentials('joe', 'secret');
      const [r, c] = await http.request(server.url('/d/x'), 'POST', 'b');
      expect([r.status, c.toString()]).to.deep.equal([200, 'hello joe POST b']);
      expect(server.count()).to.equal(3);
      expect(fields(authOf(server, 2))['nonce']).to.not.equal(fields(authOf(server, 1))['nonce']);
    });
  });

  describe('WSSE', () => {
    it('answers with X-WSSE whose PasswordDigest the server recomputes', async () => {
      const server = await startServer((req, res, body) => {
        const token = req.headers['x-wsse'];
        const f = fields(typeof token === 'string' ? token : '');
        const digest = createHash('sha1').update(`${f['nonce']}${f['created']}secret`).digest('base64');
        const ok = req.headers.authorization === 'WSSE profile="UsernameToken"' && f['username'] === 'joe' &&
          f['passworddigest'] === digest && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(f['created'] ?? '') && (f['nonce'] ?? '').length >= 16;
        if (!ok) {
          res.writeHead(401, { 'www-authenticate': 'WSSE realm="atom", profile="UsernameToken"' });
          return res.end();
        }
        res.writeHead(201, { location: '/feed/1' });
        res.end(`created ${body.toString()}`);
      });
      http.addCredentials('joe', 'secret');
      const [r, c] = await http.request(server.url('/feed'), 'POST', '<entry/>', { 'content-type': 'application/atom+xml' });
      expect(r.status).to.equal(201);
      expect(c.toString()).to.equal('created <entry/>');
      const [r2] = await http.request(server.url('/feed'), 'POST', '<entry/>');
      expect(r2.status).to.equal(201);
      expect(server.count()).to.equal(3);
      expect(fields(String(server.requests[1]!.headers['x-wsse']))['nonce']).to.not.equal(fields(String(server.requests[2]!.headers['x-wsse']))['nonce']);
    });
  });

  describe('HMACDigest', () => {
    it('answers with a signature the server recomputes over the listed headers', async () => {
      const server = await startServer((req, res) => {
        const f = fields(req.headers.authorization?.replace(/^HMACDigest /, ''));
        const key = createHash('sha1').update(`joe:${createHash('sha1').update('secretNaCl').digest('hex')}:r`).digest('hex');
        const names = (f['headers'] ?? '').split(' ').filter(Boolean);
        const values = names.map((n) => String(req.headers[n] ?? '')).join('');
        const expected = createHmac('sha1', key).update(`${req.method}:${req.url}:${f['cnonce']}:sn1:${values}`).digest('hex');
        if (!req.headers.authorization?.startsWith('HMACDigest ') || f['response'] !== expected || !names.includes('x-custom')) {
          res.writeHead(401, { 'www-authenticate': 'HMACDigest realm="r", snonce="sn1", salt="NaCl", algorithm="HMAC-SHA-1", pw-algorithm="SHA-1"' });
          return res.end();
        }
        res.end('hmac ok');
      });
      http.addCredentials('joe', 'secret');
      const [r, c] = await http.request(server.url('/h?x=1'), 'GET', null, { 'x-custom': 'signed' });
      expect([r.status, c.toString()]).to.deep.equal([200, 'hmac ok']);
      expect(server.count()).to.equal(2);
    });
  });

  describe('scoping (credentials never leave their origin)', () => {
    it('credentials with a domain answer only that host:port', async () => {
      const a = await basicServer();
      const b = await basicServer();
      http.addCredentials('joe', 'secret', `127.0.0.1:${a.port}`);
      expect((await http.request(a.url('/')))[0].status).to.equal(200);
      expect((await http.request(b.url('/')))[0].status).to.equal(401);
      expect(b.count()).to.equal(1);
    });

    it('a domain without a port answers that host on any port', async () => {
      const a = await basicServer();
      http.addCredentials('joe', 'secret', '127.0.0.1');
      expect((await http.request(a.url('/')))[0].status).to.equal(200);
      http.clearCredentials();
      http.addCredentials('joe', 'secret', 'localhost');
      expect((await http.request(a.url('/')))[0].status).to.equal(401);
    });

    it('credentials without a domain never answer a host reached only through a cross-origin redirect', async () => {
      const target = await basicServer();
      const origin = await startServer((_req, res) => {
        res.writeHead(302, { location: target.url('/protected') });
        res.end();
      });
      http.addCredentials('joe', 'secret');
      const [r] = await http.request(origin.url('/go'));
      expect(r.status).to.equal(401);
      expect(target.count()).to.equal(1);
      expect(authOf(target, 0)).to.equal(undefined);
    });

    it('does answer after a same-origin redirect', async () => {
      const server = await startServer((req, res) => {
        if (req.url === '/go') {
          res.writeHead(302, { location: '/in/here' });
          return res.end();
        }
        if (req.headers.authorization !== `Basic ${Buffer.from('joe:secret').toString('base64')}`) {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' });
          return res.end();
        }
        res.end('in');
      });
      http.addCredentials('joe', 'secret');
      const [r, c] = await http.request(server.url('/go'));
      expect([r.status, c.toString()]).to.deep.equal([200, 'in']);
    });

    it('does not carry a pre-emptive answer across a redirect to another origin', async () => {
      // `other` protects /p/first, so the driver holds an answer for its /p/ space.
      const other = await startServer((req, res) => {
        if (req.url === '/p/first' && !req.headers.authorization) {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="o"' });
          return res.end();
        }
        res.end('other');
      });
      const server = await startServer((req, res) => {
        if (req.headers.authorization !== `Basic ${Buffer.from('joe:secret').toString('base64')}`) {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' });
          return res.end();
        }
        if (req.url === '/p/away') {
          res.writeHead(302, { location: other.url('/p/away') });
          return res.end();
        }
        res.end('ok');
      });
      http.addCredentials('joe', 'secret');
      await http.request(server.url('/p/first'));
      await http.request(other.url('/p/first')); // the caller asked for `other` in an earlier call
      expect(other.requests.at(-1)!.headers.authorization).to.match(/^Basic /);
      const [r, c] = await http.request(server.url('/p/away'));
      expect([r.status, c.toString()]).to.deep.equal([200, 'other']);
      expect(other.requests.at(-1)!.headers.authorization).to.equal(undefined);
      expect(other.requests.at(-1)!.headers['x-wsse']).to.equal(undefined);
    });
  });
});
