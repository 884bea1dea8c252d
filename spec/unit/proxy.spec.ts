import { expect } from 'chai';
import { inspect } from 'node:util';
import { HttpLib2Error, ProxyInfo } from '../../lib/index.js';
import {
  maskProxyPassword,
  matchesNoProxy,
  noProxyEntries,
  parseProxyUrl,
  proxyForUrl,
  proxyFromEnvironment,
  readProxyEnvironment,
} from '../../lib/transport/proxy.js';

const u = (s: string) => new URL(s);
const chosen = (env: Record<string, string>, url: string) => {
  const p = proxyFromEnvironment(env, u(url));
  return p ? `${p.url()}${p.user !== undefined ? ` as ${p.user}:${p.password ?? ''}` : ''}` : null;
};

describe('proxy settings from the environment', () => {
  it('uses HTTP_PROXY for http and HTTPS_PROXY for https', () => {
    const env = { HTTP_PROXY: 'http://plain:3128', HTTPS_PROXY: 'http://secure:3129' };
    expect(chosen(env, 'http://example.com/')).to.equal('http://plain:3128');
    expect(chosen(env, 'https://example.com/')).to.equal('http://secure:3129');
  });

  it('reads the lower-case forms, and prefers them to the upper-case ones', () => {
    expect(chosen({ http_proxy: 'http://low:1' }, 'http://a/')).to.equal('http://low:1');
    expect(chosen({ https_proxy: 'http://low:2' }, 'https://a/')).to.equal('http://low:2');
    expect(chosen({ http_proxy: 'http://low:1', HTTP_PROXY: 'http://up:1' }, 'http://a/')).to.equal('http://low:1');
  });

  it('falls back to ALL_PROXY (either case) for both schemes', () => {
    expect(chosen({ ALL_PROXY: 'socks5://s:1080' }, 'http://a/')).to.equal('socks5://s:1080');
    expect(chosen({ all_proxy: 'http://all:8' }, 'https://a/')).to.equal('http://all:8');
    expect(chosen({ ALL_PROXY: 'http://all:8', HTTPS_PROXY: 'http://s:9' }, 'https://a/')).to.equal('http://s:9');
  });

  it('chooses no proxy when nothing is set, or a variable is empty', () => {
    expect(chosen({}, 'http://a/')).to.equal(null);
    expect(chosen({ HTTP_PROXY: '' }, 'http://a/')).to.equal(null);
    expect(chosen({ HTTP_PROXY: 'http://p:1' }, 'https://a/')).to.equal(null);
  });

  it('takes credentials out of the proxy URL, percent-decoded, and never keeps them in url()', () => {
    const p = proxyFromEnvironment({ HTTP_PROXY: 'http://us%40er:p%3Ass@proxy:3128' }, u('http://a/'))!;
    expect(p.user).to.equal('us@er');
    expect(p.password).to.equal('p:ss');
    expect(p.url()).to.equal('http://proxy:3128');
    expect(p.basicToken()).to.equal(`Basic ${Buffer.from('us@er:p:ss').toString('base64')}`);
  });

  it('keeps a % that starts no escape in a proxy password as it is, as curl does', () => {
    const p = proxyFromEnvironment({ HTTP_PROXY: 'http://user:50%off%21@proxy:3128' }, u('http://a/'))!;
    expect(p.password).to.equal('50%off!');
    expect(p.url()).to.equal('http://proxy:3128');
    expect(proxyFromEnvironment({ HTTP_PROXY: 'http://us%ZZer:pw@proxy:3128' }, u('http://a/'))!.user).to.equal('us%ZZer');
  });

  it('accepts a bare host:port and fills in default ports', () => {
    expect(parseProxyUrl('proxy:8080').url()).to.equal('http://proxy:8080');
    expect(parseProxyUrl('http://proxy').port).to.equal(80);
    expect(parseProxyUrl('https://proxy').port).to.equal(443);
    expect(parseProxyUrl('socks5h://proxy').url()).to.equal('socks5://proxy:1080');
    expect(parseProxyUrl('http://[::1]:3128').url()).to.equal('http://[::1]:3128');
  });

  it('refuses schemes it cannot speak (socks4, ftp) with an HttpLib2Error', () => {
    for (const bad of ['socks4://p:1080', 'ftp://p:21']) {
      expect(() => parseProxyUrl(bad)).to.throw(HttpLib2Error, /Unsupported proxy URL/);
    }
  });

  it('keeps a malformed variable until a request would use it', () => {
    const settings = readProxyEnvironment({ HTTP_PROXY: 'socks4://p:1', HTTPS_PROXY: 'http://ok:1' });
    expect(proxyForUrl(settings, u('https://a/'))!.url()).to.equal('http://ok:1');
    expect(() => proxyForUrl(settings, u('http://a/'))).to.throw(HttpLib2Error);
  });

  describe('httpoxy guard (CGI: REQUEST_METHOD is set)', () => {
    it('ignores upper-case HTTP_PROXY, which a request header can forge', () => {
      expect(chosen({ HTTP_PROXY: 'http://evil:1', REQUEST_METHOD: 'GET' }, 'http://a/')).to.equal(null);
    });
    it('still believes lower-case http_proxy, HTTPS_PROXY and ALL_PROXY', () => {
      expect(chosen({ http_proxy: 'http://ok:1', REQUEST_METHOD: 'GET' }, 'http://a/')).to.equal('http://ok:1');
      expect(chosen({ HTTPS_PROXY: 'http://ok:2', REQUEST_METHOD: 'GET' }, 'https://a/')).to.equal('http://ok:2');
      expect(chosen({ HTTP_PROXY: 'http://evil:1', ALL_PROXY: 'http://ok:3', REQUEST_METHOD: 'GET' }, 'http://a/')).to.equal(
        'http://ok:3',
      );
    });
    it('uses upper-case HTTP_PROXY outside CGI', () => {
      expect(chosen({ HTTP_PROXY: 'http://p:1' }, 'http://a/')).to.equal('http://p:1');
    });
  });
});

describe('NO_PROXY matching', () => {
  const bypass = (noProxy: string, url: string) => matchesNoProxy(u(url), noProxyEntries(noProxy));

  it('matches a host exactly', () => {
    expect(bypass('example.com', 'http://example.com/')).to.equal(true);
    expect(bypass('example.com', 'http://example.org/')).to.equal(false);
  });

  it('matches domain suffixes with or without a leading dot or *., never a bare string suffix', () => {
    for (const entry of ['example.com', '.example.com', '*.example.com']) {
      expect(bypass(entry, 'http://a.b.example.com/'), entry).to.equal(true);
      expect(bypass(entry, 'http://badexample.com/'), entry).to.equal(false);
    }
    expect(bypass('.example.com', 'http://example.com/')).to.equal(true);
  });

  it('matches an IP address exactly, never by prefix: 127.0.0.2 does not cover 127.0.0.20', () => {
    expect(bypass('127.0.0.2', 'http://127.0.0.20/')).to.equal(false);
    expect(bypass('127.0.0.2', 'http://127.0.0.2:8080/')).to.equal(true);
    expect(bypass('0.0.1', 'http://127.0.0.1/')).to.equal(false);
    expect(bypass('.0.0.1', 'http://127.0.0.1/')).to.equal(false);
  });

  it('treats * as every host', () => {
    expect(bypass('*', 'http://anything.example/')).to.equal(true);
    expect(bypass('foo, *', 'https://10.1.2.3/')).to.equal(true);
  });

  it('checks the port when an entry has one (default ports included)', () => {
    expect(bypass('example.com:8080', 'http://example.com:8080/')).to.equal(true);
    expect(bypass('example.com:8080', 'http://example.com:9090/')).to.equal(false);
    expect(bypass('example.com:443', 'https://example.com/')).to.equal(true);
    expect(bypass('example.com:443', 'http://example.com/')).to.equal(false);
  });

  it('compares case-insensitively', () => {
    expect(bypass('EXAMPLE.com', 'http://www.Example.COM/')).to.equal(true);
  });

  it('handles IPv6 entries with and without brackets and ports', () => {
    expect(bypass('::1', 'http://[::1]:8080/')).to.equal(true);
    expect(bypass('[::1]:8080', 'http://[::1]:8080/')).to.equal(true);
    expect(bypass('[::1]:8080', 'http://[::1]:9/')).to.equal(false);
  });

  // [NO_PROXY, URL, bypassed?] — curl 7.86+'s reading (lib/noproxy.c), plus ports as Go reads them.
  const CASES: ReadonlyArray<readonly [string, string, boolean]> = [
    // Trailing dots are dropped from entries and hosts alike.
    ['localhost.', 'http://localhost/', true],
    ['localhost', 'http://localhost./', true],
    ['example.com.', 'http://a.example.com./', true],
    ['.example.com.', 'http://example.com/', true],
    ['example.com.', 'http://badexample.com/', false],
    // A leading dot (or *.) is dropped too: the domain itself and its subdomains, by whole labels.
    ['.example.com', 'http://example.com./', true],
    ['*.example.com', 'http://example.com/', true],
    ['example.com', 'http://a.b.example.com/', true],
    ['example.com', 'http://example.com.evil/', false],
    // IPv6 literals compare as parsed addresses, in any text form, with or without brackets.
    ['0:0:0:0:0:0:0:1', 'http://[::1]/', true],
    ['[0:0:0:0:0:0:0:1]', 'http://[::1]/', true],
    ['[::1]', 'http://[0::1]/', true],
    ['::1', 'http://[::2]/', false],
    ['FD00:0000::0001', 'http://[fd00::1]/', true],
    ['::ffff:127.0.0.1', 'http://[::ffff:7f00:1]/', true],
    ['::ffff:127.0.0.1', 'http://127.0.0.1/', false],
    ['127.0.0.1', 'http://[::ffff:127.0.0.1]/', false],
    // IPv4 compares as parsed addresses too; the URL parser already writes 127.1 as 127.0.0.1.
    ['127.0.0.1', 'http://127.1/', true],
    ['127.0.0.1.', 'http://127.0.0.1/', true],
    ['127.1', 'http://127.0.0.1/', false],
    ['127.000.0.1', 'http://127.0.0.1/', false],
    // CIDR ranges, IPv4 and IPv6, bracketed or not.
    ['10.0.0.0/8', 'http://10.255.1.2/', true],
    ['10.0.0.0/8', 'http://11.0.0.1/', false],
    ['127.0.0.1/32', 'http://127.0.0.1/', true],
    ['127.0.0.1/32', 'http://127.0.0.2/', false],
    ['192.168.4.0/22', 'http://192.168.7.255/', true],
    ['192.168.4.0/22', 'http://192.168.8.0/', false],
    ['0.0.0.0/0', 'http://203.0.113.9/', true],
    ['0.0.0.0/0', 'http://[::1]/', false],
    ['fd00::/8', 'http://[fd12:3456::1]/', true],
    ['fd00::/8', 'http://[fe80::1]/', false],
    ['[fd00::]/8', 'http://[fdff::1]/', true],
    ['2001:db8::/33', 'http://[2001:db8:7fff::1]/', true],
    ['2001:db8::/33', 'http://[2001:db8:8000::1]/', false],
    ['::1/128', 'http://[::1]/', true],
    // A range never covers a name, nor a name an address; malformed ranges match nothing.
    ['10.0.0.0/8', 'http://ten.example/', false],
    ['localhost', 'http://127.0.0.1/', false],
    ['10.0.0.0/33', 'http://10.0.0.1/', false],
    ['::/129', 'http://[::1]/', false],
    ['10.0.0.0/x', 'http://10.0.0.1/', false],
    ['example.com/8', 'http://example.com/', false],
    // * alone matches everything; as a word inside a name it is no wildcard.
    ['*', 'http://[::1]/', true],
    ['*', 'https://10.1.2.3/', true],
    ['ex*.com', 'http://example.com/', false],
    // host:port entries check the port (the scheme's default included), names and addresses alike.
    ['localhost.:8080', 'http://localhost:8080/', true],
    ['localhost:8080', 'http://localhost/', false],
    ['10.0.0.0/8', 'http://10.0.0.1:9/', true],
    ['10.0.0.0/8:8080', 'http://10.0.0.1:8080/', true],
    ['10.0.0.0/8:8080', 'http://10.0.0.1:9/', false],
    ['[fd00::/8]:443', 'https://[fd00::1]/', true],
    ['[fd00::/8]:443', 'http://[fd00::1]/', false],
    ['[::1]:443', 'https://[::1]/', true],
    ['[::1]:443', 'http://[::1]/', false],
    ['127.0.0.1:80', 'http://127.0.0.1/', true],
  ];

  for (const [noProxy, url, expected] of CASES) {
    it(`NO_PROXY=${noProxy} ${expected ? 'covers' : 'does not cover'} ${url}`, () => {
      expect(bypass(noProxy, url)).to.equal(expected);
    });
  }

  it('splits on commas and whitespace and ignores empty entries', () => {
    expect(noProxyEntries(' a.com,, B.org  c.net ')).to.deep.equal(['a.com', 'b.org', 'c.net']);
  });

  it('is applied to the environment proxy (either case of NO_PROXY)', () => {
    expect(chosen({ HTTP_PROXY: 'http://p:1', NO_PROXY: 'internal' }, 'http://internal/')).to.equal(null);
    expect(chosen({ HTTP_PROXY: 'http://p:1', no_proxy: 'internal' }, 'http://x.internal/')).to.equal(null);
    expect(chosen({ HTTP_PROXY: 'http://p:1', no_proxy: '127.0.0.2' }, 'http://127.0.0.20/')).to.equal('http://p:1');
  });

  it('is applied to a ProxyInfo through bypassHosts', () => {
    const p = new ProxyInfo({ host: 'p', port: 1, bypassHosts: ['local.test'] });
    expect(p.appliesTo(u('http://a.local.test/'))).to.equal(false);
    expect(p.appliesTo(u('http://remote.test/'))).to.equal(true);
  });
});

describe('ProxyInfo', () => {
  it('refuses a missing host, a bad port, an unknown protocol and CR/LF in credentials', () => {
    expect(() => new ProxyInfo({ host: '', port: 1 })).to.throw(HttpLib2Error, /host/);
    expect(() => new ProxyInfo({ host: 'p', port: 70000 })).to.throw(HttpLib2Error, /port/);
    expect(() => new ProxyInfo({ host: 'p', port: 1, protocol: 'ftp' as 'http' })).to.throw(HttpLib2Error, /protocol/);
    expect(() => new ProxyInfo({ host: 'p', port: 1, user: 'a\r\nX: y' })).to.throw(HttpLib2Error, /CR, LF/);
  });
});

/** Everything an error shows: message, stack and inspect output along its whole cause chain. */
function printed(error: unknown): string {
  const out: string[] = [];
  for (let e = error as { message?: unknown; stack?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    out.push(String(e.message), String(e.stack), inspect(e, { depth: 10 }));
  }
  return out.join('\n');
}

describe('proxy passwords are never printed', () => {
  const MASKED: ReadonlyArray<readonly [string, string]> = [
    ['http://user:secret@[bad host/', 'http://user:****@[bad host/'],
    ['user:secret@proxy:3128', 'user:****@proxy:3128'],
    ['socks5://user:secret@proxy', 'socks5://user:****@proxy'],
    // Pasted unencoded, a password may hold what ends a URI's authority: all of it is masked.
    ['http://user:se/cr#et?x@proxy:3128', 'http://user:****@proxy:3128'],
    ['http://user:sec@ret@proxy:3128', 'http://user:****@proxy:3128'],
    // Nothing to mask.
    ['http://user@proxy:3128', 'http://user@proxy:3128'],
    ['http://proxy:3128', 'http://proxy:3128'],
    ['proxy:3128', 'proxy:3128'],
  ];
  for (const [written, shown] of MASKED) {
    it(`maskProxyPassword shows ${written} as ${shown}`, () => {
      expect(maskProxyPassword(written)).to.equal(shown);
    });
  }

  for (const value of ['http://user:secret@[bad host/', 'http://user:secret#1@proxy:3128', 'http://user:secret@proxy:99999']) {
    it(`a proxy variable that cannot be parsed (${value}) fails with the password masked in message, stack and causes`, () => {
      const settings = readProxyEnvironment({ HTTP_PROXY: value });
      let error: unknown;
      try {
        proxyForUrl(settings, u('http://a/'));
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(HttpLib2Error).with.property('code', 'ERR_PROXY');
      expect((error as Error).message).to.include('user:****@');
      expect(printed(error)).not.to.include('secret');
    });
  }

  it('String(), JSON.stringify and util.inspect of a ProxyInfo show the password as ****', () => {
    const p = new ProxyInfo({ host: 'proxy', port: 3128, user: 'us er', password: 'secret' });
    expect(String(p)).to.equal('http://us%20er:****@proxy:3128');
    expect(JSON.parse(JSON.stringify(p))).to.deep.equal({ host: 'proxy', port: 3128, user: 'us er', password: '****', protocol: 'http', bypassHosts: [] });
    expect(inspect(p)).to.match(/^ProxyInfo \{/).and.include("password: '****'").and.not.include('secret');
    expect(inspect({ nested: [p] }, { depth: 5 })).not.to.include('secret');
    expect(`${p}`).not.to.include('secret');
    // The password itself is still there for the proxy hop.
    expect(p.password).to.equal('secret');
  });

  it('a ProxyInfo from an environment URL with credentials prints no password either', () => {
    const p = parseProxyUrl('http://user:secret@[::1]:3128');
    expect([String(p), JSON.stringify(p), inspect(p)].join()).not.to.include('secret');
    expect(String(p)).to.equal('http://user:****@[::1]:3128');
  });

  it('a ProxyInfo without a password or a user prints as its URL', () => {
    expect(String(new ProxyInfo({ host: 'p', port: 1, user: 'u' }))).to.equal('http://u@p:1');
    expect(String(new ProxyInfo({ host: 'p', port: 1080, protocol: 'socks5' }))).to.equal('socks5://p:1080');
    expect(inspect(new ProxyInfo({ host: 'p', port: 1 }))).not.to.include('password');
  });
});
