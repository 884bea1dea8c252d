/**
 * A small forward proxy on loopback for the proxy specs: absolute-form forwarding of plain http
 * requests and CONNECT tunnels, an optional Basic or Digest Proxy-Authorization check answered with
 * 407 (Digest answers are recomputed here, independently of lib/, and their nonce counts must go up),
 * and a switch to refuse everything (403). It records every request it received (the proxy hop only:
 * it cannot see inside a tunnel) and is closed by the root hook like the other spec servers.
 */
import { createHash, randomBytes } from 'node:crypto';
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
  /**
   * Demand Digest (RFC 7616, qop=auth) instead of Basic: each answer is recomputed here and refused
   * when the hash, user, realm, uri or method is wrong or its nonce count does not go up.
   */
  readonly digest?: DigestOptions;
  /** Answer the first request (or CONNECT) with a 407 whatever it carries. */
  readonly challengeFirst?: boolean;
  /** The Proxy-Authenticate value of every 407, in place of the Basic or Digest challenge. */
  readonly challenge?: string;
  /** Answer every request and CONNECT with this status (e.g. 403) instead of serving it. */
  readonly refuseWith?: number;
  /** Serve the proxy itself over TLS (an `https://` proxy) with this key and certificate. */
  readonly tls?: https.ServerOptions;
}

export interface DigestOptions {
  readonly user: string;
  readonly password: string;
  /** @default 'MD5' */
  readonly algorithm?: 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess';
  /** Accept a nonce this many times, then answer 407 with `stale=true` and a new nonce. @default unlimited */
  readonly nonceUses?: number;
}

/** One Digest answer the proxy checked. */
export interface DigestCheck {
  readonly method: string;
  readonly uri: string;
  readonly nonce: string;
  readonly nc: number;
  /** The answer was right (hash, user, realm, uri, method, known nonce, nonce count going up). */
  readonly ok: boolean;
}

export interface TestProxy {
  /** `http://127.0.0.1:PORT` (`https://` with the tls option). */
  readonly origin: string;
  readonly host: string;
  readonly port: number;
  readonly requests: ProxyRecord[];
  /** Every Digest answer received, in order. */
  readonly digests: DigestCheck[];
  /** How many CONNECT requests arrived (served or refused). */
  connects(): number;
  /** How many absolute-form requests arrived (forwarded or refused). */
  forwards(): number;
  /** How many TCP connections the proxy accepted. */
  connections(): number;
  close(): Promise<void>;
}

// What a proxy consumes itself and never passes on (RFC 9110 §7.6.1, §11.7.2).
const CONSUMED = new Set(['proxy-authorization', 'proxy-connection', 'connection', 'keep-alive']);

/** Starts a forward proxy on a free loopback port. */
export async function startProxy(options: ProxyOptions = {}): Promise<TestProxy> {
  const requests: ProxyRecord[] = [];
  const digests: DigestCheck[] = [];
  const expected = options.auth
    ? `Basic ${Buffer.from(`${options.auth.user}:${options.auth.password}`).toString('base64')}`
    : undefined;
  const digest = options.digest ? digestChecker(options.digest, digests) : undefined;
  let seen = 0;
  /** The refusal for one request on the proxy hop: a status and, for 407, its challenge. */
  const refusal = (method: string, target: string, headers: http.IncomingHttpHeaders): { status: number; challenge: string } | undefined => {
    const first = seen++ === 0;
    if (options.refuseWith !== undefined) return { status: options.refuseWith, challenge: '' };
    const basicChallenge = 'Basic realm="spec proxy"';
    if (first && options.challengeFirst) return { status: 407, challenge: options.challenge ?? digest?.challenge(false) ?? basicChallenge };
    if (digest) {
      const outcome = digest.check(method, target, headers['proxy-authorization']);
      return outcome === 'ok' ? undefined : { status: 407, challenge: options.challenge ?? digest.challenge(outcome === 'stale') };
    }
    if (expected !== undefined && headers['proxy-authorization'] !== expected) return { status: 407, challenge: options.challenge ?? basicChallenge };
    return undefined;
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    requests.push({ method: req.method ?? '', target: req.url ?? '', headers: req.headers });
    const refused = refusal(req.method ?? '', req.url ?? '', req.headers);
    if (refused !== undefined) {
      res.writeHead(refused.status, refused.status === 407 ? { 'proxy-authenticate': refused.challenge } : {});
      res.end(`refused by proxy (${refused.status})`);
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
        // Hop-by-hop fields stay on their hop (RFC 9110 §7.6.1): the upstream's `Connection: close`
        // must not close the client's connection to the proxy.
        const back: http.OutgoingHttpHeaders = {};
        for (const [name, value] of Object.entries(answer.headers)) if (!CONSUMED.has(name)) back[name] = value;
        res.writeHead(answer.statusCode ?? 502, back);
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
    const refused = refusal('CONNECT', req.url ?? '', req.headers);
    if (refused !== undefined) {
      const extra = refused.status === 407 ? `Proxy-Authenticate: ${refused.challenge}\r\n` : '';
      client.end(`HTTP/1.1 ${refused.status} Refused\r\n${extra}Content-Length: 0\r\n\r\n`);
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

  let connections = 0;
  server.on(options.tls ? 'secureConnection' : 'connection', () => connections++);
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
    digests,
    connects: () => requests.filter((r) => r.method === 'CONNECT').length,
    forwards: () => requests.filter((r) => r.method !== 'CONNECT').length,
    connections: () => connections,
    close,
  };
}

function splitHostPort(authority: string): [string, string] {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(authority) ?? /^([^:]+):(\d+)$/.exec(authority);
  return m ? [m[1]!, m[2]!] : [authority, '443'];
}

const HASHES = { MD5: 'md5', 'SHA-256': 'sha256' } as const;

/**
 * The server side of RFC 7616 for one proxy, written from the RFC (§3.4.1-§3.4.3) without lib/'s
 * code: issues nonces, and checks an answer's hash and that its nonce count goes up.
 */
function digestChecker(options: DigestOptions, log: DigestCheck[]) {
  const realm = 'spec proxy';
  const algorithm = options.algorithm ?? 'MD5';
  const hashName = HASHES[algorithm.replace(/-sess$/, '') as keyof typeof HASHES];
  const H = (text: string) => createHash(hashName).update(text, 'utf8').digest('hex');
  const opaque = randomBytes(8).toString('hex');
  // nonce → highest nonce count accepted on it, and how many times it was accepted.
  const nonces = new Map<string, { nc: number; uses: number }>();
  let current = '';
  const fresh = () => {
    current = randomBytes(12).toString('hex');
    nonces.set(current, { nc: 0, uses: 0 });
  };
  fresh();
  return {
    challenge(stale: boolean): string {
      if (stale) fresh();
      return `Digest realm="${realm}", qop="auth", algorithm=${algorithm}, nonce="${current}", opaque="${opaque}"${stale ? ', stale=true' : ''}`;
    },
    check(method: string, target: string, header: string | string[] | undefined): 'ok' | 'stale' | 'refused' {
      if (typeof header !== 'string' || !/^digest\s/i.test(header)) return 'refused';
      const p = authParams(header.slice(7));
      const nonce = p.get('nonce') ?? '';
      const nc = parseInt(p.get('nc') ?? '', 16);
      const state = nonces.get(nonce);
      let ha1 = H(`${options.user}:${realm}:${options.password}`);
      if (algorithm.endsWith('-sess')) ha1 = H(`${ha1}:${nonce}:${p.get('cnonce') ?? ''}`);
      const ha2 = H(`${method}:${p.get('uri') ?? ''}`);
      const response = H(`${ha1}:${nonce}:${p.get('nc') ?? ''}:${p.get('cnonce') ?? ''}:auth:${ha2}`);
      const ok =
        state !== undefined &&
        p.get('username') === options.user &&
        p.get('realm') === realm &&
        p.get('uri') === target &&
        p.get('qop') === 'auth' &&
        p.get('opaque') === opaque &&
        (p.get('algorithm') ?? 'MD5') === algorithm &&
        (p.get('cnonce') ?? '').length >= 16 &&
        Number.isInteger(nc) && nc > state.nc &&
        p.get('response') === response;
      log.push({ method, uri: p.get('uri') ?? '', nonce, nc, ok });
      if (!ok) return 'refused';
      if (options.nonceUses !== undefined && state.uses >= options.nonceUses) return 'stale';
      state.nc = nc;
      state.uses++;
      return 'ok';
    },
  };
}

/** `name=token` and `name="quoted"` pairs of an auth header (RFC 9110 §11.2). */
function authParams(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /\s*([^\s=,]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    out.set(m[1]!.toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!);
  }
  return out;
}
