import { expect } from 'chai';
import { MAX_CHALLENGE_ELEMENTS, MAX_CHALLENGE_LENGTH, parseAuthParams, parseChallenges, quote, type Challenge } from '../../lib/auth/challenge.js';

const plain = (cs: Challenge[]) => cs.map((c) => ({ scheme: c.scheme, token68: c.token68, params: Object.fromEntries(c.params) }));

describe('auth/challenge: WWW-Authenticate parsing (RFC 9110 §11.6.1)', () => {
  it('reads one challenge with quoted and token parameters', () => {
    expect(plain(parseChallenges('Basic realm="WallyWorld", charset=UTF-8'))).to.deep.equal([
      { scheme: 'basic', token68: null, params: { realm: 'WallyWorld', charset: 'UTF-8' } },
    ]);
  });

  it('splits the RFC 9110 §11.6.1 example into its two challenges', () => {
    const value = 'Basic realm="simple", Newauth realm="apps", type=1, title="Login to \\"apps\\""';
    expect(plain(parseChallenges(value))).to.deep.equal([
      { scheme: 'basic', token68: null, params: { realm: 'simple' } },
      { scheme: 'newauth', token68: null, params: { realm: 'apps', type: '1', title: 'Login to "apps"' } },
    ]);
  });

  it('splits repeated header fields that the Response joined with ", "', () => {
    const joined = ['Digest realm="r", nonce="n1", algorithm=SHA-256, qop="auth, auth-int"', 'Digest realm="r", nonce="n2"', 'Basic realm="r"'].join(', ');
    const cs = parseChallenges(joined);
    expect(cs.map((c) => c.scheme)).to.deep.equal(['digest', 'digest', 'basic']);
    expect(cs[0]!.params.get('qop')).to.equal('auth, auth-int');
    expect(cs[1]!.params.get('nonce')).to.equal('n2');
  });

  it('reads token68, including trailing "=" padding, and a scheme with nothing after it', () => {
    expect(plain(parseChallenges('Negotiate YII+/abc==, NTLM, Bearer'))).to.deep.equal([
      { scheme: 'negotiate', token68: 'YII+/abc==', params: {} },
      { scheme: 'ntlm', token68: null, params: {} },
      { scheme: 'bearer', token68: null, params: {} },
    ]);
  });

  it('tells a token68 ending in "=" from a parameter', () => {
    expect(plain(parseChallenges('Foo abc=')) [0]!.token68).to.equal('abc=');
    expect(plain(parseChallenges('Foo abc=def'))[0]!.params).to.deep.equal({ abc: 'def' });
  });

  it('is case-insensitive for scheme and parameter names, and keeps value case', () => {
    const [c] = parseChallenges('DiGeSt REALM="MixedCase", NONCE=AbC');
    expect(c!.scheme).to.equal('digest');
    expect(c!.params.get('realm')).to.equal('MixedCase');
    expect(c!.params.get('nonce')).to.equal('AbC');
  });

  it('allows whitespace around "=" (BWS) and empty list elements', () => {
    expect(plain(parseChallenges(' , ,Basic realm = "x" ,, , Digest  nonce =\t"y",'))).to.deep.equal([
      { scheme: 'basic', token68: null, params: { realm: 'x' } },
      { scheme: 'digest', token68: null, params: { nonce: 'y' } },
    ]);
  });

  it('unescapes quoted-pairs and keeps commas inside quoted strings', () => {
    const [c] = parseChallenges('Digest realm="a\\\\b\\"c, d", nonce="n"');
    expect(c!.params.get('realm')).to.equal('a\\b"c, d');
    expect(c!.params.get('nonce')).to.equal('n');
  });

  it('keeps the first of a repeated parameter name', () => {
    expect(parseChallenges('Digest nonce="first", nonce="second"')[0]!.params.get('nonce')).to.equal('first');
  });

  it('skips a malformed element and keeps reading after it', () => {
    const cs = parseChallenges('Digest realm="x" junk, nonce="n", Basic realm=@@@, Basic realm="ok"');
    expect(plain(cs)).to.deep.equal([
      { scheme: 'digest', token68: null, params: { nonce: 'n' } },
      { scheme: 'basic', token68: null, params: {} },
      { scheme: 'basic', token68: null, params: { realm: 'ok' } },
    ]);
  });

  it('refuses control characters in a quoted string and an unterminated quote', () => {
    expect(parseChallenges('Digest realm="a\rb", nonce="n"')[0]!.params.has('realm')).to.equal(false);
    expect(parseChallenges('Digest realm="a\rb", nonce="n"')[0]!.params.get('nonce')).to.equal('n');
    expect(plain(parseChallenges('Basic realm="never closed'))).to.deep.equal([{ scheme: 'basic', token68: null, params: {} }]);
  });

  it('gives nothing for empty, absent or oversized values', () => {
    expect(parseChallenges('')).to.deep.equal([]);
    expect(parseChallenges(undefined)).to.deep.equal([]);
    expect(parseChallenges(`Basic realm="${'a'.repeat(MAX_CHALLENGE_LENGTH)}"`)).to.deep.equal([]);
  });

  it('refuses a value with more list elements than MAX_CHALLENGE_ELEMENTS', () => {
    // The scheme and its first parameter are one element; every further parameter is another.
    const ok = `Digest ${Array.from({ length: MAX_CHALLENGE_ELEMENTS }, (_, i) => `p${i}=v`).join(', ')}`;
    expect(parseChallenges(ok)[0]!.params.size).to.equal(MAX_CHALLENGE_ELEMENTS);
    expect(parseChallenges(`${ok}, one=more`)).to.deep.equal([]);
  });

  it('reads bare auth-params (Authentication-Info, RFC 7616 §3.5)', () => {
    const p = parseAuthParams('nextnonce="abc", qop=auth, rspauth="ff", cnonce="c", nc=00000001');
    expect(p.get('nextnonce')).to.equal('abc');
    expect(p.get('nc')).to.equal('00000001');
  });

  it('quote() escapes " and \\ so the parser reads the value back', () => {
    const nasty = 'a"b\\c';
    expect(quote(nasty)).to.equal('"a\\"b\\\\c"');
    expect(parseChallenges(`X v=${quote(nasty)}`)[0]!.params.get('v')).to.equal(nasty);
  });

  // A backtracking parser (httplib2's CVE-2021-21240) takes minutes on these and fails by the spec
  // timeout; the parse times themselves are measured by bench/challenge.js, not asserted here.
  describe('hostile 64 KiB values parse in one pass (CVE-2021-21240)', () => {
    const fill = (prefix: string, unit: string) => (prefix + unit.repeat(Math.ceil(MAX_CHALLENGE_LENGTH / unit.length))).slice(0, MAX_CHALLENGE_LENGTH);
    const cases: Record<string, string> = {
      'many parameters': fill('Digest ', 'a=b, '),
      'one unterminated quoted string of escapes': fill('Digest realm="', '\\"'),
      'only commas and spaces': fill('', ', '),
      'one long token': fill('', 'a'),
      'many schemes': fill('', 'a '),
      'many challenges': fill('', 'Basic realm="x", '),
      'runs of "=" after a scheme': fill('Foo a', '='),
      'alternating quotes and backslashes': fill('X a=', '"\\'),
      'a quoted string made of escaped backslashes': fill('X a="', '\\\\'),
      'token68 look-alikes': fill('Foo ', 'ab/+= '),
    };
    it('still reads every element of a long, well-formed value under the element limit', () => {
      const many = parseChallenges('Basic realm="x", '.repeat(200));
      expect(many.length).to.equal(200);
      expect(many.every((c) => c.scheme === 'basic' && c.params.get('realm') === 'x')).to.equal(true);
    });
    for (const [name, value] of Object.entries(cases)) {
      it(name, () => {
        expect(value.length).to.equal(MAX_CHALLENGE_LENGTH);
        const challenges = parseChallenges(value);
        expect(challenges).to.be.an('array');
        // One byte past the limit is refused outright rather than parsed.
        expect(parseChallenges(`${value}a`)).to.deep.equal([]);
      });
    }
  });
});
