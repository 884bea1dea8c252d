/**
 * A `node:http2` secure server on loopback for the HTTP/2 specs: by default it speaks HTTP/2 only
 * (`allowHTTP1: false`), so an answer from it is proof the client spoke HTTP/2. It records every
 * request (with the protocol version it came in), counts TCP connections and HTTP/2 sessions, and is
 * closed by the root hook like the other spec servers.
 */
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { track } from './server.js';

export interface H2Recorded {
  readonly method: string;
  readonly url: string;
  readonly headers: http2.IncomingHttpHeaders;
  readonly body: Buffer;
  /** `2.0`, or `1.1` when a server allowing HTTP/1 was spoken to in HTTP/1.1. */
  readonly httpVersion: string;
}

export type H2Handler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse, body: Buffer) => unknown;

export interface H2Server {
  /** `https://127.0.0.1:PORT`. */
  readonly origin: string;
  readonly port: number;
  readonly requests: H2Recorded[];
  url(path?: string): string;
  count(): number;
  /** TCP connections accepted. */
  connections(): number;
  /** HTTP/2 sessions opened (one per connection that negotiated h2). */
  sessions(): number;
  close(): Promise<void>;
}

export interface H2ServerOptions extends http2.SecureServerOptions {
  readonly key: string;
  readonly cert: string;
}

/** Starts an HTTP/2 secure server on a free loopback port; `allowHTTP1` is false unless given. */
export async function startH2Server(handler: H2Handler, options: H2ServerOptions): Promise<H2Server> {
  const requests: H2Recorded[] = [];
  let connections = 0;
  let sessions = 0;
  const server = http2.createSecureServer({ allowHTTP1: false, ...options }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method, url: req.url, headers: req.headers, body, httpVersion: req.httpVersion });
      Promise.resolve(handler(req, res, body)).catch((error: unknown) => {
        res.statusCode = 599;
        res.end(String(error));
      });
    });
  });
  server.on('secureConnection', () => connections++);
  server.on('session', () => sessions++);
  // A client that goes away mid-stream is not a spec failure.
  server.on('sessionError', () => undefined);
  const close = track(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const origin = `https://127.0.0.1:${port}`;
  return {
    origin,
    port,
    requests,
    url: (path = '/') => `${origin}${path}`,
    count: () => requests.length,
    connections: () => connections,
    sessions: () => sessions,
    close,
  };
}
