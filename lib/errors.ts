/**
 * The error tree every failure is reported through. Callers branch on `instanceof` and `code`, never
 * on message text; each class declares its code once. The one table mapping undici/node failures onto
 * the tree is transport/classify.ts.
 *
 *   HttpLib2Error
 *   ├── HttpLib2ErrorWithResponse      (carries .response and .content)
 *   │   ├── RedirectMissingLocation
 *   │   ├── RedirectLimit
 *   │   ├── FailedToDecompressContent
 *   │   ├── UnimplementedDigestAuthOptionError
 *   │   └── UnimplementedHmacDigestAuthOptionError
 *   ├── RelativeURIError
 *   ├── ServerNotFoundError
 *   ├── RequestTimeout
 *   ├── ProxyError
 *   ├── ConnectionError                (reset, refused, malformed or truncated answer)
 *   ├── TlsError                       (certificate refused, handshake failed)
 *   └── AbortError                     (the caller's AbortSignal)
 * Bad input, a closed Http, an oversized plain body and a failure inside the library itself
 * (`ERR_INTERNAL`: a bug, never a network condition) are the base class with their own `code`.
 * This module never performs I/O.
 */

/**
 * The response an error carries. It is `Response` (response.ts adds `Response`'s members to this
 * interface by declaration merging): the response module refuses a bad status with an
 * {@link HttpLib2Error}, so this module names no other module and the two make no import circle.
 */
export interface CarriedResponse {}

/** The stable `code` of every {@link HttpLib2Error}: branch on it (or `instanceof`), never on message text. */
export type ErrorCode =
  | 'ERR_HTTPLIB2'
  | 'ERR_INVALID_REQUEST'
  | 'ERR_REDIRECT_MISSING_LOCATION'
  | 'ERR_REDIRECT_LIMIT'
  | 'ERR_FAILED_TO_DECOMPRESS'
  | 'ERR_BODY_TOO_LARGE'
  | 'ERR_UNIMPLEMENTED_DIGEST_OPTION'
  | 'ERR_UNIMPLEMENTED_HMAC_DIGEST_OPTION'
  | 'ERR_RELATIVE_URI'
  | 'ERR_SERVER_NOT_FOUND'
  | 'ERR_REQUEST_TIMEOUT'
  | 'ERR_PROXY'
  | 'ERR_CONNECTION'
  | 'ERR_TLS'
  | 'ERR_ABORTED'
  | 'ERR_CLOSED'
  | 'ERR_CACHE'
  | 'ERR_CACHE_UNSAFE'
  | 'ERR_INTERNAL';

/** What an error carries besides its message. */
export interface ErrorDetails {
  code?: ErrorCode;
  cause?: unknown;
  response?: CarriedResponse | null;
  content?: Buffer | null;
}

// The status `forceExceptionToStatusCode` turns an error into, where it is not 500 (with a
// response in hand) or 400 (DESIGN.md, Errors).
const STATUS_HINTS: Partial<Record<ErrorCode, number>> = { ERR_REQUEST_TIMEOUT: 408, ERR_INTERNAL: 500 };

/** Base of every error this library throws. */
export class HttpLib2Error extends Error {
  /** The code of this class; `details.code` may name another (the base class carries several). */
  static readonly code: ErrorCode = 'ERR_HTTPLIB2';
  /** Stable machine-readable identifier. */
  readonly code: ErrorCode;
  /** The response in hand when the error was raised, if any. */
  readonly response: CarriedResponse | null;
  /** The body of {@link HttpLib2Error.response}, if any. */
  readonly content: Buffer | null;

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = details.code ?? (new.target as typeof HttpLib2Error).code;
    this.response = details.response ?? null;
    this.content = details.content ?? null;
  }

  /** The status `forceExceptionToStatusCode` turns this error into (`DESIGN.md`, Errors). */
  get statusHint(): number {
    return STATUS_HINTS[this.code] ?? (this.response ? 500 : 400);
  }
}

/** Errors raised with a response in hand. */
export class HttpLib2ErrorWithResponse extends HttpLib2Error {}

/** A 3xx that must be followed carried no Location header. */
export class RedirectMissingLocation extends HttpLib2ErrorWithResponse {
  static override readonly code: ErrorCode = 'ERR_REDIRECT_MISSING_LOCATION';
}

/** More redirects than `redirections` allowed. */
export class RedirectLimit extends HttpLib2ErrorWithResponse {
  static override readonly code: ErrorCode = 'ERR_REDIRECT_LIMIT';
}

/** A body that could not be decoded, or decoded past the size limit. */
export class FailedToDecompressContent extends HttpLib2ErrorWithResponse {
  static override readonly code: ErrorCode = 'ERR_FAILED_TO_DECOMPRESS';
}

/** A Digest challenge asked for an algorithm or qop this library does not implement. */
export class UnimplementedDigestAuthOptionError extends HttpLib2ErrorWithResponse {
  static override readonly code: ErrorCode = 'ERR_UNIMPLEMENTED_DIGEST_OPTION';
}

/** An HMACDigest challenge asked for an option this library does not implement. */
export class UnimplementedHmacDigestAuthOptionError extends HttpLib2ErrorWithResponse {
  static override readonly code: ErrorCode = 'ERR_UNIMPLEMENTED_HMAC_DIGEST_OPTION';
}

/** The URI given was not absolute http(s). */
export class RelativeURIError extends HttpLib2Error {
  static override readonly code: ErrorCode = 'ERR_RELATIVE_URI';
}

/** The host name could not be resolved. */
export class ServerNotFoundError extends HttpLib2Error {
  static override readonly code: ErrorCode = 'ERR_SERVER_NOT_FOUND';
}

/** The `timeout` deadline (connect + headers + body) passed. */
export class RequestTimeout extends HttpLib2Error {
  static override readonly code: ErrorCode = 'ERR_REQUEST_TIMEOUT';
}

/** The proxy refused the connection or the tunnel. */
export class ProxyError extends HttpLib2Error {
  static override readonly code: ErrorCode = 'ERR_PROXY';
}

/** The connection failed or the server's answer was not valid HTTP. */
export class ConnectionError extends HttpLib2Error {
  static override readonly code: ErrorCode = 'ERR_CONNECTION';
}

/** The TLS handshake failed (untrusted, expired or wrong-name certificate...). */
export class TlsError extends HttpLib2Error {
  static override readonly code: ErrorCode = 'ERR_TLS';
}

/** The caller's AbortSignal fired. */
export class AbortError extends HttpLib2Error {
  static override readonly code: ErrorCode = 'ERR_ABORTED';
}

/** A value as an error message shows it: text quoted, objects by their kind, never their content. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return `an array [${value.map((v) => (typeof v === 'object' && v !== null ? '…' : describeValue(v))).join(', ')}]`;
  if (typeof value === 'object' && value !== null) return `an object (${value.constructor?.name ?? 'no prototype'})`;
  return String(value);
}

/** The code of any thrown value: ours carry one; anything else is `ERR_INTERNAL` (not a network condition). */
export function errorCode(error: unknown): ErrorCode {
  return error instanceof HttpLib2Error ? error.code : 'ERR_INTERNAL';
}

/**
 * A throwable the library does not recognise (a `TypeError`, an unexpected undici code), reported
 * as what it is: an internal failure with the cause attached, never a failed connection.
 */
export function internalError(cause: unknown, uri: string): HttpLib2Error {
  const text = cause instanceof Error ? cause.message : String(cause);
  return new HttpLib2Error(`Internal error during the request to ${uri}: ${text}`, { code: 'ERR_INTERNAL', cause });
}
