/**
 * Real loopback servers for specs: they record every request (method, path, headers, body) and count
 * connections, and are closed by the root hook after each file (teardown registered at creation).
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  remotePort: number;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => unknown;

export interface TestServer {
  /** `http://127.0.0.1:PORT` (or https). */
  readonly origin: string;
  readonly port: number;
  readonly requests: Recorded[];
  /** The request URL for `path`. */
  url(path?: string): string;
  /** How many requests arrived. */
  count(): number;
  /** How many TCP connections were accepted. */
  connections(): number;
  close(): Promise<void>;
}

const open: Array<() => Promise<void>> = [];

/** Closes every server started so far; the root hook calls it after each spec file. */
export async function closeAll(): Promise<void> {
  const all = open.splice(0);
  await Promise.all(all.map((f) => f()));
}

/** Destroys the server's sockets and closes it in the root hook; returns the close function. */
export function track(server: net.Server): () => Promise<void> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
    return closed;
  };
  open.push(close);
  return close;
}

async function listen(server: net.Server, host = '127.0.0.1'): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** Starts an HTTP (or, with `tls`, HTTPS) server on a free loopback port. */
export async function startServer(handler: Handler, tls?: https.ServerOptions): Promise<TestServer> {
  const requests: Recorded[] = [];
  let connections = 0;
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body,
        remotePort: req.socket.remotePort ?? 0,
      });
      Promise.resolve(handler(req, res, body)).catch((error: unknown) => {
        res.statusCode = 599;
        res.end(String(error));
      });
    });
  };
  const server = tls ? https.createServer(tls, onRequest) : http.createServer(onRequest);
  server.on('connection', () => connections++);
  const close = track(server);
  const port = await listen(server);
  const origin = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  return {
    origin,
    port,
    requests,
    url: (path = '/') => `${origin}${path}`,
    count: () => requests.length,
    connections: () => connections,
    close,
  };
}

/** A raw TCP server for malformed, truncated, reset and stalled answers. */
export async function startRawServer(onSocket: (socket: net.Socket, firstChunk: Buffer) => void): Promise<TestServer> {
  let connections = 0;
  const requests: Recorded[] = [];
  const server = net.createServer((socket) => {
    connections++;
    socket.on('error', () => undefined);
    socket.once('data', (chunk: Buffer) => {
      const head = chunk.toString('latin1');
      const [line = ''] = head.split('\r\n');
      const [method = '', url = ''] = line.split(' ');
      requests.push({ method, url, headers: {}, rawHeaders: [], body: Buffer.alloc(0), remotePort: socket.remotePort ?? 0 });
      onSocket(socket, chunk);
    });
  });
  const close = track(server);
  const port = await listen(server);
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    port,
    requests,
    url: (path = '/') => `${origin}${path}`,
    count: () => requests.length,
    connections: () => connections,
    close,
  };
}
