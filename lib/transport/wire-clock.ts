/**
 * What the connection tells about one exchange, noted by the transport's own pools
 * (connection-pool.ts) on an object the transport hands undici as the request's `opaque`: the
 * protocol the connection negotiated (ALPN, RFC 7301), known for certain only there. It never
 * sends anything and never changes a request.
 */
import type { Socket } from 'node:net';

/** ALPN's name for HTTP/2 over TLS (RFC 9113 §3.2). */
const H2 = 'h2';

/** One exchange as the connection saw it; a caller's own dispatcher notes nothing on it. */
export class WireClock {
  /** True once the exchange was given a connection that negotiated HTTP/2. */
  h2 = false;

  /** The exchange was given `socket` (a retry or a 407 round trip notes again: the last one counts). */
  assigned(socket: Socket | null): void {
    this.h2 = (socket as { alpnProtocol?: unknown } | null)?.alpnProtocol === H2;
  }
}

/** The WireClock a request's dispatch options carry, or null (a request the transport did not make). */
export function clockOf(options: object): WireClock | null {
  const { opaque } = options as { readonly opaque?: unknown };
  return opaque instanceof WireClock ? opaque : null;
}
