/**
 * The error tree every failure is reported through, and the one table that maps undici/node errors
 * onto it. Callers branch on `instanceof` and `code`, never on message text.
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
 * This module never performs I/O; matching undici's message text happens here and nowhere else.
 */
import type { Response } from './response.js';

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
  response?: Response | null;
  content?: Buffer | null;
}

/** Base of every error this library throws. */
export class HttpLib2Error extends Error {
  /** Stable machine-readable identifier. */
  readonly code: ErrorCode;
  /** The response in hand when the error was raised, if any. */
  readonly response: Response | null;
  /** The body of {@link HttpLib2Error.response}, if any. */
  readonly content: Buffer | null;

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = details.code ?? 'ERR_HTTPLIB2';
    this.response = details.response ?? null;
    this.content = details.content ?? null;
  }

  /** The status `forceExceptionToStatusCode` turns this error into (`DESIGN.md`, Errors). */
  get statusHint(): number {
    return this.response ? 500 : 400;
  }
}

/** Errors raised with a response in hand. */
export class HttpLib2ErrorWithResponse extends HttpLib2Error {}

/** A 3xx that must be followed carried no Location header. */
export class RedirectMissingLocation extends HttpLib2ErrorWithResponse {
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, { code: 'ERR_REDIRECT_MISSING_LOCATION', ...details });
  }
}

/** More redirects than `redirections` allowed. */
export class RedirectLimit extends HttpLib2ErrorWithResponse {
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, { code: 'ERR_REDIRECT_LIMIT', ...details });
  }
}

/** A body that could not be decoded, or decoded past the size limit. */
export class FailedToDecompressContent extends HttpLib2ErrorWithResponse {
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, { code: 'ERR_FAILED_TO_DECOMPRESS', ...details });
  }
}

/** A Digest challenge asked for an algorithm or qop this library does not implement. */
export class UnimplementedDigestAuthOptionError extends HttpLib2ErrorWithResponse {
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, { code: 'ERR_UNIMPLEMENTED_DIGEST_OPTION', ...details });
  }
}

/** An HMACDigest challenge asked for an option this library does not implement. */
export class UnimplementedHmacDigestAuthOptionError extends HttpLib2ErrorWithResponse {
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, { code: 'ERR_UNIMPLEMENTED_HMAC_DIGEST_OPTION', ...details });
  }
}

/** The URI given was not absolute http(s). */
export class RelativeURIError extends HttpLib2Error {
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, { code: 'ERR_RELATIVE_URI', ...details });
  }
}

/** The host name could not be resolved. */
export class ServerNotFoundError extends HttpLib2Error {
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, { code: 'ERR_SERVER_NOT_FOUND', ...details });
  }
}

/** The `timeout` deadline (connect + headers + body) passed. */
export class RequestTimeout extends HttpLib2Error {
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, { code: 'ERR_REQUEST_TIMEOUT', ...details });
  }
  override get statusHint(): number {
    return 408;
  }
}

/** The proxy refused the connection or the tunnel. */
export class ProxyError extends HttpLib2Error {
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, { code: 'ERR_PROXY', ...details });
  }
}

/** The connection failed or the server's answer was not valid HTTP. */
export class ConnectionError extends HttpLib2Error {
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, { code: 'ERR_CONNECTION', ...details });
  }
}

/** The TLS handshake failed (untrusted, expired or wrong-name certificate...). */
export class TlsError extends HttpLib2Error {
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, { code: 'ERR_TLS', ...details });
  }
}

/** The caller's AbortSignal fired. */
export class AbortError extends HttpLib2Error {
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, { code: 'ERR_ABORTED', ...details });
  }
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

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'EAI_NODATA']);
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_|HOSTNAME_MISMATCH|ERR_OSSL)/;
const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED',
  'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED', 'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_OVERFLOW', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_RES_EXCEEDED_MAX_SIZE', 'HPE_INVALID_CONSTANT', 'UND_ERR_INFO',
]);
const INVALID_ARGUMENT_CODES = new Set([
  'UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE',
  'ERR_INVALID_HTTP_TOKEN', 'ERR_INVALID_CHAR', 'ERR_INVALID_URL',
  // The caller's Content-Length disagrees with the body it gave: undici refuses before writing it.
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
]);

// Where a foreign failure happened, for the retry decision (retry.ts):
// - the request never left this machine (refused, unreachable, connect timeout);
// - the connection closed (or was reset) before any answer was parsed: a keep-alive socket the
//   server had already dropped looks exactly like this;
// undici reports "the peer closed" and "the peer sent garbage" with the same UND_ERR_SOCKET code;
// only the former is a stale connection worth retrying.
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH']);
const CLOSED_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED', 'ECONNABORTED']);
const PEER_CLOSED_MESSAGE = 'other side closed';

/** How far a failed attempt got, as far as the error tells: see {@link failureStage}. */
export type FailureStage = 'not-sent' | 'connection-closed' | 'other';

function codeOf(error: unknown): string {
  const e = error as { code?: unknown; cause?: { code?: unknown } } | null;
  if (e && typeof e.code === 'string') return e.code;
  if (e && e.cause && typeof e.cause.code === 'string') return e.cause.code;
  return '';
}

/**
 * Classifies a foreign (undici/node) failure: `not-sent` (the request never left), `connection-closed`
 * (the connection dropped before an answer was parsed; the request may have been received) or `other`
 * (a malformed answer, a local error...). Our own errors are always `other`.
 */
export function failureStage(error: unknown): FailureStage {
  if (error instanceof HttpLib2Error) return 'other';
  const code = codeOf(error);
  if (NOT_SENT_CODES.has(code)) return 'not-sent';
  if (CLOSED_CODES.has(code)) return 'connection-closed';
  if (code === 'UND_ERR_SOCKET' && (error as Error).message === PEER_CLOSED_MESSAGE) return 'connection-closed';
  return 'other';
}

/**
 * The one table from undici/node errors to ours. `host` names the server in messages.
 * Errors already in our tree pass through untouched.
 */
export function mapError(error: unknown, host: string): HttpLib2Error {
  if (error instanceof HttpLib2Error) return error;
  const code = codeOf(error);
  const name = (error as Error | null)?.name ?? '';
  const text = error instanceof Error ? error.message : String(error);
  if (DNS_CODES.has(code)) {
    return new ServerNotFoundError(`Unable to find the server at ${host}`, { cause: error });
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new RequestTimeout(`Request to ${host} timed out`, { cause: error });
  }
  if (TLS_CODE.test(code) || /certificate|TLS|SSL/i.test(code)) {
    return new TlsError(`TLS connection to ${host} failed: ${text}`, { cause: error, code: 'ERR_TLS' });
  }
  if (code === 'UND_ERR_HEADERS_OVERFLOW') {
    return new ConnectionError(`The response header section from ${host} is too large`, { cause: error });
  }
  // llhttp's parse errors (bad Content-Length, bad chunk size...) sometimes come without a code.
  if (code.startsWith('HPE_') || name === 'HTTPParserError') {
    return new ConnectionError(`Malformed response from ${host}: ${text}`, { cause: error });
  }
  if (CONNECTION_CODES.has(code)) {
    return new ConnectionError(`Connection to ${host} failed: ${text}`, { cause: error });
  }
  if (INVALID_ARGUMENT_CODES.has(code)) {
    return new HttpLib2Error(`Invalid request: ${text}`, { cause: error, code: 'ERR_INVALID_REQUEST' });
  }
  if (code === 'UND_ERR_ABORTED' || name === 'AbortError') {
    return new AbortError(`Request to ${host} was aborted`, { cause: error });
  }
  return new ConnectionError(`Request to ${host} failed: ${text}`, { cause: error });
}
