/**
 * undici pools for the transport's agents. Their HTTP/1.1 connections go back to the pool as soon as
 * their response has ended (undici 7 marks a connection free one macrotask after the response's last
 * byte, so a request issued as soon as the previous one resolved found it busy and dialled another
 * connection); an HTTP/2 connection takes every request it can carry at once (RFC 9113 §5); and with
 * `http2` on, a burst to an https origin waits for its first connection to say which protocol it
 * speaks before dialling more. Each exchange is told the connection it was given (wire-clock.ts).
 * Only the hand-back and the choice of connection move: undici still checks a reused idle socket for
 * a close before writing on it, and writes and reads every request itself.
 */
import type { Socket } from 'node:net';
import { Client, Pool, type Dispatcher, type buildConnector } from 'undici';
import { clockOf, Dial, type WireClock } from './wire-clock.js';

/**
 * Streams one HTTP/2 connection carries at once: undici's own `maxConcurrentStreams` default, which
 * is also a Node server's. A server that allows fewer says so in its SETTINGS, and undici holds to it.
 */
const H2_STREAMS = 100;

/**
 * An undici `Agent` factory (and `Pool` builder): a Pool whose connections are {@link EagerClient}s.
 * `options` are the Agent's (connections, connect, timeouts...).
 */
export function eagerPool(origin: string | URL, options: object): Pool {
  return new Pool(origin, { ...(options as Pool.Options), factory: eagerClient });
}

/**
 * The Agent factory when HTTP/2 may be negotiated: for an https origin a {@link MultiplexingPool},
 * else the same pool as {@link eagerPool}.
 */
export function multiplexingPool(origin: string | URL, options: object): Pool {
  if (new URL(origin).protocol !== 'https:') return eagerPool(origin, options);
  return new MultiplexingPool(origin, { ...(options as Pool.Options), factory: eagerClient });
}

function eagerClient(origin: URL, options: object): Dispatcher {
  return new EagerClient(origin, options as Client.Options);
}

type Emit = (event: string, ...args: unknown[]) => boolean;

/**
 * A Client that tells its pool it is free once a response has ended. undici's HTTP/1.1 parser
 * completes a response, then defers the 'drain' that frees the connection to a `setImmediate` ("so
 * a server that closes after saying keep-alive is noticed first"), while the body's `end` reaches the
 * caller before that. Since undici 7's idle-socket validation runs one check phase before any request
 * is written on a used idle socket, that check still happens; only the pool learns sooner that this
 * connection can take the next request, instead of dialling a new one for it. With `connections`
 * bounded, the pool's waiting requests get the connection at once too.
 *
 * It knows its socket (through its connector), so it can tell each exchange which connection carried
 * it, and carry as many requests at once as an HTTP/2 connection allows: undici's clients default to
 * one request at a time (`pipelining: 1`) whatever the protocol, which inside a pool means one
 * connection per request in flight, HTTP/2 or not.
 */
class EagerClient extends Client {
  readonly #origin: URL;
  #socket: Socket | null = null;
  // How the current connection was made, until the first exchange on it takes it (wire-clock.ts).
  #dial: Dial | null = null;
  readonly #release = (): void => {
    // Nothing else on this connection, still open (a `Connection: close` answer or an error has
    // destroyed the socket: the pool then opens another as it always did).
    if (this.closed || this.destroyed) return;
    const { connected, size } = this.stats;
    // The pool's listener takes (origin, targets) as undici's own 'drain' carries them; the typings
    // only declare the origin.
    if (connected && size === 0) (this.emit as Emit)('drain', this.#origin, [this]);
  };

  constructor(origin: URL, options: Client.Options) {
    const connect = options.connect;
    // A pool always hands its clients a connector function (it builds one from TLS options).
    const own = typeof connect === 'function'
      ? (opts: buildConnector.Options, callback: buildConnector.Callback) => {
        const dial = new Dial();
        const made = connect(opts, (...args: Parameters<buildConnector.Callback>) => {
          const [, socket] = args;
          if (socket) {
            dial.established(socket);
            this.#socket = socket;
            this.#dial = dial;
          }
          callback(...args);
        });
        dial.watch(made);
        return made;
      }
      : connect;
    super(origin, { ...options, connect: own });
    this.#origin = origin;
    // Before undici writes anything on the new connection (its 'connect' comes first).
    this.on('connect', () => {
      this.pipelining = this.protocol === 'h2' ? H2_STREAMS : 1;
    });
  }

  /** The ALPN protocol of the current connection (`h2`, `http/1.1`), or null before one is made or for plain http. */
  get protocol(): string | null {
    const alpn = (this.#socket as { alpnProtocol?: unknown } | null)?.alpnProtocol;
    return typeof alpn === 'string' ? alpn : null;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    // Pools hand their clients undici's legacy handler shape (onConnect, onHeaders, onComplete...);
    // any other shape goes through untouched, freed the usual way.
    if (typeof handler.onComplete !== 'function' || typeof handler.onRequestStart === 'function') {
      return super.dispatch(options, handler);
    }
    const clock = clockOf(options);
    const noted = clock ? { clock, socket: () => this.#socket, dial: () => this.#takeDial() } : null;
    return super.dispatch(options, releasingOnComplete(handler, this.#release, noted));
  }

  // The current connection's making, for the first exchange put on it only.
  #takeDial(): Dial | null {
    const dial = this.#dial;
    this.#dial = null;
    return dial;
  }
}

/** Where an exchange's connection is noted: its clock, and the connection it was given. */
interface Noted {
  readonly clock: WireClock;
  readonly socket: () => Socket | null;
  readonly dial: () => Dial | null;
}

/**
 * `handler` with `release` queued after its completion. undici updates the connection's queue right
 * after `onComplete` returns, in the same turn: the microtask sees the connection idle. undici calls
 * `onConnect` when it writes the request on a connection: that connection is noted on the clock, and
 * `onRequestSent` once the request is written whole.
 */
function releasingOnComplete(handler: Dispatcher.DispatchHandler, release: () => void, noted: Noted | null): Dispatcher.DispatchHandler {
  const h = handler as Required<Dispatcher.DispatchHandler>;
  // undici calls onRequestSent on a legacy handler; its typings leave it out.
  const wrapped: Dispatcher.DispatchHandler & { onRequestSent(): void } = {
    onConnect: (abort) => {
      noted?.clock.assigned(noted.socket(), noted.dial());
      h.onConnect(abort);
    },
    onResponseStarted: () => handler.onResponseStarted?.(),
    onHeaders: (status, headers, resume, text) => h.onHeaders(status, headers, resume, text),
    onData: (chunk) => h.onData(chunk),
    onUpgrade: (status, headers, socket) => h.onUpgrade(status, headers, socket),
    onError: (error) => h.onError(error),
    ...(handler.onBodySent ? { onBodySent: (size: number, total: number) => h.onBodySent(size, total) } : {}),
    onRequestSent: () => {
      noted?.clock.requestSent();
      (handler as { onRequestSent?: () => void }).onRequestSent?.();
    },
    onComplete: (trailers) => {
      queueMicrotask(release);
      h.onComplete(trailers);
    },
  };
  return wrapped;
}

type Held = readonly [Dispatcher.DispatchOptions, Dispatcher.DispatchHandler];

/**
 * A pool for an https origin that may answer in HTTP/2. While it has no open connection, the first
 * request dials one and the requests after it wait until that connection has negotiated its protocol
 * (curl's "pipewait", what browsers do): over HTTP/2 they all share it, over HTTP/1.1 the pool then
 * opens as many connections as they need, as it would have. Without the wait, a burst would open one
 * connection per request before knowing that one was enough. What the origin last negotiated is
 * remembered: once it has said HTTP/1.1, nothing waits.
 */
class MultiplexingPool extends Pool {
  // Requests waiting for the first connection's protocol; null when nothing waits.
  #held: Held[] | null = null;
  #protocol: string | null = null;

  constructor(origin: string | URL, options: Pool.Options) {
    super(origin, options);
    this.on('connect', (_origin: URL, targets: readonly Dispatcher[]) => {
      const client = targets.find((t): t is EagerClient => t instanceof EagerClient);
      this.#protocol = client?.protocol ?? null;
      // After the microtask in which the connection, its pipelining just raised, tells the pool it
      // can take more (undici queues that 'drain' in this same turn): released any sooner, the
      // waiting requests would each find it busy and dial a connection of their own.
      queueMicrotask(() => this.#release());
    });
    // The first connection failed or closed at once: the waiting requests go their usual way (and
    // the first of them dials again).
    this.on('connectionError', () => this.#release());
    this.on('disconnect', () => this.#release());
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (this.#held !== null) {
      this.#held.push([options, handler]);
      return true;
    }
    const accepted = super.dispatch(options, handler);
    if (this.#mayMultiplex()) this.#held = [];
    return accepted;
  }

  // A connection is being made (a request waits and none is open) that may turn out to be HTTP/2.
  #mayMultiplex(): boolean {
    if (this.#protocol === 'http/1.1' || this.closed || this.destroyed) return false;
    const { connected, size } = this.stats;
    return connected === 0 && size > 0;
  }

  #release(): void {
    const held = this.#held;
    this.#held = null;
    if (held) for (const [options, handler] of held) this.dispatch(options, handler);
  }

  override close(...args: unknown[]): never {
    // The pool's own close waits for its queue only: the waiting requests join it first.
    this.#release();
    return (super.close as (...a: unknown[]) => never)(...args);
  }

  override destroy(...args: unknown[]): never {
    const held = this.#held ?? [];
    this.#held = null;
    const error = args.find((a): a is Error => a instanceof Error) ?? new Error('The pool was destroyed');
    for (const [, handler] of held) failed(handler, error);
    return (super.destroy as (...a: unknown[]) => never)(...args);
  }
}

// A request that never reached a connection fails as the pool's own queued ones do on destroy.
function failed(handler: Dispatcher.DispatchHandler, error: Error): void {
  if (typeof handler.onError === 'function') handler.onError(error);
  else handler.onResponseError?.(null as never, error);
}
