/**
 * The shapes every layer shares: a hop request, an exchange, the `Send` function a layer wraps, the
 * settings and the per-request context, the credential and store shapes the layers read. Types only:
 * nothing here runs, and this file imports no module that imports it.
 */
import type { HeaderRecord } from './headers.js';
import type { Response } from './response.js';

/** One request on the wire (one hop of a redirect chain). Treated as read-only by every layer. */
export interface HopRequest {
  readonly url: URL;
  /** A standard method upper-cased; an extension method exactly as given (case-sensitive, RFC 9110 §9.1). */
  readonly method: string;
  /** Lower-cased names; inherits nothing (headers.ts, emptyRecord). */
  readonly headers: Readonly<HeaderRecord>;
  readonly body: Buffer | null;
  /**
   * True once a hop of this request() went from https to http: nothing credential-like is sent on
   * this hop or any later one (DESIGN.md, Auth). Set by the redirect decision only.
   */
  readonly downgraded?: boolean;
}

/** A response head with its decoded body. No layer writes into a response it did not create. */
export interface Exchange {
  readonly response: Response;
  readonly content: Buffer;
}

/** A layer's downstream: send one hop, resolve to its exchange. */
export type Send = (req: HopRequest, ctx: RequestContext) => Promise<Exchange>;

/** The source of time; tests inject a fake one. Milliseconds since the epoch. */
export interface Clock {
  now(): number;
}

/**
 * The Http's attributes as read at `request()` (settable after construction, checked then), and the
 * constant knobs the layers read.
 */
export interface Settings {
  readonly followRedirects: boolean;
  readonly followAllRedirects: boolean;
  readonly redirectCodes: ReadonlySet<number>;
  readonly forwardAuthorizationHeaders: boolean;
  readonly forceExceptionToStatusCode: boolean;
  readonly optimisticConcurrencyMethods: readonly string[];
  readonly ignoreEtag: boolean;
  readonly retries: number;
  readonly timeout: number | undefined;
  readonly maxBodySize: number;
  readonly maxDecompressionRatio: number;
  /** Seconds a 410 Gone without explicit freshness stays fresh in the cache (HttpOptions.goneLifetime). */
  readonly goneLifetime: number;
  /** The longest a 429/503's Retry-After holds requests back, in seconds (HttpOptions.maxRetryAfter). */
  readonly maxRetryAfter: number;
  /** Ms a cross-process single-flight lease lasts; 0: no cross-process flight (HttpOptions.leaseTtl). */
  readonly leaseTtl: number;
}

/** A name and password registered with `addCredentials`, and where they may answer. */
export interface Credential {
  readonly name: string;
  readonly password: string;
  /** `host` or `host:port`, lower-cased; '' answers any origin the caller asked for. */
  readonly domain: string;
  /**
   * For a domain given in origin form (`https://host[:port]`), that origin (`originOf`): the
   * credential answers it only, never another scheme or port.
   */
  readonly origin?: string;
}

/** The read side of the registered credentials: which apply to a URL (the cache's identity asks). */
export interface CredentialLookup {
  readonly size: number;
  /** The credentials that may answer a challenge from `url`, in the order they are tried. */
  candidates(url: URL, requestedOrigins: ReadonlySet<string>): readonly Credential[];
  /** The credential an answer from `url` is keyed by in the cache, or null when none applies. */
  match(url: URL, requestedOrigins: ReadonlySet<string>): Credential | null;
}

type MaybePromise<T> = T | Promise<T>;

/** httplib2's cache interface; a keyv `Keyv` instance fits it as is. */
export interface CacheStore {
  /** The bytes stored under `key`, or null/undefined for none; may return a Promise. */
  get(key: string): MaybePromise<Buffer | Uint8Array | string | null | undefined>;
  /** Stores `value` under `key`, replacing what was there; may return a Promise. */
  set(key: string, value: Buffer): MaybePromise<unknown>;
  /** Removes `key`; a missing key is not an error; may return a Promise. */
  delete(key: string): MaybePromise<unknown>;
}

/** The caller's body-progress callback: bytes received so far and the Content-Length (or null). */
export type ProgressListener = (received: number, total: number | null) => void;

/** Body bytes received from the network for one `request()` call, counted on the wire side (events.ts). */
export interface WireMeter {
  bytes: number;
}

/** A frozen snapshot made once per `Http.request()` call. */
export interface RequestContext {
  readonly settings: Settings;
  readonly clock: Clock;
  /** Aborts on the caller's signal or at the deadline (its reason is the error to report). */
  readonly signal: AbortSignal | null;
  /** Origins (`originOf`) the caller asked for; credentials without a domain answer only these. */
  readonly requestedOrigins: ReadonlySet<string>;
  readonly cache: CacheStore | null;
  /** The registered credentials, for the cache identity; the auth layer gets its store at composition. */
  readonly credentials: CredentialLookup;
  /** Records one cache decision for the debug summary of this request() (a no-op when nobody reads it). */
  readonly note: (line: string) => void;
  /** The caller's body-progress callback (`RequestOptions.onProgress`), called per chunk of each hop. */
  readonly onProgress: ProgressListener | null;
  /** Where the wire side counts body bytes received, while someone subscribes to the request events; else absent or null. */
  readonly meter?: WireMeter | null;
  /**
   * Told the HTTP version (times ten) of the connection the transport's own pools put a hop on, when
   * they put it there (each try: a retry is told again); absent or null when nobody listens.
   */
  readonly connected?: ((version: number) => void) | null;
}
