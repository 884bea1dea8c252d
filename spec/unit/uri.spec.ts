import { expect } from 'chai';
import { HttpLib2Error, RelativeURIError } from '../../lib/errors.js';
import { cacheKey, originOf, parseRequestUri, redactUserinfo, requestTarget, resolveLocation, sameOrigin, splitUserinfo } from '../../lib/uri.js';

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

describe('URIs (RFC 3986, WHATWG URL)', () => {
  describe('parseRequestUri: what may be requested', () => {
    it('accepts absolute http and https URIs, as strings or URL objects', () => {
      expect(parseRequestUri('http://a.test/p?q=1').href).to.equal('http://a.test/p?q=1');
      expect(parseRequestUri(new URL('https://a.test')).href).to.equal('https://a.test/');
      expect(parseRequestUri('HTTP://A.TEST:80/x').href).to.equal('http://a.test/x');
    });

    for (const uri of ['/relative/path', 'a.test/path', '', '?q=1', '//a.test/x']) {
      it(`refuses ${JSON.stringify(uri)} with RelativeURIError`, () => {
        expect(thrown(() => parseRequestUri(uri))).to.be.instanceOf(RelativeURIError);
      });
    }

    for (const uri of ['ftp://a.test/f', 'file:///etc/passwd', 'javascript:alert(1)', 'mailto:a@b.test']) {
      it(`refuses the ${uri.split(':')[0]}: scheme with RelativeURIError, as httplib2 does`, () => {
        expect(thrown(() => parseRequestUri(uri))).to.be.instanceOf(RelativeURIError);
      });
    }

    const controls = ['http://a.test/p\r\nX-Injected: 1', 'http://a.test/\nx', 'http://a.test/\0', 'http://a.test/a\tb', 'http://a.te\r\nst/', 'http://a.test/\x7f', 'http://a.test/\x1b[31m'];
    for (const uri of controls) {
      it(`refuses control characters in ${JSON.stringify(uri)} (the URL parser would silently drop them)`, () => {
        const e = thrown(() => parseRequestUri(uri)) as HttpLib2Error;
        expect(e).to.be.instanceOf(HttpLib2Error);
        expect(e.code).to.equal('ERR_INVALID_REQUEST');
      });
    }

    it('percent-encodes spaces in the path and query', () => {
      const url = parseRequestUri('http://a.test/a b?c d');
      expect(requestTarget(url)).to.equal('/a%20b?c%20d');
    });

    for (const uri of [undefined, null, 42, {}]) {
      it(`refuses ${String(uri)} (neither a string nor a URL) as invalid input`, () => {
        const e = thrown(() => parseRequestUri(uri as never)) as HttpLib2Error;
        expect(e).to.be.instanceOf(HttpLib2Error);
        expect(e.code).to.equal('ERR_INVALID_REQUEST');
        expect(e.message).to.match(/string or a URL/);
      });
    }

    it('refuses a space in the host as a malformed URI, not a relative one', () => {
      const e = thrown(() => parseRequestUri('http://a .test/')) as HttpLib2Error;
      expect(e).to.not.be.instanceOf(RelativeURIError);
      expect(e.code).to.equal('ERR_INVALID_REQUEST');
    });
  });

  describe('error messages never quote a password', () => {
    for (const uri of ['ftp://ann:s3cret@a.test/', 'http://ann:s3cret@exa mple/', 'http://ann:s3cret@a.test/\r\n', '//ann:s3cret@a.test/x']) {
      it(`${JSON.stringify(uri)}`, () => {
        const e = thrown(() => parseRequestUri(uri)) as Error;
        expect(e).to.be.instanceOf(HttpLib2Error);
        expect(e.message).not.to.include('s3cret');
        expect(e.message).to.include('ann:redacted@');
      });
    }
    it('redactUserinfo keeps everything but the password', () => {
      expect(redactUserinfo('see http://ann:pw@h.test:81/p?q=1 and https://h.test/a@b'))
        .to.equal('see http://ann:redacted@h.test:81/p?q=1 and https://h.test/a@b');
    });
  });

  describe('splitUserinfo: the user info leaves the URI every layer sees', () => {
    it('returns the URI without it and the decoded name and password', () => {
      const { url, userinfo } = splitUserinfo(new URL('http://a%40b:p%3Aw%C3%A9@h.test:81/p?q#f'));
      expect(url.href).to.equal('http://h.test:81/p?q#f');
      expect(userinfo).to.deep.equal({ name: 'a@b', password: 'p:wé' });
    });

    it('leaves a URI without user info as it is', () => {
      const given = new URL('https://h.test/');
      expect(splitUserinfo(given)).to.deep.equal({ url: given, userinfo: null });
    });

    it('never changes the URL it was given', () => {
      const given = new URL('http://u:p@h.test/');
      splitUserinfo(given);
      expect(given.href).to.equal('http://u:p@h.test/');
    });

    it('refuses bad percent-encoding without quoting the password', () => {
      const e = thrown(() => splitUserinfo(new URL('http://u:s3cret%zz@h.test/'))) as HttpLib2Error;
      expect(e.code).to.equal('ERR_INVALID_REQUEST');
      expect(e.message).to.not.include('s3cret');
    });
  });

  describe('resolveLocation: as a browser resolves it', () => {
    const base = new URL('http://a.test/dir/page?x=1');
    const table: Array<[string, string | null]> = [
      ['/abs', 'http://a.test/abs'],
      ['rel', 'http://a.test/dir/rel'],
      ['//b.test/x', 'http://b.test/x'],
      ['/\\b.test/x', 'http://b.test/x'],
      ['\\\\b.test/x', 'http://b.test/x'],
      ['user@b.test', 'http://a.test/dir/user@b.test'],
      ['http://user@b.test/', 'http://user@b.test/'],
      ['http://[::1]:81/', 'http://[::1]:81/'],
      ['http://[::ffff:127.0.0.1]/', 'http://[::ffff:7f00:1]/'],
      ['https://B.TEST:443/', 'https://b.test/'],
      ['  /trimmed  ', 'http://a.test/trimmed'],
      ['/a b', 'http://a.test/a%20b'],
      ['http://[::1', null],
      ['http://a.test/\r\nx', null],
    ];
    for (const [location, expected] of table) {
      it(`${JSON.stringify(location)} → ${expected}`, () => {
        expect(resolveLocation(location, base)?.href ?? null).to.equal(expected);
      });
    }
  });

  describe('origins', () => {
    it('compares scheme, host and port; default ports are explicit', () => {
      expect(sameOrigin(new URL('http://a.test/'), new URL('http://A.test:80/x'))).to.equal(true);
      expect(sameOrigin(new URL('http://a.test/'), new URL('https://a.test/'))).to.equal(false);
      expect(sameOrigin(new URL('http://127.0.0.1:1/'), new URL('http://127.0.0.1:2/'))).to.equal(false);
      expect(sameOrigin(new URL('http://127.0.0.1:1/'), new URL('http://localhost:1/'))).to.equal(false);
      expect(originOf(new URL('https://a.test/'))).to.equal('https://a.test:443');
    });
  });

  describe('cacheKey', () => {
    it('lower-cases scheme and host, drops the default port and the fragment, keeps path and query case', () => {
      expect(cacheKey(new URL('HTTP://A.Test:80/Path?Q=1#frag'))).to.equal('http://a.test/Path?Q=1');
      expect(cacheKey(new URL('http://a.test'))).to.equal('http://a.test/');
      expect(cacheKey(new URL('http://a.test:8080/'))).to.equal('http://a.test:8080/');
    });
  });

  it('requestTarget never carries the fragment', () => {
    expect(requestTarget(new URL('http://a.test/p?q#f'))).to.equal('/p?q');
  });
});
