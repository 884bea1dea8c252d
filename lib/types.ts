/**
 * The shapes every layer shares: a hop request, an exchange, the `Send` function a layer wraps, and
 * the per-request context. Types only: nothing here runs.
 */
import type { HeaderRecord } from './headers.js';
import type { Response } from './response.js';
import type { ResolvedSettings } from './options.js';
import type { CacheStore } from './cache/store.js';
import type { CredentialStore } from './auth/credentials.js';

/** One request on the wire (one hop of a redirect chain). Treated as read-only by every layer. */
export interface HopRequest {
  readonly url: URL;
  /** A standard method upper-cased; an extension method exactly as given (case-sensitive, RFC 9110 §9.1). */
  readonly method: string;
  /** Lower-cased names, null prototype. */
  readonly headers: Readonly<HeaderRecord>;
  readonly body: Buffer | null;
  /**
   * True once a hop of this request() went from https to http: nothing credential-like is sent on
   * this hop or any later one (DESIGN.md, Auth). Set by the redirect decision only.
   */
  readonly downgraded?: boolean;
}

/** A response head with its decoded body. */
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

/** A frozen snapshot made once per `Http.request()` call. */
export interface RequestContext {
  readonly settings: ResolvedSettings;
  readonly clock: Clock;
  /** Aborts on the caller's signal or at the deadline (its reason is the error to report). */
  readonly signal: AbortSignal | null;
  /** Origins (`originOf`) the caller asked for; credentials without a domain answer only these. */
  readonly requestedOrigins: ReadonlySet<string>;
  readonly cache: CacheStore | null;
  readonly credentials: CredentialStore;
  /** Cache decision reasons collected along the way, for the trace and debug output. */
  readonly trace: string[];
  /** The caller's body-progress callback (`RequestOptions.onProgress`), called per chunk of each hop. */
  readonly onProgress: ((received: number, total: number | null) => void) | null;
}
