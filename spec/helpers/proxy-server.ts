/**
 * A small forward proxy on loopback for the proxy specs: absolute-form forwarding of plain http
 * requests and CONNECT tunnels, an optional Basic Proxy-Authorization check answered with 407, and a
 * switch to refuse everything (403). It records every request it received (the proxy hop only: it
 * cannot see inside a tunnel) and is closed by the root hook like the other spec servers.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { track } from './server.js';

export interface ProxyRecord {
  /** `CONNECT`, or the method of a forwarded request. */
  readonly method: string;
  /** `host:port` for CONNECT, the absolute URI for a forwarded request. */
  readonly target: string;
  readonly headers: http.IncomingHttpHeaders;
}

export interface ProxyOptions {
  /** Demand `Proxy-Authorization: Basic base64(user:password)`, else 407. */
  readonly auth?: { readonly user: string; readonly password: string };
  /** Answer every request and CONNECT with this status (e.g. 403) instead of serving it. */
  readonly refuseWith?: number;
  /** Serve the proxy itself over TLS (an `https://` proxy) with this key and certificate. */
  readonly tls?: https.ServerOptions;
}

export interface TestProxy {
  /** `http://127.0.0.1:PORT` (`https://` with the tls option). */
  readonly origin: string;
  readonly host: string;
  readonly port: number;
  readonly requests: ProxyRecord[];
  /** How many CONNECT requests arrived (served or refused). */
  connects(): number;
  /** How many absolute-form requests arrived (forwarded or refused). */
  forwards(): number;
  close(): Promise<void>;
}

// What a proxy consumes itself and never passes on (RFC 9110 §7.6.1, §11.7.2).
const CONSUMED = new Set(['proxy-authorization', 'proxy-connection', 'connection', 'keep-alive']);

/** Starts a forward proxy on a free loopback port. */
export async function startProxy(options: ProxyOptions = {}): Promise<TestProxy> {
  const requests: ProxyRecord[] = [];
  const expected = options.auth
    ? `Basic ${Buffer.from(`${options.auth.user}:${options.auth.password}`).toString('base64')}`
    : undefined;
  const refusal = (headers: http.IncomingHttpHeaders): number | undefined => {
    if (options.refuseWith !== undefined) return options.refuseWith;
    if (expected !== undefined && headers['proxy-authorization'] !== expected) return 407;
    return undefined;
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    requests.push({ method: req.method ?? '', target: req.url ?? '', headers: req.headers });
    const status = refusal(req.headers);
    if (status !== undefined) {
      res.writeHead(status, status === 407 ? { 'proxy-authenticate': 'Basic realm="spec proxy"' } : {});
      res.end(`refused by proxy (${status})`);
      return;
    }
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('absolute-form required');
      return;
    }
    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) if (!CONSUMED.has(name)) headers[name] = value;
    const upstream = http.request(
      { host: target.hostname, port: target.port || 80, method: req.method, path: `${target.pathname}${target.search}`, headers, agent: false },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.headersSent ? res.destroy() : res.writeHead(502).end('bad gateway'));
    req.pipe(upstream);
  };
  const server = options.tls ? https.createServer(options.tls, onRequest) : http.createServer(onRequest);

  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    requests.push({ method: 'CONNECT', target: req.url ?? '', headers: req.headers });
    client.on('error', () => undefined);
    const status = refusal(req.headers);
    if (status !== undefined) {
      const extra = status === 407 ? 'Proxy-Authenticate: Basic realm="spec proxy"\r\n' : '';
      client.end(`HTTP/1.1 ${status} Refused\r\n${extra}Content-Length: 0\r\n\r\n`);
      return;
    }
    const [host = '', port = ''] = splitHostPort(req.url ?? '');
    const upstream = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });

  const close = track(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    requests,
    connects: () => requests.filter((r) => r.method === 'CONNECT').length,
    forwards: () => requests.filter((r) => r.method !== 'CONNECT').length,
    close,
  };
}

function splitHostPort(authority: string): [string, string] {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(authority) ?? /^([^:]+):(\d+)$/.exec(authority);
  return m ? [m[1]!, m[2]!] : [authority, '443'];
}
