/**
 * The one table from undici and Node failures to the library's error tree (httpx's
 * `map_httpcore_exceptions`), applied once, where the transport gives up on a hop; and how far a
 * failed attempt got, for the retry decision. Pure: it reads what a failure carries (its code, name,
 * message) and builds errors; matching undici's codes and texts happens here and nowhere else.
 * A throwable it does not recognise is an internal error, never a network one.
 */
import {
  AbortError, ConnectionError, HttpLib2Error, ProxyError, RequestTimeout, ServerNotFoundError, TlsError, internalError,
} from '../errors.js';
import type { ProxyInfo } from './proxy.js';

/** Where the failed hop was going: its `host` (named in messages) and the proxy it went through, if any. */
export interface Where {
  readonly host: string;
  readonly proxy: ProxyInfo | null;
}

/**
 * A failure on the proxy hop's own connections (to the proxy, or its CONNECT), as opposed to the
 * origin's: a TLS failure there is the proxy's (`ProxyError`), never the origin's certificate.
 */
export class ProxyHopFailure extends Error {
  constructor(override readonly cause: unknown, readonly proxy: ProxyInfo) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'ProxyHopFailure';
  }
}

/**
 * A callback of the caller's (`onProgress`, a `proxyInfo` function) threw: its error is the
 * caller's own, handed back as it was at the door; it is not ours to classify, nor a network failure.
 */
export class CallbackFailure extends Error {
  constructor(override readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'CallbackFailure';
  }
}

/** How far a failed attempt got: see {@link failureStage}. */
export type FailureStage = 'not-sent' | 'connection-closed' | 'other';

/** What a foreign failure carries, read once. */
interface Foreign {
  readonly error: unknown;
  /** Its `code`, or its cause's: '' when neither has one. */
  readonly code: string;
  readonly name: string;
  readonly text: string;
  /** A Node system error (it names the system call that failed). */
  readonly system: boolean;
}

/** One row: which failures it recognises and what they become. */
interface Row {
  readonly name: string;
  matches(f: Foreign, where: Where): boolean;
  becomes(f: Foreign, where: Where): HttpLib2Error;
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'EAI_NODATA']);
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_|HOSTNAME_MISMATCH|ERR_OSSL)/;
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
// Through a proxy every TCP connection goes to the proxy, so failing to open one is the proxy's failure.
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED',
  'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED', 'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'UND_ERR_RES_EXCEEDED_MAX_SIZE', 'UND_ERR_INFO',
]);
// Network conditions undici reports from its own agents and retry handler: a failed exchange, not a bug.
const OTHER_NETWORK_CODES = /^(UND_ERR_RESPONSE|UND_ERR_REQ_RETRY|UND_ERR_PRX_TLS|UND_ERR_SOCKS5.*)$/;
const INVALID_ARGUMENT_CODES = new Set([
  'UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE',
  'ERR_INVALID_HTTP_TOKEN', 'ERR_INVALID_CHAR', 'ERR_INVALID_URL',
  // The caller's Content-Length disagrees with the body it gave: undici refuses before writing it.
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
]);

function isTls(code: string): boolean {
  return TLS_CODE.test(code) || /certificate|TLS|SSL/i.test(code);
}

function proxyName(proxy: ProxyInfo): string {
  return `${proxy.protocol} proxy ${proxy.host}:${proxy.port}`;
}

/** The table, first match wins. Our own errors and callback failures never reach it. */
export const FAILURE_TABLE: readonly Row[] = [
  {
    name: 'proxy unreachable',
    matches: (f, where) => where.proxy !== null && UNREACHABLE_CODES.has(f.code),
    becomes: (f, where) => new ProxyError(`Could not reach the ${proxyName(where.proxy!)}: ${f.text || f.code}`, { cause: f.error }),
  },
  {
    name: 'name not resolved',
    matches: (f) => DNS_CODES.has(f.code),
    becomes: (f, where) => new ServerNotFoundError(`Unable to find the server at ${where.host}`, { cause: f.error }),
  },
  {
    name: 'undici timer',
    matches: (f) => TIMEOUT_CODES.has(f.code),
    becomes: (f, where) => new RequestTimeout(`Request to ${where.host} timed out`, { cause: f.error }),
  },
  {
    name: 'TLS',
    matches: (f) => isTls(f.code),
    becomes: (f, where) => new TlsError(`TLS connection to ${where.host} failed: ${f.text}`, { cause: f.error }),
  },
  {
    name: 'header section too large',
    matches: (f) => f.code === 'UND_ERR_HEADERS_OVERFLOW',
    becomes: (f, where) => new ConnectionError(`The response header section from ${where.host} is too large`, { cause: f.error }),
  },
  {
    // llhttp's parse errors (bad Content-Length, bad chunk size...) sometimes come without a code.
    name: 'malformed answer',
    matches: (f) => f.code.startsWith('HPE_') || f.name === 'HTTPParserError',
    becomes: (f, where) => new ConnectionError(`Malformed response from ${where.host}: ${f.text}`, { cause: f.error }),
  },
  {
    name: 'connection failed',
    matches: (f) => CONNECTION_CODES.has(f.code),
    becomes: (f, where) => new ConnectionError(`Connection to ${where.host} failed: ${f.text}`, { cause: f.error }),
  },
  {
    name: 'invalid request',
    matches: (f) => INVALID_ARGUMENT_CODES.has(f.code),
    becomes: (f) => new HttpLib2Error(`Invalid request: ${f.text}`, { cause: f.error, code: 'ERR_INVALID_REQUEST' }),
  },
  {
    name: 'aborted',
    matches: (f) => f.code === 'UND_ERR_ABORTED' || f.code === 'UND_ERR_ABORT' || f.name === 'AbortError',
    becomes: (f, where) => new AbortError(`Request to ${where.host} was aborted`, { cause: f.error }),
  },
  {
    // Any other failure of a system call (ENETDOWN, EPROTO...) or of undici's exchange is the network's.
    name: 'other network failure',
    matches: (f) => f.system || OTHER_NETWORK_CODES.test(f.code),
    becomes: (f, where) => new ConnectionError(`Request to ${where.host} failed: ${f.text}`, { cause: f.error }),
  },
];

function foreign(error: unknown): Foreign {
  const e = error as { code?: unknown; syscall?: unknown; name?: unknown; cause?: { code?: unknown } } | null;
  const code = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : '';
  return {
    error,
    code,
    name: typeof e?.name === 'string' ? e.name : '',
    text: error instanceof Error ? error.message : String(error),
    system: typeof e?.syscall === 'string' && /^E[A-Z0-9_]+$/.test(code),
  };
}

/**
 * A failure as the caller sees it: ours as it is; a caller's callback failure as it is (the door hands
 * back its cause); a failure on the proxy hop's connections the proxy's; anything else by the table,
 * and what no row recognises an `ERR_INTERNAL` error with the failure as its cause.
 */
export function classify(error: unknown, where: Where): HttpLib2Error | CallbackFailure {
  if (error instanceof HttpLib2Error || error instanceof CallbackFailure) return error;
  if (error instanceof ProxyHopFailure) return hopFailure(error, where);
  const f = foreign(error);
  const row = FAILURE_TABLE.find((r) => r.matches(f, where));
  return row ? row.becomes(f, where) : internalError(error, where.host);
}

// TLS to an https proxy that fails is the proxy's failure, not the origin's.
function hopFailure(failure: ProxyHopFailure, where: Where): HttpLib2Error | CallbackFailure {
  const { proxy, cause } = failure;
  if (proxy.protocol === 'https' && !(cause instanceof HttpLib2Error) && isTls(foreign(cause).code)) {
    return new ProxyError(`TLS to the ${proxyName(proxy)} failed: ${foreign(cause).text}`, { cause });
  }
  return classify(cause, { host: where.host, proxy });
}

// Where a foreign failure happened, for the retry decision (retry.ts):
// - the request never left this machine (refused, unreachable, connect timeout);
// - the connection closed (or was reset) before any answer was parsed: a keep-alive socket the
//   server had already dropped looks exactly like this;
// undici reports "the peer closed" and "the peer sent garbage" with the same UND_ERR_SOCKET code;
// only the former is a stale connection worth retrying.
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH']);
const CLOSED_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_CLOSED', 'ECONNABORTED']);
const PEER_CLOSED_MESSAGE = 'other side closed';

/**
 * How far a failed attempt got, as far as a foreign (undici/node) failure tells: `not-sent` (the
 * request never left), `connection-closed` (the connection dropped before an answer was parsed; the
 * request may have been received) or `other` (a malformed answer, a local error...). Our own errors
 * and the caller's callback failures are always `other`.
 */
export function failureStage(error: unknown): FailureStage {
  if (error instanceof HttpLib2Error || error instanceof CallbackFailure) return 'other';
  const { code, text } = foreign(error);
  if (NOT_SENT_CODES.has(code)) return 'not-sent';
  if (CLOSED_CODES.has(code)) return 'connection-closed';
  if (code === 'UND_ERR_SOCKET' && text === PEER_CLOSED_MESSAGE) return 'connection-closed';
  return 'other';
}
