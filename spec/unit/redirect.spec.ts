import { expect } from 'chai';
import { DEFAULT_REDIRECT_CODES, nextHop, redirectMethod, shouldFollow } from '../../lib/redirect.js';
import { Response } from '../../lib/response.js';
import type { HopRequest } from '../../lib/types.js';

const DEFAULTS = { followRedirects: true, followAllRedirects: false, forwardAuthorizationHeaders: false, redirectCodes: new Set(DEFAULT_REDIRECT_CODES) };

function aRequest(overrides: Omit<Partial<HopRequest>, 'url'> & { url?: URL | string } = {}): HopRequest {
  const headers: Record<string, string> = Object.create(null);
  Object.assign(headers, overrides.headers ?? {});
  return {
    method: overrides.method ?? 'GET',
    url: new URL(overrides.url ?? 'http://a.test/start?x=1'),
    headers,
    body: overrides.body ?? null,
  };
}

function aRedirect(status: number, location?: string, headers: Record<string, string> = {}): Response {
  return new Response({ status, headers: { ...(location === undefined ? {} : { location }), ...headers } });
}

function follow(req: HopRequest, res: Response, settings = DEFAULTS): HopRequest {
  const d = nextHop(req, res, settings);
  if (d.kind !== 'follow') throw new Error(`expected follow, got ${d.kind}`);
  return d.request;
}

describe('redirect decisions (RFC 9110 §15.4)', () => {
  describe('which statuses and methods are followed', () => {
    const table: Array<[string, number, boolean]> = [
      ['GET', 300, true], ['GET', 301, true], ['GET', 302, true], ['GET', 303, true], ['GET', 307, true], ['GET', 308, true],
      ['HEAD', 301, true], ['HEAD', 307, true],
      ['GET', 304, false], ['GET', 305, false], ['GET', 306, false], ['GET', 200, false], ['GET', 399, false],
      // §15.4.4: 303 sends the client to a GET, whatever the method was.
      ['POST', 303, true], ['PUT', 303, true],
      // §15.4.9: 308 keeps the method and body, so httplib2 follows it for every method.
      ['POST', 308, true], ['PUT', 308, true], ['PATCH', 308, true], ['DELETE', 308, true], ['PROPFIND', 308, true],
      ['POST', 301, false], ['POST', 302, false], ['POST', 307, false],
      ['PUT', 307, false], ['DELETE', 302, false], ['PATCH', 307, false],
      // RFC 10008 §2.5: QUERY is safe; a 303 sends it to a GET, a 307/308 sends it again.
      ['QUERY', 301, true], ['QUERY', 302, true], ['QUERY', 303, true], ['QUERY', 307, true], ['QUERY', 308, true],
    ];
    for (const [method, status, expected] of table) {
      it(`${expected ? 'follows' : 'does not follow'} ${status} to ${method}`, () => {
        expect(shouldFollow(method, status, DEFAULTS)).to.equal(expected);
      });
    }

    it('follows every method when followAllRedirects is set', () => {
      const all = { ...DEFAULTS, followAllRedirects: true };
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'PROPFIND']) {
        for (const status of [301, 302, 307, 308]) expect(shouldFollow(method, status, all), `${method} ${status}`).to.equal(true);
      }
    });

    it('follows only the statuses in redirectCodes (httplib2 redirect_codes)', () => {
      const no308 = { ...DEFAULTS, redirectCodes: new Set([300, 301, 302, 303, 307]) };
      expect(shouldFollow('GET', 308, no308)).to.equal(false);
      expect(shouldFollow('PUT', 308, no308)).to.equal(false);
      expect(shouldFollow('GET', 301, no308)).to.equal(true);
      expect(nextHop(aRequest({ method: 'PUT' }), aRedirect(308, '/next'), no308)).to.deep.equal({ kind: 'return' });
      const no303 = { ...DEFAULTS, redirectCodes: new Set([308]) };
      expect(shouldFollow('POST', 303, no303)).to.equal(false);
      expect(shouldFollow('POST', 308, no303)).to.equal(true);
    });

    it('follows nothing when followRedirects is false', () => {
      const none = { ...DEFAULTS, followRedirects: false, followAllRedirects: true };
      for (const status of [300, 301, 302, 303, 307, 308]) expect(shouldFollow('GET', status, none)).to.equal(false);
      expect(nextHop(aRequest(), aRedirect(302, '/next'), none)).to.deep.equal({ kind: 'return' });
    });
  });

  describe('the next method and body', () => {
    const table: Array<[string, number, string]> = [
      ['POST', 303, 'GET'], ['PUT', 303, 'GET'], ['HEAD', 303, 'HEAD'], ['GET', 303, 'GET'],
      ['POST', 301, 'GET'], ['POST', 302, 'GET'],
      ['PUT', 301, 'PUT'], ['PUT', 302, 'PUT'],
      ['POST', 307, 'POST'], ['POST', 308, 'POST'], ['PUT', 307, 'PUT'], ['DELETE', 308, 'DELETE'],
      // RFC 10008 §2.5: only a 303 turns a QUERY into a GET; the POST exception of 301/302 is not its.
      ['QUERY', 303, 'GET'], ['QUERY', 301, 'QUERY'], ['QUERY', 302, 'QUERY'], ['QUERY', 307, 'QUERY'], ['QUERY', 308, 'QUERY'],
    ];
    for (const [method, status, expected] of table) {
      it(`${method} answered with ${status} continues as ${expected}`, () => {
        expect(redirectMethod(method, status)).to.equal(expected);
      });
    }

    it('303 drops the body and the headers describing it', () => {
      const req = aRequest({ method: 'POST', body: Buffer.from('x'), headers: { 'content-type': 'text/plain', 'x-keep': '1' } });
      const next = follow(req, aRedirect(303, '/see'));
      expect(next.method).to.equal('GET');
      expect(next.body).to.equal(null);
      expect(next.headers['content-type']).to.equal(undefined);
      expect(next.headers['x-keep']).to.equal('1');
    });

    it('307 and 308 keep the method, the body and its content-type', () => {
      const all = { ...DEFAULTS, followAllRedirects: true };
      for (const status of [307, 308]) {
        const body = Buffer.from('payload');
        const req = aRequest({ method: 'POST', body, headers: { 'content-type': 'text/plain' } });
        const next = follow(req, aRedirect(status, '/again'), all);
        expect(next.method).to.equal('POST');
        expect(next.body).to.equal(body);
        expect(next.headers['content-type']).to.equal('text/plain');
      }
    });
  });

  describe('the Location', () => {
    it('resolves a relative Location against the request URI', () => {
      expect(follow(aRequest(), aRedirect(302, 'next')).url.href).to.equal('http://a.test/next');
      expect(follow(aRequest(), aRedirect(302, '../up?q=2')).url.href).to.equal('http://a.test/up?q=2');
      expect(follow(aRequest(), aRedirect(302, '?only=query')).url.href).to.equal('http://a.test/start?only=query');
    });

    it('keeps the fragment of the request when the Location has none (RFC 9110 §10.2.2)', () => {
      const req = aRequest({ url: 'http://a.test/p#frag' });
      expect(follow(req, aRedirect(301, '/q')).url.href).to.equal('http://a.test/q#frag');
      expect(follow(req, aRedirect(301, '/q#mine')).url.href).to.equal('http://a.test/q#mine');
    });

    it('resolves //host, /\\host and \\\\host as a browser does: to another host', () => {
      for (const location of ['//b.test/x', '/\\b.test/x', '\\\\b.test/x']) {
        expect(follow(aRequest(), aRedirect(302, location)).url.href, location).to.equal('http://b.test/x');
      }
    });

    it('treats user@host without a scheme as a relative path on the same host', () => {
      expect(follow(aRequest(), aRedirect(302, 'user@b.test/x')).url.href).to.equal('http://a.test/user@b.test/x');
    });

    it('never uses credentials embedded in a Location', () => {
      const next = follow(aRequest(), aRedirect(302, 'http://user:secret@b.test/x'));
      expect(next.url.href).to.equal('http://b.test/x');
    });

    it('resolves IPv6 literals and keeps their port', () => {
      expect(follow(aRequest(), aRedirect(302, 'http://[::1]:8080/v6')).url.href).to.equal('http://[::1]:8080/v6');
      const fromV6 = aRequest({ url: 'http://[2001:db8::1]:81/a' });
      expect(follow(fromV6, aRedirect(302, '/b')).url.href).to.equal('http://[2001:db8::1]:81/b');
    });

    for (const location of ['file:///etc/passwd', 'data:text/plain,hi', 'javascript:alert(1)', 'ftp://a.test/f', 'ws://a.test/', 'unix:/var/run/docker.sock', 'mailto:a@b.test']) {
      it(`returns a redirect to ${location.split(':')[0]}: to the caller as it is`, () => {
        expect(nextHop(aRequest(), aRedirect(302, location), DEFAULTS)).to.deep.equal({ kind: 'return' });
      });
    }

    it('returns an unparsable Location as it is', () => {
      expect(nextHop(aRequest(), aRedirect(302, 'http://[::1'), DEFAULTS)).to.deep.equal({ kind: 'return' });
    });

    it('reports a missing Location, except on 300 which is a list of choices', () => {
      expect(nextHop(aRequest(), aRedirect(302), DEFAULTS)).to.deep.equal({ kind: 'missing-location' });
      expect(nextHop(aRequest(), aRedirect(300), DEFAULTS)).to.deep.equal({ kind: 'return' });
      // A 308 without Location ("Resume Incomplete" of resumable uploads) is the caller's to read.
      expect(nextHop(aRequest({ method: 'PUT' }), aRedirect(308), DEFAULTS)).to.deep.equal({ kind: 'return' });
      expect(nextHop(aRequest(), aRedirect(308), DEFAULTS)).to.deep.equal({ kind: 'return' });
      for (const status of [301, 303, 307]) {
        expect(nextHop(aRequest(), aRedirect(status), DEFAULTS), String(status)).to.deep.equal({ kind: 'missing-location' });
      }
    });
  });

  describe('the headers of the next hop', () => {
    const secrets = { authorization: 'Basic eDp5', 'proxy-authorization': 'Basic cDpx', cookie: 'sid=1', 'x-wsse': 'UsernameToken x', 'x-other': 'kept' };

    it('keeps credentials on the same origin', () => {
      const next = follow(aRequest({ headers: secrets }), aRedirect(302, '/same'));
      expect(next.headers).to.include(secrets);
    });

    it('drops Authorization, Proxy-Authorization, Cookie and X-WSSE on another origin', () => {
      for (const location of ['http://b.test/', 'http://a.test:8080/', 'https://a.test/', '//127.0.0.1/']) {
        const next = follow(aRequest({ headers: secrets }), aRedirect(302, location));
        expect(Object.keys(next.headers).sort(), location).to.deep.equal(['x-other']);
      }
    });

    it('forwards them across origins when forwardAuthorizationHeaders is set', () => {
      const next = follow(aRequest({ headers: secrets }), aRedirect(302, 'http://b.test/'), { ...DEFAULTS, forwardAuthorizationHeaders: true });
      expect(next.headers).to.include(secrets);
    });

    it('never sends them from https down to http, even on the same host or when forwarding', () => {
      const req = aRequest({ url: 'https://a.test/s', headers: secrets });
      for (const forward of [false, true]) {
        const next = follow(req, aRedirect(302, 'http://a.test/s'), { ...DEFAULTS, forwardAuthorizationHeaders: forward });
        expect(Object.keys(next.headers), String(forward)).to.deep.equal(['x-other']);
      }
    });

    it('marks every hop after an https → http hop as downgraded, even back on https (#18)', () => {
      const down = follow(aRequest({ url: 'https://a.test/s' }), aRedirect(302, 'http://a.test/p'));
      expect(down.downgraded).to.equal(true);
      const up = follow(down, aRedirect(302, 'https://a.test/q'));
      expect(up.downgraded).to.equal(true);
      expect(follow(up, aRedirect(302, '/r')).downgraded).to.equal(true);
      expect(follow(aRequest({ url: 'http://a.test/s' }), aRedirect(302, 'https://a.test/p')).downgraded).to.equal(undefined);
      expect(follow(aRequest({ url: 'https://a.test/s' }), aRedirect(302, 'https://b.test/p')).downgraded).to.equal(undefined);
    });

    it('drops credential headers on any hop of a downgraded chain, same origin or not', () => {
      const req = { ...aRequest({ url: 'http://a.test/s', headers: secrets }), downgraded: true };
      const next = follow(req, aRedirect(302, '/same'), { ...DEFAULTS, forwardAuthorizationHeaders: true });
      expect(Object.keys(next.headers)).to.deep.equal(['x-other']);
    });

    it('drops conditional headers computed for the old URI and a caller Host on another origin', () => {
      const headers = { 'if-none-match': '"e"', 'if-modified-since': 'x', host: 'a.test', 'x-other': '1' };
      expect(Object.keys(follow(aRequest({ headers }), aRedirect(302, '/same')).headers).sort()).to.deep.equal(['host', 'x-other']);
      expect(Object.keys(follow(aRequest({ headers }), aRedirect(302, 'http://b.test/')).headers)).to.deep.equal(['x-other']);
    });

    it('leaves the request it was given untouched', () => {
      const req = aRequest({ headers: secrets });
      follow(req, aRedirect(302, 'http://b.test/'));
      expect(req.headers).to.include(secrets);
      expect(req.url.href).to.equal('http://a.test/start?x=1');
    });
  });
});
