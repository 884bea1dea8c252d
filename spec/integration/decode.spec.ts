import { expect } from 'chai';
import * as zlib from 'node:zlib';
import { FailedToDecompressContent, Http, HttpLib2Error, MemoryCache } from '../../lib/index.js';
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

  it('with default settings, stops a 2 GiB-from-2 MB bomb at the ratio limit, far below maxBodySize', async function () {
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
      const e = await rejection(defaults.request(bombServer.url('/')));
      const grown = process.memoryUsage().rss - rss;
      expect(e).to.be.instanceOf(FailedToDecompressContent);
      // 100 times the encoded size (about 200 MB), not maxBodySize's 1 GiB.
      expect((e as Error).message).to.contain(`100 times the ${bomb.length} bytes received (maxDecompressionRatio: ${bomb.length * 100} bytes)`);
      expect(grown, `RSS grew by ${Math.round(grown / 2 ** 20)} MiB`).to.be.below(600 * 2 ** 20);
    } finally {
      await defaults.close();
    }
  });

  describe('the compression-ratio limit (maxDecompressionRatio, httplib2 0.32 decode_limit_ratio)', () => {
    // 20 MiB of zeros gzip to about 20 KB: a ratio near 1000. 5 MiB of them stay under the floor.
    const big = zlib.gzipSync(Buffer.alloc(20 << 20), { level: 9 });
    const small = zlib.gzipSync(Buffer.alloc(5 << 20), { level: 9 });
    let zeros: TestServer;
    before(async () => {
      zeros = await startServer((req, res) => {
        const body = req.url === '/big' ? big : small;
        res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': String(body.length) });
        res.end(body);
      });
    });
    const opened: Http[] = [];
    const make = (options: ConstructorParameters<typeof Http>[1] = {}) => {
      const h = new Http(null, options);
      opened.push(h);
      return h;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((h) => h.close()));
    });

    it('refuses, by default, a body decoding to over 100 times its size past 10 MiB, naming the limit and carrying the response', async () => {
      const e = (await rejection(make().request(zeros.url('/big')))) as FailedToDecompressContent;
      expect(e).to.be.instanceOf(FailedToDecompressContent);
      expect(e.message).to.contain(`exceeds 100 times the ${big.length} bytes received (maxDecompressionRatio: ${10 << 20} bytes)`);
      expect(e.response?.status).to.equal(200);
    });

    it('decodes a small body whatever its ratio (the 10 MiB floor)', async () => {
      const [, content] = await make().request(zeros.url('/small'));
      expect(content.length).to.equal(5 << 20);
    });

    it('takes another ratio, and 0 or Infinity turns the check off (maxBodySize still applies)', async () => {
      for (const maxDecompressionRatio of [2000, 0, Infinity]) {
        const [, content] = await make({ maxDecompressionRatio }).request(zeros.url('/big'));
        expect(content.length, String(maxDecompressionRatio)).to.equal(20 << 20);
      }
      const e = await rejection(make({ maxDecompressionRatio: 0, maxBodySize: 1 << 20 }).request(zeros.url('/big')));
      expect((e as Error).message).to.contain(`maxBodySize (${1 << 20} bytes)`);
    });

    for (const bad of [-1, 0.5, Number.NaN, '100']) {
      it(`refuses maxDecompressionRatio ${typeof bad === 'string' ? JSON.stringify(bad) : String(bad)} when the Http is made`, () => {
        expect(() => new Http(null, { maxDecompressionRatio: bad as number }))
          .to.throw(HttpLib2Error, /Invalid option maxDecompressionRatio/)
          .with.property('code', 'ERR_INVALID_REQUEST');
      });
    }
  });

  describe('the body of a redirect that will be followed', () => {
    const bomb = zeroBomb(1 << 20, 8); // 8 MiB decoded: over the 1 MiB maxBodySize of `client`
    let redirects: TestServer;
    before(async () => {
      redirects = await startServer((req, res) => {
        if (req.url === '/target') {
          res.end('arrived');
          return;
        }
        const status = req.url === '/moved-for-good' ? 301 : 302;
        res.writeHead(status, { location: '/target', 'content-encoding': 'gzip', 'content-length': String(bomb.length) });
        res.end(bomb);
      });
    });

    it('is never decoded: a gzip bomb in a 302 costs nothing and the redirect is followed', async () => {
      const [response, content] = await client.request(redirects.url('/found'));
      expect(response.status).to.equal(200);
      expect(content.toString()).to.equal('arrived');
      expect(response.previous?.status).to.equal(302);
      expect(response.previous?.get('content-length')).to.equal('0');
      expect(response.previous?.get('-content-encoding')).to.equal('gzip');
    });

    it('still lets the cache keep a gzip-bodied 301 as a permanent redirect', async () => {
      const cached = new Http(new MemoryCache(), { maxBodySize: 1 << 20 });
      try {
        await cached.request(redirects.url('/moved-for-good'));
        const before = redirects.count();
        const [response, content] = await cached.request(redirects.url('/moved-for-good'));
        expect(content.toString()).to.equal('arrived');
        expect(response.previous?.fromcache).to.equal(true);
        expect(redirects.count() - before).to.equal(1); // only /target
      } finally {
        await cached.close();
      }
    });

    it('is decoded as usual when the redirect is not followed', async () => {
      client.followRedirects = false;
      const e = (await rejection(client.request(redirects.url('/found')))) as FailedToDecompressContent;
      expect(e).to.be.instanceOf(FailedToDecompressContent);
      expect(e.response?.status).to.equal(302);
    });
  });
});
