/**
 * undici pools whose HTTP/1.1 connections go back to the pool as soon as their response has ended.
 * undici 7 marks a connection free one macrotask after the response's last byte, so a request issued
 * as soon as the previous one resolved found it busy and dialled another connection. Only the
 * hand-back moves: undici still checks a reused idle socket for a close before writing on it.
 */
import { Client, Pool, type Dispatcher } from 'undici';

/**
 * An undici `Agent` factory (and `Pool` builder): a Pool whose connections are {@link EagerClient}s.
 * `options` are the Agent's (connections, connect, timeouts...).
 */
export function eagerPool(origin: string | URL, options: object): Pool {
  return new Pool(origin, { ...(options as Pool.Options), factory: eagerClient });
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
 */
class EagerClient extends Client {
  readonly #origin: URL;
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
    super(origin, options);
    this.#origin = origin;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    // Pools hand their clients undici's legacy handler shape (onConnect, onHeaders, onComplete...);
    // any other shape goes through untouched, freed the usual way.
    if (typeof handler.onComplete !== 'function' || typeof handler.onRequestStart === 'function') {
      return super.dispatch(options, handler);
    }
    return super.dispatch(options, releasingOnComplete(handler, this.#release));
  }
}

/**
 * `handler` with `release` queued after its completion. undici updates the connection's queue right
 * after `onComplete` returns, in the same turn: the microtask sees the connection idle.
 */
function releasingOnComplete(handler: Dispatcher.DispatchHandler, release: () => void): Dispatcher.DispatchHandler {
  const h = handler as Required<Dispatcher.DispatchHandler>;
  return {
    onConnect: (abort) => h.onConnect(abort),
    onResponseStarted: () => handler.onResponseStarted?.(),
    onHeaders: (status, headers, resume, text) => h.onHeaders(status, headers, resume, text),
    onData: (chunk) => h.onData(chunk),
    onUpgrade: (status, headers, socket) => h.onUpgrade(status, headers, socket),
    onError: (error) => h.onError(error),
    ...(handler.onBodySent ? { onBodySent: (size: number, total: number) => h.onBodySent(size, total) } : {}),
    ...('onRequestSent' in handler ? { onRequestSent: () => (handler as { onRequestSent: () => void }).onRequestSent() } : {}),
    onComplete: (trailers) => {
      queueMicrotask(release);
      h.onComplete(trailers);
    },
  };
}
