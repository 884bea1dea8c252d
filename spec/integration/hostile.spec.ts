import { expect } from 'chai';
import type * as net from 'node:net';
import { ConnectionError, Http, HttpLib2Error } from '../../lib/index.js';
import { startRawServer, type TestServer } from '../helpers/server.js';
import { rejection } from '../helpers/rejection.js';

const GOOD = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nfresh';


/** Writes `next()` every millisecond-ish until the client hangs up. */
function flood(socket: net.Socket, next: () => string): void {
  const pump = (): void => {
    while (!socket.destroyed && socket.write(next()));
    if (!socket.destroyed) socket.once('drain', pump);
  };
  socket.on('close', () => socket.removeAllListeners('drain'));
  pump();
}

/**
 * A raw server misbehaving as `hostile` on its first connection, then answering GOOD on every later
 * connection. A later request sent on the first connection would never be answered (the raw server
 * reads only the first chunk of each), so reusing a desynchronised socket shows up as a timeout.
 */
function misbehaving(hostile: (socket: net.Socket) => void): Promise<TestServer> {
  let first = true;
  return startRawServer((socket) => {
    if (first) {
      first = false;
      hostile(socket);
    } else {
      socket.end(GOOD);
    }
  });
}

const cases: Array<[string, (socket: net.Socket) => void]> = [
  ['an endless header section', (s) => {
    s.write('HTTP/1.1 200 OK\r\n');
    let i = 0;
    flood(s, () => `X-Header-${i++}: ${'v'.repeat(100)}\r\n`);
  }],
  ['a 1 MiB header', (s) => s.write(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(1 << 20)}\r\nContent-Length: 0\r\n\r\n`)],
  ['10 000 headers', (s) => {
    const lines = Array.from({ length: 10_000 }, (_, i) => `X-${i}: v\r\n`).join('');
    s.write(`HTTP/1.1 200 OK\r\n${lines}Content-Length: 0\r\n\r\n`);
  }],
  ['an endless 100 Continue stream', (s) => flood(s, () => 'HTTP/1.1 100 Continue\r\n\r\n')],
  ['an endless 103 Early Hints stream', (s) => flood(s, () => 'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n')],
  ['two different Content-Length values', (s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde')],
  ['a negative Content-Length', (s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nabc')],
  ['Content-Length with Transfer-Encoding: chunked', (s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n')],
  ['a body shorter than its Content-Length', (s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc')],
  ['an unterminated chunked body', (s) => s.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n')],
  ['a malformed chunk size', (s) => s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n')],
  ['a chunk longer than announced', (s) => s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcdef\r\n0\r\n\r\n')],
  ['a reset in the middle of the body', (s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc', () => s.resetAndDestroy())],
  ['a garbage status line', (s) => s.write('HELLO THERE\r\n\r\n')],
];

describe('hostile servers: typed errors, and the next request works', () => {
  let client: Http;

  beforeEach(() => {
    // The timeout turns a reused, desynchronised socket into a failure instead of a hang.
    client = new Http(null, { timeout: 5000 });
  });
  afterEach(() => client.close());

  for (const [label, hostile] of cases) {
    it(`${label} → ConnectionError`, async () => {
      const server = await misbehaving(hostile);
      const e = await rejection(client.request(server.url('/first')));
      expect(e).to.be.instanceOf(ConnectionError);
      expect((e as HttpLib2Error).code).to.equal('ERR_CONNECTION');
      expect((e as Error).message).to.contain(`127.0.0.1:${server.port}`);
      expect(server.count(), 'a malformed answer is not retried').to.equal(1);

      const [response, content] = await client.request(server.url('/second'));
      expect(response.status).to.equal(200);
      expect(content.toString()).to.equal('fresh');
      // A new connection (undici may still hand the next request to the dying socket first; that
      // attempt fails before any answer and is retried, hence "at least").
      expect(server.connections()).to.be.at.least(2);
    });
  }

  it('never takes bytes after a complete response as the answer to the next request', async () => {
    const server = await misbehaving((s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok' + 'HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged');
    });
    const [, first] = await client.request(server.url('/first'));
    expect(first.toString()).to.equal('ok');
    const [, second] = await client.request(server.url('/second'));
    expect(second.toString()).to.equal('fresh');
  });

  it('keeps response headers named __proto__ and constructor as plain data', async () => {
    const server = await startRawServer((s) => {
      s.end('HTTP/1.1 200 OK\r\n__proto__: p\r\nconstructor: c\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
    const [response] = await client.request(server.url('/'));
    expect(response.get('__proto__')).to.equal('p');
    expect(response.get('constructor')).to.equal('c');
    expect(({} as Record<string, unknown>)['p']).to.equal(undefined);
    expect(response.toHeaders()['__proto__']).to.equal('p');
  });
});
