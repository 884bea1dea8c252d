import { expect } from 'chai';
import { HttpLib2Error } from '../../lib/errors.js';
import {
  assertBodyFraming, assertValidHeader, assertValidMethod, endToEnd, hasHopByHop, hopByHopNames, isToken, normaliseHeaders, withHeaders,
} from '../../lib/headers.js';

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    expect(e).to.be.instanceOf(HttpLib2Error);
    return (e as HttpLib2Error).code;
  }
  return undefined;
}


// The names a record would answer that are not its own fields: none, whatever Object.prototype has.
function inherited(record: object): string[] {
  const names: string[] = [];
  for (let p = Object.getPrototypeOf(record) as object | null; p !== null; p = Object.getPrototypeOf(p) as object | null) {
    names.push(...Reflect.ownKeys(p).map(String));
  }
  return names;
}

describe('request headers (RFC 9110 §5)', () => {
  describe('names are tokens (§5.1, §5.6.2)', () => {
    for (const name of ['X-Ok', 'a', "!#$%&'*+-.^_`|~09az"]) {
      it(`accepts ${JSON.stringify(name)}`, () => expect(isToken(name)).to.equal(true));
    }
    for (const name of ['', 'a b', 'a:b', 'a\r\nb', 'é', 'a(b)', 'a/b', 'a"b', 'a\0']) {
      it(`refuses ${JSON.stringify(name)}`, () => {
        expect(codeOf(() => assertValidHeader(name, 'v'))).to.equal('ERR_INVALID_REQUEST');
      });
    }
  });

  describe('values carry no CR, LF, NUL or other controls (§5.5)', () => {
    for (const value of ['a\rb', 'a\nb', 'a\r\nX-Injected: 1', 'a\0b', '\x1b', '\x7f']) {
      it(`refuses ${JSON.stringify(value)}`, () => {
        expect(codeOf(() => assertValidHeader('x-a', value))).to.equal('ERR_INVALID_REQUEST');
      });
    }
    it('accepts HTAB, spaces, quotes and obs-text', () => {
      expect(codeOf(() => assertValidHeader('x-a', 'a\tb "c" \u00e9'))).to.equal(undefined);
    });
  });

  describe('methods are tokens (§9.1)', () => {
    for (const method of ['GET\r\n', 'GET / HTTP/1.1\r\nX: y', 'G T', '', 'GET\0']) {
      it(`refuses ${JSON.stringify(method)}`, () => {
        expect(codeOf(() => assertValidMethod(method))).to.equal('ERR_INVALID_REQUEST');
      });
    }
    it('accepts custom methods', () => expect(codeOf(() => assertValidMethod('PROPFIND'))).to.equal(undefined));
  });

  describe('normaliseHeaders', () => {
    it('lower-cases names, joins repeats with ", ", skips null/undefined, stringifies values', () => {
      const h = normaliseHeaders({ 'X-A': '1', 'x-a': '2', 'X-N': 3 as unknown as string, 'X-U': undefined as unknown as string });
      expect({ ...h }).to.deep.equal({ 'x-a': '1, 2', 'x-n': '3' });
    });

    it('returns a record that inherits nothing, so __proto__ and constructor are plain names', () => {
      const input = JSON.parse('{"__proto__": "p", "constructor": "c"}') as Record<string, string>;
      const h = normaliseHeaders(input);
      expect(inherited(h)).to.deep.equal([]);
      expect(h['__proto__']).to.equal('p');
      expect(h['constructor']).to.equal('c');
      expect(Object.keys(h)).to.deep.equal(['__proto__', 'constructor']);
      const empty = normaliseHeaders({});
      expect(['constructor', 'toString', '__proto__', 'hasOwnProperty'].filter((n) => n in empty)).to.deep.equal([]);
    });

    it('reads own properties only: a polluted Object.prototype adds nothing', () => {
      const proto = Object.prototype as Record<string, unknown>;
      proto['x-polluted'] = 'yes';
      try {
        const h = normaliseHeaders({ 'x-a': '1' });
        expect(Object.keys(h)).to.deep.equal(['x-a']);
        expect('x-polluted' in h).to.equal(false);
      } finally {
        delete proto['x-polluted'];
      }
    });

    it('accepts a Map and a Headers object', () => {
      expect({ ...normaliseHeaders(new Map([['X-M', 'm']])) }).to.deep.equal({ 'x-m': 'm' });
      expect({ ...normaliseHeaders(new Headers({ 'X-H': 'h' })) }).to.deep.equal({ 'x-h': 'h' });
    });

    it('validates every header', () => {
      expect(codeOf(() => normaliseHeaders({ 'x-a': 'ok', 'x-b': 'bad\r\nX-Injected: 1' }))).to.equal('ERR_INVALID_REQUEST');
      expect(codeOf(() => normaliseHeaders({ 'bad name': 'v' }))).to.equal('ERR_INVALID_REQUEST');
    });
  });

  describe('body framing is the transport\'s (RFC 9112 §6)', () => {
    it('refuses a caller Transfer-Encoding and a Content-Length that is not the body\'s length', () => {
      expect(codeOf(() => assertBodyFraming(normaliseHeaders({ 'Transfer-Encoding': 'chunked' }), 3))).to.equal('ERR_INVALID_REQUEST');
      expect(codeOf(() => assertBodyFraming(normaliseHeaders({ 'Content-Length': '3' }), 6))).to.equal('ERR_INVALID_REQUEST');
      expect(codeOf(() => assertBodyFraming(normaliseHeaders({ 'Content-Length': '1' }), null))).to.equal('ERR_INVALID_REQUEST');
    });
    it('accepts a Content-Length equal to the body\'s length, or none', () => {
      expect(codeOf(() => assertBodyFraming(normaliseHeaders({ 'Content-Length': '6' }), 6))).to.equal(undefined);
      expect(codeOf(() => assertBodyFraming(normaliseHeaders({ 'Content-Length': '0' }), null))).to.equal(undefined);
      expect(codeOf(() => assertBodyFraming(normaliseHeaders({}), 6))).to.equal(undefined);
    });
  });

  it('withHeaders copies, sets and removes without touching its input', () => {
    const base = normaliseHeaders({ a: '1', b: '2' });
    const out = withHeaders(base, { C: '3' }, ['a']);
    expect({ ...out }).to.deep.equal({ b: '2', c: '3' });
    expect({ ...base }).to.deep.equal({ a: '1', b: '2' });
    expect(inherited(out)).to.deep.equal([]);
  });

  it('hopByHopNames adds the names listed in Connection (§7.6.1)', () => {
    const names = hopByHopNames('close, X-Private ,');
    expect(names.has('x-private')).to.equal(true);
    expect(names.has('keep-alive')).to.equal(true);
    expect(names.has('content-type')).to.equal(false);
  });

  it('endToEnd keeps only the end-to-end fields of a head (RFC 9111 §3.1)', () => {
    const head = Object.assign(Object.create(null), { connection: 'X-Private', 'x-private': '1', 'keep-alive': 'timeout=5', etag: '"v"' });
    expect(hasHopByHop(head)).to.equal(true);
    const out = endToEnd(head);
    expect({ ...out }).to.deep.equal({ etag: '"v"' });
    expect(hasHopByHop(out)).to.equal(false);
  });
});
