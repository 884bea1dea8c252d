/**
 * Turns the caller's arguments into the first hop: the URI checked and stripped of its user info,
 * the method token, the headers (validated, with User-Agent and the user info's Basic credentials)
 * and the body as bytes. Pure: it throws a typed error for bad input before anything is sent, and
 * never performs I/O.
 */
import { assertSafeCredential } from './auth/credentials.js';
import { basicAuthorization } from './auth/basic.js';
import { HttpLib2Error } from './errors.js';
import { assertBodyFraming, assertValidMethod, normaliseHeaders, type HeaderRecord } from './headers.js';
import type { HopRequest } from './types.js';
import { parseRequestUri, splitUserinfo, type Userinfo } from './uri.js';

const USER_AGENT = 'httplib2-ts/0.1.0';

/** The request as the caller gave it: method, body and headers (RequestOptions' first three). */
export interface CallerRequest {
  readonly method?: string | undefined;
  readonly body?: string | Uint8Array | null | undefined;
  readonly headers?: Record<string, string> | undefined;
}

/** The first hop of a request() call, validated: nothing is sent when this throws. */
export function buildRequest(uri: string | URL, o: CallerRequest): HopRequest {
  const { url, userinfo } = splitUserinfo(parseRequestUri(uri));
  const given = String(o.method ?? 'GET');
  assertValidMethod(given); // before upper-casing: `poſt` must not become POST
  const method = normaliseMethod(given);
  const headers: HeaderRecord = normaliseHeaders(o.headers);
  if (!('user-agent' in headers)) headers['user-agent'] = USER_AGENT;
  if (userinfo && !('authorization' in headers)) headers['authorization'] = userinfoAuthorization(userinfo);
  const body = o.body === undefined || o.body === null ? null
    : typeof o.body === 'string' ? Buffer.from(o.body, 'utf8')
    : ArrayBuffer.isView(o.body) ? Buffer.from(o.body.buffer, o.body.byteOffset, o.body.byteLength)
    : invalidBody(o.body);
  assertBodyFraming(headers, body === null ? null : body.length);
  return { url, method, headers, body };
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

// RFC 9110 §9.1: method tokens are case-sensitive, so `PropFind` or `m-search` is sent as given (a
// server may define it so; httplib2 sends every method as given). The standard methods are
// upper-cased, as Fetch normalises its own: `get` can only mean GET, and the cache, redirect and
// retry rules recognise them by their upper-case names.
const STANDARD_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

/** A standard method upper-cased, any other token as given. */
export function normaliseMethod(method: string): string {
  const upper = method.toUpperCase();
  return STANDARD_METHODS.has(upper) ? upper : method;
}

function invalidBody(body: unknown): never {
  throw new HttpLib2Error(`Invalid body: expected a string or a Uint8Array, received ${typeof body}`, { code: 'ERR_INVALID_REQUEST' });
}
