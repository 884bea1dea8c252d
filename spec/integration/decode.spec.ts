import { expect } from 'chai';
import * as zlib from 'node:zlib';
import { FailedToDecompressContent, Http, HttpLib2Error } from '../../lib/index.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { rejection } from '../helpers/rejection.js';

const TEXT = Buffer.from('The quick brown fox jumps over the lazy dog. '.repeat(200));


function corruptCrc(gz: Buffer): Buffer {
  const out = Buffer.from(gz);
  out.writeUInt32LE((out.readUInt32LE(out.length - 8) ^ 0xffff) >>> 0, out.length - 8);
  return out;
}

function lyingSize(gz: Buffer): Buffer {
  const out = Buffer.from(gz);
  out.writeUInt32LE(1, out.length - 4); // ISIZE says 1 byte
  return out;
}

/** A gzip body of `members` members of `memberSize` zero bytes each, built from one compressed member. */
function zeroBomb(memberSize: number, members: number): Buffer {
  const one = zlib.gzipSync(Buffer.alloc(memberSize), { level: 9 });
  return Buffer.concat(Array<Buffer>(members).fill(one));
}

describe('decoding (RFC 9110 §8.4, DESIGN.md)', () => {
  const bodies: Record<string, { encoding: string; body: () => Buffer }> = {
    '/gzip': { encoding: 'gzip', body: () => zlib.gzipSync(TEXT) },
    '/x-gzip': { encoding: 'x-gzip', body: () => zlib.gzipSync(TEXT) },
    '/deflate': { encoding: 'deflate', body: () => zlib.deflateSync(TEXT) },
    '/deflate-raw': { encoding: 'deflate', body: () => zlib.deflateRawSync(TEXT) },
    '/br': { encoding: 'br', body: () => zlib.brotliCompressSync(TEXT) },
    '/stacked': { encoding: 'deflate, gzip', body: () => zlib.gzipSync(zlib.deflateSync(TEXT)) },
    '/multi': { encoding: 'gzip', body: () => Buffer.concat([zlib.gzipSync(TEXT.subarray(0, 100)), zlib.gzipSync(TEXT.subarray(100))]) },
    '/bad-crc': { encoding: 'gzip', body: () => corruptCrc(zlib.gzipSync(TEXT)) },
    '/lying-size': { encoding: 'gzip', body: () => lyingSize(zlib.gzipSync(TEXT)) },
    '/garbage': { encoding: 'gzip', body: () => Buffer.from('this is not gzip') },
    '/six': { encoding: 'gzip, gzip, gzip, gzip, gzip, gzip', body: () => [0, 1, 2, 3, 4, 5].reduce((b) => zlib.gzipSync(b), TEXT) },
    '/five': { encoding: 'gzip,gzip,gzip,gzip,gzip', body: () => [0, 1, 2, 3, 4].reduce((b) => zlib.gzipSync(b), TEXT) },
    '/unknown': { encoding: 'compress', body: () => Buffer.from('opaque') },
    '/small-bomb': { encoding: 'gzip', body: () => zeroBomb(1 << 20, 8) },
  };
  let server: TestServer;
  let client: Http;

  before(async () => {
    const built = Object.fromEntries(Object.entries(bodies).map(([path, b]) => [path, { encoding: b.encoding, body: b.body() }]));
    server = await startServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/status') {
        const status = Number(url.searchParams.get('s'));
        res.writeHead(status, { 'content-encoding': 'gzip' });
        res.end();
        return;
      }
      if (url.pathname === '/plain') {
        const size = Number(url.searchParams.get('n'));
        if (url.searchParams.has('chunked')) res.setHeader('transfer-encoding', 'chunked');
        else res.setHeader('content-length', String(size));
        res.end(Buffer.alloc(size, 'a'));
        return;
      }
      const entry = built[url.pathname];
      if (!entry) {
        res.end(`${req.headers['accept-encoding']}`);
        return;
      }
      res.writeHead(200, { 'content-encoding': entry.encoding, 'content-length': String(entry.body.length) });
      res.end(req.method === 'HEAD' ? undefined : entry.body);
    });
  });
  beforeEach(() => {
    client = new Http(null, { maxBodySize: 1 << 20 });
  });
  afterEach(() => client.close());

  it('asks for the codings it can decode, unless the caller chose', async () => {
    const [, asked] = await client.request(server.url('/echo'));
    expect(asked.toString().split(', ')).to.include.members(['gzip', 'deflate', 'br']);
    const [, chosen] = await client.request(server.url('/echo'), 'GET', null, { 'Accept-Encoding': 'identity' });
    expect(chosen.toString()).to.equal('identity');
  });

  for (const path of ['/gzip', '/x-gzip', '/deflate', '/deflate-raw', '/br', '/stacked', '/multi', '/five']) {
    it(`decodes ${path.slice(1)}, keeps the original coding in -content-encoding, sets the decoded content-length`, async () => {
      const [response, content] = await client.request(server.url(path));
      expect(content.equals(TEXT)).to.equal(true);
      expect(response.has('content-encoding')).to.equal(false);
      expect(response.get('-content-encoding')).to.equal(bodies[path]!.encoding);
      expect(response.get('content-length')).to.equal(String(TEXT.length));
    });
  }

  for (const path of ['/bad-crc', '/lying-size', '/garbage', '/six']) {
    it(`fails with FailedToDecompressContent on ${path.slice(1)}, carrying the response, and the next request works`, async () => {
      const e = (await rejection(client.request(server.url(path)))) as FailedToDecompressContent;
      expect(e).to.be.instanceOf(FailedToDecompressContent);
      expect(e.code).to.equal('ERR_FAILED_TO_DECOMPRESS');
      expect(e.response?.status).to.equal(200);
      expect(e.content?.length).to.be.greaterThan(0);
      const [, content] = await client.request(server.url('/gzip'));
      expect(content.equals(TEXT)).to.equal(true);
    });
  }

  it('passes an unknown coding through with its Content-Encoding', async () => {
    const [response, content] = await client.request(server.url('/unknown'));
    expect(response.get('content-encoding')).to.equal('compress');
    expect(content.toString()).to.equal('opaque');
  });

  it('decodes nothing for HEAD', async () => {
    const [response, content] = await client.request(server.url('/garbage'), 'HEAD');
    expect(response.status).to.equal(200);
    expect(content.length).to.equal(0);
  });

  for (const status of [204, 304]) {
    it(`decodes nothing for ${status} with Content-Encoding`, async () => {
      const [response, content] = await client.request(server.url(`/status?s=${status}`));
      expect(response.status).to.equal(status);
      expect(content.length).to.equal(0);
    });
  }

  it('stops a bomb at maxBodySize with FailedToDecompressContent', async () => {
    const e = (await rejection(client.request(server.url('/small-bomb')))) as FailedToDecompressContent;
    expect(e).to.be.instanceOf(FailedToDecompressContent);
    expect(e.message).to.contain(`${1 << 20} bytes`);
  });

  for (const framing of ['content-length', 'chunked']) {
    it(`refuses a plain body past maxBodySize (${framing}) with an HttpLib2Error, and the next request works`, async () => {
      const suffix = framing === 'chunked' ? '&chunked' : '';
      const e = (await rejection(client.request(server.url(`/plain?n=${(1 << 20) + 1}${suffix}`)))) as HttpLib2Error;
      expect(e).to.be.instanceOf(HttpLib2Error);
      expect(e).to.not.be.instanceOf(FailedToDecompressContent);
      expect(e.code).to.equal('ERR_BODY_TOO_LARGE');
      expect(e.response?.status).to.equal(200);
      const [, ok] = await client.request(server.url(`/plain?n=${1 << 20}${suffix}`));
      expect(ok.length).to.equal(1 << 20);
    });
  }

  it('with default settings, fails a 2 GiB-from-2 MB bomb quickly without the memory growing past 1 GiB', async function () {
    this.timeout(30_000);
    const bomb = zeroBomb(64 << 20, 32); // 32 members of 64 MiB of zeros: 2 GiB decoded
    expect(bomb.length).to.be.below(3_000_000);
    const bombServer = await startServer((_q, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': String(bomb.length) });
      res.end(bomb);
    });
    const defaults = new Http();
    try {
      const rss = process.memoryUsage().rss;
      const started = performance.now();
      const e = await rejection(defaults.request(bombServer.url('/')));
      const elapsed = performance.now() - started;
      const grown = process.memoryUsage().rss - rss;
      expect(e).to.be.instanceOf(FailedToDecompressContent);
      expect((e as Error).message).to.contain(`${1024 ** 3} bytes`);
      // Loose bounds: decoding all of it would take twice as long and grow by 2 GiB.
      expect(grown, `RSS grew by ${Math.round(grown / 2 ** 20)} MiB`).to.be.below(1.5 * 1024 ** 3);
      expect(elapsed, `took ${Math.round(elapsed)} ms`).to.be.below(15_000); // about 1 s on an idle machine
    } finally {
      await defaults.close();
    }
  });
});
