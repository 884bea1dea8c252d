import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { MockAgent } from 'undici';
import { ConnectionError, Http, type HttpLib2Error } from '../../lib/index.js';
import { startRawServer } from '../helpers/server.js';

// RFC 9112 §6.3: a Content-Length (without Transfer-Encoding) is the body's length in octets; a
// message whose connection closes before that many octets is incomplete. The transport reads such
// a body into one buffer of that length, so these specs pin what the caller gets at its edges.

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** Writes `body` after a Content-Length head, in `pieces` writes on separate turns. */
function sendInPieces(socket: Socket, body: Buffer, pieces: number): void {
  socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
  const size = Math.ceil(body.length / pieces);
  let offset = 0;
  const next = (): void => {
    if (offset >= body.length) return;
    socket.write(body.subarray(offset, offset + size), () => setImmediate(next));
    offset += size;
  };
  next();
}

describe('response bodies and their Content-Length (RFC 9112 §6.3)', () => {
  let http: Http;
  afterEach(() => http?.close());

  it('returns a 1 MiB body sent in 64 writes byte for byte, and the next request on the connection works', async () => {
    const body = randomBytes(1 << 20);
    const server = await startRawServer((socket) => {
      sendInPieces(socket, body, 64);
      socket.on('data', () => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nnext!'));
    });
    http = new Http();
    const [response, content] = await http.request(server.url('/big'));
    expect(response.status).to.equal(200);
    expect(content.length).to.equal(body.length);
    expect(content.equals(body)).to.equal(true);
    const [, again] = await http.request(server.url('/next'));
    expect(again.toString()).to.equal('next!');
    expect(server.connections()).to.equal(1);
  });

  it('reports every piece of a Content-Length body to onProgress, in order, ending at the total', async () => {
    const body = randomBytes(256 * 1024);
    const server = await startRawServer((socket) => sendInPieces(socket, body, 8));
    http = new Http();
    const seen: Array<[number, number | null]> = [];
    const [, content] = await http.request(server.url('/p'), { onProgress: (received, total) => seen.push([received, total]) });
    expect(content.equals(body)).to.equal(true);
    expect(seen.length).to.be.at.least(2);
    expect(seen.at(-1)).to.deep.equal([body.length, body.length]);
    expect(seen.map(([r]) => r)).to.deep.equal(seen.map(([r]) => r).sort((a, b) => a - b));
  });

  it('keeps only Content-Length bytes when the server sends more', async () => {
    const server = await startRawServer((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nhello'));
    http = new Http();
    const [, content] = await http.request(server.url('/long'));
    expect(content.toString()).to.equal('hel');
  });

  it('fails a body cut short of its Content-Length with a ConnectionError', async () => {
    const server = await startRawServer((socket) => sendAndClose(socket, 'HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n', randomBytes(70_000)));
    http = new Http();
    const e = (await rejection(http.request(server.url('/short')))) as HttpLib2Error;
    expect(e).to.be.instanceOf(ConnectionError);
    expect(e.code).to.equal('ERR_CONNECTION');
  });

  describe("with a caller's own dispatcher answering in either of undici's header forms", () => {
    // What undici's request() resolves to, from a dispatcher of the caller's that answers at once.
    const answering = (headers: unknown) => ({
      request: async () => ({ statusCode: 200, statusText: 'OK', headers, body: Readable.from([Buffer.from('hello')]), trailers: {} }),
      close: async () => undefined,
      destroy: async () => undefined,
    });

    for (const [form, headers] of [
      ['the parsed record (undici by default)', { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'], 'content-length': '5' }],
      ['the raw list (responseHeaders: raw)', ['Content-Type', 'text/plain', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Content-Length', '5']],
    ] as const) {
      it(`reads ${form}: names lower-cased, a repeated field joined with ", "`, async () => {
        const own = new Http(null, { dispatcher: answering(headers) as never });
        const [response, content] = await own.request('http://own.test/');
        expect(content.toString()).to.equal('hello');
        expect([...response.entries()]).to.deep.include.members([['content-type', 'text/plain'], ['set-cookie', 'a=1, b=2'], ['content-length', '5']]);
        await own.close();
      });
    }
  });

  describe('with a dispatcher that does not frame bodies itself (undici MockAgent)', () => {
    let mock: MockAgent;
    beforeEach(() => {
      mock = new MockAgent();
      mock.disableNetConnect();
      http = new Http(null, { dispatcher: mock });
    });
    afterEach(() => mock.close());

    const reply = (path: string, body: string, length: number) =>
      mock.get('http://mock.test').intercept({ path }).reply(200, body, { headers: { 'content-length': String(length) } });

    it('fails a body shorter than its Content-Length with a ConnectionError, never a padded buffer', async () => {
      reply('/short', 'hello', 10);
      const e = (await rejection(http.request('http://mock.test/short'))) as HttpLib2Error;
      expect(e).to.be.instanceOf(ConnectionError);
      expect(e.code).to.equal('ERR_CONNECTION');
      expect(e.message).to.equal('mock.test sent only 5 of the 10 bytes its Content-Length announced');
    });

    it('refuses a body longer than its Content-Length with a ConnectionError', async () => {
      reply('/long', 'hello', 3);
      const e = (await rejection(http.request('http://mock.test/long'))) as HttpLib2Error;
      expect(e).to.be.instanceOf(ConnectionError);
      expect(e.message).to.equal('mock.test sent more than the 3 bytes its Content-Length announced');
    });

    it('returns a body of exactly its Content-Length, and an empty one for Content-Length: 0', async () => {
      reply('/exact', 'hello', 5);
      reply('/empty', '', 0);
      const [, exact] = await http.request('http://mock.test/exact');
      expect(exact.toString()).to.equal('hello');
      const [, empty] = await http.request('http://mock.test/empty');
      expect(empty.length).to.equal(0);
    });
  });
});

function sendAndClose(socket: Socket, head: string, body: Buffer): void {
  socket.write(head);
  socket.end(body);
}
