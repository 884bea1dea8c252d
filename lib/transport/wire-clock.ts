/**
 * What the connection tells about one exchange, noted by the transport's own pools
 * (connection-pool.ts) on an object the transport hands undici as the request's `opaque`: the
 * protocol the connection negotiated (ALPN, RFC 7301) and when each step happened, known for certain
 * only there. It never sends anything and never changes a request.
 *
 * Times are `performance.now()` readings taken where undici itself calls us (its connector, the
 * handler's onConnect and onRequestSent) and on the socket's own events: nothing subscribes to
 * undici's diagnostics channels, which would make undici describe every request of the process to
 * us, and a request costs a few clock readings.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Timings } from '../response.js';

/** ALPN's name for HTTP/2 over TLS (RFC 9113 §3.2). */
const H2 = 'h2';

/** How one connection was made: when it began, and its steps as the socket reported them (null: not seen). */
export class Dial {
  readonly start = performance.now();
  /** The host name was looked up (none for an IP address, nor for a tunnel's socket). */
  lookup: number | null = null;
  /** The TCP connection was open (not seen for a socket handed over by a proxy tunnel). */
  connect: number | null = null;
  /** The TLS handshake was done (null when its start, the TCP connection, was not seen). */
  secure: number | null = null;
  /** undici's connector said the connection was ready. */
  ready: number | null = null;

  /**
   * Notes the steps of `socket`, the connector's own (undici's returns it before it connects); a
   * connector that returns nothing (a proxy tunnel's) leaves only `start` and `ready`.
   */
  watch(socket: unknown): void {
    if (!(socket instanceof EventEmitter)) return;
    socket.once('lookup', () => void (this.lookup ??= performance.now()));
    socket.once('connect', () => void (this.connect ??= performance.now()));
  }

  /**
   * The connector says the connection is ready: on the event that ends its last step ('connect' for
   * http, 'secureConnect' for TLS), whose listener undici put there first, and which may already
   * have written a request on it. So that step ends now; a TLS socket whose TCP step was not seen
   * (a tunnel's) has `connect` null and its whole making counts as connecting.
   */
  established(socket: Socket): void {
    this.ready = performance.now();
    if (!(socket as { encrypted?: boolean }).encrypted) this.connect ??= this.ready;
    else if (this.connect !== null) this.secure = this.ready;
  }
}

/** One exchange as the connection saw it; a caller's own dispatcher notes nothing on it. */
export class WireClock {
  /** True once the exchange was given a connection that negotiated HTTP/2. */
  h2 = false;
  /** The connection made for this exchange (it was the first on it), else null. */
  dial: Dial | null = null;
  /** undici put the exchange on its connection. */
  onConnection: number | null = null;
  /** The request was written whole. */
  sent: number | null = null;
  readonly #connected: ((version: number) => void) | null;

  /**
   * @param start when the transport handed the exchange to its dispatcher.
   * @param connected told the HTTP version (times ten) of each connection the exchange is given.
   */
  constructor(readonly start: number, connected: ((version: number) => void) | null = null) {
    this.#connected = connected;
  }

  /**
   * The exchange was given `socket`, made for it when `dial` is not null (a retry or a 407 round trip
   * notes again: the last one counts).
   */
  assigned(socket: Socket | null, dial: Dial | null): void {
    this.h2 = (socket as { alpnProtocol?: unknown } | null)?.alpnProtocol === H2;
    this.onConnection = performance.now();
    this.dial = dial;
    this.sent = null;
    this.#connected?.(this.h2 ? 20 : 11);
  }

  requestSent(): void {
    this.sent = performance.now();
  }
}

/** The WireClock a request's dispatch options carry, or null (a request the transport did not make). */
export function clockOf(options: object): WireClock | null {
  const { opaque } = options as { readonly opaque?: unknown };
  return opaque instanceof WireClock ? opaque : null;
}

/**
 * The exchange's phases, each from the end of the last one known before it (so the known ones add
 * up to `total`, the exchange's own time here): `headers` and `end` are when the response head and
 * its last body byte arrived. A connection made before the exchange began was not made for it (a
 * burst sharing a new HTTP/2 connection): the exchange waited for it, as for any open one.
 */
export function hopTimings(clock: WireClock, headers: number, end: number): Timings {
  let mark = clock.start;
  const since = (at: number | null): number | null => {
    if (at === null) return null;
    const took = at - mark;
    mark = at;
    return ms(took);
  };
  const dial = clock.dial !== null && clock.dial.start >= clock.start ? clock.dial : null;
  return {
    queued: since(dial ? dial.start : clock.onConnection),
    dns: since(dial ? dial.lookup : null),
    connect: since(dial ? dial.connect ?? dial.ready : null),
    tls: since(dial ? dial.secure : null),
    requestSent: since(clock.sent),
    firstByte: since(headers),
    bodyDone: since(end),
    total: ms(end - clock.start),
  };
}

/** Milliseconds to the microsecond: finer would be noise. */
export function ms(took: number): number {
  return Math.round(took * 1000) / 1000;
}
