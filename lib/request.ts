/**
 * The door of `request()`: the caller's arguments checked and turned into the first hop (the URI
 * without its user info, the method token, validated headers with User-Agent and the user info's
 * Basic credentials, the body as bytes) and the request's own knobs (redirections, signal, progress
 * callback). Pure: it throws a typed error naming what was wrong before anything is sent, and never
 * performs I/O.
 */
import { assertSafeCredential } from './auth/credentials.js';
import { basicAuthorization } from './auth/basic.js';
import { HttpLib2Error } from './errors.js';
import {
  assertBodyFraming, assertValidMethod, emptyRecord, normaliseHeaders, normaliseMethod, type HeaderRecord, type HeadersInput,
} from './headers.js';
import { bad, unknownKey, validateRedirections } from './options.js';
import type { HopRequest, ProgressListener } from './types.js';
import { parseRequestUri, splitUserinfo, type Userinfo } from './uri.js';

const USER_AGENT = 'httplib2-ts/0.1.0';

/** The options-object form of `Http.request`. */
export interface RequestOptions {
  /**
   * Any method token. The standard methods (GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE,
   * PATCH, QUERY) are upper-cased whatever their case; an extension method is sent exactly as given
   * (method tokens are case-sensitive, RFC 9110 §9.1). @default 'GET'
   */
  method?: string;
  /** The request body: text (sent as UTF-8) or bytes. @default null (no body) */
  body?: string | Uint8Array | null;
  /**
   * Request headers: a record, a `Headers` or a `Map`, or `[name, value]` pairs (as fetch takes
   * them); names are case-insensitive. @default {}
   */
  headers?: HeadersInput;
  /** Redirects to follow before `RedirectLimit`. @default 5 */
  redirections?: number;
  /** Aborts the request (an `AbortError`). @default none */
  signal?: AbortSignal;
  /**
   * Called as each hop's body arrives: bytes received so far (as sent, before decoding) and the
   * Content-Length, or null when the server sent none. Not called for answers served from the cache.
   */
  onProgress?: (received: number, total: number | null) => void;
}

/** What request() works with once its arguments are checked: nothing is sent before this exists. */
export interface CheckedRequest {
  readonly req: HopRequest;
  readonly redirections: number;
  readonly signal: AbortSignal | null;
  readonly onProgress: ProgressListener | null;
}

const REQUEST_KEYS: readonly (keyof RequestOptions)[] = ['method', 'body', 'headers', 'redirections', 'signal', 'onProgress'];

/**
 * request()'s second to fifth arguments as one record of the caller's own values: the options
 * object (own keys only, so a polluted Object.prototype never adds one; an unknown key is refused)
 * or the positional form (httplib2's `request(uri, method, body, headers, redirections)`).
 */
export function requestArguments(
  methodOrOptions: unknown, body: unknown, headers: unknown, redirections: unknown,
): RequestOptions {
  // A record that inherits nothing (headers.ts), so an option the caller did not give reads undefined.
  const record = emptyRecord<unknown>();
  if (typeof methodOrOptions !== 'object' || methodOrOptions === null) {
    record['method'] = methodOrOptions;
    record['body'] = body;
    record['headers'] = headers;
    record['redirections'] = redirections;
    return record as RequestOptions;
  }
  for (const key of Object.keys(methodOrOptions)) {
    const value = (methodOrOptions as Record<string, unknown>)[key];
    if (!(REQUEST_KEYS as readonly string[]).includes(key)) throw unknownKey('request option', key, value, REQUEST_KEYS);
    record[key] = value;
  }
  return record as RequestOptions;
}

/** Checks every argument of one request() and builds its first hop; nothing is sent when this throws. */
export function checkRequest(uri: unknown, o: RequestOptions): CheckedRequest {
  return {
    req: buildRequest(uri, o),
    redirections: validateRedirections(o.redirections ?? 5),
    signal: signalOf(o.signal),
    onProgress: onProgressOf(o.onProgress),
  };
}

/** The first hop of a request() call, validated: nothing is sent when this throws. */
export function buildRequest(uri: unknown, o: Pick<RequestOptions, 'method' | 'body' | 'headers'>): HopRequest {
  const { url, userinfo } = splitUserinfo(parseRequestUri(uri as string | URL));
  const method = methodOf(o.method);
  const headers: HeaderRecord = normaliseHeaders(o.headers);
  if (!('user-agent' in headers)) headers['user-agent'] = USER_AGENT;
  if (userinfo && !('authorization' in headers)) headers['authorization'] = userinfoAuthorization(userinfo);
  const body = bodyOf(o.body);
  assertBodyFraming(headers, body === null ? null : body.length);
  return { url, method, headers, body };
}

/** The method as a caller wrote it, for messages and the debug summary: never throws. */
export function shownMethod(o: RequestOptions | undefined): string {
  const given = o?.method;
  return typeof given === 'string' ? normaliseMethod(given) : 'GET';
}

function methodOf(given: unknown): string {
  if (given === undefined || given === null) return 'GET';
  if (typeof given !== 'string') throw bad('method', given, 'a method token (a string such as \'GET\')');
  assertValidMethod(given); // before upper-casing: `poſt` must not become POST
  return normaliseMethod(given);
}

function bodyOf(body: unknown): Buffer | null {
  if (body === undefined || body === null) return null;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new HttpLib2Error(`Invalid body: expected a string or a Uint8Array, received ${typeof body}`, { code: 'ERR_INVALID_REQUEST' });
}

// An AbortSignal of this realm, or one that looks like it (another realm's, a polyfill's).
function signalOf(signal: unknown): AbortSignal | null {
  if (signal === undefined || signal === null) return null;
  const s = signal as { aborted?: unknown; addEventListener?: unknown; removeEventListener?: unknown };
  const usable = signal instanceof AbortSignal
    || (typeof s.aborted === 'boolean' && typeof s.addEventListener === 'function' && typeof s.removeEventListener === 'function');
  if (!usable) throw bad('signal', signal, 'an AbortSignal');
  return signal as AbortSignal;
}

function onProgressOf(onProgress: unknown): ProgressListener | null {
  if (onProgress === undefined || onProgress === null) return null;
  if (typeof onProgress !== 'function') throw bad('onProgress', onProgress, 'a function (received, total) => void');
  return onProgress as ProgressListener;
}

// `http://user:pw@host/` sends Basic credentials up front, as curl, Node's http.request and Python's
// requests do (httplib2 cannot request such a URI: it reads the user info as part of the host). They
// are the caller's own Authorization from then on: sent on this origin only, dropped on a redirect to
// another origin or down to http, a cache identity of their own, and no challenge answered for them.
// An Authorization the caller set wins. Validated like addCredentials, with no secret in the message.
function userinfoAuthorization(userinfo: Userinfo): string {
  assertSafeCredential(userinfo);
  return basicAuthorization(userinfo.name, userinfo.password);
}
