/**
 * A minimal SOCKS5 proxy on loopback for the proxy specs: RFC 1928 CONNECT (IPv4, IPv6 and domain
 * targets) with optional RFC 1929 username/password authentication. It records each handshake (the
 * credentials offered, the target) and is closed by the root hook like the other spec servers.
 */
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { track } from './server.js';

export interface SocksRecord {
  /** `user:password` offered in the RFC 1929 sub-negotiation, or null. */
  readonly credentials: string | null;
  /** `host:port` asked for, or null when the handshake stopped before CONNECT. */
  target: string | null;
}

export interface TestSocksProxy {
  readonly host: string;
  readonly port: number;
  readonly handshakes: SocksRecord[];
  close(): Promise<void>;
}

/** Reads exactly `n` bytes at a time from a socket that may deliver them in any chunking. */
class Reader {
  #buffered = Buffer.alloc(0);
  #waiting: (() => void) | undefined;
  #ended = false;

  constructor(socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.#buffered = Buffer.concat([this.#buffered, chunk]);
      this.#waiting?.();
    });
    socket.on('close', () => {
      this.#ended = true;
      this.#waiting?.();
    });
  }

  async take(n: number): Promise<Buffer> {
    while (this.#buffered.length < n) {
      if (this.#ended) throw new Error('socks client went away');
      await new Promise<void>((resolve) => (this.#waiting = resolve));
    }
    const out = this.#buffered.subarray(0, n);
    this.#buffered = this.#buffered.subarray(n);
    return out;
  }

  /** Whatever arrived past the handshake (the first bytes for the tunnel). */
  rest(): Buffer {
    return this.#buffered;
  }
}

export interface SocksOptions {
  /**
   * On wrong credentials, close the connection without the RFC 1929 status (as some servers do)
   * instead of sending status 1 first.
   */
  readonly closeWithoutStatus?: boolean;
}

/** Starts a SOCKS5 proxy; with `auth`, only that user/password is let through. */
export async function startSocksProxy(auth?: { user: string; password: string }, options: SocksOptions = {}): Promise<TestSocksProxy> {
  const handshakes: SocksRecord[] = [];

  const serve = async (client: net.Socket) => {
    const reader = new Reader(client);
    const [version, count] = await reader.take(2);
    const methods = [...(await reader.take(count ?? 0))];
    if (version !== 5) return client.destroy();
    let credentials: string | null = null;
    if (auth) {
      if (!methods.includes(2)) return client.end(Buffer.from([5, 0xff]));
      client.write(Buffer.from([5, 2]));
      const [, userLength] = await reader.take(2);
      const user = (await reader.take(userLength ?? 0)).toString();
      const [passwordLength] = await reader.take(1);
      const password = (await reader.take(passwordLength ?? 0)).toString();
      credentials = `${user}:${password}`;
      const ok = user === auth.user && password === auth.password;
      handshakes.push({ credentials, target: null });
      if (!ok && options.closeWithoutStatus) return client.end();
      client.write(Buffer.from([1, ok ? 0 : 1]));
      if (!ok) return client.end();
    } else {
      if (!methods.includes(0)) return client.end(Buffer.from([5, 0xff]));
      client.write(Buffer.from([5, 0]));
      handshakes.push({ credentials, target: null });
    }
    const [, command, , addressType] = await reader.take(4);
    let host: string;
    if (addressType === 1) host = [...(await reader.take(4))].join('.');
    else if (addressType === 4) host = (await reader.take(16)).toString('hex').replace(/(.{4})(?!$)/g, '$1:');
    else host = (await reader.take((await reader.take(1))[0] ?? 0)).toString();
    const port = (await reader.take(2)).readUInt16BE(0);
    handshakes.at(-1)!.target = `${host}:${port}`;
    const reply = (status: number) => Buffer.from([5, status, 0, 1, 0, 0, 0, 0, 0, 0]);
    if (command !== 1) return client.end(reply(7));
    const upstream = net.connect(port, host, () => {
      client.removeAllListeners('data');
      client.write(reply(0));
      const early = reader.rest();
      if (early.length) upstream.write(early);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => (client.writable ? client.end(reply(5)) : client.destroy()));
    client.on('close', () => upstream.destroy());
  };

  const server = net.createServer((client) => {
    client.on('error', () => undefined);
    serve(client).catch(() => client.destroy());
  });
  const close = track(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return { host: '127.0.0.1', port: (server.address() as AddressInfo).port, handshakes, close };
}
