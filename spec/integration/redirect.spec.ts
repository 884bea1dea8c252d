import { expect } from 'chai';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Http, HttpLib2Error, RedirectLimit, RedirectMissingLocation, type Response } from '../../lib/index.js';
import { testCertificates } from '../helpers/certs.js';
import { startServer, track, type TestServer } from '../helpers/server.js';
import { rejection } from '../helpers/rejection.js';


/** A server whose answers are given by path: `/to?l=LOCATION&s=STATUS` redirects, anything else echoes. */
function redirector(): Promise<TestServer> {
  return startServer((req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/to') {
      const status = Number(url.searchParams.get('s') ?? 302);
      const location = url.searchParams.get('l');
      res.writeHead(status, location === null ? {} : { location });
      res.end(`redirect ${status}`);
      return;
    }
    res.setHeader('content-type', 'text/plain');
    res.end(`${req.method} ${req.url} ${body.toString()}`);
  });
}

function to(server: TestServer, location: string, status = 302): string {
  return server.url(`/to?s=${status}&l=${encodeURIComponent(location)}`);
}

describe('redirects (RFC 9110 §15.4, httplib2)', () => {
  let a: TestServer;
  let b: TestServer;
  let client: Http;

  before(async () => {
    [a, b] = await Promise.all([redirector(), redirector()]);
  });
  beforeEach(() => {
    client = new Http();
  });
  afterEach(() => client.close());

  it('follows a chain and returns the previous responses newest first, each with its content-location', async () => {
    const first = to(a, to(a, '/final', 307), 301);
    const [response, content] = await client.request(first);
    expect(response.status).to.equal(200);
    expect(content.toString()).to.equal('GET /final ');
    expect(response.get('content-location')).to.equal(a.url('/final'));
    const p1 = response.previous!;
    expect(p1.status).to.equal(307);
    expect(p1.get('content-location')).to.equal(to(a, '/final', 307));
    const p2 = p1.previous!;
    expect(p2.status).to.equal(301);
    expect(p2.get('content-location')).to.equal(first);
    expect(p2.previous).to.equal(null);
  });

  it('turns a POST answered with 303 into a GET without body or content-type', async () => {
    const before = a.count();
    const [response, content] = await client.request(to(a, '/seen', 303), 'POST', 'secret body', { 'content-type': 'text/plain' });
    expect(response.status).to.equal(200);
    expect(content.toString()).to.equal('GET /seen ');
    const hop = a.requests[before + 1]!;
    expect(hop.method).to.equal('GET');
    expect(hop.body.length).to.equal(0);
    expect(hop.headers['content-type']).to.equal(undefined);
    expect(hop.headers['content-length']).to.equal(undefined);
  });

  for (const status of [307, 308]) {
    it(`keeps the method and body on ${status} when followAllRedirects is set`, async () => {
      client.followAllRedirects = true;
      const before = a.count();
      const [response, content] = await client.request(to(a, '/again', status), 'PUT', 'the body', { 'content-type': 'text/plain' });
      expect(response.status).to.equal(200);
      expect(content.toString()).to.equal('PUT /again the body');
      expect(a.requests[before + 1]!.headers['content-type']).to.equal('text/plain');
    });

  }

  it('returns 307 to a POST as it is without followAllRedirects', async () => {
    const before = a.count();
    const [response, content] = await client.request(to(a, '/again', 307), 'POST', 'x');
    expect(response.status).to.equal(307);
    expect(content.toString()).to.equal('redirect 307');
    expect(a.count() - before).to.equal(1);
  });

  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND']) {
    it(`follows 308 for ${method}, keeping the method and body (RFC 9110 §15.4.9, httplib2)`, async () => {
      const before = a.count();
      const [response, content] = await client.request(to(a, '/moved', 308), method, 'the body', { 'content-type': 'text/plain' });
      expect([response.status, content.toString()]).to.deep.equal([200, `${method} /moved the body`]);
      expect(response.previous?.status).to.equal(308);
      const hop = a.requests[before + 1]!;
      expect([hop.method, hop.body.toString(), hop.headers['content-type']]).to.deep.equal([method, 'the body', 'text/plain']);
    });
  }

  it('returns a 308 without Location to the caller (resumable uploads\' "Resume Incomplete"), never RedirectMissingLocation', async () => {
    const upload = await startServer((_req, res) => {
      res.writeHead(308, 'Resume Incomplete', { range: 'bytes=0-3' });
      res.end();
    });
    for (const method of ['PUT', 'GET']) {
      const [response] = await client.request(upload.url('/upload?id=1'), method, method === 'PUT' ? 'part' : null);
      expect([response.status, response.reason, response.get('range')]).to.deep.equal([308, 'Resume Incomplete', 'bytes=0-3']);
    }
    expect(upload.count()).to.equal(2);
  });

  it('follows only the statuses in redirectCodes (httplib2 redirect_codes), read at each request', async () => {
    client.redirectCodes = new Set([300, 301, 302, 303, 307]);
    const before = a.count();
    const [kept] = await client.request(to(a, '/final', 308));
    expect([kept.status, kept.get('location')]).to.deep.equal([308, '/final']);
    client.redirectCodes = [302];
    const [followed] = await client.request(to(a, '/final', 302));
    expect(followed.status).to.equal(200);
    const [notFollowed] = await client.request(to(a, '/final', 301));
    expect(notFollowed.status).to.equal(301);
    expect(a.count() - before).to.equal(4);
  });

  it('sees redirectCodes changed in place between requests, as httplib2 reads redirect_codes at each one', async () => {
    const codes = new Set([301, 302]);
    client.redirectCodes = codes;
    const before = a.count();
    const [followed] = await client.request(to(a, '/final', 301));
    expect(followed.status).to.equal(200);
    codes.delete(301);
    const [kept] = await client.request(to(a, '/final', 301));
    expect(kept.status).to.equal(301);
    codes.add(301);
    const [again] = await client.request(to(a, '/final', 301));
    expect(again.status).to.equal(200);
    codes.add(200); // not a 3xx: refused before anything is sent
    const e = (await rejection(client.request(to(a, '/final', 301)))) as HttpLib2Error;
    expect(e.code).to.equal('ERR_INVALID_REQUEST');
    expect(e.message).to.match(/redirectCodes/);
    expect(a.count() - before).to.equal(5);
  });

  for (const bad of [['308'], [3.5], [200], new Set([308, NaN]), '308', null]) {
    it(`refuses redirectCodes = ${JSON.stringify(bad instanceof Set ? [...bad] : bad)} before anything is sent`, async () => {
      const before = a.count();
      (client as { redirectCodes: unknown }).redirectCodes = bad;
      const e = (await rejection(client.request(to(a, '/final', 302)))) as HttpLib2Error;
      expect(e).to.be.instanceOf(HttpLib2Error);
      expect(e.code).to.equal('ERR_INVALID_REQUEST');
      expect(e.message).to.match(/redirectCodes/);
      expect(a.count()).to.equal(before);
    });
  }

  it('resolves a relative Location', async () => {
    const [, content] = await client.request(to(a, 'relative?q=1'));
    expect(content.toString()).to.equal('GET /relative?q=1 ');
  });

  it('returns the 3xx as it is when followRedirects is false', async () => {
    client.followRedirects = false;
    const [response] = await client.request(to(a, '/final', 301));
    expect(response.status).to.equal(301);
    expect(response.get('location')).to.equal('/final');
  });

  it('fails with RedirectMissingLocation carrying the response', async () => {
    const e = (await rejection(client.request(a.url('/to?s=302')))) as RedirectMissingLocation;
    expect(e).to.be.instanceOf(RedirectMissingLocation);
    expect(e.response?.status).to.equal(302);
    expect(e.content?.toString()).to.equal('redirect 302');
  });

  it('fails with RedirectLimit carrying the last response after `redirections` hops', async () => {
    const self = await startServer((_q, res) => {
      res.writeHead(302, { location: '/' });
      res.end('again');
    });
    const e = (await rejection(client.request(self.url('/'), 'GET', null, {}, 3))) as RedirectLimit;
    expect(e).to.be.instanceOf(RedirectLimit);
    expect(e.response?.status).to.equal(302);
    expect(e.content?.toString()).to.equal('again');
    expect(self.count()).to.equal(4); // the first request and 3 redirections
  });

  it('stops an A↔B loop at `redirections`', async () => {
    const ping = await startServer((_q, res) => {
      res.writeHead(302, { location: pong.url('/') });
      res.end();
    });
    const pong = await startServer((_q, res) => {
      res.writeHead(302, { location: ping.url('/') });
      res.end();
    });
    const e = await rejection(client.request(ping.url('/')));
    expect(e).to.be.instanceOf(RedirectLimit);
    expect(ping.count() + pong.count()).to.equal(6); // the first request and 5 redirections
    expect([ping.count(), pong.count()]).to.deep.equal([3, 3]);
  });

  for (const location of ['file:///etc/passwd', 'data:text/plain,hi', 'javascript:alert(1)', 'ftp://127.0.0.1/f', 'ws://127.0.0.1/', 'unix:/var/run/docker.sock']) {
    it(`never follows ${location.split(':')[0]}: and returns the redirect as it is`, async () => {
      const before = a.count();
      const [response] = await client.request(to(a, location));
      expect(response.status).to.equal(302);
      expect(response.get('location')).to.equal(location);
      expect(a.count() - before).to.equal(1);
    });
  }

  for (const [label, prefix] of [['//host', '//'], ['/\\host', '/\\'], ['\\\\host', '\\\\']] as const) {
    it(`resolves a ${label} Location to that host, as a browser does`, async () => {
      const before = b.count();
      const [, content] = await client.request(to(a, `${prefix}127.0.0.1:${b.port}/there`));
      expect(content.toString()).to.equal('GET /there ');
      expect(b.count() - before).to.equal(1);
    });
  }

  it('treats user@host as a path on the same host', async () => {
    const [, content] = await client.request(to(a, `user@127.0.0.1:${b.port}/x`));
    expect(content.toString()).to.equal(`GET /user@127.0.0.1:${b.port}/x `);
  });

  it('follows an IPv6 Location', async () => {
    const v6 = http.createServer((req, res) => res.end(`v6 ${req.url} ${req.headers.host}`));
    track(v6);
    await new Promise<void>((resolve) => v6.listen(0, '::1', resolve));
    const port = (v6.address() as AddressInfo).port;
    const [response, content] = await client.request(to(a, `http://[::1]:${port}/six`));
    expect(content.toString()).to.equal(`v6 /six [::1]:${port}`);
    expect(response.get('content-location')).to.equal(`http://[::1]:${port}/six`);
  });

  describe('credentials across origins', () => {
    const secrets = { Authorization: 'Basic dTpw', 'Proxy-Authorization': 'Basic cDpx', Cookie: 'sid=1', 'X-WSSE': 'UsernameToken x', 'X-Other': 'kept' };
    const names = ['authorization', 'proxy-authorization', 'cookie', 'x-wsse'];

    function received(server: TestServer, index: number): Record<string, unknown> {
      const h = server.requests[index]!.headers;
      return Object.fromEntries([...names, 'x-other'].filter((n) => n in h).map((n) => [n, h[n]]));
    }

    it('keeps them on the same origin', async () => {
      const before = a.count();
      await client.request(to(a, '/same'), 'GET', null, secrets);
      expect(Object.keys(received(a, before + 1)).sort()).to.deep.equal([...names, 'x-other'].sort());
    });

    it('drops them on a redirect to another port', async () => {
      const before = b.count();
      await client.request(to(a, b.url('/other')), 'GET', null, secrets);
      expect(received(b, before)).to.deep.equal({ 'x-other': 'kept' });
    });

    it('drops them between 127.0.0.1 and localhost (another host name is another origin)', async () => {
      const before = a.count();
      await client.request(to(a, `http://localhost:${a.port}/named`), 'GET', null, secrets);
      expect(a.requests[before + 1]!.headers.host).to.equal(`localhost:${a.port}`);
      expect(received(a, before + 1)).to.deep.equal({ 'x-other': 'kept' });
    });

    it('forwards them when forwardAuthorizationHeaders is set', async () => {
      client.forwardAuthorizationHeaders = true;
      const before = b.count();
      await client.request(to(a, b.url('/other')), 'GET', null, secrets);
      expect(Object.keys(received(b, before)).sort()).to.deep.equal([...names, 'x-other'].sort());
    });

    it('never sends them from https down to http, even when forwarding', async () => {
      const certs = await testCertificates();
      const secure = await startServer((_q, res) => {
        res.writeHead(302, { location: a.url('/plain') });
        res.end();
      }, certs.server);
      const tls = new Http(null, { ca: certs.ca.cert });
      tls.forwardAuthorizationHeaders = true;
      try {
        const before = a.count();
        const [response] = await tls.request(secure.url('/'), 'GET', null, secrets);
        expect(response.status).to.equal(200);
        expect(secure.requests[0]!.headers.authorization).to.equal('Basic dTpw');
        expect(received(a, before)).to.deep.equal({ 'x-other': 'kept' });
      } finally {
        await tls.close();
      }
    });
  });

  it('answers with the final Response type users expect', async () => {
    const [response]: [Response, Buffer] = await client.request(to(a, '/typed'));
    expect(response.previous?.status).to.equal(302);
  });
});
