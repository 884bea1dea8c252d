/**
 * Redirect decisions as pure functions: whether to follow, and the next hop's URL, method, body and
 * headers, one helper per rule. The orchestrator carries the decision out; nothing here does I/O.
 */
import { withHeaders } from './headers.js';
import type { ResolvedSettings } from './options.js';
import type { Response } from './response.js';
import type { HopRequest } from './types.js';
import { resolveLocation, sameOrigin } from './uri.js';

export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([300, 301, 302, 303, 307, 308]);

// httplib2 follows redirects of these methods unless follow_all_redirects is set.
const SAFE_TO_FOLLOW = new Set(['GET', 'HEAD']);

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

type Settings = Pick<ResolvedSettings, 'followRedirects' | 'followAllRedirects' | 'forwardAuthorizationHeaders'>;

/** What to do with `response` to `req`: return it, follow it, or fail for want of a Location. */
export function nextHop(req: HopRequest, response: Response, settings: Settings): RedirectDecision {
  if (!shouldFollow(req.method, response.status, settings)) return { kind: 'return' };
  const location = response.get('location');
  // A 300 without Location is a list of choices for the caller to read (RFC 9110 §15.4.1).
  if (location === undefined) return response.status === 300 ? { kind: 'return' } : { kind: 'missing-location' };
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
    },
  };
}

/** Whether a status is followed for this method. */
export function shouldFollow(method: string, status: number, settings: Settings): boolean {
  if (!settings.followRedirects || !REDIRECT_STATUSES.has(status)) return false;
  // 303 exists to send the client to a GET after a POST (RFC 9110 §15.4.4): httplib2 follows it always.
  if (status === 303) return true;
  return settings.followAllRedirects || SAFE_TO_FOLLOW.has(method.toUpperCase());
}

/** 303 turns into GET (HEAD stays HEAD); 301/302 of a POST become GET as browsers do; 307/308 keep it. */
export function redirectMethod(method: string, status: number): string {
  if (status === 303) return method === 'HEAD' ? 'HEAD' : 'GET';
  if ((status === 301 || status === 302) && method === 'POST') return 'GET';
  return method;
}

/** The headers of the next hop: no credentials across origins or down to http, no stale conditionals. */
export function redirectHeaders(req: HopRequest, next: URL, dropBody: boolean, forwardAuth: boolean): HopRequest['headers'] {
  const remove = [...CONDITIONAL_HEADERS];
  if (dropBody) remove.push(...BODY_HEADERS);
  const downgrade = req.url.protocol === 'https:' && next.protocol === 'http:';
  const crossOrigin = !sameOrigin(req.url, next);
  if (downgrade || (!forwardAuth && crossOrigin)) remove.push(...CREDENTIAL_HEADERS);
  // A Host the caller set names the first server; another origin gets its own (undici derives it).
  if (crossOrigin) remove.push('host');
  return withHeaders(req.headers, {}, remove);
}
