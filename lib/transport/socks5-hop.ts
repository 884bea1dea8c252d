/**
 * The hop to a SOCKS5 proxy: a connector for an undici Agent that opens a TCP connection to the
 * proxy, runs the handshake that socks5.ts reads, and hands the tunnel on (TLS to the origin for
 * https). Any failure of the handshake (refused credentials, a refused CONNECT, a proxy that closes
 * or stalls) is a ProxyError at once, naming what the proxy did. The credentials go to the proxy only.
 */
import * as net from 'node:net';
import type { buildConnector } from 'undici';
import { HttpLib2Error, ProxyError } from '../errors.js';
import type { ProxyInfo } from './proxy.js';
import {
  authRequest,
  connectRequest,
  credentialsProblem,
  greeting,
  readAuthReply,
  readConnectReply,
  readMethodChoice,
  type SocksCredentials,
  type SocksReply,
} from './socks5.js';

type Stage = 'method' | 'auth' | 'connect';

// What a proxy that closes the connection at each stage has done, for the error message.
const CLOSED_AT: Readonly<Record<Stage, string>> = {
  method: 'closed the connection before choosing an authentication method',
  // RFC 1929 §2: the server sends a status and, on failure, MUST close; closing without one is
  // read the same way.
  auth: 'refused the credentials (it closed the connection without answering them)',
  connect: 'closed the connection before answering CONNECT',
};

/** How the handshakes of one connector are bounded. */
export interface TunnelLimits {
  /** Bounds the TCP connection and the handshake (the connector does not know a request's deadline). */
  readonly timeoutMs: number;
  /** Aborted when the Http closes: handshakes under way are dropped with their sockets. */
  readonly closed: AbortSignal;
}

/**
 * A connector for an undici Agent whose every connection is a tunnel through `proxy`, then TLS to
 * the origin through `endpoint` for https.
 */
export function socks5Connector(proxy: ProxyInfo, endpoint: buildConnector.connector, limits: TunnelLimits): buildConnector.connector {
  const credentials = proxy.user === undefined ? null : { user: proxy.user, password: proxy.password ?? '' };
  const problem = credentials && credentialsProblem(credentials);
  if (problem) throw new ProxyError(`The socks5 proxy ${proxy.host}:${proxy.port} cannot be used: ${problem}`);
  return (opts, callback) => {
    const port = Number(opts.port) || (opts.protocol === 'https:' ? 443 : 80);
    openTunnel({ proxy, credentials, target: { host: opts.hostname, port } }, limits).then(
      (socket) => {
        if (opts.protocol !== 'https:') return callback(null, socket);
        // TLS setup can throw at once (a client key that does not load): see proxy-hop.ts.
        try {
          endpoint({ ...opts, httpSocket: socket }, callback);
        } catch (error) {
          socket.destroy();
          callback(error as Error, null);
        }
      },
      (error: Error) => callback(error, null),
    );
  };
}

/** Connects to the proxy and runs greeting, authentication and CONNECT; resolves to the tunnel. */
function openTunnel(plan: TunnelPlan, limits: TunnelLimits): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const { proxy } = plan;
    const socket = net.connect({ host: proxy.host.replace(/^\[|\]$/g, ''), port: proxy.port });
    new Handshake(socket, plan, limits, (error) => {
      if (error) reject(error);
      else resolve(socket);
    });
  });
}

interface Target {
  readonly host: string;
  readonly port: number;
}

/** One tunnel: through which proxy, with which credentials (RFC 1929), to which target. */
interface TunnelPlan {
  readonly proxy: ProxyInfo;
  readonly credentials: SocksCredentials | null;
  readonly target: Target;
}

/** One handshake on `socket`, from the TCP connection to the CONNECT reply; `done` is called once. */
class Handshake {
  #stage: Stage = 'method';
  #received = Buffer.alloc(0);
  #connected = false;
  readonly #timer: NodeJS.Timeout;
  readonly #where: string;
  readonly #authority: string;

  readonly credentials: SocksCredentials | null;
  readonly target: Target;

  constructor(
    readonly socket: net.Socket,
    { proxy, credentials, target }: TunnelPlan,
    readonly limits: TunnelLimits,
    readonly done: (error: HttpLib2Error | null) => void,
  ) {
    this.credentials = credentials;
    this.target = target;
    this.#where = `socks5 proxy ${proxy.host}:${proxy.port}`;
    this.#authority = `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
    this.#timer = setTimeout(() => this.#fail(`did not complete the SOCKS5 handshake for ${this.#authority} in ${limits.timeoutMs} ms`), limits.timeoutMs);
    this.#timer.unref();
    socket.setNoDelay(true);
    socket.once('connect', this.#onConnect).on('data', this.#onData).on('error', this.#onError).on('close', this.#onClose);
    if (limits.closed.aborted) this.#onClosed();
    else limits.closed.addEventListener('abort', this.#onClosed, { once: true });
  }

  readonly #onConnect = (): void => {
    this.#connected = true;
    this.socket.write(greeting(this.credentials !== null));
  };

  readonly #onData = (chunk: Buffer): void => {
    this.#received = Buffer.concat([this.#received, chunk]);
    while (this.#step(read(this.#stage, this.#received, this.credentials, this.#authority)));
  };

  readonly #onError = (error: Error): void => {
    if (this.#connected) this.#fail(`failed during the SOCKS5 handshake: ${error.message}`, error);
    else this.#settle(new ProxyError(`Could not reach the ${this.#where}: ${error.message}`, { cause: error }));
  };

  readonly #onClose = (): void => this.#fail(CLOSED_AT[this.#stage]);

  readonly #onClosed = (): void => this.#settle(this.limits.closed.reason as HttpLib2Error);

  /** Acts on one reply; true when the bytes left may hold the next one. */
  #step(reply: SocksReply): boolean {
    if (reply.kind === 'incomplete') return false;
    if (reply.kind === 'refused') {
      this.#fail(reply.reason);
      return false;
    }
    this.#received = this.#received.subarray(reply.length);
    if (this.#stage === 'method' && reply.method === 'user-password' && this.credentials) {
      this.#stage = 'auth';
      this.socket.write(authRequest(this.credentials));
    } else if (this.#stage !== 'connect') {
      this.#stage = 'connect';
      this.socket.write(connectRequest(this.target.host, this.target.port));
    } else {
      this.#settle(null);
      return false;
    }
    return true;
  }

  #fail(reason: string, cause?: unknown): void {
    this.#settle(new ProxyError(`The ${this.#where} ${reason}`, { cause }));
  }

  #settle(error: HttpLib2Error | null): void {
    clearTimeout(this.#timer);
    this.limits.closed.removeEventListener('abort', this.#onClosed);
    const { socket } = this;
    socket.off('connect', this.#onConnect).off('data', this.#onData).off('error', this.#onError).off('close', this.#onClose);
    if (error) {
      socket.on('error', () => undefined).destroy();
    } else {
      // The HTTP client reads from here on: stop the flow our 'data' listener started, and give
      // back any bytes that came after the reply.
      socket.pause();
      if (this.#received.length > 0) socket.unshift(this.#received);
    }
    this.done(error);
  }
}

function read(stage: Stage, bytes: Buffer, credentials: SocksCredentials | null, authority: string): SocksReply {
  switch (stage) {
    case 'method':
      return readMethodChoice(bytes, credentials !== null);
    case 'auth':
      return readAuthReply(bytes, credentials?.user ?? '');
    case 'connect':
      return readConnectReply(bytes, authority);
    default:
      return stage satisfies never;
  }
}
