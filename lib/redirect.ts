/**
 * Redirect decisions as pure functions: whether to follow, and the next hop's URL, method, body and
 * headers, one helper per rule. The orchestrator carries the decision out; nothing here does I/O.
 */
import { withHeaders } from './headers.js';
import type { Response } from './response.js';
import type { HopRequest, Settings } from './types.js';
import { resolveLocation, sameOrigin } from './uri.js';

/** The statuses followed by default (httplib2 `REDIRECT_CODES`); `Http.redirectCodes` may remove some. */
export const DEFAULT_REDIRECT_CODES: readonly number[] = [300, 301, 302, 303, 307, 308];

// httplib2 follows redirects of these methods unless follow_all_redirects is set.
const SAFE_TO_FOLLOW = new Set(['GET', 'HEAD']);

// Statuses followed for every method: 303 is the POST-redirect-GET answer (RFC 9110 §15.4.4); 308
// keeps the method and body by definition (§15.4.9), so nothing is changed behind the caller's back.
// httplib2 follows both whatever the method.
const FOLLOWED_FOR_EVERY_METHOD = new Set([303, 308]);

// Statuses that may come without a Location and still be a complete answer for the caller: a 300 is
// a list of choices (RFC 9110 §15.4.1); a 308 only SHOULD carry one (§15.4.9), and the 308 without
// it in the wild is the "Resume Incomplete" of resumable uploads (Google's), which the caller reads.
// httplib2 raises RedirectMissingLocation for that 308 unless 308 is removed from redirect_codes.
const COMPLETE_WITHOUT_LOCATION = new Set([300, 308]);

// Headers that carry an identity; they never reach another origin unless the caller asks.
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'x-wsse'];

// A body's description goes with the body.
const BODY_HEADERS = ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location', 'transfer-encoding', 'digest'];

// Conditional headers were computed for the old URI (the cache adds fresh ones for the new one).
const CONDITIONAL_HEADERS = ['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range'];

export type RedirectDecision =
  | { readonly kind: 'return' }
  | { readonly kind: 'missing-location' }
  | { readonly kind: 'follow'; readonly request: HopRequest };

type RedirectSettings = Pick<Settings, 'followRedirects' | 'followAllRedirects' | 'forwardAuthorizationHeaders' | 'redirectCodes'>;

/** What to do with `response` to `req`: return it, follow it, or fail for want of a Location. */
export function nextHop(req: HopRequest, response: Response, settings: RedirectSettings): RedirectDecision {
  if (!shouldFollow(req.method, response.status, settings)) return { kind: 'return' };
  const location = response.get('location');
  if (location === undefined) {
    return COMPLETE_WITHOUT_LOCATION.has(response.status) ? { kind: 'return' } : { kind: 'missing-location' };
  }
  const url = resolveLocation(location, req.url);
  // Only http and https are followed: file:, data:, javascript:... go back to the caller as they are.
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) return { kind: 'return' };
  url.hash = url.hash || req.url.hash; // RFC 9110 §10.2.2: a Location without fragment inherits ours
  // Credentials embedded in a Location are never used: a server must not choose who we log in as.
  url.username = '';
  url.password = '';
  const method = redirectMethod(req.method, response.status);
  const dropBody = method !== req.method || method === 'GET' || method === 'HEAD';
  return {
    kind: 'follow',
    request: {
      url,
      method,
      body: dropBody ? null : req.body,
      headers: redirectHeaders(req, url, dropBody, settings.forwardAuthorizationHeaders),
      ...(isDowngraded(req, url) ? { downgraded: true } : {}),
    },
  };
}

/** Whether a status is followed for this method (httplib2: after the method check, `redirect_codes`). */
export function shouldFollow(method: string, status: number, settings: RedirectSettings): boolean {
  if (!settings.followRedirects || !settings.redirectCodes.has(status)) return false;
  if (FOLLOWED_FOR_EVERY_METHOD.has(status)) return true;
  return settings.followAllRedirects || SAFE_TO_FOLLOW.has(method);
}

/** 303 turns into GET (HEAD stays HEAD); 301/302 of a POST become GET as browsers do; 307/308 keep it. */
export function redirectMethod(method: string, status: number): string {
  if (status === 303) return method === 'HEAD' ? 'HEAD' : 'GET';
  if ((status === 301 || status === 302) && method === 'POST') return 'GET';
  return method;
}

/**
 * Whether the hop to `next` comes after an https → http hop of this request (this one or an earlier
 * one). A credential is bound to the scheme it was meant for: once the chain has gone down to
 * cleartext, a server that could redirect there cannot lead it back up to collect one either.
 */
export function isDowngraded(req: HopRequest, next: URL): boolean {
  return req.downgraded === true || (req.url.protocol === 'https:' && next.protocol === 'http:');
}

/** The headers of the next hop: no credentials across origins or down to http, no stale conditionals. */
export function redirectHeaders(req: HopRequest, next: URL, dropBody: boolean, forwardAuth: boolean): HopRequest['headers'] {
  const remove = [...CONDITIONAL_HEADERS];
  if (dropBody) remove.push(...BODY_HEADERS);
  const crossOrigin = !sameOrigin(req.url, next);
  if (isDowngraded(req, next) || (!forwardAuth && crossOrigin)) remove.push(...CREDENTIAL_HEADERS);
  // A Host the caller set names the first server; another origin gets its own (undici derives it).
  if (crossOrigin) remove.push('host');
  return withHeaders(req.headers, {}, remove);
}
