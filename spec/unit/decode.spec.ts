import { expect } from 'chai';
import * as zlib from 'node:zlib';
import { ACCEPT_ENCODING, decodeBody, decoding, parseCodings } from '../../lib/transport/decode.js';
import { FailedToDecompressContent } from '../../lib/errors.js';
import { Response } from '../../lib/response.js';
import type { Exchange, HopRequest, RequestContext } from '../../lib/types.js';

const TEXT = Buffer.from('hello, decoded world '.repeat(50));
const MAX = 1 << 20;

function failure(f: () => unknown): FailedToDecompressContent {
  try {
    f();
  } catch (e) {
    expect(e).to.be.instanceOf(FailedToDecompressContent);
    return e as FailedToDecompressContent;
  }
  throw new Error('expected FailedToDecompressContent');
}

describe('content codings (RFC 9110 §8.4)', () => {
  it('parses a Content-Encoding list in the order applied, dropping identity', () => {
    expect(parseCodings('GZIP, identity,br')).to.deep.equal(['gzip', 'br']);
    expect(parseCodings(undefined)).to.deep.equal([]);
    expect(parseCodings(' , ')).to.deep.equal([]);
  });

  it('decodes gzip, x-gzip, br and both forms of deflate', () => {
    expect(decodeBody(zlib.gzipSync(TEXT), ['gzip'], MAX)).to.deep.equal(TEXT);
    expect(decodeBody(zlib.gzipSync(TEXT), ['x-gzip'], MAX)).to.deep.equal(TEXT);
    expect(decodeBody(zlib.brotliCompressSync(TEXT), ['br'], MAX)).to.deep.equal(TEXT);
    expect(decodeBody(zlib.deflateSync(TEXT), ['deflate'], MAX)).to.deep.equal(TEXT);
    expect(decodeBody(zlib.deflateRawSync(TEXT), ['deflate'], MAX)).to.deep.equal(TEXT);
  });

  it('undoes stacked codings right to left', () => {
    const twice = zlib.brotliCompressSync(zlib.gzipSync(TEXT)); // "gzip, br": gzip applied first
    expect(decodeBody(twice, ['gzip', 'br'], MAX)).to.deep.equal(TEXT);
  });

  it('decodes every member of a multi-member gzip body', () => {
    const body = Buffer.concat([zlib.gzipSync('one '), zlib.gzipSync('two '), zlib.gzipSync('three')]);
    expect(decodeBody(body, ['gzip'], MAX)!.toString()).to.equal('one two three');
  });

  it('refuses a gzip body whose CRC is wrong', () => {
    const body = zlib.gzipSync(TEXT);
    body.writeUInt32LE((body.readUInt32LE(body.length - 8) ^ 1) >>> 0, body.length - 8);
    failure(() => decodeBody(body, ['gzip'], MAX));
  });

  it('refuses a gzip body whose size field lies', () => {
    const body = zlib.gzipSync(TEXT);
    body.writeUInt32LE(7, body.length - 4);
    failure(() => decodeBody(body, ['gzip'], MAX));
  });

  it('refuses a truncated body and garbage', () => {
    const body = zlib.gzipSync(TEXT);
    failure(() => decodeBody(body.subarray(0, body.length - 10), ['gzip'], MAX));
    failure(() => decodeBody(Buffer.from('not compressed at all'), ['gzip'], MAX));
    failure(() => decodeBody(Buffer.from('not compressed at all'), ['br'], MAX));
  });

  it('stops at maxOutputLength, naming the limit', () => {
    const bomb = zlib.gzipSync(Buffer.alloc(10 * MAX));
    const e = failure(() => decodeBody(bomb, ['gzip'], MAX));
    expect(e.message).to.contain(`${MAX} bytes`);
    failure(() => decodeBody(zlib.brotliCompressSync(Buffer.alloc(10 * MAX)), ['br'], MAX));
    failure(() => decodeBody(zlib.deflateRawSync(Buffer.alloc(10 * MAX)), ['deflate'], MAX));
  });

  it('decodes at most five stacked codings', () => {
    let body: Buffer = TEXT;
    for (let i = 0; i < 5; i++) body = zlib.gzipSync(body);
    expect(decodeBody(body, Array(5).fill('gzip'), MAX)).to.deep.equal(TEXT);
    failure(() => decodeBody(zlib.gzipSync(body), Array(6).fill('gzip'), MAX));
  });

  it('passes unknown codings through (null), including names of Object.prototype members', () => {
    for (const coding of ['compress', 'constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      expect(decodeBody(TEXT, [coding], MAX), coding).to.equal(null);
    }
  });

  it('returns an empty body as it is', () => {
    expect(decodeBody(Buffer.alloc(0), ['gzip'], MAX)!.length).to.equal(0);
  });

  it('advertises only codings this Node decodes', () => {
    for (const c of ACCEPT_ENCODING.split(', ')) expect(decodeBody(Buffer.alloc(0), [c], MAX), c).to.not.equal(null);
  });

  describe('the decoding layer', () => {
    const ctx = { settings: { maxBodySize: MAX } } as unknown as RequestContext;
    function req(method = 'GET', headers: Record<string, string> = {}): HopRequest {
      return { url: new URL('http://a.test/'), method, headers: Object.assign(Object.create(null), headers), body: null };
    }
    function layer(status: number, headers: Record<string, string>, content: Buffer) {
      const seen: HopRequest[] = [];
      const send = decoding(async (r): Promise<Exchange> => {
        seen.push(r);
        return { response: new Response({ status, headers }), content };
      });
      return { send, seen };
    }

    it('asks for what it decodes, unless the caller chose', async () => {
      const { send, seen } = layer(200, {}, TEXT);
      await send(req(), ctx);
      await send(req('GET', { 'accept-encoding': 'identity' }), ctx);
      expect(seen[0]!.headers['accept-encoding']).to.equal(ACCEPT_ENCODING);
      expect(['constructor', 'toString', '__proto__'].filter((n) => n in seen[0]!.headers)).to.deep.equal([]);
      expect(seen[1]!.headers['accept-encoding']).to.equal('identity');
    });

    it('moves content-encoding to -content-encoding and sets the decoded content-length', async () => {
      const gz = zlib.gzipSync(TEXT);
      const { send } = layer(200, { 'content-encoding': 'gzip', 'content-length': String(gz.length) }, gz);
      const { response, content } = await send(req(), ctx);
      expect(content).to.deep.equal(TEXT);
      expect(response.has('content-encoding')).to.equal(false);
      expect(response.get('-content-encoding')).to.equal('gzip');
      expect(response.get('content-length')).to.equal(String(TEXT.length));
    });

    it('answers with a response of its own: the one it received stays as the transport read it (#10)', async () => {
      const gz = zlib.gzipSync(TEXT);
      const received = new Response({ status: 200, headers: { 'content-encoding': 'gzip', 'content-length': String(gz.length) } });
      const redirect = new Response({ status: 302, headers: { location: '/next', 'content-encoding': 'gzip' } });
      const follow = { settings: { maxBodySize: MAX, maxDecompressionRatio: 100, followRedirects: true, followAllRedirects: false, redirectCodes: new Set([302]) } } as unknown as RequestContext;
      for (const original of [received, redirect]) {
        const before = [...original];
        const send = decoding(async () => ({ response: original, content: gz }));
        const { response } = await send(req(), follow);
        expect(response).not.to.equal(original);
        expect([...original]).to.deep.equal(before);
        expect(response.has('content-encoding')).to.equal(false);
      }
    });

    it('decodes nothing for HEAD, 204 and 304', async () => {
      for (const [method, status] of [['HEAD', 200], ['GET', 204], ['GET', 304]] as const) {
        const { send } = layer(status, { 'content-encoding': 'gzip' }, Buffer.from('garbage'));
        const { content } = await send(req(method), ctx);
        expect(content.length, `${method} ${status}`).to.equal(0);
      }
    });

    it('drops, undecoded, the body of a redirect the redirect loop will follow', async () => {
      const follow = { settings: { maxBodySize: MAX, maxDecompressionRatio: 100, followRedirects: true, followAllRedirects: false, redirectCodes: new Set([300, 301, 302, 303, 307, 308]) } } as unknown as RequestContext;
      const { send } = layer(302, { location: '/next', 'content-encoding': 'gzip', 'content-length': '7' }, Buffer.from('garbage'));
      const { response, content } = await send(req(), follow);
      expect(content.length).to.equal(0);
      expect(response.get('content-length')).to.equal('0');
      expect(response.has('content-encoding')).to.equal(false);
      expect(response.get('-content-encoding')).to.equal('gzip');
      // Not followed (a POST without followAllRedirects): decoded, so the garbage fails.
      const post = layer(302, { location: '/next', 'content-encoding': 'gzip' }, Buffer.from('garbage'));
      const e = await post.send(req('POST'), follow).catch((error: unknown) => error);
      expect(e).to.be.instanceOf(FailedToDecompressContent);
    });

    it('fails with the response and the raw body attached', async () => {
      const { send } = layer(200, { 'content-encoding': 'gzip' }, Buffer.from('garbage'));
      try {
        await send(req(), ctx);
        expect.fail('should have thrown');
      } catch (e) {
        expect(e).to.be.instanceOf(FailedToDecompressContent);
        expect((e as FailedToDecompressContent).response?.status).to.equal(200);
        expect((e as FailedToDecompressContent).content?.toString()).to.equal('garbage');
      }
    });
  });
});
