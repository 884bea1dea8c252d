import { expect } from 'chai';
import type * as net from 'node:net';
import { AbortError, Http, HttpLib2Error, RequestTimeout } from '../../lib/index.js';
import { startRawServer, startServer } from '../helpers/server.js';
import { rejection } from '../helpers/rejection.js';


/** Resolves when the server side of `socket` is closed (the client hung up). */
function closed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));
}

/** Sends `text` one byte every `ms` until done or the client hangs up. */
function trickle(socket: net.Socket, text: string, ms: number, then?: () => void): void {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || i >= text.length) {
      clearInterval(timer);
      if (!socket.destroyed) then?.();
      return;
    }
    socket.write(text[i++]!);
  }, ms);
  socket.once('close', () => clearInterval(timer));
}

describe('time: one total deadline, AbortSignal, close()', () => {
  it('times out on time against a server that sends a byte every 400 ms (headers, then body)', async () => {
    const server = await startRawServer((s) => {
      // Headers complete after ~800 ms; the body would take 40 s more. No single gap exceeds 400 ms.
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n');
      trickle(s, '\r\n', 400, () => trickle(s, 'x'.repeat(100), 400));
    });
    const client = new Http(null, { timeout: 1000 });
    try {
      const started = performance.now();
      const e = await rejection(client.request(server.url('/slow')));
      const elapsed = performance.now() - started;
      expect(e).to.be.instanceOf(RequestTimeout);
      expect((e as HttpLib2Error).code).to.equal('ERR_REQUEST_TIMEOUT');
      expect(elapsed).to.be.within(950, 1700);
      expect(server.count(), 'a timeout is not retried').to.equal(1);
    } finally {
      await client.close();
    }
  });

  it('counts the deadline across redirects, not per hop', async () => {
    const server = await startServer((req, res) => {
      const n = Number(req.url?.slice(1) ?? 0);
      setTimeout(() => {
        res.writeHead(302, { location: `/${n + 1}` });
        res.end();
      }, 300);
    });
    const client = new Http(null, { timeout: 1000 });
    try {
      const started = performance.now();
      const e = await rejection(client.request(server.url('/0')));
      expect(e).to.be.instanceOf(RequestTimeout);
      expect(performance.now() - started).to.be.within(950, 1700);
      expect(server.count()).to.equal(4);
    } finally {
      await client.close();
    }
  });

  it('an AbortSignal aborts in the middle of the body, and the socket is closed', async () => {
    let serverSocket: net.Socket | undefined;
    const server = await startRawServer((s) => {
      serverSocket = s;
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nfirst part of the body'); // then stalls
    });
    const client = new Http();
    const controller = new AbortController();
    try {
      const e = await rejection(client.request(server.url('/'), {
        signal: controller.signal,
        onProgress: () => controller.abort(new Error('user pressed stop')),
      }));
      expect(e).to.be.instanceOf(AbortError);
      expect((e as HttpLib2Error).code).to.equal('ERR_ABORTED');
      await closed(serverSocket!);
    } finally {
      await client.close();
    }
  });

  it('an already aborted signal sends nothing', async () => {
    const server = await startServer((_q, res) => res.end('never'));
    const client = new Http();
    try {
      const e = await rejection(client.request(server.url('/'), { signal: AbortSignal.abort() }));
      expect(e).to.be.instanceOf(AbortError);
      expect(server.count()).to.equal(0);
    } finally {
      await client.close();
    }
  });

  it('close() closes idle keep-alive sockets', async () => {
    const sockets: net.Socket[] = [];
    const server = await startServer((req, res) => {
      sockets.push(req.socket);
      res.end('ok');
    });
    const client = new Http();
    await client.request(server.url('/'));
    expect(sockets).to.have.length(1);
    expect(sockets[0]!.destroyed).to.equal(false);
    await client.close();
    await closed(sockets[0]!);
  });

  it('close() ends a request stalled in flight with ERR_CLOSED instead of waiting for it', async () => {
    let serverSocket: net.Socket | undefined;
    const server = await startRawServer((s) => {
      serverSocket = s;
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab'); // then stalls forever
    });
    const client = new Http();
    const pending = rejection(client.request(server.url('/'), { onProgress: () => void client.close() }));
    const e = (await pending) as HttpLib2Error;
    expect(e).to.be.instanceOf(HttpLib2Error);
    expect(e.code).to.equal('ERR_CLOSED');
    await closed(serverSocket!);
  });
});
