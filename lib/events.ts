/**
 * Request events on `node:diagnostics_channel` (as undici, got and urllib publish theirs): one
 * `httplib2-ts:request:start` and one `httplib2-ts:request:end` or `httplib2-ts:request:error` per
 * `request()` call. Nothing is measured, built or published while no one subscribes (each channel's
 * `hasSubscribers` is read first), and no payload holds a credential: URIs go without user info.
 */
import { channel } from 'node:diagnostics_channel';
import type { CacheOutcome, Response, Timings } from './response.js';
import type { Send, WireMeter } from './types.js';

/** The channel names, as subscribers pass them to `diagnostics_channel.subscribe`. */
export const CHANNELS = Object.freeze({
  start: 'httplib2-ts:request:start',
  end: 'httplib2-ts:request:end',
  error: 'httplib2-ts:request:error',
} as const);

const startChannel = channel(CHANNELS.start);
const endChannel = channel(CHANNELS.end);
const errorChannel = channel(CHANNELS.error);

/** What `httplib2-ts:request:start` publishes, once the request is checked and before anything is sent. */
export interface RequestStartMessage {
  /** The same number on the start and the end (or error) of one `request()` call, unique in the process. */
  readonly id: number;
  /** The method as sent (standard methods upper-cased). */
  readonly method: string;
  /** The URI asked for, without user info. */
  readonly uri: string;
}

/** What `httplib2-ts:request:end` publishes when `request()` resolves. */
export interface RequestEndMessage extends RequestStartMessage {
  /** The final status. */
  readonly status: number;
  /** Whether the final answer came from the cache. */
  readonly fromcache: boolean;
  /** The final hop's `response.cache` (its `outcome`: `hit`, `stale`, `revalidated`, `miss`, `bypass`, `uncached`). */
  readonly cache: CacheOutcome;
  /**
   * Body bytes received from the network for the whole call, as they came (before decoding): every
   * hop, auth challenge and revalidation; 0 for an answer the cache gave without asking. Heads are
   * not counted.
   */
  readonly wireBytes: number;
  /** Bytes of the decoded body `request()` resolved with. */
  readonly servedBytes: number;
  /** Milliseconds from the call to its answer (`performance.now()` clock). */
  readonly duration: number;
  /** Responses in the chain: 1, plus one per redirect followed. */
  readonly hops: number;
  /** The final response's `timings`: its exchange's phases and the whole call's `total` (ms). */
  readonly timings: Timings;
  /** The final response, as `request()` returns it. */
  readonly response: Response;
}

/** What `httplib2-ts:request:error` publishes when `request()` fails (or, under `forceExceptionToStatusCode`, answers with an error). */
export interface RequestErrorMessage extends RequestStartMessage {
  /** The error: an `HttpLib2Error`, or what a callback of the caller's (`onProgress`) threw. */
  readonly error: unknown;
  /** Milliseconds from the call to its failure. */
  readonly duration: number;
}

let lastId = 0;

/**
 * The events of one `request()` call: made only while someone subscribes to one of the channels
 * ({@link RequestEvents.open} is null otherwise), so that a call nobody watches costs three reads.
 */
export class RequestEvents {
  /** Body bytes the wire side counted for this call (RequestContext.meter). */
  readonly meter: WireMeter = { bytes: 0 };
  readonly #id = ++lastId;
  readonly #began = performance.now();
  #method = '';
  #uri = '';
  #started = false;

  /** The events of a call starting now, or null when nobody subscribes to any channel. */
  static open(): RequestEvents | null {
    return startChannel.hasSubscribers || endChannel.hasSubscribers || errorChannel.hasSubscribers ? new RequestEvents() : null;
  }

  /** Publishes the start (a URI already without user info). */
  started(method: string, uri: string): void {
    this.#method = method;
    this.#uri = uri;
    this.#started = true;
    if (!startChannel.hasSubscribers) return;
    const message: RequestStartMessage = { id: this.#id, method, uri };
    startChannel.publish(message);
  }

  /** Publishes the end of a call answered with `response` and `content`. */
  ended(response: Response, content: Buffer): void {
    if (!endChannel.hasSubscribers) return;
    let hops = 1;
    for (let r = response.previous; r !== null; r = r.previous) hops++;
    const message: RequestEndMessage = {
      id: this.#id, method: this.#method, uri: this.#uri, status: response.status, fromcache: response.fromcache,
      cache: response.cache, wireBytes: this.meter.bytes, servedBytes: content.length, duration: performance.now() - this.#began,
      hops, timings: response.timings, response,
    };
    endChannel.publish(message);
  }

  /**
   * Publishes the failure; for a call refused before it started (bad arguments), its start first,
   * with what it was given (`uri` as text, user info removed here).
   */
  failed(error: unknown, method: string, uri: string): void {
    if (!this.#started) this.started(method, withoutUserinfo(uri));
    if (!errorChannel.hasSubscribers) return;
    const message: RequestErrorMessage = { id: this.#id, method: this.#method, uri: this.#uri, error, duration: performance.now() - this.#began };
    errorChannel.publish(message);
  }
}

/**
 * The wire side's meter (below decoding, so bytes as received): adds each exchange's body length to
 * the call's `ctx.meter`, and is a plain call through when nobody counts.
 */
export function metering(next: Send): Send {
  return (req, ctx) => {
    const meter = ctx.meter;
    if (meter === undefined || meter === null) return next(req, ctx);
    return next(req, ctx).then((exchange) => {
      meter.bytes += exchange.content.length;
      return exchange;
    });
  };
}

// A URI as the caller wrote it, user info removed: parsed when it parses, else cut textually (a
// URI the parser refused may still hold a password).
function withoutUserinfo(text: string): string {
  try {
    const url = new URL(text);
    url.username = '';
    url.password = '';
    return url.href;
  } catch {
    return text.replace(/\/\/[^/?#]*@/g, '//');
  }
}
